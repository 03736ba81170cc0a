import type { Redis } from 'ioredis';
import { z } from 'zod';

/**
 * Per-server settings, stored as one JSON document per guild and validated on the way in and out.
 * Every field has a default, so a server that never ran /config behaves sensibly.
 */
export const guildSettingsSchema = z.object({
  /** Members may vote for their own images. */
  allowSelfVote: z.boolean().default(false),
  /** Entries one member may have in a challenge. */
  challengeMaxEntries: z.number().int().min(1).max(10).default(2),
  /** Channels where members may generate (threads count as their parent); empty: everywhere. */
  allowedChannels: z.array(z.string().regex(/^\d{1,20}$/)).max(50).default([]),
  /** Pictures one member may have generating at once. */
  maxRunning: z.number().int().min(1).max(16).default(2),
  /** Requests one member may have waiting in the queue. */
  maxQueued: z.number().int().min(1).max(1000).default(10),
  /** Images one member may make per day (UTC); 0 means no limit. */
  dailyImages: z.number().int().min(0).max(100_000).default(100),
  /** Higher daily image quotas by role id (a member gets the highest that applies). */
  roleQuotas: z.record(z.string().regex(/^\d{1,20}$/), z.number().int().min(0).max(100_000)).default({}),
  /** Cost units (MODEL_COSTS) the whole server may spend per day (UTC); 0 means no limit. */
  dailyBudget: z.number().int().min(0).max(10_000_000).default(1000),
  /** The model /imagine uses when a member picks none (unset: the first configured one). */
  defaultModel: z.string().max(50).optional(),
  /** Words and /regular expressions/ refused in prompts, on top of the built-in list. */
  blocklist: z.array(z.string().min(1).max(100)).max(200).default([]),
  /** Where prompts the built-in list flags as NSFW may be generated. */
  nsfw: z.enum(['age-restricted', 'everywhere', 'nowhere']).default('age-restricted'),
});
export type GuildSettings = z.infer<typeof guildSettingsSchema>;

const CACHE_MS = 30_000;

/** SET only if the value is still what was read ('' standing for "no value yet"). */
const COMPARE_AND_SET = `
local current = redis.call('GET', KEYS[1]) or ''
if current ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[2])
return 1
`;

export class SettingsStore {
  private readonly cache = new Map<string, { value: GuildSettings; expires: number }>();

  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {}

  private key(guildId: string) {
    return `${this.prefix}:settings:${guildId}`;
  }

  /** The guild's settings (defaults where unset). Cached briefly: settings are read on every click. */
  async get(guildId: string | undefined | null): Promise<GuildSettings> {
    if (!guildId) return guildSettingsSchema.parse({});
    const cached = this.cache.get(guildId);
    if (cached && cached.expires > Date.now()) return cached.value;
    const raw = await this.redis.get(this.key(guildId));
    const value = guildSettingsSchema.parse(raw ? JSON.parse(raw) : {});
    this.cache.set(guildId, { value, expires: Date.now() + CACHE_MS });
    return value;
  }

  /** The settings as stored right now, bypassing the cache (for /config, which shows and edits them). */
  async fresh(guildId: string): Promise<GuildSettings> {
    const raw = await this.redis.get(this.key(guildId));
    const value = guildSettingsSchema.parse(raw ? JSON.parse(raw) : {});
    this.cache.set(guildId, { value, expires: Date.now() + CACHE_MS });
    return value;
  }

  /**
   * Validates and saves a change; returns the new settings. The change is applied to what is
   * stored at that moment, compare-and-set, so two admins (or two bot processes) editing at once
   * never lose each other's edits. Give a function when the change depends on the current value
   * (adding to a list).
   */
  async update(
    guildId: string,
    change: Partial<GuildSettings> | ((current: GuildSettings) => Partial<GuildSettings>),
  ): Promise<GuildSettings> {
    const key = this.key(guildId);
    for (let attempt = 0; attempt < 50; attempt += 1) {
      const raw = await this.redis.get(key);
      const current = guildSettingsSchema.parse(raw ? JSON.parse(raw) : {});
      const value = guildSettingsSchema.parse({ ...current, ...(typeof change === 'function' ? change(current) : change) });
      const saved = await this.redis.eval(COMPARE_AND_SET, 1, key, raw ?? '', JSON.stringify(value));
      if (saved === 1) {
        this.cache.set(guildId, { value, expires: Date.now() + CACHE_MS });
        return value;
      }
    }
    throw new Error(`the settings of guild ${guildId} kept changing; giving up`);
  }
}
