import type { Redis } from 'ioredis';
import { runScript } from '../redis-scripts.js';

export interface RateLimit {
  /** Requests a member may send in a burst. */
  burst: number;
  /** How long the bucket takes to refill from empty. */
  refillMs: number;
}

/**
 * Two allowances per member. Requests for pictures cost GPU time and money, so they have a tight
 * one: five at once, then one every two seconds (COMMAND_RATE_LIMIT).
 */
export const defaultRateLimit: RateLimit = { burst: 5, refillMs: 10_000 };

/**
 * Everything else (votes, 🌳 Family, /profile, /top, settings) is cheap, so its allowance stops
 * only scripts: thirty at once, then one a second (INTERACTION_RATE_LIMIT).
 */
export const defaultInteractionRateLimit: RateLimit = { burst: 30, refillMs: 30_000 };

export type RateLimitBucket = 'generate' | 'interaction';

/**
 * A token bucket per member in Redis, so every bot process shares it: each command takes a token,
 * tokens come back continuously. Returns the wait until the next token when the bucket is empty.
 */
const TAKE = `
local burst = tonumber(ARGV[1])
local refillMs = tonumber(ARGV[2])
local now = tonumber(ARGV[3])
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(state[1]) or burst
local at = tonumber(state[2]) or now
tokens = math.min(burst, tokens + math.max(0, now - at) * burst / refillMs)
local allowed = 0
local waitMs = 0
if tokens >= 1 then
  tokens = tokens - 1
  allowed = 1
else
  waitMs = math.ceil((1 - tokens) * refillMs / burst)
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', now)
redis.call('PEXPIRE', KEYS[1], refillMs)
return {allowed, waitMs}
`;

export class CommandRateLimiter {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly limit: RateLimit,
    private readonly bucket: RateLimitBucket,
  ) {}

  async take(userId: string, now: number): Promise<{ allowed: boolean; retryAfterMs: number }> {
    const [allowed, waitMs] = (await runScript(
      this.redis,
      TAKE,
      1,
      `${this.prefix}:ratelimit:${this.bucket}:${userId}`,
      this.limit.burst,
      this.limit.refillMs,
      Math.floor(now),
    )) as [number, number];
    return { allowed: allowed === 1, retryAfterMs: waitMs };
  }
}
