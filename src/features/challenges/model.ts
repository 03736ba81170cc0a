import { z } from 'zod';
import type { ChallengePhase } from '../../db/schema.js';

export type { ChallengePhase } from '../../db/schema.js';
import { DELETED_MEMBER } from '../former-member.js';

export { DELETED_MEMBER };

/**
 * Weekly theme challenges. A challenge moves through announce → submissions → voting → results
 * (or to cancelled); every move is a compare-and-set on (challenge, expected phase).
 */
export const challengePhases = ['announce', 'submissions', 'voting', 'results', 'cancelled'] as const satisfies readonly ChallengePhase[];

/** Phases in which a challenge is still running (and blocks another one in the same server). */
export const openPhases: readonly ChallengePhase[] = ['announce', 'submissions', 'voting'];

export const DAY_MS = 24 * 3600 * 1000;

/**
 * Podium points for 1st, 2nd and 3rd; every entry also earns its author ENTRY_POINTS. Only entries
 * with at least one vote stand on the podium.
 */
export const PODIUM_POINTS = [10, 6, 3] as const;
export const ENTRY_POINTS = 1;

export interface Entry {
  id: number;
  imageId: string;
  /** The request that made the picture ('' for an upload). */
  jobId: string;
  /** DELETED_MEMBER when the member deleted their data. */
  userId: string;
  submittedAt: number;
}

export interface RankedEntry extends Entry {
  votes: number;
  place: number;
  points: number;
}

/** A challenge as the bot works with it: times in ms on the bot's clock. */
export interface Challenge {
  id: string;
  guildId: string;
  channelId: string;
  theme: string;
  phase: ChallengePhase;
  submitDays: number;
  voteDays: number;
  scheduled: boolean;
  createdBy: string;
  createdAt: number;
  announcedAt?: number;
  submissionsEndAt?: number;
  votingEndAt?: number;
  votingStartedAt?: number;
  resultsAt?: number;
  cancelledAt?: number;
  cancelledBy?: string;
  season?: string;
  /** Discord state, recorded as each post lands so that a retried transition skips what is done. */
  announceMessageId?: string;
  threadId?: string;
  votingMessageId?: string;
  galleryPosted: boolean;
  resultMessageId?: string;
  cancelMessageId?: string;
  /**
   * Set when Discord refused one of its posts for good (lost access, channel gone): its deadlines
   * stop, and `pausedNote` tells the admins why in /challenge status.
   */
  pausedAt?: number;
  pausedNote?: string;
  /** Set by the results transition: every entry with its votes, place and points, best first. */
  ranking: RankedEntry[];
}

export interface NewChallenge {
  guildId: string;
  channelId: string;
  theme: string;
  submitDays: number;
  voteDays: number;
  scheduled: boolean;
  createdBy: string;
  createdAt: number;
}

/** What a phase change may set besides the phase (times in ms). */
export interface PhaseChanges {
  announcedAt?: number;
  submissionsEndAt?: number;
  votingStartedAt?: number;
  votingEndAt?: number;
  cancelledAt?: number;
  cancelledBy?: string;
}

/** Discord ids recorded as posts land. */
export interface PostedState {
  announceMessageId?: string;
  threadId?: string;
  votingMessageId?: string;
  galleryPosted?: boolean;
  resultMessageId?: string;
  cancelMessageId?: string;
}

export const weekdays = ['sunday', 'monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday'] as const;

export const scheduleSchema = z.object({
  channelId: z.string(),
  /** 0 = Sunday, as in cron. */
  weekday: z.coerce.number().int().min(0).max(6),
  /** "HH:MM", 24-hour, in `timezone`. */
  time: z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/),
  timezone: z.string().min(1),
  submitDays: z.coerce.number().int().min(1).max(13),
  voteDays: z.coerce.number().int().min(1).max(6),
});
export type ChallengeSchedule = z.infer<typeof scheduleSchema>;

export type SubmitResult =
  { ok: true; entryId: number; count: number } | { ok: false; reason: 'closed' | 'late' | 'duplicate' | 'limit'; count?: number };

export type WithdrawResult = { ok: true; entry: Entry } | { ok: false; reason: 'closed' | 'unknown' };

export type VoteResult = { ok: true } | { ok: false; reason: 'closed' | 'unknown' | 'self' | 'already' };

/** Seasons are calendar quarters (UTC): "2026-Q4". */
export function seasonOf(time: number): string {
  const date = new Date(time);
  return `${date.getUTCFullYear()}-Q${Math.floor(date.getUTCMonth() / 3) + 1}`;
}

export const seasonPattern = /^\d{4}-Q[1-4]$/;

/** Challenge ids are sequence numbers; anything else (from a custom_id, a job) names no challenge. */
export const challengeIdPattern = /^[1-9]\d{0,11}$/;

/**
 * Ranks entries by votes (most first; on equal votes the earlier submission, the lower number,
 * wins) and gives each its points: ENTRY_POINTS, plus podium points for the top three with votes.
 * An anonymous entry (its member deleted their data) keeps its place but scores nothing.
 */
export function rank(entries: ReadonlyArray<Entry & { votes: number }>): RankedEntry[] {
  return [...entries]
    .sort((a, b) => b.votes - a.votes || a.id - b.id)
    .map((entry, index) => {
      const place = index + 1;
      const podium = entry.votes > 0 ? (PODIUM_POINTS[index] ?? 0) : 0;
      return { ...entry, place, points: entry.userId === DELETED_MEMBER ? 0 : ENTRY_POINTS + podium };
    });
}
