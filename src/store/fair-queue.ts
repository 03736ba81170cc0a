import type { Redis } from 'ioredis';
import { GENERATE_QUEUE } from '../queues.js';
import { runScript } from '../redis-scripts.js';

/**
 * Fair sharing of the GPUs between members, and the limits that keep one member or one server
 * from taking them all.
 *
 * BullMQ's open-source edition has no per-group rotation, so fairness comes from priorities given
 * at admission: a member's k-th outstanding request (waiting or running) gets priority k, and
 * BullMQ serves lower priorities first and equal ones in arrival order. A member's first request
 * therefore overtakes everything another member has queued beyond their first, so a flood delays
 * a newcomer by at most the jobs already running plus one per member whose first request arrived
 * earlier.
 *
 * Every counter changes inside a Lua script: limits are checked and charged in one step, so two
 * requests arriving together cannot both slip under a limit.
 */

/** BullMQ's highest priority number (2^21). */
const MAX_PRIORITY = 2_097_152;
const DAY_MS = 24 * 3600 * 1000;
/** Daily counters outlive their day a little, for /quota around midnight. */
const QUOTA_TTL_SECONDS = 2 * 24 * 3600;

export interface AdmissionLimits {
  /** Requests the member may have waiting (running ones do not count). */
  maxQueued: number;
  /** The member's images per day; 0: no limit. */
  dailyImages: number;
  /** The server's cost units per day; 0: no limit. */
  dailyBudget: number;
  /** Cost units the whole installation may spend per day, across every server (OPERATOR_DAILY_BUDGET); 0: no limit. */
  operatorBudget?: number;
}

export interface AdmissionRequest {
  jobId: string;
  userId: string;
  guildId?: string;
  images: number;
  /** Cost units of the whole request (cost per image × images). */
  cost: number;
  limits: AdmissionLimits;
  now: number;
}

export type AdmissionRefusal =
  | { reason: 'queued'; queued: number; limit: number }
  | { reason: 'daily'; used: number; limit: number; resetsAt: number }
  | { reason: 'budget'; spent: number; limit: number; resetsAt: number }
  | { reason: 'operator'; spent: number; limit: number; resetsAt: number };

export type AdmissionResult = { admitted: true; priority: number } | ({ admitted: false } & AdmissionRefusal);

export interface Usage {
  imagesToday: number;
  budgetSpent: number;
  /** What the whole installation spent today. */
  operatorSpent: number;
  /** Waiting and running requests. */
  outstanding: number;
  running: number;
  resetsAt: number;
}

/**
 * Turns and running slots belong to a member on one server, as the limits do: what a member
 * queues on one server neither counts toward another server's limits nor delays their turn there.
 */
function memberKey(guildId: string | undefined, userId: string): string {
  return `${guildId ?? 'dm'}:${userId}`;
}

/** The UTC day a timestamp falls in, and when the next one begins. */
export function quotaDay(now: number): { day: number; resetsAt: number } {
  const day = Math.floor(now / DAY_MS);
  return { day, resetsAt: (day + 1) * DAY_MS };
}

const ADMIT = `
local outstanding = tonumber(redis.call('HGET', KEYS[1], ARGV[1]) or '0')
if redis.call('HEXISTS', KEYS[5], ARGV[2]) == 1 then return {1, outstanding} end
local queued = outstanding - redis.call('SCARD', KEYS[2])
if queued < 0 then queued = 0 end
if queued >= tonumber(ARGV[3]) then return {0, 'queued', queued} end
local images = tonumber(ARGV[4])
local dailyImages = tonumber(ARGV[5])
local used = tonumber(redis.call('GET', KEYS[3]) or '0')
if dailyImages > 0 and used + images > dailyImages then return {0, 'daily', used} end
local cost = tonumber(ARGV[6])
local budget = tonumber(ARGV[7])
local spent = tonumber(redis.call('GET', KEYS[4]) or '0')
if budget > 0 and cost > 0 and spent + cost > budget then return {0, 'budget', spent} end
local operatorBudget = tonumber(ARGV[9])
local operatorSpent = tonumber(redis.call('GET', KEYS[6]) or '0')
if operatorBudget > 0 and cost > 0 and operatorSpent + cost > operatorBudget then return {0, 'operator', operatorSpent} end
redis.call('INCRBY', KEYS[3], images)
redis.call('EXPIRE', KEYS[3], ARGV[8])
if cost > 0 then
  redis.call('INCRBY', KEYS[4], cost)
  redis.call('EXPIRE', KEYS[4], ARGV[8])
  redis.call('INCRBY', KEYS[6], cost)
  redis.call('EXPIRE', KEYS[6], ARGV[8])
end
redis.call('HSET', KEYS[5], ARGV[2], ARGV[1])
return {1, redis.call('HINCRBY', KEYS[1], ARGV[1], 1)}
`;

/**
 * Gives a job's charge back, once per job (the marker says it was). A Lua function, run by the job
 * store inside the same script that marks the job failed or cancelled: nobody can see the status
 * without the refund, and no crash can come between the two. Arguments: member's day,
 * server's day, refund marker, installation's day (keys, in `RefundPlan.keys` order), then images,
 * cost, marker TTL.
 */
