import type { Database } from '../../db/connection.js';

/**
 * Every parent of a blend, in order. The first is also the pictures' parent_id (the family's way
 * up); this table keeps the others, so the family names them all and a blend shows below each.
 */
export class BlendStore {
  constructor(private readonly db: Database) {}

  /** Idempotent: a retried admission writes nothing new. */
  async recordParents(requestId: string, imageIds: readonly string[]): Promise<void> {
    if (imageIds.length === 0) return;
    await this.db
      .insertInto('blend_parents')
      .values(imageIds.map((image_id, position) => ({ request_id: requestId, position, image_id })))
      .onConflict((conflict) => conflict.columns(['request_id', 'position']).doNothing())
      .execute();
  }

  /** The parents of each of these requests that are blends, in order. */
  async parentsOf(requestIds: readonly string[]): Promise<Map<string, string[]>> {
    const found = new Map<string, string[]>();
    if (requestIds.length === 0) return found;
    const rows = await this.db
      .selectFrom('blend_parents')
      .select(['request_id', 'image_id'])
      .where('request_id', 'in', [...requestIds])
      .orderBy('request_id')
      .orderBy('position')
      .execute();
    for (const row of rows) found.set(row.request_id, [...(found.get(row.request_id) ?? []), row.image_id]);
    return found;
  }
}

/**
 * First pictures of delivered blends made from any of these images as a later parent (the first
 * parent is already their parent_id): how a blend hangs below each of its parents in a family.
 */
export async function blendChildrenOf(db: Database, imageIds: readonly string[]): Promise<Array<{ id: string; createdAt: Date }>> {
  if (imageIds.length === 0) return [];
  const rows = await db
    .selectFrom('blend_parents')
    .innerJoin('images', (join) => join.onRef('images.request_id', '=', 'blend_parents.request_id').on('images.position', '=', 0))
    .select(['images.id', 'images.created_at'])
    .where('blend_parents.image_id', 'in', [...imageIds])
    .where('blend_parents.position', '>', 0)
    .where('images.message_id', 'is not', null)
    .distinct()
    .execute();
  return rows.map((row) => ({ id: row.id, createdAt: row.created_at }));
}
