import type { Redis } from 'ioredis';
import type { Database } from '../../db/connection.js';

/**
 * /describe's state. While the worker reads the picture, Redis holds where to answer (the
 * interaction token under its own key, which expires with it); the four suggestions, once there,
 * are kept in PostgreSQL: the buttons name a suggestion by number only, never by its text.
 */
export interface PendingDescribe {
  id: string;
  applicationId: string;
  guildId?: string;
  channelId: string;
  userId: string;
  /** When the interaction was created: its token dies 15 minutes later. */
  interactionAt: number;
}

/** Far longer than a describe takes; an answer that comes later than this has nobody to go to. */
const PENDING_TTL_SECONDS = 3 * 24 * 3600;
const TOKEN_TTL_SECONDS = 14 * 60;

export class DescribeStore {
  constructor(
    private readonly db: Database,
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {}

  private key(id: string) {
    return `${this.prefix}:describe:${id}`;
  }

  async begin(pending: PendingDescribe, token: string): Promise<void> {
    await this.redis
      .multi()
      .set(this.key(id(pending)), JSON.stringify(pending), 'EX', PENDING_TTL_SECONDS)
      .set(`${this.key(id(pending))}:token`, token, 'EX', TOKEN_TTL_SECONDS)
      .exec();
  }

  async pending(id: string): Promise<{ pending: PendingDescribe; token?: string } | undefined> {
    const [raw, token] = await this.redis.mget(this.key(id), `${this.key(id)}:token`);
    if (!raw) return undefined;
    return { pending: JSON.parse(raw) as PendingDescribe, token: token ?? undefined };
  }

  async finish(id: string): Promise<void> {
    await this.redis.del(this.key(id), `${this.key(id)}:token`);
  }

  /** Idempotent: a repeated answer keeps the first suggestions. */
  async saveSuggestions(pending: PendingDescribe, suggestions: readonly string[]): Promise<void> {
    await this.db
      .insertInto('describe_suggestions')
      .values({
        id: pending.id,
        guild_id: pending.guildId ?? null,
        channel_id: pending.channelId,
        user_id: pending.userId,
        suggestions: [...suggestions],
      })
      .onConflict((conflict) => conflict.column('id').doNothing())
      .execute();
  }

  async suggestions(id: string): Promise<{ guildId?: string; suggestions: string[] } | undefined> {
    const row = await this.db.selectFrom('describe_suggestions').select(['guild_id', 'suggestions']).where('id', '=', id).executeTakeFirst();
    return row ? { guildId: row.guild_id ?? undefined, suggestions: row.suggestions } : undefined;
  }

  /** /privacy: who asked is forgotten; the suggestions (text about a picture) stay for the buttons. */
  async forgetMember(userId: string): Promise<number> {
    const result = await this.db.updateTable('describe_suggestions').set({ user_id: null }).where('user_id', '=', userId).executeTakeFirst();
    return Number(result.numUpdatedRows);
  }
}

const id = (pending: PendingDescribe) => pending.id;