export const REFUND_FUNCTION = `
local function refund(memberDay, serverDay, marker, operatorDay, images, cost, ttl)
  if not redis.call('SET', marker, '1', 'NX', 'EX', ttl) then return 0 end
  local backImages = math.min(tonumber(images), tonumber(redis.call('GET', memberDay) or '0'))
  if backImages > 0 then redis.call('DECRBY', memberDay, backImages) end
  local backCost = math.min(tonumber(cost), tonumber(redis.call('GET', serverDay) or '0'))
  if backCost > 0 then redis.call('DECRBY', serverDay, backCost) end
  local operatorCost = math.min(tonumber(cost), tonumber(redis.call('GET', operatorDay) or '0'))
  if operatorCost > 0 then redis.call('DECRBY', operatorDay, operatorCost) end
  return 1
end
`;

/** The keys and amounts a refund of one job's charge touches (see REFUND_FUNCTION). */
export interface RefundPlan {
  keys: [memberDay: string, serverDay: string, marker: string, operatorDay: string];
  args: [images: number, cost: number, markerTtlSeconds: number];
}

/**
 * A job leaves the queue: its member's turn counter drops. Idempotent: a job leaves once, however
 * many paths report it. A Lua function, also run by the job store inside the status change that
 * ends the job (see `releaseKeys`): one round trip, and nobody sees the status without the release.
 * Arguments: outstanding counters, admitted jobs (keys), job id.
 */
export const RELEASE_FUNCTION = `
local function release(outstanding, admitted, jobId)
  local userId = redis.call('HGET', admitted, jobId)
  if not userId then return 0 end
  redis.call('HDEL', admitted, jobId)
  if redis.call('HINCRBY', outstanding, userId, -1) <= 0 then redis.call('HDEL', outstanding, userId) end
  return 1
end
`;

const RELEASE = `${RELEASE_FUNCTION}
return release(KEYS[1], KEYS[2], ARGV[1])
`;

/**
 * A running slot is a job id in the member's set. Ids whose BullMQ lock is gone belong to a worker
 * that died without saying so; they are dropped so that a crash cannot block a member for good.
 * KEYS: the member's set, then the lock of each id in ARGV[3…] (read from the set just before:
 * a script names every key it touches, for Redis Cluster). ARGV: job id, limit, the ids.
 */
const ACQUIRE_RUN_SLOT = `
if redis.call('SISMEMBER', KEYS[1], ARGV[1]) == 1 then return 1 end
for i = 2, #KEYS do
  if redis.call('EXISTS', KEYS[i]) == 0 then redis.call('SREM', KEYS[1], ARGV[i + 1]) end
end
if redis.call('SCARD', KEYS[1]) >= tonumber(ARGV[2]) then return 0 end
redis.call('SADD', KEYS[1], ARGV[1])
redis.call('EXPIRE', KEYS[1], 86400)
return 1
`;

/** A running slot a worker took for a job (see FairQueue.acquireRunSlot); `released` once given back. */
export interface HeldRunSlot {
  guildId?: string;
  userId: string;
  /** The BullMQ job id the slot is held under. */
  jobId: string;
  released: boolean;
}

export class FairQueue {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {}

  private get outstandingKey() {
    return `${this.prefix}:fair:outstanding`;
  }

  private get admittedKey() {
    return `${this.prefix}:fair:jobs`;
  }

  /** The member's running slots on that server: BullMQ ids of their jobs a worker is running. */
  runningKey(guildId: string | undefined, userId: string) {
    return `${this.prefix}:fair:running:${memberKey(guildId, userId)}`;
  }

  private memberDayKey(guildId: string | undefined, userId: string, day: number) {
    return `${this.prefix}:quota:${guildId ?? 'dm'}:${day}:member:${userId}`;
  }

  private serverDayKey(guildId: string | undefined, day: number) {
    return `${this.prefix}:quota:${guildId ?? 'dm'}:${day}:budget`;
  }

  /** What every server together spent that day: OPERATOR_DAILY_BUDGET caps it. */
  private operatorDayKey(day: number) {
    return `${this.prefix}:quota:operator:${day}:budget`;
  }

