import type { Command } from '../src/bot/command.js';
import blend from './blend.js';
import challenge from './challenge.js';
import config from './config.js';
import describe from './describe.js';
import gallery from './gallery.js';
import help from './help.js';
import imagine from './imagine.js';
import mod from './mod.js';
import privacy from './privacy.js';
import leaderboard from './leaderboard.js';
import lineage from './lineage.js';
import profile from './profile.js';
import queue from './queue.js';
import quota from './quota.js';
import remixImage from './remix-image.js';
import series from './series.js';
import session from './session.js';
import settings from './settings.js';
import top from './top.js';

/** Every command: the router and the deploy script both read this list. */
// Each command narrows the interaction type it takes; the router dispatches by name and type.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export const commands: Command<any>[] = [
  imagine,
  blend,
  describe,
  queue,
  series,
  top,
  profile,
  lineage,
  remixImage,
  challenge,
  session,
  leaderboard,
  gallery,
  quota,
  config,
  mod,
  privacy,
  settings,
  help,
];
