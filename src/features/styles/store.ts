import { createHash } from 'node:crypto';
import { sql } from 'kysely';
import type { Database } from '../../db/connection.js';

/**
 * Style codes and who borrowed whose style. A picture's style code is the first 10 hex digits of
 * the md5 of its id: derived, never stored, so every picture has one; migration 0010 indexes the
 * same expression, which findByCode repeats word for word.
 */
export const styleCodeOf = (imageId: string): string => createHash('md5').update(imageId).digest('hex').slice(0, 10);

export const styleCodePattern = /^[0-9a-f]{10}$/;

export interface StyleBorrow {
  requestId: string;
  styleImageId: string;
  authorId?: string;
  borrowerId: string;
  guildId?: string;
  weight: number;
}

export class StyleStore {
  constructor(private readonly db: Database) {}

  /** Ids of the pictures with this code (nearly always one; the caller keeps this server's). */
  async findByCode(code: string): Promise<string[]> {
    if (!styleCodePattern.test(code)) return [];
    const rows = await this.db
      .selectFrom('images')
      .select('id')
      .where(sql<string>`substr(md5(id), 1, 10)`, '=', code)
      .orderBy('created_at')
      .limit(10)
      .execute();
    return rows.map((row) => row.id);
  }

  /** Idempotent: the same request borrows once. */
  async recordBorrow(borrow: StyleBorrow): Promise<void> {
    await this.db
      .insertInto('style_borrows')
      .values({
        request_id: borrow.requestId,
        style_image_id: borrow.styleImageId,
        author_id: borrow.authorId ?? null,
        borrower_id: borrow.borrowerId,
        guild_id: borrow.guildId ?? null,
        weight: borrow.weight,
      })
      .onConflict((conflict) => conflict.column('request_id').doNothing())
      .execute();
  }

  /** Whose style each of these requests borrowed. */
  async borrowsOf(requestIds: readonly string[]): Promise<Map<string, { styleImageId: string; authorId?: string; weight: number }>> {
    if (requestIds.length === 0) return new Map();
    const rows = await this.db
      .selectFrom('style_borrows')
      .select(['request_id', 'style_image_id', 'author_id', 'weight'])
      .where('request_id', 'in', [...requestIds])
      .execute();
    return new Map(
      rows.map((row) => [row.request_id, { styleImageId: row.style_image_id, authorId: row.author_id ?? undefined, weight: row.weight }]),
    );
  }

  /**
   * How often others drew in this member's styles in this server, counting requests that reached
   * Discord (a refused, failed or cancelled one credits nobody).
   */
  async borrowedFrom(guildId: string | undefined, authorId: string): Promise<number> {
    const row = await this.db
      .selectFrom('style_borrows')
      .innerJoin('requests', 'requests.id', 'style_borrows.request_id')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('style_borrows.author_id', '=', authorId)
      .where((eb) => (guildId ? eb('style_borrows.guild_id', '=', guildId) : eb('style_borrows.guild_id', 'is', null)))
      .where('style_borrows.borrower_id', 'is distinct from', authorId)
      .where('requests.status', '=', 'delivered')
      .executeTakeFirst();
    return Number(row?.n ?? 0);
  }

  /** /privacy: the member no longer appears as a style's author or borrower. */
  async forgetMember(userId: string): Promise<number> {
    const authored = await this.db.updateTable('style_borrows').set({ author_id: null }).where('author_id', '=', userId).executeTakeFirst();
    const borrowed = await this.db.updateTable('style_borrows').set({ borrower_id: null }).where('borrower_id', '=', userId).executeTakeFirst();
    return Number(authored.numUpdatedRows) + Number(borrowed.numUpdatedRows);
  }
}
