import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { pino } from 'pino';
import { openDatabase } from '../src/db/connection.js';
import { migrateToLatest } from '../src/db/migrate.js';
import { SettingsStore } from '../src/features/settings/store.js';
import { createMetrics } from '../src/metrics.js';
import { FsImageStorage } from '../src/storage/fs.js';
import { createWebServer } from '../src/web/server.js';
import { GallerySeed } from '../test/support/gallery-seed.js';
import { median, percentile, round, skipped, type BenchOptions, type ScenarioResult } from './lib.js';

const GUILD = '1000000000000000042';
const TARGET_P99_MS = 100;

/** BENCH_DATABASE_URL, or the local server's administrator database: a scratch database is made next to it. */
const adminUrl = () => process.env.BENCH_DATABASE_URL ?? process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

async function admin(text: string): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl() });
  await client.connect();
  try {
    await client.query(text);
  } finally {
    await client.end();
  }
}

/**
 * The server gallery page with 100,000 pictures in one server (seeded with SQL into a scratch
 * PostgreSQL database): server time of the page, newest first, measured over HTTP on loopback,
 * one request at a time. Other views (the next page by cursor, a member, a model, a search, top of
 * the week) are reported alongside. Target: p99 ≤ 100 ms for the page.
 */
export async function galleryScenario({ quick }: BenchOptions): Promise<ScenarioResult> {
  const pictures = 100_000;
  const requests = quick ? 100 : 400;
  const name = `atelier_bench_${randomUUID().replaceAll('-', '').slice(0, 12)}`;
  try {
    await admin(`CREATE DATABASE ${name}`);
  } catch (error) {
    return skipped('gallery', `no PostgreSQL to seed (${error instanceof Error ? error.message : String(error)})`, `p99 ≤ ${TARGET_P99_MS} ms`);
  }
  const url = new URL(adminUrl());
  url.pathname = `/${name}`;
  const database = await openDatabase({ url: url.toString(), maxConnections: 10 });
  const dir = mkdtempSync(join(tmpdir(), 'atelier-bench-gallery-'));
  try {
    await migrateToLatest(database.db);
    const seeding = performance.now();
    const seed = new GallerySeed(database.db, new FsImageStorage(dir));
    await seed.bulk(GUILD, pictures);
    const seedSeconds = (performance.now() - seeding) / 1000;
    const settings = new SettingsStore(database.db);
    // Public, so that no login is needed to ask for the page; access is decided the same way.
    await settings.update(GUILD, { galleryPublic: true });
    const app = await createWebServer({
      logger: pino({ level: 'silent' }),
      metrics: createMetrics(),
      readiness: [],
      gallery: { db: database.db, storage: new FsImageStorage(dir), settings },
    });
    const base = await app.listen({ port: 0, host: '127.0.0.1' });
    try {
      const time = async (path: string): Promise<{ ms: number; body: string }> => {
        const start = performance.now();
        const response = await fetch(`${base}${path}`);
        const body = await response.text();
        const ms = performance.now() - start;
        if (response.status !== 200) throw new Error(`${path} answered ${response.status}`);
        return { ms, body };
      };
      const first = await time(`/g/${GUILD}`);
      const next = /rel="next" href="([^"]+)"/.exec(first.body)?.[1]?.replaceAll('&#38;', '&');
      if (!next) throw new Error('the gallery page has no next page');
      for (let i = 0; i < 20; i += 1) await time(`/g/${GUILD}`); // warm-up: plans, caches, JIT
      const page: number[] = [];
      for (let i = 0; i < requests; i += 1) page.push((await time(`/g/${GUILD}`)).ms);
      const variants: Record<string, string> = {
        next_page: next,
        member: `/g/${GUILD}?member=1300000000000000007`,
        model: `/g/${GUILD}?model=geometric`,
        search: `/g/${GUILD}?q=lighthouse`,
        top_week: `/g/${GUILD}?sort=top&period=week`,
      };
      const extra: Record<string, unknown> = { seed_seconds: round(seedSeconds), requests };
      for (const [label, path] of Object.entries(variants)) {
        const times: number[] = [];
        for (let i = 0; i < Math.max(20, requests / 5); i += 1) times.push((await time(path)).ms);
        extra[`${label}_median_ms`] = round(median(times));
        extra[`${label}_p99_ms`] = round(percentile(times, 99));
      }
      const p99 = round(percentile(page, 99));
      return {
        name: 'gallery',
        parameters: { pictures, requests, page_size: 48, quick },
        unit: 'ms',
        median: round(median(page)),
        p99,
        baseline: null,
        ratio: null,
        target: `p99 ≤ ${TARGET_P99_MS} ms`,
        pass: p99 <= TARGET_P99_MS,
        extra,
      };
    } finally {
      await app.close();
    }
  } finally {
    await database.close();
    await admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  }
}
