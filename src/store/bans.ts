import type { Redis } from 'ioredis';

export interface Ban {
  userId: string;
  by: string;
  at: number;
}

/** Members a server's moderators stopped from using the bot (per server). */
export class BanList {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {}

  private key(guildId: string) {
    return `${this.prefix}:bans:${guildId}`;
  }

  /** Returns false when the member was already banned. */
  async ban(guildId: string, userId: string, by: string, at: number): Promise<boolean> {
    return (await this.redis.hsetnx(this.key(guildId), userId, JSON.stringify({ by, at }))) === 1;
  }

  /** Returns false when the member was not banned. */
  async unban(guildId: string, userId: string): Promise<boolean> {
    return (await this.redis.hdel(this.key(guildId), userId)) === 1;
  }

  async isBanned(guildId: string | undefined, userId: string): Promise<boolean> {
    if (!guildId) return false;
    return (await this.redis.hexists(this.key(guildId), userId)) === 1;
  }

  async list(guildId: string): Promise<Ban[]> {
    const raw = await this.redis.hgetall(this.key(guildId));
    return Object.entries(raw).map(([userId, value]) => ({ userId, ...(JSON.parse(value) as { by: string; at: number }) }));
  }
}
