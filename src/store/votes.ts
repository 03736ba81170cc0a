import type { Redis } from 'ioredis';

/**
 * Votes and the numbers built on them. A vote is on a result message's image set, i.e. on a job:
 * one vote per member per job. Each job's voters are a Redis set; its score (the set's size) is
 * mirrored into per-guild and per-channel sorted sets for /top, with the job's creation time in a
 * companion sorted set so that /top can look at the last day, week or month. Every change is one
 * Lua script, so concurrent clicks can neither lose nor double a vote.
 */
export const topPeriods = ['day', 'week', 'month', 'all'] as const;
export type TopPeriod = (typeof topPeriods)[number];

const DAY_MS = 24 * 3600 * 1000;
export const periodMs: Record<Exclude<TopPeriod, 'all'>, number> = { day: DAY_MS, week: 7 * DAY_MS, month: 30 * DAY_MS };

/**
 * Two clicks by one member on one job within this window are one click: a double click is one
 * vote, not a vote and its withdrawal.
 */
export const DOUBLE_CLICK_MS = 1500;

export type VoteOutcome = 'added' | 'removed' | 'unchanged' | 'closed';

export interface JobRef {
  jobId: string;
  guildId?: string;
  channelId: string;
  /** The author, who receives the vote. */
  userId: string;
  createdAt: number;
}

export interface RankedJob {
  jobId: string;
  votes: number;
}

export interface ProfileNumbers {
  images: number;
  votes: number;
  remixes: number;
  best?: RankedJob;
}

// KEYS: voters, clicks, closed, guildTop, guildAt, channelTop, channelAt, authorBest, authorProfile
// ARGV: voter, jobId, createdAt, now, doubleClickMs
const TOGGLE = `
if redis.call('EXISTS', KEYS[3]) == 1 then return {'closed', redis.call('SCARD', KEYS[1])} end
local now = tonumber(ARGV[4])
local last = tonumber(redis.call('HGET', KEYS[2], ARGV[1]) or '-1e18')
if now - last < tonumber(ARGV[5]) then return {'unchanged', redis.call('SCARD', KEYS[1])} end
redis.call('HSET', KEYS[2], ARGV[1], ARGV[4])
local outcome
if redis.call('SREM', KEYS[1], ARGV[1]) == 1 then
  outcome = 'removed'
  redis.call('HINCRBY', KEYS[9], 'votes', -1)
else
  redis.call('SADD', KEYS[1], ARGV[1])
  outcome = 'added'
  redis.call('HINCRBY', KEYS[9], 'votes', 1)
end
local score = redis.call('SCARD', KEYS[1])
if score > 0 then
  redis.call('ZADD', KEYS[4], score, ARGV[2])
  redis.call('ZADD', KEYS[5], ARGV[3], ARGV[2])
  redis.call('ZADD', KEYS[6], score, ARGV[2])
  redis.call('ZADD', KEYS[7], ARGV[3], ARGV[2])
  redis.call('ZADD', KEYS[8], score, ARGV[2])
else
  for i = 4, 8 do redis.call('ZREM', KEYS[i], ARGV[2]) end
end
return {outcome, score}
`;

// KEYS: top, at   ARGV: since (ms), limit
// Candidates are the jobs made since "since" that have votes; ties go to the newer job.
const TOP_SINCE = `
local ids = redis.call('ZRANGEBYSCORE', KEYS[2], ARGV[1], '+inf')
local ranked = {}
for _, id in ipairs(ids) do
  local score = redis.call('ZSCORE', KEYS[1], id)
  if score then table.insert(ranked, {id, tonumber(score)}) end
end
table.sort(ranked, function(a, b)
  if a[2] ~= b[2] then return a[2] > b[2] end
  if #a[1] ~= #b[1] then return #a[1] > #b[1] end
  return a[1] > b[1]
end)
local out = {}
for i = 1, math.min(#ranked, tonumber(ARGV[2])) do
  table.insert(out, ranked[i][1])
  table.insert(out, tostring(ranked[i][2]))
end
return out
`;

