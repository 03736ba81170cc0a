import { loadConfigOrExit } from '../runtime.js';
import { databaseTargetFrom, openDatabase } from './connection.js';
import { MigrationError, migrateToLatest } from './migrate.js';

/**
 * `npm run migrate`: brings the database's schema up to date (DATABASE_URL, or the embedded
 * database under ./data) and says what it applied. Safe to run while another process does the
 * same: the migrations take PostgreSQL's advisory lock.
 */
const { config, logger } = await loadConfigOrExit();
const target = databaseTargetFrom(config);
const database = await openDatabase('url' in target ? { ...target, logger } : target);
try {
  const applied = await migrateToLatest(database.db);
  const where =
    database.kind === 'server' ? 'the PostgreSQL server (DATABASE_URL)' : `the embedded database in ${'dataDir' in target ? target.dataDir : ''}`;
  console.log(applied.length ? `applied ${applied.length} migration(s) to ${where}: ${applied.join(', ')}` : `${where} is up to date`);
} catch (error) {
  console.error(`atelier: ${error instanceof MigrationError ? error.message : String(error)}`);
  process.exitCode = 1;
} finally {
  await database.close();
}
