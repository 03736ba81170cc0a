import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { sql } from 'kysely';
import pg from 'pg';
import { openDatabase, type Database } from '../src/db/connection.js';
import { MIGRATIONS_DIR, migrateToLatest } from '../src/db/migrate.js';
import { archivedFirstPictures } from '../src/features/votes/pictures.js';
import { VoteStore } from '../src/features/votes/store.js';
import { median, percentile, round, skipped, type BenchOptions, type ScenarioResult } from './lib.js';

/**
 * `/top period:month` and `/profile` on one server with 1,000,000 pictures and 5,000,000 votes:
 * the database work each command does (the ranking or the member's numbers and best result, then
 * the shown pictures' rows), timed one call after another. Target: p99 ≤ 50 ms for each.
 *
 * The data is made by SQL (generate_series) in a database of its own on the PostgreSQL server
 * (BENCH_DATABASE_URL, else TEST_DATABASE_URL, else the local one), with the secondary indexes
 * dropped during the load and built afterwards. It is kept, named after the migrations and this
 * seed, so later runs start at once; BENCH_RESEED=1 makes it again.
 */

const PICTURES = 1_000_000;
const MEMBERS = 5_000;
const CHANNELS = 20;
/** The pictures are spread over two years. */
const SPAN_DAYS = 730;
const GUILD = '900000000000000001';
const TARGET_MS = 50;
/** Changing the seed below? Bump this: a kept database made by an older seed is not reused. */
const SEED_VERSION = 1;

const adminUrl = () => process.env.BENCH_DATABASE_URL ?? process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

function urlOf(name: string): string {
  const url = new URL(adminUrl());
  url.pathname = `/${name}`;
  return url.toString();
}

