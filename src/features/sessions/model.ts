import { memberText } from '../../bot/messages.js';
import type { Session, SessionEntry } from './store.js';

export const ROUNDS_MAX = 10;
export const THEME_MAX = 200;
export const TWIST_MAX = 200;
/** After entries close, a round waits at most this long for pictures still being drawn. */
export const STRAGGLER_WAIT_MS = 2 * 60_000;
/** Sessions one server may run at once unless /config says otherwise. */
export const DEFAULT_MAX_SESSIONS = 3;

/** Built-in twists, one per round unless the host sets their own with /session twist. */
export const builtInTwists = [
  'only three colours',
  'seen from far above',
  'as a children’s book illustration',
  'at night, lit by one lamp',
  'in the style of a woodcut',
  'underwater',
  'made of paper',
  'a hundred years later',
  'from the point of view of an insect',
  'in a snowstorm',
  'as a vintage travel poster',
  'everything is tiny',
] as const;

/** The twists of a new session: consecutive ones from a place its id picks (the same session always gets the same). */
export function twistsFor(sessionId: string, rounds: number): string[] {
  const start = Number(BigInt(sessionId) % BigInt(builtInTwists.length));
  return Array.from({ length: rounds }, (_, index) => builtInTwists[(start + index) % builtInTwists.length]!);
}

/** A theme, twist or name as a session post echoes it: see memberText. */
export const text = (value: string) => memberText(value);

export function clip(value: string, max: number): string {
  return value.length <= max ? value : `${value.slice(0, max - 1)}…`;
}

/** "<t:1700000000:R>": each member reads it in their own time zone, and it counts down by itself. */
export const timestamp = (ms: number, style: 'R' | 'T' = 'R') => `<t:${Math.ceil(ms / 1000)}:${style}>`;

/**
 * The winner of a round: most votes; a tie goes to the earlier entry (the lower number). A round
 * nobody voted in is won by its first entry, so an evolving chain goes on.
 */
export function winnerOf(entries: readonly Pick<SessionEntry, 'number'>[], votes: ReadonlyMap<number, number>) {
  let best: { number: number; votes: number } | undefined;
  for (const entry of [...entries].sort((a, b) => a.number - b.number)) {
    const count = votes.get(entry.number) ?? 0;
    if (!best || count > best.votes) best = { number: entry.number, votes: count };
  }
  return best;
}

/** Whether `member` may run the session: its host, or anyone with Manage Threads (checked by the caller). */
export const isHost = (session: Session, userId: string) => session.hostId === userId;
