import { setTimeout as sleep } from 'node:timers/promises';
import { Options, Routes, type CacheWithLimitsOptions, type ClientOptions, type REST, type RESTGetAPIGatewayBotResult } from 'discord.js';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';

/** Which shards this process runs, out of how many the bot has in all. */
export interface ShardPlan {
  /** Every shard id of this process; undefined: all of them. */
  ids?: readonly number[];
  /** Total shards of the bot; undefined: what Discord recommends (GET /gateway/bot). */
  count?: number;
}

/**
 * discord.js's `shards` and `shardCount` for a plan. Without a count the recommendation is asked
 * of Discord here when ids are given (discord.js asks it itself only when it runs every shard).
 */
export async function shardOptions(plan: ShardPlan, rest: REST): Promise<Pick<ClientOptions, 'shards' | 'shardCount'>> {
  if (!plan.ids && !plan.count) return { shards: 'auto' };
  const count = plan.count ?? ((await rest.get(Routes.gatewayBot())) as RESTGetAPIGatewayBotResult).shards;
  const ids = plan.ids ?? Array.from({ length: count }, (_, id) => id);
  const outside = ids.filter((id) => id >= count);
  if (outside.length > 0) throw new Error(`SHARD_IDS: shard ${outside.join(', ')} does not exist: the bot has ${count} shards (0-${count - 1})`);
  return { shards: [...ids], shardCount: count };
}

/** How long Discord wants between two identifies of one rate-limit bucket. */
export const IDENTIFY_WINDOW_MS = 5_000;

/**
 * Identifies of every bot process take turns through Redis: Discord allows `max_concurrency`
 * identifies per 5 seconds for the whole bot, one per bucket (`shard_id % max_concurrency`).
 * discord.js's own throttler only sees the shards of its process. When Redis cannot be asked, the
 * process waits a whole window instead, which is what a single process would do.
 */
export class RedisIdentifyThrottler {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly maxConcurrency: number,
    private readonly logger: Logger,
    private readonly windowMs = IDENTIFY_WINDOW_MS,
  ) {}

  async waitForIdentify(shardId: number, signal: AbortSignal): Promise<void> {
    const key = `${this.prefix}:gateway:identify:${shardId % Math.max(1, this.maxConcurrency)}`;
    for (;;) {
      signal.throwIfAborted();
      let waitMs: number;
      try {
        if ((await this.redis.set(key, String(shardId), 'PX', this.windowMs, 'NX')) === 'OK') return;
        waitMs = await this.redis.pttl(key);
      } catch (error) {
        this.logger.warn({ err: error, shardId }, 'could not take an identify turn through Redis; waiting a whole window');
        await sleep(this.windowMs, undefined, { signal });
        return;
      }
      await sleep(Math.max(50, waitMs), undefined, { signal });
    }
  }
}

/**
 * The caches the bot keeps. It reads guilds (which servers it is in) and their roles (a ban
 * checks who outranks whom); interactions bring the rest in their payloads. Everything else that
 * GUILD_CREATE carries (channels, members, emojis, threads, voice states...) is dropped: with
 * thousands of servers it would be most of the process's memory.
 */
export function trimmedCaches(botUserId: () => string | undefined): Pick<ClientOptions, 'makeCache' | 'sweepers'> {
  const none = 0;
  const onlyTheBot = { maxSize: 0, keepOverLimit: (value: { id: string }) => value.id === botUserId() };
  return {
    makeCache: Options.cacheWithLimits({
      // Channels: interactions carry their channel; anything else is asked of Discord. (discord.js
      // calls trimming these "unsupported": the parts that need cached channels are not used.)
      ...({ ChannelManager: none, GuildChannelManager: none } as CacheWithLimitsOptions),
      MessageManager: none,
      ThreadManager: none,
      ThreadMemberManager: none,
      GuildMemberManager: onlyTheBot,
      UserManager: onlyTheBot,
      PresenceManager: none,
      ReactionManager: none,
      ReactionUserManager: none,
      GuildEmojiManager: none,
      BaseGuildEmojiManager: none,
      GuildStickerManager: none,
      GuildScheduledEventManager: none,
      VoiceStateManager: none,
      StageInstanceManager: none,
      GuildInviteManager: none,
      GuildBanManager: none,
      AutoModerationRuleManager: none,
      ApplicationCommandManager: none,
      GuildMessageManager: none,
      DMMessageManager: none,
      GuildForumThreadManager: none,
      GuildTextThreadManager: none,
      EntitlementManager: none,
    }),
    sweepers: {
      ...Options.DefaultSweeperSettings,
      // Users that slip into the cache (interaction authors) go after an hour.
      users: { interval: 3_600, filter: () => (user) => user.id !== botUserId() },
    },
  };
}
