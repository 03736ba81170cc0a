import type { Redis } from 'ioredis';
import { z } from 'zod';

/**
 * Weekly theme challenges, persisted in Redis. A challenge moves through
 * announce → submissions → voting → results (or to cancelled), and every move is a
 * compare-and-set on (challenge, expected phase) in one Lua script: a transition that fires twice,
 * from two bot processes or from a retried job, changes nothing the second time. Entries, votes,
 * the theme pool and the season leaderboard live beside the challenge record and are changed by
 * scripts too, so limits and "one vote per member per entry" hold under concurrency.
 */
export const challengePhases = ['announce', 'submissions', 'voting', 'results', 'cancelled'] as const;
export type ChallengePhase = (typeof challengePhases)[number];

/** Phases in which a challenge is still running (and blocks another one in the same server). */
export const openPhases: readonly ChallengePhase[] = ['announce', 'submissions', 'voting'];

export const DAY_MS = 24 * 3600 * 1000;

/**
 * Podium points for 1st, 2nd and 3rd; every entry also earns its author ENTRY_POINTS. Only entries
 * with at least one vote stand on the podium.
 */
export const PODIUM_POINTS = [10, 6, 3] as const;
export const ENTRY_POINTS = 1;

/** The author of an entry whose member deleted their data: never named, never scored. */
export const DELETED_MEMBER = 'deleted';

export const entrySchema = z.object({
  id: z.number().int(),
  imageId: z.string(),
  jobId: z.string(),
  userId: z.string(),
  submittedAt: z.number(),
});
export type Entry = z.infer<typeof entrySchema>;

export const rankedEntrySchema = entrySchema.extend({
  votes: z.number().int(),
  place: z.number().int(),
  points: z.number().int(),
});
export type RankedEntry = z.infer<typeof rankedEntrySchema>;

const numeric = z.coerce.number();
const optionalNumber = numeric.optional();
const optionalText = z.string().optional();

export const challengeSchema = z.object({
  id: z.string(),
  guildId: z.string(),
  channelId: z.string(),
  theme: z.string(),
  phase: z.enum(challengePhases),
  submitDays: numeric,
  voteDays: numeric,
  scheduled: z.string().transform((value) => value === '1'),
  createdBy: z.string(),
  createdAt: numeric,
  announcedAt: optionalNumber,
  submissionsEndAt: optionalNumber,
  votingEndAt: optionalNumber,
  votingStartedAt: optionalNumber,
  resultsAt: optionalNumber,
  cancelledAt: optionalNumber,
  cancelledBy: optionalText,
  season: optionalText,
  /** Discord state, recorded as each post lands so that a retried transition skips what is done. */
  announceMessageId: optionalText,
  threadId: optionalText,
  votingMessageId: optionalText,
  galleryPosted: optionalText,
  resultMessageId: optionalText,
  cancelMessageId: optionalText,
  /**
   * Set when Discord refused one of its posts for good (lost access, channel gone): its deadlines
   * stop, and `pausedNote` tells the admins why in /challenge status.
   */
  pausedAt: optionalNumber,
  pausedNote: optionalText,
  /** Set by the results transition: every entry with its votes, place and points, best first. */
  ranking: z
    .string()
    .optional()
    .transform((raw) => {
      // Lua's cjson encodes an empty table as {}.
      if (!raw || raw === '{}') return [] as RankedEntry[];
      return z.array(rankedEntrySchema).parse(JSON.parse(raw));
    }),
});
export type Challenge = z.infer<typeof challengeSchema>;

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

const CREATE = `
local active = redis.call('GET', KEYS[1])
if active then return {0, active} end
local id = tostring(redis.call('INCR', KEYS[2]))
redis.call('HSET', ARGV[1] .. id, 'id', id, unpack(ARGV, 3))
redis.call('SET', KEYS[1], id)
redis.call('ZADD', KEYS[3], ARGV[2], id)
return {1, id}
`;

