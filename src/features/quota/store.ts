import type { Database } from '../../db/connection.js';

/**
 * Refunds in PostgreSQL. A request's cost goes back to the server's budget at most once: the
 * first caller to set refunded_at gets the cost back to give, every later one (a retried job, a
 * cancel racing a failure) gets nothing.
 */
export async function claimRefund(db: Database, requestId: string, now: Date = new Date()): Promise<{ cost: number } | undefined> {
  return db
    .updateTable('requests')
    .set({ refunded_at: now })
    .where('id', '=', requestId)
    .where('refunded_at', 'is', null)
    .returning('cost')
    .executeTakeFirst();
}
