import type { Database } from '../../db/connection.js';

/**
 * Votes on a result in PostgreSQL. The primary key (request_id, user_id) is what makes it one
 * vote per member: a double click, or two bot processes handling the same click, insert once.
 */
export type VoteOutcome = 'added' | 'removed';

/** Adds the member's vote; false when they had already voted (nothing changes). */
export async function addVote(db: Database, requestId: string, userId: string): Promise<boolean> {
  const result = await db
    .insertInto('votes')
    .values({ request_id: requestId, user_id: userId })
    .onConflict((conflict) => conflict.columns(['request_id', 'user_id']).doNothing())
    .executeTakeFirst();
  return (result.numInsertedOrUpdatedRows ?? 0n) > 0n;
}

/**
 * A click: adds the member's vote, or takes it back when they had one. Two clicks of the same
 * member at the same moment both find no vote to take back; the key lets one insert through and
 * the other changes nothing, so a double click counts once.
 */
export async function toggleVote(db: Database, requestId: string, userId: string): Promise<{ outcome: VoteOutcome; count: number }> {
  return db.transaction().execute(async (trx) => {
    const removed = await trx.deleteFrom('votes').where('request_id', '=', requestId).where('user_id', '=', userId).executeTakeFirst();
    const outcome: VoteOutcome = removed.numDeletedRows > 0n ? 'removed' : 'added';
    if (outcome === 'added') await addVote(trx, requestId, userId);
    return { outcome, count: await voteCount(trx, requestId) };
  });
}

export async function voteCount(db: Database, requestId: string): Promise<number> {
  const row = await db
    .selectFrom('votes')
    .select((eb) => eb.fn.countAll<number>().as('count'))
    .where('request_id', '=', requestId)
    .executeTakeFirstOrThrow();
  return row.count;
}