/** KEYS: challenge, active pointer. ARGV: n, n expected phases, next phase, field/value pairs. */
const ADVANCE = `
local phase = redis.call('HGET', KEYS[1], 'phase')
if not phase then return {0, ''} end
local n = tonumber(ARGV[1])
for i = 1, n do
  if ARGV[1 + i] == phase then
    local nextPhase = ARGV[n + 2]
    redis.call('HSET', KEYS[1], 'phase', nextPhase)
    for j = n + 3, #ARGV, 2 do redis.call('HSET', KEYS[1], ARGV[j], ARGV[j + 1]) end
    if nextPhase == 'results' or nextPhase == 'cancelled' then
      if redis.call('GET', KEYS[2]) == redis.call('HGET', KEYS[1], 'id') then redis.call('DEL', KEYS[2]) end
    end
    return {1, phase}
  end
end
return {0, phase}
`;

/**
 * voting → results with the tally in the same step, so that no vote can land between counting and
 * closing. KEYS: challenge, active pointer, entries, season leaderboard, seasons.
 * ARGV: now, season, votes key prefix, the deleted-member marker, entry points, podium points...
 */
const TALLY = `
local phase = redis.call('HGET', KEYS[1], 'phase')
if phase ~= 'voting' then return {0, phase or ''} end
local raw = redis.call('HGETALL', KEYS[3])
local ranked = {}
for i = 1, #raw, 2 do
  local entry = cjson.decode(raw[i + 1])
  entry.id = tonumber(raw[i])
  entry.votes = redis.call('SCARD', ARGV[3] .. raw[i])
  table.insert(ranked, entry)
end
-- Most votes first; on equal votes the earlier submission (lower entry number) wins.
table.sort(ranked, function(a, b)
  if a.votes ~= b.votes then return a.votes > b.votes end
  return a.id < b.id
end)
local perEntry = tonumber(ARGV[5])
for place, entry in ipairs(ranked) do
  entry.place = place
  if entry.userId == ARGV[4] then
    entry.points = 0
  else
    local podium = 0
    if entry.votes > 0 then podium = tonumber(ARGV[5 + place]) or 0 end
    entry.points = perEntry + podium
    redis.call('ZINCRBY', KEYS[4], entry.points, entry.userId)
  end
end
redis.call('HSET', KEYS[1], 'phase', 'results', 'resultsAt', ARGV[1], 'season', ARGV[2], 'ranking', cjson.encode(ranked))
redis.call('SADD', KEYS[5], ARGV[2])
if redis.call('GET', KEYS[2]) == redis.call('HGET', KEYS[1], 'id') then redis.call('DEL', KEYS[2]) end
return {1, phase}
`;

/** KEYS: challenge, entries, images (imageId → entry), the member's entries. ARGV: userId, imageId, jobId, now, max. */
const SUBMIT = `
local state = redis.call('HMGET', KEYS[1], 'phase', 'submissionsEndAt')
if state[1] ~= 'submissions' then return {'closed', 0} end
if tonumber(ARGV[4]) >= tonumber(state[2]) then return {'late', 0} end
if redis.call('HEXISTS', KEYS[3], ARGV[2]) == 1 then return {'duplicate', 0} end
local count = redis.call('SCARD', KEYS[4])
if count >= tonumber(ARGV[5]) then return {'limit', count} end
local id = redis.call('HINCRBY', KEYS[1], 'entrySeq', 1)
local entry = cjson.encode({imageId = ARGV[2], jobId = ARGV[3], userId = ARGV[1], submittedAt = tonumber(ARGV[4])})
redis.call('HSET', KEYS[2], id, entry)
redis.call('HSET', KEYS[3], ARGV[2], id)
redis.call('SADD', KEYS[4], id)
return {'ok', id, count + 1}
`;

/** KEYS: challenge, entries, images, the member's entries. ARGV: userId, entryId. */
const WITHDRAW = `
if redis.call('HGET', KEYS[1], 'phase') ~= 'submissions' then return {'closed'} end
local raw = redis.call('HGET', KEYS[2], ARGV[2])
if not raw then return {'unknown'} end
local entry = cjson.decode(raw)
if entry.userId ~= ARGV[1] then return {'unknown'} end
redis.call('HDEL', KEYS[2], ARGV[2])
redis.call('HDEL', KEYS[3], entry.imageId)
redis.call('SREM', KEYS[4], ARGV[2])
return {'ok', raw}
`;

