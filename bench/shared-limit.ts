import pg from 'pg';
import { spawnAtelier, waitForBotReady } from '../test/support/processes.js';
import { Installation, round, sendAsFastAsAcknowledged, sleep, type BenchOptions, type ScenarioResult } from './lib.js';

const DISCORD_LIMIT = 50;
const BOTS = 3;

/**
 * Three bot processes (one gateway shard each) deliver 300 results, and Discord's global limit is
 * per bot: no 1-second window at the fake Discord may see more than 50 requests that count
 * (interaction callbacks and interaction webhooks do not). Deliveries are made to count: every
 * interaction token has expired by the time results are ready, so each result is a channel post.
 * The busiest sliding 1-second window is the figure; the limit is the target.
 */
export async function sharedLimitScenario({ quick, redisUrl }: BenchOptions): Promise<ScenarioResult> {
  const results = quick ? 150 : 300;
  const tokenLifetimeMs = 2_000;
  // Several bot processes share one PostgreSQL database (the embedded one admits one process):
  // the PostgreSQL server of the tests (TEST_DATABASE_URL), a database of the run's own, which the
  // first bot migrates at start.
  const database = await benchDatabase();
  const shared = { DATABASE_URL: database.url, SHARD_COUNT: String(BOTS) };
  const installation = await Installation.start({
    redisUrl,
    discord: { shards: BOTS, maxConcurrency: BOTS, tokenLifetimeMs, callbackWindowMs: tokenLifetimeMs },
    botEnv: { ...shared, SHARD_IDS: '0' },
  }).catch(async (error: unknown) => {
    await database.drop();
    throw error;
  });
  try {
    for (let shard = 1; shard < BOTS; shard++) {
      const since = Date.now();
      const bot = installation.processes.add(
        spawnAtelier(`bot ${shard + 1}`, 'src/bot/main.ts', installation.env({ ...shared, SHARD_IDS: String(shard) })),
      );
      await waitForBotReady(installation.discord, bot, since, 120_000);
    }
    await installation.discord.waitFor(() => installation.discord.connectedShards.length === BOTS, 60_000, 'every shard');
    // Everything is accepted first; results come once every token has expired.
    const sent = Installation.accepted(await sendAsFastAsAcknowledged(results, 16, (i) => installation.imagine(i)));
    await sleep(tokenLifetimeMs + 500);
    const from = Date.now();
    for (let i = 0; i < 4; i++) installation.startWorker();
    await installation.discord.waitFor(() => installation.resultCount >= sent.length, 600_000, 'every result');
    const counted = installation.discord.requests
      .filter((r) => r.receivedAt >= from && !/^\/interactions\/|^\/webhooks\//.test(r.path))
      .map((r) => r.receivedAt)
      .sort((a, b) => a - b);
    let busiest = 0;
    for (let start = 0, end = 0; end < counted.length; end++) {
      while (counted[end]! - counted[start]! >= 1000) start++;
      busiest = Math.max(busiest, end - start + 1);
    }
    const seconds = (counted.at(-1)! - counted[0]!) / 1000;
    return {
      name: 'shared-rate-limit',
      parameters: { bot_processes: BOTS, results: sent.length, discord_global_rate_limit: DISCORD_LIMIT },
      unit: 'requests in the busiest second',
      median: busiest,
      p99: null,
      baseline: DISCORD_LIMIT,
      ratio: round(busiest / DISCORD_LIMIT, 2),
      target: `≤ ${DISCORD_LIMIT} counted requests in any 1-second window, all bot processes together`,
      pass: busiest <= DISCORD_LIMIT && installation.resultCount >= sent.length,
      extra: {
        counted_requests: counted.length,
        counted_requests_per_s: round(counted.length / Math.max(seconds, 0.001)),
        results_delivered: installation.resultCount,
        refused: results - sent.length,
      },
    };
  } finally {
    await installation.close();
    await database.drop();
  }
}

/** A fresh database on the tests' PostgreSQL server, dropped by `drop()`. */
export async function benchDatabase(): Promise<{ url: string; drop(): Promise<void> }> {
  const admin = new URL(process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres');
  const name = `atelier_bench_${Date.now()}`;
  const run = async (sql: string) => {
    const client = new pg.Client({ connectionString: admin.href });
    await client.connect();
    try {
      await client.query(sql);
    } finally {
      await client.end();
    }
  };
  await run(`CREATE DATABASE ${name}`);
  const url = new URL(admin.href);
  url.pathname = `/${name}`;
  return { url: url.href, drop: () => run(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`) };
}
