import type { Database } from '../../db/connection.js';

export interface Ban {
  userId: string;
  by: string;
  /** When the ban was made (ms since the epoch). */
  at: number;
}

/** Members a server's moderators stopped from using the bot (per server), in PostgreSQL. */
export class BanList {
  constructor(private readonly db: Database) {}

  /** Returns false when the member was already banned (the first ban, and who made it, stays). */
  async ban(guildId: string, userId: string, by: string, at: number): Promise<boolean> {
    const added = await this.db
      .insertInto('bans')
      .values({ guild_id: guildId, user_id: userId, banned_by: by, banned_at: new Date(at) })
      .onConflict((conflict) => conflict.columns(['guild_id', 'user_id']).doNothing())
      .returning('user_id')
      .executeTakeFirst();
    return added !== undefined;
  }

  /** Returns false when the member was not banned. */
  async unban(guildId: string, userId: string): Promise<boolean> {
    const removed = await this.db.deleteFrom('bans').where('guild_id', '=', guildId).where('user_id', '=', userId).executeTakeFirst();
    return removed.numDeletedRows > 0n;
  }

  async isBanned(guildId: string | undefined, userId: string): Promise<boolean> {
    if (!guildId) return false;
    const row = await this.db.selectFrom('bans').select('user_id').where('guild_id', '=', guildId).where('user_id', '=', userId).executeTakeFirst();
    return row !== undefined;
  }

  /** The server's bans, oldest first. */
  async list(guildId: string): Promise<Ban[]> {
    const rows = await this.db
      .selectFrom('bans')
      .select(['user_id', 'banned_by', 'banned_at'])
      .where('guild_id', '=', guildId)
      .orderBy('banned_at')
      .orderBy('user_id')
      .execute();
    return rows.map((row) => ({ userId: row.user_id, by: row.banned_by, at: row.banned_at.getTime() }));
  }
}
