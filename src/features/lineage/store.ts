import type { Database } from '../../db/connection.js';
import { blendChildrenOf } from '../blend/store.js';

/**
 * Families in PostgreSQL. The way up is `images.parent_id`; the way down is the same column read
 * the other way (a remix's set hangs below its parent by its first image). The pictures a message
 * shows are the images posted in it (`images.message_id`), and tree labels use the names members
 * had when they made something (`member_names`), which outlive Discord's caches. Nothing here is
 * written separately: delivery's archive transaction writes the rows these queries read.
 */
export class LineageStore {
  constructor(private readonly db: Database) {}

  /** Children of any of the given images (one set's images share a family), oldest first. */
  async childrenOf(imageIds: readonly string[]): Promise<string[]> {
    if (imageIds.length === 0) return [];
    const rows = await this.db
      .selectFrom('images')
      .select(['id', 'created_at'])
      .where('parent_id', 'in', [...imageIds])
      // A child set is shown by its first picture (uploads are roots, never children), once it
      // reached Discord.
      .where('position', '=', 0)
      .where('message_id', 'is not', null)
      .orderBy('created_at')
      .orderBy('id')
      .execute();
    // A blend hangs below each of its parents, not only the first.
    const blends = await blendChildrenOf(this.db, imageIds);
    if (blends.length === 0) return rows.map((row) => row.id);
    const all = [...rows.map((row) => ({ id: row.id, createdAt: row.created_at })), ...blends];
    all.sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime() || a.id.localeCompare(b.id));
    return [...new Set(all.map((row) => row.id))];
  }

  /** The pictures a message shows, in their order. */
  async imagesOfMessage(messageId: string): Promise<string[]> {
    const rows = await this.db
      .selectFrom('images')
      .select('id')
      .where('message_id', '=', messageId)
      .orderBy('position')
      .orderBy('id')
      .limit(4)
      .execute();
    return rows.map((row) => row.id);
  }

  async rememberName(userId: string, name: string): Promise<void> {
    await rememberNames(this.db, [{ userId, name }]);
  }

  async forgetName(userId: string): Promise<number> {
    const result = await this.db.deleteFrom('member_names').where('user_id', '=', userId).executeTakeFirst();
    return Number(result.numDeletedRows);
  }

  async names(userIds: readonly string[]): Promise<Map<string, string>> {
    const unique = [...new Set(userIds)];
    if (unique.length === 0) return new Map();
    const rows = await this.db.selectFrom('member_names').select(['user_id', 'name']).where('user_id', 'in', unique).execute();
    return new Map(rows.map((row) => [row.user_id, row.name]));
  }
}

/** Keeps the names members go by now (one statement for many; an empty name is not kept). */
export async function rememberNames(db: Database, names: ReadonlyArray<{ userId: string; name: string }>): Promise<void> {
  const latest = new Map<string, string>();
  for (const { userId, name } of names) {
    const trimmed = name.trim().slice(0, 64);
    if (trimmed) latest.set(userId, trimmed);
  }
  if (latest.size === 0) return;
  await db
    .insertInto('member_names')
    .values([...latest].map(([user_id, name]) => ({ user_id, name, updated_at: new Date() })))
    .onConflict((conflict) =>
      conflict
        .column('user_id')
        .doUpdateSet((eb) => ({ name: eb.ref('excluded.name'), updated_at: eb.ref('excluded.updated_at') }))
        // An unchanged name (the usual case) writes nothing.
        .where((eb) => eb('member_names.name', 'is distinct from', eb.ref('excluded.name'))),
    )
    .execute();
}