/** KEYS: challenge, entries, the entry's voters. ARGV: userId, entryId, now. */
const VOTE = `
local state = redis.call('HMGET', KEYS[1], 'phase', 'votingEndAt')
if state[1] ~= 'voting' or tonumber(ARGV[3]) >= tonumber(state[2]) then return 'closed' end
local raw = redis.call('HGET', KEYS[2], ARGV[2])
if not raw then return 'unknown' end
if cjson.decode(raw).userId == ARGV[1] then return 'self' end
if redis.call('SADD', KEYS[3], ARGV[1]) == 0 then return 'already' end
return 'ok'
`;

/** Draws a theme not used since the pool was last exhausted. KEYS: pool, used. ARGV: a random number in [0, 1). */
const DRAW_THEME = `
local all = redis.call('SMEMBERS', KEYS[1])
if #all == 0 then return false end
local fresh = {}
for _, theme in ipairs(all) do
  if redis.call('SISMEMBER', KEYS[2], theme) == 0 then table.insert(fresh, theme) end
end
if #fresh == 0 then
  redis.call('DEL', KEYS[2])
  fresh = all
end
table.sort(fresh)
local pick = fresh[math.min(#fresh, math.floor(tonumber(ARGV[1]) * #fresh) + 1)]
redis.call('SADD', KEYS[2], pick)
return pick
`;

/** KEYS: challenge. ARGV: now, note. Only the first refusal pauses (and is reported). */
const PAUSE = `
if redis.call('EXISTS', KEYS[1]) == 0 or redis.call('HEXISTS', KEYS[1], 'pausedAt') == 1 then return 0 end
redis.call('HSET', KEYS[1], 'pausedAt', ARGV[1], 'pausedNote', ARGV[2])
return 1
`;

/** HSET a field only if it still holds what was read (a concurrent change wins over an anonymization retry). */
const REPLACE_FIELD_IF_SAME = `
if redis.call('HGET', KEYS[1], ARGV[1]) ~= ARGV[2] then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
return 1
`;

export class ChallengeStore {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {}

  private key(id: string) {
    return `${this.prefix}:challenge:${id}`;
  }
  private entriesKey(id: string) {
    return `${this.key(id)}:entries`;
  }
  private imagesKey(id: string) {
    return `${this.key(id)}:images`;
  }
  private memberKey(id: string, userId: string) {
    return `${this.key(id)}:member:${userId}`;
  }
  private votesPrefix(id: string) {
    return `${this.key(id)}:votes:`;
  }
  private guildKey(guildId: string, what: string) {
    return `${this.prefix}:challenges:guild:${guildId}:${what}`;
  }
  private leaderboardKey(guildId: string, season: string) {
    return this.guildKey(guildId, `season:${season}`);
  }

  /** Creates a challenge in the announce phase unless the server already runs one. */
  async create(challenge: NewChallenge): Promise<{ created: boolean; id: string }> {
    const fields = [
      'guildId',
      challenge.guildId,
      'channelId',
      challenge.channelId,
      'theme',
      challenge.theme,
      'phase',
      'announce',
      'submitDays',
      String(challenge.submitDays),
      'voteDays',
      String(challenge.voteDays),
      'scheduled',
      challenge.scheduled ? '1' : '0',
      'createdBy',
      challenge.createdBy,
      'createdAt',
      String(challenge.createdAt),
    ];
    const [created, id] = (await this.redis.eval(
      CREATE,
      3,
      this.guildKey(challenge.guildId, 'active'),
      `${this.prefix}:challenges:seq`,
      this.guildKey(challenge.guildId, 'history'),
      `${this.prefix}:challenge:`,
      challenge.createdAt,
      ...fields,
    )) as [number, string];
    return { created: created === 1, id };
  }

