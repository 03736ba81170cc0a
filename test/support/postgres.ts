import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { inject } from 'vitest';
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

/** Runs one statement as the test server's administrator (tests that take a database away). */
export async function adminQuery(text: string): Promise<void> {
  await admin((client) => client.query(text));
}

function urlOf(name: string): string {
  const url = new URL(adminUrl());
  url.pathname = `/${name}`;
  return url.toString();
}

let template: Promise<string> | undefined;

/**
 * The run's migrated database that migrated test databases are copied from: copying takes tens
 * of milliseconds where creating and migrating takes several hundred. The first test file that
 * needs it creates it (under an advisory lock, as files run in parallel); global teardown drops it.
 */
function migratedTemplate(): Promise<string> {
  template ??= admin(async (client) => {
    const name = inject('databaseTemplate');
    // Any fixed key: advisory locks are only taken here.
    await client.query('select pg_advisory_lock(7463092)');
    try {
      const { rowCount } = await client.query('select 1 from pg_database where datname = $1', [name]);
      if (rowCount) return name;
      await client.query(`CREATE DATABASE ${name}`);
      // A copy needs its source free of connections: migrate, then let go.
      const opened = await openDatabase({ url: urlOf(name), maxConnections: 1 });
      try {
        await migrateToLatest(opened.db);
      } catch (error) {
        await opened.close();
        await client.query(`DROP DATABASE ${name}`);
        throw error;
      }
      await opened.close();
      return name;
    } finally {
      await client.query('select pg_advisory_unlock(7463092)');
    }
  });
  return template;
}

/** A new database on the test server: empty, or with `migrated: true` the schema of migrations/. */
export async function createTestDatabase(options: { migrated?: boolean; maxConnections?: number } = {}): Promise<TestDatabase> {
  const name = `atelier_test_${randomUUID().replaceAll('-', '').slice(0, 16)}`;
  const source = options.migrated ? await migratedTemplate() : undefined;
  await admin((client) => client.query(source ? `CREATE DATABASE ${name} TEMPLATE ${source}` : `CREATE DATABASE ${name}`));
  const url = urlOf(name);
  const opened = await openDatabase({ url, maxConnections: options.maxConnections ?? 25 });
  return {
    ...opened,
    name,
    url,
    drop: async () => {
      await opened.close();
      await admin((client) => client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
    },
  };
}