// KEYS: marker, authorProfile, parentAuthorProfile   ARGV: images, remix (0/1), ttlSeconds
// Counted once per job, however often delivery is retried.
const RECORD_MADE = `
if redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[3]) then
  redis.call('HINCRBY', KEYS[2], 'images', ARGV[1])
  if ARGV[2] == '1' then redis.call('HINCRBY', KEYS[3], 'remixes', 1) end
  return 1
end
return 0
`;

// KEYS: voters, clicks, guildTop, guildAt, channelTop, channelAt, authorBest, authorProfile
// ARGV: voter, jobId. Takes one member's vote back for good (their data is being deleted).
const REMOVE_VOTER = `
if redis.call('SREM', KEYS[1], ARGV[1]) == 0 then return 0 end
redis.call('HDEL', KEYS[2], ARGV[1])
redis.call('HINCRBY', KEYS[8], 'votes', -1)
local score = redis.call('SCARD', KEYS[1])
if score > 0 then
  -- XX: a picture already taken out of the rankings (deleted) stays out.
  redis.call('ZADD', KEYS[3], 'XX', score, ARGV[2])
  redis.call('ZADD', KEYS[5], 'XX', score, ARGV[2])
  redis.call('ZADD', KEYS[7], 'XX', score, ARGV[2])
else
  for i = 3, 7 do redis.call('ZREM', KEYS[i], ARGV[2]) end
end
return 1
`;

const MARKER_TTL_SECONDS = 90 * 24 * 3600;

/** Members' own servers only: outside a guild, numbers are kept under this name. */
const NO_GUILD = 'direct';

export class VoteStore {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {}

  private votersKey(jobId: string) {
    return `${this.prefix}:votes:${jobId}:voters`;
  }

  private guildTop(guildId: string | undefined) {
    return `${this.prefix}:top:guild:${guildId ?? NO_GUILD}`;
  }

  private channelTop(channelId: string) {
    return `${this.prefix}:top:channel:${channelId}`;
  }

  private authorBest(guildId: string | undefined, userId: string) {
    return `${this.prefix}:top:guild:${guildId ?? NO_GUILD}:user:${userId}`;
  }

  private profileKey(guildId: string | undefined, userId: string) {
    return `${this.prefix}:profile:${guildId ?? NO_GUILD}:${userId}`;
  }

  private closedKey(jobId: string) {
    return `${this.prefix}:votes:${jobId}:closed`;
  }

  /** Toggles `voterId`'s vote on the job. Returns what happened and the job's score afterwards. */
  async toggle(job: JobRef, voterId: string, now: number): Promise<{ outcome: VoteOutcome; votes: number }> {
    const guildTop = this.guildTop(job.guildId);
    const channelTop = this.channelTop(job.channelId);
    const [outcome, votes] = (await this.redis.eval(
      TOGGLE,
      9,
      this.votersKey(job.jobId),
      `${this.prefix}:votes:${job.jobId}:clicks`,
      this.closedKey(job.jobId),
      guildTop,
      `${guildTop}:at`,
      channelTop,
      `${channelTop}:at`,
      this.authorBest(job.guildId, job.userId),
      this.profileKey(job.guildId, job.userId),
      voterId,
      job.jobId,
      job.createdAt,
      now,
      DOUBLE_CLICK_MS,
    )) as [VoteOutcome, number];
    return { outcome, votes: Number(votes) };
  }

  async count(jobId: string): Promise<number> {
    return this.redis.scard(this.votersKey(jobId));
  }

  async counts(jobIds: readonly string[]): Promise<number[]> {
    if (jobIds.length === 0) return [];
    const pipeline = this.redis.pipeline();
    for (const id of jobIds) pipeline.scard(this.votersKey(id));
    const results = (await pipeline.exec()) ?? [];
    return results.map(([error, value]) => (error ? 0 : Number(value)));
  }

  async hasVoted(jobId: string, userId: string): Promise<boolean> {
    return (await this.redis.sismember(this.votersKey(jobId), userId)) === 1;
  }

  /** The most-voted jobs of a guild, or of one channel, made within the period. */
  async top(scope: { guildId?: string; channelId?: string }, period: TopPeriod, now: number, limit = 10): Promise<RankedJob[]> {
    const key = scope.channelId ? this.channelTop(scope.channelId) : this.guildTop(scope.guildId);
    const flat =
      period === 'all'
        ? await this.redis.zrevrange(key, 0, limit - 1, 'WITHSCORES')
        : ((await this.redis.eval(TOP_SINCE, 2, key, `${key}:at`, now - periodMs[period], limit)) as string[]);
    const ranked: RankedJob[] = [];
    for (let i = 0; i + 1 < flat.length; i += 2) ranked.push({ jobId: flat[i]!, votes: Number(flat[i + 1]) });
    return ranked;
  }