  async get(id: string): Promise<Challenge | undefined> {
    const raw = await this.redis.hgetall(this.key(id));
    if (!raw.phase) return undefined;
    return challengeSchema.parse(raw);
  }

  /** The server's running challenge, if any. */
  async active(guildId: string): Promise<Challenge | undefined> {
    const id = await this.redis.get(this.guildKey(guildId, 'active'));
    return id ? this.get(id) : undefined;
  }

  /**
   * Moves the challenge to `to` only if its phase is one of `from`, setting `values` in the same
   * step. Results and cancellation also release the server's "running challenge" slot.
   */
  async advance(
    id: string,
    from: readonly ChallengePhase[],
    to: Exclude<ChallengePhase, 'results'>,
    values: Record<string, string | number> = {},
  ): Promise<{ ok: boolean; previous: ChallengePhase | undefined }> {
    const guildId = await this.redis.hget(this.key(id), 'guildId');
    if (!guildId) return { ok: false, previous: undefined };
    const fields = Object.entries(values).flatMap(([key, value]) => [key, String(value)]);
    const [ok, previous] = (await this.redis.eval(
      ADVANCE,
      2,
      this.key(id),
      this.guildKey(guildId, 'active'),
      from.length,
      ...from,
      to,
      ...fields,
    )) as [number, string];
    return { ok: ok === 1, previous: (previous || undefined) as ChallengePhase | undefined };
  }

  /** voting → results: ranks the entries, awards season points, and closes, all in one step. */
  async tally(id: string, now: number): Promise<{ ok: boolean; previous: ChallengePhase | undefined }> {
    const guildId = await this.redis.hget(this.key(id), 'guildId');
    if (!guildId) return { ok: false, previous: undefined };
    const season = seasonOf(now);
    const [ok, previous] = (await this.redis.eval(
      TALLY,
      5,
      this.key(id),
      this.guildKey(guildId, 'active'),
      this.entriesKey(id),
      this.leaderboardKey(guildId, season),
      this.guildKey(guildId, 'seasons'),
      now,
      season,
      this.votesPrefix(id),
      DELETED_MEMBER,
      ENTRY_POINTS,
      ...PODIUM_POINTS,
    )) as [number, string];
    return { ok: ok === 1, previous: (previous || undefined) as ChallengePhase | undefined };
  }

  /** Records Discord ids (messages, thread) as posts land. */
  async record(id: string, values: Record<string, string>): Promise<void> {
    await this.redis.hset(this.key(id), values);
  }

  /** Pauses the challenge with a note for its admins; false when it was paused already (or is gone). */
  async pause(id: string, note: string, now: number): Promise<boolean> {
    return (await this.redis.eval(PAUSE, 1, this.key(id), now, note)) === 1;
  }

  /** Lifts a pause (an admin moves the challenge on). */
  async resume(id: string): Promise<void> {
    await this.redis.hdel(this.key(id), 'pausedAt', 'pausedNote');
  }

  async submit(id: string, entry: { userId: string; imageId: string; jobId: string }, now: number, maxEntries: number): Promise<SubmitResult> {
    const [status, entryId, count] = (await this.redis.eval(
      SUBMIT,
      4,
      this.key(id),
      this.entriesKey(id),
      this.imagesKey(id),
      this.memberKey(id, entry.userId),
      entry.userId,
      entry.imageId,
      entry.jobId,
      now,
      maxEntries,
    )) as [string, number, number?];
    if (status === 'ok') return { ok: true, entryId: Number(entryId), count: Number(count) };
    return { ok: false, reason: status as 'closed' | 'late' | 'duplicate' | 'limit', count: Number(entryId) || undefined };
  }

  async withdraw(id: string, userId: string, entryId: number): Promise<WithdrawResult> {
    const [status, raw] = (await this.redis.eval(
      WITHDRAW,
      4,
      this.key(id),
      this.entriesKey(id),
      this.imagesKey(id),
      this.memberKey(id, userId),
      userId,
      entryId,
    )) as [string, string?];
    if (status === 'ok') return { ok: true, entry: parseEntry(String(entryId), raw!) };
    return { ok: false, reason: status as 'closed' | 'unknown' };
  }