  /**
   * Checks the member's queue limit, daily quota and the server's budget, and when all allow it
   * charges them and returns the request's BullMQ priority; otherwise says which limit refused.
   */
  async admit(request: AdmissionRequest): Promise<AdmissionResult> {
    const { day, resetsAt } = quotaDay(request.now);
    const { limits } = request;
    const [ok, second, third] = (await runScript(
      this.redis,
      ADMIT,
      6,
      this.outstandingKey,
      this.runningKey(request.guildId, request.userId),
      this.memberDayKey(request.guildId, request.userId, day),
      this.serverDayKey(request.guildId, day),
      this.admittedKey,
      this.operatorDayKey(day),
      memberKey(request.guildId, request.userId),
      request.jobId,
      limits.maxQueued,
      request.images,
      limits.dailyImages,
      Math.ceil(request.cost),
      limits.dailyBudget,
      QUOTA_TTL_SECONDS,
      limits.operatorBudget ?? 0,
    )) as [number, number | string, number | undefined];
    if (ok === 1) return { admitted: true, priority: Math.min(Math.max(1, Number(second)), MAX_PRIORITY) };
    const count = Number(third ?? 0);
    switch (second) {
      case 'queued':
        return { admitted: false, reason: 'queued', queued: count, limit: limits.maxQueued };
      case 'daily':
        return { admitted: false, reason: 'daily', used: count, limit: limits.dailyImages, resetsAt };
      case 'operator':
        return { admitted: false, reason: 'operator', spent: count, limit: limits.operatorBudget ?? 0, resetsAt };
      default:
        return { admitted: false, reason: 'budget', spent: count, limit: limits.dailyBudget, resetsAt };
    }
  }

  /** What refunding the job's charge (`charge` as "day:images:cost") touches; undefined for a malformed charge. */
  refundPlan(jobId: string, userId: string, guildId: string | undefined, charge: string): RefundPlan | undefined {
    const [day, images, cost] = charge.split(':').map(Number);
    if (day === undefined || images === undefined || cost === undefined || [day, images, cost].some(Number.isNaN)) return undefined;
    return {
      keys: [
        this.memberDayKey(guildId, userId, day),
        this.serverDayKey(guildId, day),
        `${this.prefix}:fair:refunded:${jobId}`,
        this.operatorDayKey(day),
      ],
      args: [images, cost, QUOTA_TTL_SECONDS],
    };
  }

  /** The keys RELEASE_FUNCTION takes, in its order. */
  get releaseKeys(): [outstanding: string, admitted: string] {
    return [this.outstandingKey, this.admittedKey];
  }

  /** The job left the queue (finished, failed or cancelled): the member's next request moves up a turn. */
  async release(jobId: string): Promise<boolean> {
    return (await runScript(this.redis, RELEASE, 2, this.outstandingKey, this.admittedKey, jobId)) === 1;
  }

  /**
   * Gives back the member's turns held by requests that are no longer open: a process that died
   * between admitting a request and recording it, or between finishing one and releasing it, must
   * not leave the member stuck at their queue limit. Walks every admitted request, so it runs only
   * when a member is refused for that limit. Returns how many turns came back.
   */
  async reconcile(guildId: string | undefined, userId: string, isOpen: (jobId: string) => Promise<boolean>): Promise<number> {
    const member = memberKey(guildId, userId);
    let released = 0;
    let cursor = '0';
    do {
      const [next, entries] = await this.redis.hscan(this.admittedKey, cursor, 'COUNT', 500);
      cursor = next;
      for (let i = 0; i < entries.length; i += 2) {
        const [jobId, owner] = [entries[i]!, entries[i + 1]!];
        if (owner === member && !(await isOpen(jobId)) && (await this.release(jobId))) released += 1;
      }
    } while (cursor !== '0');
    return released;
  }

  /** Takes one of the member's running slots on that server for this job, unless they already use `limit`. */
  async acquireRunSlot(guildId: string | undefined, userId: string, jobId: string, limit: number): Promise<boolean> {
    const slots = this.runningKey(guildId, userId);
    // Nearly always the member holds fewer slots than the limit: one command takes one. Only a
    // member at the limit has their holders looked at, to drop any a dead worker left behind.
    if ((await runScript(this.redis, ACQUIRE_RUN_SLOT, 1, slots, jobId, limit)) === 1) return true;
    // An id that joins after this read is a job just started, holding its lock: nothing to drop.
    const holders = (await this.redis.smembers(slots)).filter((id) => id !== jobId);
    const locks = holders.map((id) => `${this.prefix}:${GENERATE_QUEUE}:${id}:lock`);
    return (await runScript(this.redis, ACQUIRE_RUN_SLOT, 1 + locks.length, slots, ...locks, jobId, limit, ...holders)) === 1;
  }

  async releaseRunSlot(guildId: string | undefined, userId: string, jobId: string): Promise<void> {
    await this.redis.srem(this.runningKey(guildId, userId), jobId);
  }

  async usage(userId: string, guildId: string | undefined, now: number): Promise<Usage> {
    const { day, resetsAt } = quotaDay(now);
    const [images, spent, operatorSpent, outstanding, running] = await Promise.all([
      this.redis.get(this.memberDayKey(guildId, userId, day)),
      this.redis.get(this.serverDayKey(guildId, day)),
      this.redis.get(this.operatorDayKey(day)),
      this.redis.hget(this.outstandingKey, memberKey(guildId, userId)),
      this.redis.scard(this.runningKey(guildId, userId)),
    ]);
    return {
      imagesToday: Number(images ?? 0),
      budgetSpent: Number(spent ?? 0),
      operatorSpent: Number(operatorSpent ?? 0),
      outstanding: Number(outstanding ?? 0),
      running,
      resetsAt,
    };
  }
}
