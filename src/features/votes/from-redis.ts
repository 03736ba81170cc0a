import type { Redis } from 'ioredis';
import { sql } from 'kysely';
import type { Database } from '../../db/connection.js';

/**
 * Version 0.1's votes, as it kept them in Redis: `<prefix>:votes:<job>:voters` (a set of member
 * ids), `<prefix>:votes:<job>:closed` (the picture was deleted), `<prefix>:profile:<guild or
 * "direct">:<member>` (a hash of images, votes and remixes) and `<prefix>:profile-counted:<job>`
 * (the job was counted on its author's profile). The rankings were built from the voters sets and
 * are not read.
 */
export interface VotesCopyReport {
  /** Vote rows written, and those the database already had. */
  votes: { copied: number; present: number; invalid: string[] };
  /** Results whose request is not in the database (yet): their votes wait for a later run. */
  waiting: string[];
  /** Members' profile numbers per server. */
  profiles: { copied: number; present: number; invalid: string[] };
}

const SNOWFLAKE = /^\d{15,20}$/;

async function* scan(redis: Redis, pattern: string): AsyncGenerator<string> {
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 500);
    cursor = next;
    yield* keys;
  } while (cursor !== '0');
}

/**
 * Copies 0.1's votes and profile numbers. Idempotent: a vote already in the database is left as
 * it is, and each result's score is recounted from its vote rows, so a second run changes
 * nothing. Votes on results whose request is not in the database are reported as waiting (copy
 * the pictures first); Redis is only read.
 */
export async function copyVotesFromRedis(redis: Redis, prefix: string, db: Database): Promise<VotesCopyReport> {
  const report: VotesCopyReport = { votes: { copied: 0, present: 0, invalid: [] }, waiting: [], profiles: { copied: 0, present: 0, invalid: [] } };
  const votersKey = new RegExp(`^${prefix}:votes:(\\d{15,20}):voters$`);

  for await (const key of scan(redis, `${prefix}:votes:*:voters`)) {
    const jobId = votersKey.exec(key)?.[1];
    if (!jobId) continue;
    const members = await redis.smembers(key);
    const voters = members.filter((member) => SNOWFLAKE.test(member));
    for (const member of members) if (!SNOWFLAKE.test(member)) report.votes.invalid.push(`${jobId}/${member}`);
    const [closed, counted] = await Promise.all([
      redis.exists(`${prefix}:votes:${jobId}:closed`),
      redis.exists(`${prefix}:profile-counted:${jobId}`),
    ]);
    const outcome = await db.transaction().execute(async (trx) => {
      const request = await trx.selectFrom('requests').select(['id', 'created_at']).where('id', '=', jobId).forUpdate().executeTakeFirst();
      if (!request) return undefined;
      // 0.1 kept no time for a vote: the picture's own time stands in for it.
      const inserted =
        voters.length === 0
          ? []
          : await trx
              .insertInto('votes')
              .values(voters.map((userId) => ({ request_id: jobId, user_id: userId, created_at: request.created_at })))
              .onConflict((conflict) => conflict.columns(['request_id', 'user_id']).doNothing())
              .returning('user_id')
              .execute();
      await trx
        .updateTable('requests')
        .set((eb) => ({
          vote_count: eb
            .selectFrom('votes')
            .select(sql<number>`count(*)::int`.as('n'))
            .where('request_id', '=', jobId),
          ...(closed ? { votes_closed_at: sql<Date>`coalesce(votes_closed_at, now())` } : {}),
          ...(counted ? { profile_counted: true } : {}),
        }))
        .where('id', '=', jobId)
        .execute();
      return inserted.length;
    });
    if (outcome === undefined) {
      report.waiting.push(jobId);
      continue;
    }
    report.votes.copied += outcome;
    report.votes.present += voters.length - outcome;
  }

  const profileKey = new RegExp(`^${prefix}:profile:(\\d{15,20}|direct):(\\d{15,20})$`);
  for await (const key of scan(redis, `${prefix}:profile:*`)) {
    const match = profileKey.exec(key);
    if (!match) continue;
    const [, guild, userId] = match as unknown as [string, string, string];
    const numbers = await redis.hgetall(key);
    const read = (field: string) => Math.max(0, Math.trunc(Number(numbers[field] ?? 0)));
    const values = { pictures: read('images'), votes_received: read('votes'), remixes_received: read('remixes') };
    if (Object.values(values).some((value) => !Number.isSafeInteger(value) || value > 2 ** 31 - 1)) {
      report.profiles.invalid.push(`${guild}/${userId}`);
      continue;
    }
    const written = await db
      .insertInto('member_stats')
      .values({ user_id: userId, guild_id: guild === 'direct' ? '' : guild, ...values })
      .onConflict((conflict) => conflict.columns(['user_id', 'guild_id']).doNothing())
      .executeTakeFirst();
    report.profiles[(written.numInsertedOrUpdatedRows ?? 0n) > 0n ? 'copied' : 'present'] += 1;
  }
  return report;
}

/** The report's lines, as the command prints them. */
export function describeVotesCopy(report: VotesCopyReport): string {
  const invalid = (list: string[]) => (list.length ? `, ${list.length} not readable (left in Redis): ${list.join(', ')}` : '');
  const waiting = report.waiting.length
    ? `, votes of ${report.waiting.length} pictures not in the database yet (copy the pictures, then run again): ${report.waiting.join(', ')}`
    : '';
  return (
    `votes: ${report.votes.copied} copied, ${report.votes.present} already in the database${invalid(report.votes.invalid)}${waiting}\n` +
    `profile numbers: ${report.profiles.copied} copied, ${report.profiles.present} already in the database${invalid(report.profiles.invalid)}`
  );
}