  async vote(id: string, userId: string, entryId: number, now: number): Promise<VoteResult> {
    const status = (await this.redis.eval(
      VOTE,
      3,
      this.key(id),
      this.entriesKey(id),
      `${this.votesPrefix(id)}${entryId}`,
      userId,
      entryId,
      now,
    )) as string;
    return status === 'ok' ? { ok: true } : { ok: false, reason: status as 'closed' | 'unknown' | 'self' | 'already' };
  }

  /** Entries in submission order. */
  /**
   * For /privacy: the member's entries stay (results and history still add up) but become
   * anonymous, and their season points go. Found by scanning: it runs only on request.
   */
  async anonymizeMember(userId: string): Promise<number> {
    let changed = 0;
    const anonymize = (raw: string) => {
      const value = JSON.parse(raw) as { userId?: string } | Array<{ userId?: string }>;
      const strip = (item: { userId?: string }) => (item.userId === userId ? { ...item, userId: DELETED_MEMBER } : item);
      return JSON.stringify(Array.isArray(value) ? value.map(strip) : strip(value));
    };
    const mentions = (raw: string) => {
      const value = JSON.parse(raw) as { userId?: string } | Array<{ userId?: string }>;
      return (Array.isArray(value) ? value : [value]).some((item) => item.userId === userId);
    };
    for await (const keys of this.redis.scanStream({ match: `${this.prefix}:challenge:*`, count: 500 }) as AsyncIterable<string[]>) {
      for (const key of keys) {
        if (key.endsWith(':entries')) {
          for (const [entryId, raw] of Object.entries(await this.redis.hgetall(key))) {
            if (!mentions(raw)) continue;
            changed += (await this.redis.eval(REPLACE_FIELD_IF_SAME, 1, key, entryId, raw, anonymize(raw))) as number;
          }
        } else if (/:challenge:\d+$/.test(key)) {
          const ranking = await this.redis.hget(key, 'ranking');
          if (ranking && mentions(ranking)) await this.redis.eval(REPLACE_FIELD_IF_SAME, 1, key, 'ranking', ranking, anonymize(ranking));
        } else if (key.includes(`:member:${userId}`)) {
          await this.redis.del(key);
        }
      }
    }
    for await (const keys of this.redis.scanStream({ match: `${this.prefix}:challenges:guild:*:season:*`, count: 500 }) as AsyncIterable<string[]>) {
      for (const key of keys) await this.redis.zrem(key, userId);
    }
    return changed;
  }

  /**
   * For /privacy: the member's votes leave every challenge, so an open one no longer counts them
   * (results already announced keep the counts they were announced with). Returns how many went.
   */
  async removeVotesOf(userId: string): Promise<number> {
    let removed = 0;
    for await (const keys of this.redis.scanStream({ match: `${this.prefix}:challenge:*:votes:*`, count: 500 }) as AsyncIterable<string[]>) {
      for (const key of keys) removed += await this.redis.srem(key, userId);
    }
    return removed;
  }

  async entries(id: string): Promise<Entry[]> {
    const raw = await this.redis.hgetall(this.entriesKey(id));
    return Object.entries(raw)
      .map(([entryId, json]) => parseEntry(entryId, json))
      .sort((a, b) => a.id - b.id);
  }

  async entry(id: string, entryId: number): Promise<Entry | undefined> {
    const raw = await this.redis.hget(this.entriesKey(id), String(entryId));
    return raw ? parseEntry(String(entryId), raw) : undefined;
  }

  async recordGalleryMessage(id: string, entryId: number, messageId: string): Promise<void> {
    await this.redis.hset(`${this.key(id)}:gallery`, String(entryId), messageId);
  }

  /** Entries whose gallery message is already posted. */
  async galleryMessages(id: string): Promise<Set<number>> {
    return new Set((await this.redis.hkeys(`${this.key(id)}:gallery`)).map(Number));
  }

