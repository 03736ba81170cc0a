import type { Redis } from 'ioredis';
import { sql } from 'kysely';
import { z } from 'zod';
import type { Database } from '../../db/connection.js';
import { DELETED_MEMBER, ENTRY_POINTS, challengePhases, scheduleSchema } from './model.js';

/**
 * Copies the challenges of version 0.1 from Redis into PostgreSQL. The old layout, under the
 * installation's prefix:
 *   challenge:<id>                 hash: the challenge (times in ms; `ranking` as JSON after the results)
 *   challenge:<id>:entries         hash: entry number → {imageId, jobId, userId, submittedAt}
 *   challenge:<id>:votes:<entry>   set: the members who voted for the entry
 *   challenge:<id>:gallery         hash: entry number → gallery message id
 *   challenges:seq                 the last challenge id handed out
 *   challenges:guild:<g>:themes, :themes:used   sets: the theme pool, and the themes drawn this round
 *   challenges:guild:<g>:schedule  JSON: the weekly schedule
 *   challenges:guild:<g>:season:<s> sorted set: the leaderboard (rebuilt here from the rankings,
 *                                  which it was the sum of)
 * Idempotent: rows already in the database are left as they are and counted as present.
 */
export interface Counts {
  copied: number;
  present: number;
  invalid: string[];
}

export interface ChallengeCopyReport {
  challenges: Counts;
  entries: Counts;
  votes: Counts;
  points: Counts;
  themes: Counts;
  schedules: Counts;
}

const counts = (): Counts => ({ copied: 0, present: 0, invalid: [] });

const time = z.coerce.number().int().positive();
const optionalTime = time.optional();
const optionalText = z.string().min(1).optional();
const snowflake = z.string().regex(/^\d{1,20}$/);

const legacyChallengeSchema = z.object({
  guildId: snowflake,
  channelId: snowflake,
  theme: z.string().min(1).max(200),
  phase: z.enum(challengePhases),
  submitDays: z.coerce.number().int().min(1).max(13),
  voteDays: z.coerce.number().int().min(1).max(6),
  scheduled: z.string().optional(),
  createdBy: optionalText,
  createdAt: time,
  announcedAt: optionalTime,
  submissionsEndAt: optionalTime,
  votingEndAt: optionalTime,
  votingStartedAt: optionalTime,
  resultsAt: optionalTime,
  cancelledAt: optionalTime,
  cancelledBy: optionalText,
  season: z
    .string()
    .regex(/^\d{4}-Q[1-4]$/)
    .optional(),
  announceMessageId: optionalText,
  threadId: optionalText,
  votingMessageId: optionalText,
  galleryPosted: optionalText,
  resultMessageId: optionalText,
  cancelMessageId: optionalText,
  pausedAt: optionalTime,
  pausedNote: optionalText,
  entrySeq: z.coerce.number().int().min(0).optional(),
  ranking: optionalText,
});

const legacyEntrySchema = z.object({ imageId: z.string().min(1), jobId: z.string().optional(), userId: z.string().min(1), submittedAt: time });
const legacyRankingSchema = z.array(
  z.object({
    id: z.number().int().positive(),
    votes: z.number().int().min(0),
    place: z.number().int().min(1),
    points: z.number().int().min(0),
    userId: z.string(),
  }),
);

const at = (ms: number | undefined) => (ms === undefined ? null : new Date(ms));
const memberOrNull = (userId: string | undefined) => (userId && userId !== DELETED_MEMBER ? userId : null);

function parseJson(raw: string): unknown {
  try {
    return JSON.parse(raw);
  } catch {
    return undefined;
  }
}

async function* scanKeys(redis: Redis, pattern: string): AsyncGenerator<string> {
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 500);
    cursor = next;
    yield* keys;
  } while (cursor !== '0');
}

export async function copyChallengesFromRedis(redis: Redis, prefix: string, db: Database, now = Date.now()): Promise<ChallengeCopyReport> {
  const report: ChallengeCopyReport = {
    challenges: counts(),
    entries: counts(),
    votes: counts(),
    points: counts(),
    themes: counts(),
    schedules: counts(),
  };
  const challengeKey = new RegExp(`^${escape(prefix)}:challenge:([1-9]\\d{0,11})$`);
  const ids: string[] = [];
  for await (const key of scanKeys(redis, `${prefix}:challenge:*`)) {
    const id = challengeKey.exec(key)?.[1];
    if (id) ids.push(id);
  }
  ids.sort((a, b) => Number(a) - Number(b));
  for (const id of ids) await copyChallenge(redis, prefix, db, id, report);

  // Ids handed out from now on follow the copied ones (and 0.1's counter).
  const seq = Number((await redis.get(`${prefix}:challenges:seq`)) ?? 0);
  const highest = Math.max(seq, ...ids.map(Number));
  if (highest > 0) {
    await sql`SELECT setval('challenge_ids', greatest(${highest}::bigint, (SELECT last_value FROM challenge_ids)))`.execute(db);
  }

  const guildKey = new RegExp(`^${escape(prefix)}:challenges:guild:(\\d{1,20}):(themes|schedule)$`);
  for await (const key of scanKeys(redis, `${prefix}:challenges:guild:*`)) {
    const match = guildKey.exec(key);
    if (!match) continue;
    const guildId = match[1]!;
    if (match[2] === 'themes') await copyThemes(redis, key, db, guildId, now, report.themes);
    else await copySchedule(redis, key, db, guildId, report.schedules);
  }
  return report;
}