/** An empty database of its own on the bench's PostgreSQL server, dropped by `drop()`. */
export async function benchDatabase(prefix: string): Promise<{ url: string; drop: () => Promise<void> }> {
  const name = `${prefix}_${process.pid}_${Date.now()}`;
  const admin = async (text: string) => {
    const client = new pg.Client({ connectionString: adminUrl() });
    await client.connect();
    try {
      await client.query(text);
    } finally {
      await client.end();
    }
  };
  await admin(`CREATE DATABASE "${name}"`);
  return { url: urlOf(name), drop: () => admin(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`) };
}

/** Named after the schema and the seed, so a changed migration or seed makes a new one. */
function databaseName(): string {
  const hash = createHash('sha256').update(`seed ${SEED_VERSION} ${PICTURES} ${MEMBERS}`);
  for (const file of readdirSync(MIGRATIONS_DIR).sort()) hash.update(file).update(readFileSync(join(MIGRATIONS_DIR, file)));
  return `atelier_bench_rankings_${hash.digest('hex').slice(0, 12)}`;
}

const memberId = (n: number) => String(800000000000000000n + BigInt(n));

/**
 * Request r (1..N) is made by a member drawn with a skew (a few members make most pictures), in
 * one of the server's channels, at an even pace over the span; it gets (7r mod 10) votes, and
 * every thousandth gets 500 more: 4.5 M + 0.5 M = exactly 5,000,000. Its k voters are distinct
 * members (104729 is coprime with 5000), voting in the minutes after it was posted.
 */
async function seed(db: Database): Promise<void> {
  const exec = (query: string) => sql.raw(query).execute(db);
  await exec(`SET maintenance_work_mem = '512MB'`);
  // The data is consistent by construction: no foreign-key triggers row by row.
  await exec(`SET session_replication_role = replica`);
  const secondary = await sql<{ indexname: string; indexdef: string }>`
    SELECT i.indexname, i.indexdef FROM pg_indexes i
    WHERE i.schemaname = 'public' AND i.tablename IN ('requests', 'images', 'votes')
      AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)`.execute(db);
  for (const { indexname } of secondary.rows) await exec(`DROP INDEX ${indexname}`);
  const end = `date_trunc('hour', now())`;
  const author = `floor(${MEMBERS} * power(((r::bigint * 2654435761) % 4294967296) / 4294967296.0, 2))::int`;
  const votes = `((r * 7) % 10 + CASE WHEN r % 1000 = 0 THEN 500 ELSE 0 END)`;
  await exec(`
    INSERT INTO requests (id, kind, status, prompt, aspect, seed, image_count, model, user_id, guild_id, channel_id,
                          result_channel_id, result_message_id, created_at, finished_at, vote_count, profile_counted)
    SELECT (1000000000000000000 + r)::text, 'txt2img', 'delivered', 'seeded picture ' || r, '1:1', r, 1, 'painterly',
           (800000000000000000 + ${author})::text, '${GUILD}', (910000000000000000 + r % ${CHANNELS})::text,
           (910000000000000000 + r % ${CHANNELS})::text, (1000000000000000000 + r)::text,
           ${end} - (${PICTURES} - r) * interval '${(SPAN_DAYS * 86400) / PICTURES} seconds',
           ${end} - (${PICTURES} - r) * interval '${(SPAN_DAYS * 86400) / PICTURES} seconds',
           ${votes}, true
    FROM generate_series(1, ${PICTURES}) AS r`);
  await exec(`
    INSERT INTO images (id, request_id, position, kind, prompt, seed, model, aspect, width, height, content_type, storage_key,
                        user_id, guild_id, channel_id, message_id, age_restricted, created_at)
    SELECT id || '-1', id, 0, 'txt2img', prompt, seed, model, aspect, 512, 512, 'image/png', right(id || '-1', 2) || '/' || id || '-1.png',
           user_id, guild_id, channel_id, result_message_id, seed % 50 = 0, created_at
    FROM requests`);
  await exec(`
    INSERT INTO votes (request_id, user_id, created_at)
    SELECT r.id, (800000000000000000 + (r.seed * 7919 + j * 104729) % ${MEMBERS})::text, r.created_at + (j + 1) * interval '1 minute'
    FROM requests r, generate_series(0, r.vote_count - 1) AS j
    WHERE r.vote_count > 0`);
  await exec(`
    INSERT INTO member_stats (user_id, guild_id, pictures, votes_received)
    SELECT user_id, guild_id, count(*), sum(vote_count) FROM requests GROUP BY user_id, guild_id`);
  for (const { indexdef } of secondary.rows) await exec(indexdef);
  await exec(`SET session_replication_role = origin`);
  await exec(`VACUUM ANALYZE`);
}

/** The database with the data, made when not kept from an earlier run. */
async function seeded(): Promise<{ url: string; seedSeconds: number | null }> {
  const name = databaseName();
  const admin = new pg.Client({ connectionString: adminUrl() });
  await admin.connect();
  try {
    const { rowCount } = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (rowCount && process.env.BENCH_RESEED !== '1') return { url: urlOf(name), seedSeconds: null };
    // Databases made by other versions of the schema or seed are not kept.
    const old = await admin.query<{ datname: string }>(`SELECT datname FROM pg_database WHERE datname LIKE 'atelier_bench_rankings_%'`);
    for (const { datname } of old.rows) await admin.query(`DROP DATABASE "${datname}" WITH (FORCE)`);
    const loading = `${name}_loading`;
    await admin.query(`CREATE DATABASE "${loading}"`);
    const started = Date.now();
    const opened = await openDatabase({ url: urlOf(loading), maxConnections: 1 });
    try {
      await migrateToLatest(opened.db);
      await seed(opened.db);
    } finally {
      await opened.close();
    }
    // Renamed only once complete: an interrupted load is never taken for a finished one.
    await admin.query(`ALTER DATABASE "${loading}" RENAME TO "${name}"`);
    return { url: urlOf(name), seedSeconds: round((Date.now() - started) / 1000) };
  } finally {
    await admin.end();
  }
}

async function timed(runs: number, call: (i: number) => Promise<unknown>): Promise<number[]> {
  for (let i = 0; i < 20; i += 1) await call(i);
  const times: number[] = [];
  for (let i = 0; i < runs; i += 1) {
    const start = process.hrtime.bigint();
    await call(i);
    times.push(Number(process.hrtime.bigint() - start) / 1e6);
  }
  return times;
}

/** The index each query's plan reads, to show in the results (EXPLAIN). */
async function plannedIndexes(db: Database, query: { sql: string; parameters: readonly unknown[] }): Promise<string[]> {
  const { rows } = await db.executeQuery<{ 'QUERY PLAN': unknown }>({
    sql: `EXPLAIN (FORMAT JSON) ${query.sql}`,
    parameters: query.parameters,
    query: { kind: 'RawNode' } as never,
    queryId: { queryId: 'explain' } as never,
  });
  const found = new Set<string>();
  const walk = (node: Record<string, unknown>) => {
    if (typeof node['Index Name'] === 'string') found.add(`${String(node['Node Type'])} on ${node['Index Name']}`);
    for (const child of (node.Plans as Array<Record<string, unknown>> | undefined) ?? []) walk(child);
  };
  walk((rows[0]!['QUERY PLAN'] as Array<{ Plan: Record<string, unknown> }>)[0]!.Plan);
  return [...found];
}

export async function rankingsScenario({ quick, redisUrl }: BenchOptions): Promise<ScenarioResult> {
  const target = `p99 ≤ ${TARGET_MS} ms`;
  try {
    const probe = new pg.Client({ connectionString: adminUrl() });
    await probe.connect();
    await probe.end();
  } catch (error) {
    return skipped(
      'rankings',
      `no PostgreSQL server at ${new URL(adminUrl()).host} (${error instanceof Error ? error.message : String(error)})`,
      target,
    );
  }
  const { url, seedSeconds } = await seeded();
  const opened = await openDatabase({ url, maxConnections: 4 });
  const redis = new Redis(redisUrl);
  try {
    const db = opened.db;
    const votes = new VoteStore(db, redis, 'bench-rankings');
    const latest = await db
      .selectFrom('requests')
      .select((eb) => eb.fn.max('created_at').as('at'))
      .executeTakeFirstOrThrow();
    const now = new Date(latest.at as Date).getTime() + 3600_000;
    const counts = await sql<{ pictures: number; votes: number }>`
      SELECT (SELECT count(*) FROM images WHERE guild_id = ${GUILD})::int AS pictures,
             (SELECT count(*) FROM votes)::int AS votes`.execute(db);
    const runs = quick ? 100 : 500;

    // /top period:month, server-wide: the ranking, then the shown pictures.
    const top = await timed(runs, async () => {
      const ranked = await votes.top({ guildId: GUILD }, 'month', now, 10);
      await archivedFirstPictures(
        db,
        ranked.map((entry) => entry.jobId),
      );
    });
    // /profile of members from the busiest to the quietest: the numbers, then the best picture.
    const profile = await timed(runs, async (i) => {
      const numbers = await votes.profile(GUILD, memberId((i * 37) % MEMBERS));
      if (numbers.best) await archivedFirstPictures(db, [numbers.best.jobId]);
    });
    const busiest = await votes.profile(GUILD, memberId(0));

    const since = new Date(now - 30 * 86400_000);
    const topQuery = db
      .selectFrom('requests')
      .select(['id', 'vote_count'])
      .where('vote_count', '>', 0)
      .where('votes_closed_at', 'is', null)
      .where('guild_id', '=', GUILD)
      .where('created_at', '>=', since)
      .orderBy(sql`vote_count DESC, length(id) DESC, id DESC`)
      .limit(10)
      .compile();
    const bestQuery = db
      .selectFrom('requests')
      .select(['id', 'vote_count'])
      .where('user_id', '=', memberId(0))
      .where('guild_id', '=', GUILD)
      .where('vote_count', '>', 0)
      .where('votes_closed_at', 'is', null)
      .orderBy(sql`vote_count DESC, length(id) DESC, id DESC`)
      .limit(1)
      .compile();

    const topP99 = percentile(top, 99);
    const profileP99 = percentile(profile, 99);
    return {
      name: 'rankings',
      parameters: { pictures: counts.rows[0]!.pictures, votes: counts.rows[0]!.votes, members: MEMBERS, runs, quick },
      unit: 'ms',
      median: round(median(top), 2),
      p99: round(Math.max(topP99, profileP99), 2),
      baseline: null,
      ratio: null,
      target,
      pass: topP99 <= TARGET_MS && profileP99 <= TARGET_MS && counts.rows[0]!.pictures >= PICTURES && counts.rows[0]!.votes >= 5_000_000,
      extra: {
        top_month_median_ms: round(median(top), 2),
        top_month_p99_ms: round(topP99, 2),
        profile_median_ms: round(median(profile), 2),
        profile_p99_ms: round(profileP99, 2),
        busiest_member_pictures: busiest.images,
        seed_seconds: seedSeconds,
        top_month_plan: await plannedIndexes(db, topQuery),
        profile_best_plan: await plannedIndexes(db, bestQuery),
      },
    };
  } finally {
    await redis.quit();
    await opened.close();
  }
}