  /**
   * Takes a deleted job out of every ranking and refuses further votes on it. Its voters stay, so
   * the family tree can still show what the picture had earned.
   */
  async close(job: JobRef): Promise<void> {
    const guildTop = this.guildTop(job.guildId);
    const channelTop = this.channelTop(job.channelId);
    await this.redis
      .multi()
      .set(this.closedKey(job.jobId), '1')
      .zrem(guildTop, job.jobId)
      .zrem(`${guildTop}:at`, job.jobId)
      .zrem(channelTop, job.jobId)
      .zrem(`${channelTop}:at`, job.jobId)
      .zrem(this.authorBest(job.guildId, job.userId), job.jobId)
      .exec();
  }

  /**
   * Counts a delivered job on its author's profile, and as a remix received on the parent's
   * author's profile when someone else made it from their picture. Once per job.
   */
  async recordMade(job: { jobId: string; guildId?: string; userId: string; images: number }, remixOf?: { userId: string }): Promise<void> {
    const remix = remixOf && remixOf.userId !== job.userId;
    await this.redis.eval(
      RECORD_MADE,
      3,
      `${this.prefix}:profile-counted:${job.jobId}`,
      this.profileKey(job.guildId, job.userId),
      this.profileKey(job.guildId, remixOf?.userId ?? job.userId),
      job.images,
      remix ? '1' : '0',
      MARKER_TTL_SECONDS,
    );
  }

  /**
   * Forgets a member: their votes on every picture (scores follow), and their own profile numbers.
   * Found by scanning, as this runs rarely. `jobOf` says where a voted job lives, when still known.
   */
  async forgetMember(userId: string, jobOf: (jobId: string) => Promise<JobRef | undefined>): Promise<number> {
    let removed = 0;
    for (const key of await this.scanKeys(`${this.prefix}:votes:*:voters`)) {
      if (!(await this.redis.sismember(key, userId))) continue;
      const jobId = key.slice(`${this.prefix}:votes:`.length, -':voters'.length);
      const job = (await jobOf(jobId)) ?? { jobId, channelId: 'unknown', userId: 'unknown', createdAt: 0 };
      const guildTop = this.guildTop(job.guildId);
      const channelTop = this.channelTop(job.channelId);
      removed += Number(
        await this.redis.eval(
          REMOVE_VOTER,
          8,
          key,
          `${this.prefix}:votes:${jobId}:clicks`,
          guildTop,
          `${guildTop}:at`,
          channelTop,
          `${channelTop}:at`,
          this.authorBest(job.guildId, job.userId),
          this.profileKey(job.guildId, job.userId),
          userId,
          jobId,
        ),
      );
    }
    const own = [
      ...(await this.scanKeys(`${this.prefix}:profile:*:${userId}`)),
      ...(await this.scanKeys(`${this.prefix}:top:guild:*:user:${userId}`)),
    ];
    if (own.length > 0) await this.redis.del(...own);
    return removed;
  }

  private async scanKeys(pattern: string): Promise<string[]> {
    const found: string[] = [];
    let cursor = '0';
    do {
      const [next, keys] = await this.redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
      cursor = next;
      found.push(...keys);
    } while (cursor !== '0');
    return found;
  }

  async profile(guildId: string | undefined, userId: string): Promise<ProfileNumbers> {
    const [numbers, best] = await Promise.all([
      this.redis.hgetall(this.profileKey(guildId, userId)),
      this.redis.zrevrange(this.authorBest(guildId, userId), 0, 0, 'WITHSCORES'),
    ]);
    return {
      images: Number(numbers.images ?? 0),
      votes: Math.max(0, Number(numbers.votes ?? 0)),
      remixes: Number(numbers.remixes ?? 0),
      best: best.length === 2 ? { jobId: best[0]!, votes: Number(best[1]) } : undefined,
    };
  }
}
