import type { Redis } from 'ioredis';
import { z } from 'zod';

/**
 * Per-server settings, stored as one JSON document per guild and validated on the way in and out.
 * Every field has a default, so a server that never ran /config behaves sensibly.
 */
export const guildSettingsSchema = z.object({
  /** Members may vote for their own images. */
  allowSelfVote: z.boolean().default(false),
});
export type GuildSettings = z.infer<typeof guildSettingsSchema>;

const CACHE_MS = 30_000;

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

  /** Validates and saves a partial change; returns the new settings. */
  async update(guildId: string, change: Partial<GuildSettings>): Promise<GuildSettings> {
    const current = await this.get(guildId);
    const value = guildSettingsSchema.parse({ ...current, ...change });
    await this.redis.set(this.key(guildId), JSON.stringify(value));
    this.cache.set(guildId, { value, expires: Date.now() + CACHE_MS });
    return value;
  }
}
