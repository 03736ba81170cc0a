import { setTimeout as sleep } from 'node:timers/promises';
import { DefaultRestOptions, type RESTOptions } from 'discord.js';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { runScript } from '../redis-scripts.js';

/**
 * Discord's global limit (50 requests/s) is per bot, not per process. Every bot process takes
 * each request's turn from one sliding window in Redis, so N processes together stay under it.
 * Interaction responses and follow-ups are exempt, as on Discord (they are not counted).
 *
 * The window is half again as long as a second (the limit's requests spread over 1.5 s, about 33
 * a second sustained): requests admitted over more than a second can land at Discord within one
 * (a busy event loop sends several at once, the network adds jitter), and Discord counts what
 * arrives. Past the global limit Discord answers 429, and many 429s get a bot banned for an hour. The clock is Redis's own, the same for every
 * process.
 */
const SLIDING_WINDOW = `
local now = redis.call('TIME')
local nowMs = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
local windowMs = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', nowMs - windowMs)
if redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[1]) then
  redis.call('ZADD', KEYS[1], nowMs, ARGV[3])
  redis.call('PEXPIRE', KEYS[1], windowMs * 2)
  return {0, nowMs}
end
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
return {math.max(1, tonumber(oldest[2]) + windowMs - nowMs), nowMs}
`;

export const GLOBAL_WINDOW_MS = 1_500;

/** Paths Discord does not count against the global limit: interaction callbacks and their webhooks. */
export function exemptFromGlobalLimit(url: string): boolean {
  const path = new URL(url).pathname;
  return /\/interactions\/\d+\/[^/]+\/callback$/.test(path) || /\/webhooks\/\d+\/[^/]+/.test(path);
}

export class SharedGlobalLimit {
  private counter = 0;

  constructor(
    private readonly redis: Redis,
    /** Hash-tagged by the caller's prefix: one key, one Redis Cluster slot. */
    private readonly key: string,
    private readonly perSecond: number,
    private readonly logger: Logger,
    private readonly windowMs = GLOBAL_WINDOW_MS,
  ) {}

  /**
   * Resolves when this process may send one more request, with the time (Redis's clock, ms) the
   * turn was taken; undefined when Redis could not be asked.
   */
  async take(): Promise<number | undefined> {
    const member = `${process.pid}:${Date.now()}:${++this.counter}:${Math.random().toString(36).slice(2, 8)}`;
    for (;;) {
      let waitMs: number;
      let at: number;
      try {
        const answer = (await runScript(this.redis, SLIDING_WINDOW, 1, this.key, this.perSecond, this.windowMs, member)) as [number, number];
        [waitMs, at] = [Number(answer[0]), Number(answer[1])];
      } catch (error) {
        // Redis is out of reach: each process still keeps discord.js's own limit, so the bot
        // slows down (at worst N × the limit) rather than stop talking to Discord.
        this.logger.debug({ err: error }, 'shared Discord rate limit unavailable; using the process limit alone');
        return undefined;
      }
      if (waitMs <= 0) return at;
      await sleep(waitMs);
    }
  }

  /** discord.js REST's `makeRequest`: takes a turn before every counted request. */
  makeRequest(): RESTOptions['makeRequest'] {
    const send = DefaultRestOptions.makeRequest;
    return async (url, init) => {
      if (!exemptFromGlobalLimit(url)) await this.take();
      return send(url, init);
    };
  }
}