  async entriesOf(id: string, userId: string): Promise<Entry[]> {
    return (await this.entries(id)).filter((entry) => entry.userId === userId);
  }

  async entryForImage(id: string, imageId: string): Promise<number | undefined> {
    const entryId = await this.redis.hget(this.imagesKey(id), imageId);
    return entryId ? Number(entryId) : undefined;
  }

  async votes(id: string, entryId: number): Promise<number> {
    return this.redis.scard(`${this.votesPrefix(id)}${entryId}`);
  }

  /** The server's challenges, newest first. */
  async history(guildId: string, count = 10): Promise<Challenge[]> {
    const ids = await this.redis.zrevrange(this.guildKey(guildId, 'history'), 0, count - 1);
    const challenges = await Promise.all(ids.map((id) => this.get(id)));
    return challenges.filter((challenge): challenge is Challenge => challenge !== undefined);
  }

  async leaderboard(guildId: string, season: string, count = 10): Promise<{ userId: string; points: number }[]> {
    const flat = await this.redis.zrevrange(this.leaderboardKey(guildId, season), 0, count - 1, 'WITHSCORES');
    const rows: { userId: string; points: number }[] = [];
    for (let i = 0; i < flat.length; i += 2) rows.push({ userId: flat[i]!, points: Number(flat[i + 1]) });
    return rows;
  }

  async seasons(guildId: string): Promise<string[]> {
    return (await this.redis.smembers(this.guildKey(guildId, 'seasons'))).sort();
  }

  // Theme pool ---------------------------------------------------------------------

  async addTheme(guildId: string, theme: string): Promise<boolean> {
    return (await this.redis.sadd(this.guildKey(guildId, 'themes'), theme)) === 1;
  }

  async removeTheme(guildId: string, theme: string): Promise<boolean> {
    const [[, removed]] = (await this.redis
      .multi()
      .srem(this.guildKey(guildId, 'themes'), theme)
      .srem(this.guildKey(guildId, 'themes:used'), theme)
      .exec()) as [[Error | null, number], unknown];
    return removed === 1;
  }

  /** The pool, alphabetically, each marked with whether it was drawn in the current round. */
  async themes(guildId: string): Promise<{ theme: string; used: boolean }[]> {
    const [all, used] = await Promise.all([
      this.redis.smembers(this.guildKey(guildId, 'themes')),
      this.redis.smembers(this.guildKey(guildId, 'themes:used')),
    ]);
    const usedSet = new Set(used);
    return all.sort((a, b) => a.localeCompare(b)).map((theme) => ({ theme, used: usedSet.has(theme) }));
  }

  /** The next theme: never one already drawn until every theme in the pool has had its turn. */
  async drawTheme(guildId: string, random = Math.random()): Promise<string | undefined> {
    const theme = (await this.redis.eval(DRAW_THEME, 2, this.guildKey(guildId, 'themes'), this.guildKey(guildId, 'themes:used'), random)) as
      string | null;
    return theme ?? undefined;
  }

  /** Puts a drawn theme back in the pool (its challenge did not start after all). */
  async returnTheme(guildId: string, theme: string): Promise<void> {
    await this.redis.srem(this.guildKey(guildId, 'themes:used'), theme);
  }

  // Weekly schedule ------------------------------------------------------------------

  async setSchedule(guildId: string, schedule: ChallengeSchedule): Promise<void> {
    await this.redis.set(this.guildKey(guildId, 'schedule'), JSON.stringify(scheduleSchema.parse(schedule)));
  }

  async schedule(guildId: string): Promise<ChallengeSchedule | undefined> {
    const raw = await this.redis.get(this.guildKey(guildId, 'schedule'));
    return raw ? scheduleSchema.parse(JSON.parse(raw)) : undefined;
  }

  async clearSchedule(guildId: string): Promise<boolean> {
    return (await this.redis.del(this.guildKey(guildId, 'schedule'))) === 1;
  }
}

function parseEntry(entryId: string, json: string): Entry {
  return entrySchema.parse({ ...JSON.parse(json), id: Number(entryId) });
}
