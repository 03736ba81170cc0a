import type { Redis } from 'ioredis';
import {
  challengeCopyIncomplete,
  copyChallengesFromRedis,
  describeChallengeCopy,
  type ChallengeCopyReport,
} from '../features/challenges/from-redis.js';
import { BanList } from '../features/moderation/store.js';
import { copyPicturesFromRedis, describePictureCopy, type PictureCopyReport } from '../features/pictures/from-redis.js';
import { guildSettingsSchema } from '../features/settings/schema.js';
import { writeSettings } from '../features/settings/store.js';
import { copySeriesFromRedis, type SeriesCopyCounts } from '../features/series/from-redis.js';
import { copyVotesFromRedis, describeVotesCopy, type VotesCopyReport } from '../features/votes/from-redis.js';
import type { Database } from './connection.js';

export interface CopyCounts {
  copied: number;
  /** Already in the database (copied by an earlier run, or changed since): left as they are. */
  present: number;
}

export interface CopyReport extends VotesCopyReport {
  settings: CopyCounts & { invalid: string[] };
  bans: CopyCounts & { invalid: string[] };
  /** Requests, pictures, family links, message links and display names. */
  pictures: PictureCopyReport;
  /** Challenges with their entries, votes and season points; the theme pools and weekly schedules. */
  challenges: ChallengeCopyReport;
  /** Series with their panels and turn orders. */
  series: SeriesCopyCounts;
}

/** Every key of `prefix:kind:<guild id>` with its guild id. */
async function* guildKeys(redis: Redis, prefix: string, kind: string): AsyncGenerator<{ key: string; guildId: string }> {
  const pattern = new RegExp(`^${prefix}:${kind}:(\\d{1,20})$`);
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:${kind}:*`, 'COUNT', 500);
    cursor = next;
    for (const key of keys) {
      const guildId = pattern.exec(key)?.[1];
      if (guildId) yield { key, guildId };
    }
  } while (cursor !== '0');
}

/**
 * Copies what version 0.1 kept in Redis and now lives in PostgreSQL: server settings, bans, votes
 * and profile numbers (see copyVotesFromRedis), series (with their panels and turn orders) and
 * challenges. Run it after the pictures are copied: votes, panels and entries refer to them.
 * Idempotent: what the database already has is left alone (it may have been changed since), so
 * running it twice copies nothing the second time. Redis is only read. Records that do not parse
 * are named in the report, not copied.
 */
export async function copyFromRedis(redis: Redis, prefix: string, db: Database): Promise<CopyReport> {
  const report: Pick<CopyReport, 'settings' | 'bans'> = {
    settings: { copied: 0, present: 0, invalid: [] },
    bans: { copied: 0, present: 0, invalid: [] },
  };

  for await (const { key, guildId } of guildKeys(redis, prefix, 'settings')) {
    const raw = await redis.get(key);
    if (raw === null) continue;
    let parsed: ReturnType<typeof guildSettingsSchema.safeParse>;
    try {
      parsed = guildSettingsSchema.safeParse(JSON.parse(raw));
    } catch {
      parsed = guildSettingsSchema.safeParse(undefined);
    }
    if (!parsed.success) {
      report.settings.invalid.push(guildId);
      continue;
    }
    // Version 0: written only when the server has no settings in the database yet.
    const written = await writeSettings(db, guildId, 0, parsed.data, null);
    report.settings[written === undefined ? 'present' : 'copied'] += 1;
  }

  const bans = new BanList(db);
  for await (const { key, guildId } of guildKeys(redis, prefix, 'bans')) {
    for (const [userId, value] of Object.entries(await redis.hgetall(key))) {
      let ban: { by?: unknown; at?: unknown } | undefined;
      try {
        ban = JSON.parse(value) as { by?: unknown; at?: unknown };
      } catch {
        ban = undefined;
      }
      if (!/^\d{1,20}$/.test(userId) || typeof ban?.by !== 'string' || typeof ban.at !== 'number' || !Number.isFinite(ban.at)) {
        report.bans.invalid.push(`${guildId}/${userId}`);
        continue;
      }
      const added = await bans.ban(guildId, userId, ban.by, ban.at);
      report.bans[added ? 'copied' : 'present'] += 1;
    }
  }
  // Pictures first: votes, series panels and challenge entries refer to their rows.
  const pictures = await copyPicturesFromRedis(redis, prefix, db);
  const votes = await copyVotesFromRedis(redis, prefix, db);
  const series = await copySeriesFromRedis(redis, prefix, db);
  return { ...report, pictures, ...votes, series, challenges: await copyChallengesFromRedis(redis, prefix, db) };
}

/** Whether some records could not be copied (they are named in the report; the command then exits with 1). */
export function copyIncomplete(report: CopyReport): boolean {
  return (
    [report.settings.invalid, report.bans.invalid, report.votes.invalid, report.profiles.invalid, report.waiting].some((list) => list.length > 0) ||
    report.pictures.requests.invalid.length > 0 ||
    report.pictures.images.invalid.length > 0 ||
    report.series.invalid.length > 0 ||
    report.series.missingPictures > 0 ||
    challengeCopyIncomplete(report.challenges)
  );
}

/** The report as the command prints it. */
export function describeCopy(report: CopyReport): string {
  const line = (what: string, counts: CopyCounts & { invalid: string[] }) =>
    `${what}: ${counts.copied} copied, ${counts.present} already in the database` +
    (counts.invalid.length ? `, ${counts.invalid.length} not readable (left in Redis): ${counts.invalid.join(', ')}` : '');
  const series =
    `${line('series', report.series)}; ${report.series.panels} panels copied` +
    (report.series.missingPictures ? `, ${report.series.missingPictures} panels left out (their picture is unknown)` : '');
  return [
    line('server settings', report.settings),
    line('bans', report.bans),
    describePictureCopy(report.pictures),
    describeVotesCopy(report),
    series,
    ...describeChallengeCopy(report.challenges),
  ].join('\n');
}