async function copyChallenge(redis: Redis, prefix: string, db: Database, id: string, report: ChallengeCopyReport): Promise<void> {
  const key = `${prefix}:challenge:${id}`;
  const parsed = legacyChallengeSchema.safeParse(await redis.hgetall(key));
  if (!parsed.success) {
    report.challenges.invalid.push(id);
    return;
  }
  const old = parsed.data;
  const rawEntries = await redis.hgetall(`${key}:entries`);
  const entryNumbers = Object.keys(rawEntries).map(Number);
  const inserted = await db
    .insertInto('challenges')
    .values({
      id,
      guild_id: old.guildId,
      channel_id: old.channelId,
      theme: old.theme,
      phase: old.phase,
      submit_days: old.submitDays,
      vote_days: old.voteDays,
      scheduled: old.scheduled === '1',
      season: old.season ?? null,
      created_by: memberOrNull(old.createdBy),
      created_at: new Date(old.createdAt),
      announced_at: at(old.announcedAt),
      submissions_end_at: at(old.submissionsEndAt),
      voting_started_at: at(old.votingStartedAt),
      voting_end_at: at(old.votingEndAt),
      results_at: at(old.resultsAt),
      cancelled_at: at(old.cancelledAt),
      cancelled_by: memberOrNull(old.cancelledBy),
      thread_id: old.threadId ?? null,
      announce_message_id: old.announceMessageId ?? null,
      voting_message_id: old.votingMessageId ?? null,
      result_message_id: old.resultMessageId ?? null,
      cancel_message_id: old.cancelMessageId ?? null,
      entry_seq: Math.max(old.entrySeq ?? 0, ...entryNumbers.filter(Number.isSafeInteger), 0),
      gallery_posted: old.galleryPosted === '1',
      paused_at: at(old.pausedAt),
      paused_note: old.pausedNote?.slice(0, 1000) ?? null,
    })
    // Copied by an earlier run (the id), or the server already runs a challenge in PostgreSQL.
    .onConflict((conflict) => conflict.doNothing())
    .returning('id')
    .executeTakeFirst();
  const row = await db.selectFrom('challenges').select('guild_id').where('id', '=', id).executeTakeFirst();
  if (row?.guild_id !== old.guildId) {
    // Not copied, and the id (or the server's running slot) belongs to another challenge.
    report.challenges.invalid.push(id);
    return;
  }
  report.challenges[inserted ? 'copied' : 'present'] += 1;

  const ranking = legacyRankingSchema.safeParse(old.ranking && old.ranking !== '{}' ? parseJson(old.ranking) : []);
  const ranked = new Map((ranking.success ? ranking.data : []).map((entry) => [entry.id, entry]));
  const gallery = await redis.hgetall(`${key}:gallery`);
  const copiedEntries: number[] = [];
  for (const [number, raw] of Object.entries(rawEntries)) {
    const entryNumber = Number(number);
    const entry = legacyEntrySchema.safeParse(parseJson(raw));
    const name = `${id}#${number}`;
    if (!Number.isSafeInteger(entryNumber) || entryNumber < 1 || !entry.success) {
      report.entries.invalid.push(name);
      continue;
    }
    // Entries refer to the archive's picture rows: copy the pictures first.
    const picture = await db.selectFrom('images').select('request_id').where('id', '=', entry.data.imageId).executeTakeFirst();
    if (!picture) {
      report.entries.invalid.push(`${name} (picture ${entry.data.imageId} is not in the database)`);
      continue;
    }
    const place = ranked.get(entryNumber);
    const result = await db
      .insertInto('challenge_entries')
      .values({
        challenge_id: id,
        entry_number: entryNumber,
        image_id: entry.data.imageId,
        request_id: picture.request_id,
        user_id: memberOrNull(entry.data.userId),
        submitted_at: new Date(entry.data.submittedAt),
        gallery_message_id: gallery[number] ?? null,
        votes: place?.votes ?? null,
        place: place?.place ?? null,
        points: place?.points ?? null,
      })
      .onConflict((conflict) => conflict.doNothing())
      .executeTakeFirst();
    report.entries[Number(result.numInsertedOrUpdatedRows ?? 0n) === 1 ? 'copied' : 'present'] += 1;
    copiedEntries.push(entryNumber);
  }

  const present = new Set(
    (await db.selectFrom('challenge_entries').select('entry_number').where('challenge_id', '=', id).execute()).map((row) => row.entry_number),
  );
  for (const entryNumber of copiedEntries) {
    if (!present.has(entryNumber)) continue;
    const voters = (await redis.smembers(`${key}:votes:${entryNumber}`)).filter((userId) => /^\d{1,20}$/.test(userId));
    if (voters.length === 0) continue;
    const result = await db
      .insertInto('challenge_votes')
      .values(voters.map((userId) => ({ challenge_id: id, entry_number: entryNumber, user_id: userId })))
      .onConflict((conflict) => conflict.doNothing())
      .executeTakeFirst();
    const added = Number(result.numInsertedOrUpdatedRows ?? 0n);
    report.votes.copied += added;
    report.votes.present += voters.length - added;
  }

  // The season leaderboard was the sum of the rankings' points: the ledger is rebuilt from them.
  if (old.phase === 'results' && old.season) {
    if (!ranking.success) {
      report.points.invalid.push(id);
      return;
    }
    const totals = new Map<string, { entry: number; podium: number }>();
    for (const entry of ranking.data) {
      if (entry.userId === DELETED_MEMBER || entry.points === 0) continue;
      const total = totals.get(entry.userId) ?? { entry: 0, podium: 0 };
      total.entry += ENTRY_POINTS;
      total.podium += Math.max(0, entry.points - ENTRY_POINTS);
      totals.set(entry.userId, total);
    }
    const rows = [...totals].flatMap(([userId, total]) =>
      (['entry', 'podium'] as const)
        .filter((reason) => total[reason] > 0)
        .map((reason) => ({
          guild_id: old.guildId,
          season: old.season!,
          challenge_id: id,
          user_id: userId,
          reason,
          points: total[reason],
          awarded_at: at(old.resultsAt) ?? new Date(old.createdAt),
        })),
    );
    if (rows.length > 0) {
      const result = await db
        .insertInto('season_points')
        .values(rows)
        .onConflict((conflict) => conflict.doNothing())
        .executeTakeFirst();
      const added = Number(result.numInsertedOrUpdatedRows ?? 0n);
      report.points.copied += added;
      report.points.present += rows.length - added;
    }
  }
}

