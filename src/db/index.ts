import type { Logger } from 'pino';
import { databaseTargetFrom, openDatabase, type OpenDatabase } from './connection.js';
import { migrateToLatest } from './migrate.js';

export * from './connection.js';
export { migrateToLatest, MigrationError } from './migrate.js';
export type * from './schema.js';

/**
 * What a process that keeps records does at start: open the configured database (DATABASE_URL,
 * or the embedded one under ./data) and apply the migrations it does not have yet.
 */
export async function openMigratedDatabase(config: { DATABASE_URL?: string | undefined }, logger: Logger, dataDir?: string): Promise<OpenDatabase> {
  const target = databaseTargetFrom(config, dataDir);
  const database = await openDatabase('url' in target ? { ...target, logger } : target);
  try {
    const applied = await migrateToLatest(database.db);
    logger.info({ kind: database.kind, applied }, applied.length ? 'database migrated' : 'database schema up to date');
    return database;
  } catch (error) {
    await database.close();
    throw error;
  }
}
