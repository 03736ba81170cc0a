import type { Redis } from 'ioredis';
import { runScript } from '../redis-scripts.js';

/**
 * Rough numbers for "position 3 of 7, about 40 s": recent job durations and the generation
 * capacity (sum of live workers' concurrency), both shared through Redis by every process.
 */
const SAMPLES = 50;
const WORKER_TTL_MS = 30_000;

/**
 * How long the bot reuses what it read for a wait estimate: "about 40 s" is rough anyway, and a
 * burst of requests need not read every worker and the last 50 durations once each.
 */
export const ESTIMATE_REUSE_MS = 2_000;

/** How long recent job durations are kept after the last job. */
const STATS_TTL_SECONDS = 7 * 24 * 3600;

/** KEYS: durations. ARGV: last index kept, TTL (s), then the durations (ms), oldest first. */
const RECORD_DURATIONS = `
redis.call('LPUSH', KEYS[1], unpack(ARGV, 3))
redis.call('LTRIM', KEYS[1], 0, ARGV[1])
redis.call('EXPIRE', KEYS[1], ARGV[2])
return 1
`;

/**
 * KEYS: a BullMQ queue's active list, wait list, prioritized set and delayed set. ARGV: a job id.
 * The four sizes, then the job's index in the wait list and its rank among prioritized jobs (-1:
 * not there).
 */
const STANDING = `
local waitIndex = redis.call('LPOS', KEYS[2], ARGV[1])
local rank = false
if not waitIndex then rank = redis.call('ZRANK', KEYS[3], ARGV[1]) end
return {redis.call('LLEN', KEYS[1]), redis.call('LLEN', KEYS[2]), redis.call('ZCARD', KEYS[3]), redis.call('ZCARD', KEYS[4]), waitIndex or -1, rank or -1}
`;

/** A queue's sizes and where one job is in it (see QueueStats.standing). */
export interface QueueStanding {
  active: number;
  waiting: number;
  prioritized: number;
  delayed: number;
  /** Index in the wait list (pushed on the left, served from the right), when it is there. */
  waitIndex?: number;
  /** Rank among prioritized jobs (served lowest first), when it is there. */
  priorityRank?: number;
}

export class QueueStats {
  private estimateInputs?: { at: number; read: Promise<{ capacity: number; typicalMs: number | undefined }> };

  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {}

  /** capacity() and typicalDurationMs() for a wait estimate, read at most once per ESTIMATE_REUSE_MS. */
  forEstimate(now = Date.now()): Promise<{ capacity: number; typicalMs: number | undefined }> {
    if (this.estimateInputs && now - this.estimateInputs.at < ESTIMATE_REUSE_MS) return this.estimateInputs.read;
    const read = Promise.all([this.capacity(now), this.typicalDurationMs()]).then(([capacity, typicalMs]) => ({ capacity, typicalMs }));
    const entry = { at: now, read };
    this.estimateInputs = entry;
    // A failed read is not reused.
    read.catch(() => {
      if (this.estimateInputs === entry) this.estimateInputs = undefined;
    });
    return read;
  }

  /**
   * The sizes of a BullMQ queue and the ranks of one job in it, read from BullMQ's own structures
   * (O(log n), never a listing) in one command: asked for on every request.
   */
  async standing(queue: { toKey(type: string): string }, jobId: string): Promise<QueueStanding> {
    const keys = ['active', 'wait', 'prioritized', 'delayed'].map((type) => queue.toKey(type));
    const [active, waiting, prioritized, delayed, waitIndex, priorityRank] = (await runScript(this.redis, STANDING, 4, ...keys, jobId)) as number[];
    return {
      active: active ?? 0,
      waiting: waiting ?? 0,
      prioritized: prioritized ?? 0,
      delayed: delayed ?? 0,
      waitIndex: waitIndex !== undefined && waitIndex >= 0 ? waitIndex : undefined,
      priorityRank: priorityRank !== undefined && priorityRank >= 0 ? priorityRank : undefined,
    };
  }

  /** Adds finished jobs' durations (oldest first) to the recent ones. */
  async recordDurations(ms: readonly number[]): Promise<void> {
    if (ms.length === 0) return;
    const key = `${this.prefix}:stats:durations`;
    // One script rather than a MULTI of three. A cache of recent work: after a week without jobs
    // it says nothing useful any more. Only the latest SAMPLES matter, so no more are sent.
    const latest = ms.slice(-SAMPLES).map(Math.round);
    await runScript(this.redis, RECORD_DURATIONS, 1, key, SAMPLES - 1, STATS_TTL_SECONDS, ...latest);
  }

  /** Median of recent durations, or undefined before the first job finished. */
  async typicalDurationMs(): Promise<number | undefined> {
    const values = (await this.redis.lrange(`${this.prefix}:stats:durations`, 0, -1)).map(Number).sort((a, b) => a - b);
    if (values.length === 0) return undefined;
    return values[Math.floor(values.length / 2)];
  }

  /** Called by each worker every few seconds. */
  async heartbeat(workerId: string, concurrency: number, now = Date.now()): Promise<void> {
    // Each entry carries its own expiry; the hash goes once no worker has beaten for a while.
    await this.redis
      .multi()
      .hset(`${this.prefix}:workers`, workerId, `${concurrency}:${now + WORKER_TTL_MS}`)
      .pexpire(`${this.prefix}:workers`, WORKER_TTL_MS * 10)
      .exec();
  }

  async removeWorker(workerId: string): Promise<void> {
    await this.redis.hdel(`${this.prefix}:workers`, workerId);
  }

  /** How many images can be generated at once by the workers that are alive now. */
  async capacity(now = Date.now()): Promise<number> {
    const entries = await this.redis.hgetall(`${this.prefix}:workers`);
    let total = 0;
    for (const [workerId, value] of Object.entries(entries)) {
      const [concurrency, expires] = value.split(':').map(Number);
      if ((expires ?? 0) > now) total += concurrency ?? 0;
      else await this.redis.hdel(`${this.prefix}:workers`, workerId);
    }
    return total;
  }
}

/**
 * The durations a worker measures, sent on at most once per `intervalMs`, in one command: a busy
 * worker finishes many jobs a second, and a rough wait estimate needs no command for each.
 */
export class DurationReport {
  private pending: number[] = [];
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly stats: QueueStats,
    private readonly onError: (error: unknown) => void,
    private readonly intervalMs = 1_000,
  ) {}

  add(ms: number): void {
    this.pending.push(ms);
    if (this.timer) return;
    this.timer = setTimeout(() => void this.flush(), this.intervalMs);
    this.timer.unref();
  }

  /** Sends what is pending now (a stopping worker calls it last). */
  async flush(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    const batch = this.pending.splice(0);
    await this.stats.recordDurations(batch).catch(this.onError);
  }
}

/** "about 40 s" / "about 3 min"; undefined when there is nothing to estimate from. */
export function estimateWait(position: number, capacity: number, typicalMs: number | undefined): number | undefined {
  if (typicalMs === undefined) return undefined;
  const rounds = Math.ceil(position / Math.max(1, capacity));
  return rounds * typicalMs;
}