async function copyThemes(redis: Redis, key: string, db: Database, guildId: string, now: number, report: Counts): Promise<void> {
  const [themes, used] = await Promise.all([redis.smembers(key), redis.smembers(`${key}:used`)]);
  const drawn = new Set(used);
  for (const theme of themes) {
    if (theme.length < 1 || theme.length > 200) {
      report.invalid.push(`${guildId}/${theme.slice(0, 40)}`);
      continue;
    }
    const result = await db
      .insertInto('challenge_themes')
      .values({ guild_id: guildId, theme, last_used_at: drawn.has(theme) ? new Date(now) : null })
      .onConflict((conflict) => conflict.doNothing())
      .executeTakeFirst();
    report[Number(result.numInsertedOrUpdatedRows ?? 0n) === 1 ? 'copied' : 'present'] += 1;
  }
}

async function copySchedule(redis: Redis, key: string, db: Database, guildId: string, report: Counts): Promise<void> {
  const raw = await redis.get(key);
  if (raw === null) return;
  const parsed = scheduleSchema.safeParse(parseJson(raw));
  if (!parsed.success) {
    report.invalid.push(guildId);
    return;
  }
  const schedule = parsed.data;
  const result = await db
    .insertInto('challenge_schedules')
    .values({
      guild_id: guildId,
      channel_id: schedule.channelId,
      weekday: schedule.weekday,
      at_time: schedule.time,
      timezone: schedule.timezone,
      submit_days: schedule.submitDays,
      vote_days: schedule.voteDays,
    })
    .onConflict((conflict) => conflict.column('guild_id').doNothing())
    .executeTakeFirst();
  report[Number(result.numInsertedOrUpdatedRows ?? 0n) === 1 ? 'copied' : 'present'] += 1;
}

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** The report's lines, as `npm run migrate-from-redis` prints them. */
export function describeChallengeCopy(report: ChallengeCopyReport): string[] {
  const names: Array<[keyof ChallengeCopyReport, string]> = [
    ['challenges', 'challenges'],
    ['entries', 'challenge entries'],
    ['votes', 'challenge votes'],
    ['points', 'season points'],
    ['themes', 'challenge themes'],
    ['schedules', 'challenge schedules'],
  ];
  return names.map(
    ([key, name]) =>
      `${name}: ${report[key].copied} copied, ${report[key].present} already in the database` +
      (report[key].invalid.length ? `, ${report[key].invalid.length} not readable (left in Redis): ${report[key].invalid.join(', ')}` : ''),
  );
}

/** Whether anything could not be copied. */
export function challengeCopyIncomplete(report: ChallengeCopyReport): boolean {
  return Object.values(report).some((part: Counts) => part.invalid.length > 0);
}
