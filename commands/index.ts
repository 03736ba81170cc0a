import type { Command } from '../src/bot/command.js';
import help from './help.js';
import imagine from './imagine.js';
import queue from './queue.js';

/** Every command: the router and the deploy script both read this list. */
// Each command narrows the interaction type it takes; the router dispatches by name and type.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export const commands: Command<any>[] = [imagine, queue, help];
