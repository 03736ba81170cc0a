import pg from 'pg';

/**
 * A fresh PostgreSQL database for one benchmark installation, on the server of BENCH_DATABASE_URL
 * (or TEST_DATABASE_URL, or the local server), so that the bot runs as it does in production and a
 * run never sees an earlier one's data. Dropped again by `drop()`.
 */
export const benchAdminUrl = (): string =>
  process.env.BENCH_DATABASE_URL ?? process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

export interface BenchDatabase {
  url: string;
  drop(): Promise<void>;
}

async function asAdmin(text: string): Promise<void> {
  const client = new pg.Client({ connectionString: benchAdminUrl() });
  await client.connect();
  try {
    await client.query(text);
  } finally {
    await client.end();
  }
}

export async function createBenchDatabase(label: string): Promise<BenchDatabase> {
  const name = `atelier_bench_${label.replace(/\W/g, '_')}_${process.pid}_${Date.now()}`;
  await asAdmin(`CREATE DATABASE ${name}`);
  const url = new URL(benchAdminUrl());
  url.pathname = `/${name}`;
  return { url: url.toString(), drop: () => asAdmin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`) };
}
