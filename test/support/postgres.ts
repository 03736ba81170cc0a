import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { openDatabase, type OpenDatabase } from '../../src/db/connection.js';
import { migrateToLatest } from '../../src/db/migrate.js';

/**
 * The PostgreSQL server tests use (CI and this machine have one on 127.0.0.1:5432 with trust
 * auth). Each test file gets a database of its own, created fresh and dropped afterwards, so
 * files can run in parallel and never see a developer's data.
 */
export const adminUrl = (): string => process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

export interface TestDatabase extends OpenDatabase {
  name: string;
  url: string;
  /** Closes the connections and drops the database. */
  drop(): Promise<void>;
}

async function admin<T>(run: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: adminUrl() });
  await client.connect();
  try {
    return await run(client);
  } finally {
    await client.end();
  }
}

/** A new, empty database on the test server; `migrated: true` applies the migrations too. */
export async function createTestDatabase(options: { migrated?: boolean; maxConnections?: number } = {}): Promise<TestDatabase> {
  const name = `atelier_test_${randomUUID().replaceAll('-', '').slice(0, 16)}`;
  await admin((client) => client.query(`CREATE DATABASE ${name}`));
  const url = new URL(adminUrl());
  url.pathname = `/${name}`;
  const opened = await openDatabase({ url: url.toString(), maxConnections: options.maxConnections ?? 25 });
  if (options.migrated) await migrateToLatest(opened.db);
  return {
    ...opened,
    name,
    url: url.toString(),
    drop: async () => {
      await opened.close();
      await admin((client) => client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
    },
  };
}
