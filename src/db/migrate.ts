import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Migrator, sql, type Migration, type MigrationProvider, type MigrationResultSet } from 'kysely';
import type { Database } from './connection.js';

/** The numbered SQL files that make the schema: 0001_initial.sql, 0002_…, applied in order. */
export const MIGRATIONS_DIR = fileURLToPath(new URL('./migrations/', import.meta.url));

const migrationName = /^\d{4}_[a-z0-9_]+\.sql$/;

/**
 * Reads migrations/*.sql. A file whose name does not follow the pattern stops everything rather
 * than being skipped: a misnamed migration silently left out would leave the schema behind.
 */
export class SqlFileMigrationProvider implements MigrationProvider {
  constructor(private readonly dir: string = MIGRATIONS_DIR) {}

  async getMigrations(): Promise<Record<string, Migration>> {
    const files = (await readdir(this.dir)).filter((file) => !file.startsWith('.')).sort();
    const migrations: Record<string, Migration> = {};
    for (const file of files) {
      if (!migrationName.test(file)) throw new Error(`migrations: "${file}" is not named like 0001_what_it_does.sql`);
      const text = await readFile(join(this.dir, file), 'utf8');
      migrations[file.slice(0, -'.sql'.length)] = { up: async (db) => void (await sql.raw(text).execute(db)) };
    }
    return migrations;
  }
}

export class MigrationError extends Error {
  override name = 'MigrationError';
}

/**
 * Applies every migration not applied yet, in one transaction under PostgreSQL's advisory lock
 * (Kysely's Migrator): two processes starting at once apply each migration once, and a failing
 * migration leaves the schema as it was. Returns the names it applied.
 */
export async function migrateToLatest(db: Database, dir?: string): Promise<string[]> {
  const migrator = new Migrator({
    db,
    provider: new SqlFileMigrationProvider(dir),
    migrationTableName: 'schema_migrations',
    migrationLockTableName: 'schema_migrations_lock',
  });
  const { error, results }: MigrationResultSet = await migrator.migrateToLatest();
  if (error) {
    const failed = results?.find((result) => result.status === 'Error')?.migrationName;
    throw new MigrationError(
      `${failed ? `migration ${failed} failed` : 'migrations failed'}: ${error instanceof Error ? error.message : String(error)}`,
      { cause: error },
    );
  }
  return (results ?? []).filter((result) => result.status === 'Success').map((result) => result.migrationName);
}
