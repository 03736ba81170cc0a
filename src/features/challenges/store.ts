import type { Database } from '../../db/connection.js';
import type { ChallengePhase, RowUpdate } from '../../db/schema.js';

/**
 * Challenge phase changes in PostgreSQL: compare-and-set on (id, expected phase). A deadline that
 * fires twice, from two bot processes or a retried job, finds the phase already moved and
 * changes nothing.
 */
export async function transition(
  db: Database,
  challengeId: string,
  from: ChallengePhase,
  to: ChallengePhase,
  changes: Omit<RowUpdate<'challenges'>, 'id' | 'phase'> = {},
): Promise<boolean> {
  const result = await db
    .updateTable('challenges')
    .set({ ...changes, phase: to })
    .where('id', '=', challengeId)
    .where('phase', '=', from)
    .executeTakeFirst();
  return result.numUpdatedRows === 1n;
}

/**
 * Awards season points; a (challenge, member, reason) already awarded is skipped, so a results
 * transition that runs again gives nobody points twice. Returns how many rows were new.
 */
export async function awardPoints(
  db: Database,
  awards: { guildId: string; season: string; challengeId: string; userId: string; reason: 'entry' | 'podium'; points: number }[],
): Promise<number> {
  if (awards.length === 0) return 0;
  const result = await db
    .insertInto('season_points')
    .values(
      awards.map((award) => ({
        guild_id: award.guildId,
        season: award.season,
        challenge_id: award.challengeId,
        user_id: award.userId,
        reason: award.reason,
        points: award.points,
      })),
    )
    .onConflict((conflict) => conflict.columns(['challenge_id', 'user_id', 'reason']).doNothing())
    .executeTakeFirst();
  return Number(result.numInsertedOrUpdatedRows ?? 0n);
}

/** The season's leaderboard: points per member, most first. */
export async function leaderboard(db: Database, guildId: string, season: string): Promise<{ user_id: string; points: number }[]> {
  return db
    .selectFrom('season_points')
    .select((eb) => ['user_id', eb.fn.sum<number>('points').as('points')])
    .where('guild_id', '=', guildId)
    .where('season', '=', season)
    .groupBy('user_id')
    .orderBy('points', 'desc')
    .orderBy('user_id')
    .execute();
}
