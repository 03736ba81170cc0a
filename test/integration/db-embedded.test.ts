import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/db/connection.js';
import { migrateToLatest } from '../../src/db/migrate.js';
import { readSettings, writeSettings } from '../../src/features/settings/store.js';
import { databaseContract } from '../support/db-contract.js';

/**
 * The embedded database (PGlite) that `npm start` uses when DATABASE_URL is unset: the same
 * migrations and the same guarantees as on a server, and its data kept in its folder.
 */
// One folder for the whole file: creating a database (initdb) is the slow part of PGlite.
const shared = mkdtemp(join(tmpdir(), 'atelier-pglite-'));
afterAll(async () => {
  await rm(await shared, { recursive: true, force: true });
});

databaseContract('embedded PostgreSQL', async () => {
  const opened = await openDatabase({ dataDir: await shared });
  expect(opened.kind).toBe('embedded');
  await migrateToLatest(opened.db);
  return opened;
});

describe('embedded PostgreSQL on disk', () => {
  it('keeps what was written across a close and reopen, and does not apply migrations twice', async () => {
    const dir = await shared;
    const first = await openDatabase({ dataDir: dir });
    expect(await migrateToLatest(first.db)).toEqual([]);
    expect(await writeSettings(first.db, '100000000000000001', 0, { allowSelfVote: true }, 'mod')).toBe(1);
    await first.close();

    const second = await openDatabase({ dataDir: dir });
    try {
      expect(await migrateToLatest(second.db)).toEqual([]);
      expect(await readSettings(second.db, '100000000000000001')).toEqual({ settings: { allowSelfVote: true }, version: 1 });
      // PGlite would let a second instance write the same files: the folder is locked instead.
      await expect(openDatabase({ dataDir: dir })).rejects.toThrow(/is open in process \d+ \(this one\)/);
    } finally {
      await second.close();
    }
  }, 60_000);

  it('a lock left by a process that died is taken over', async () => {
    const dir = await shared;
    const dead = spawnSync(process.execPath, ['-e', 'process.exit(0)']).pid!;
    await writeFile(join(dir, 'atelier.pid'), String(dead));
    const reopened = await openDatabase({ dataDir: dir });
    try {
      expect(await readFile(join(dir, 'atelier.pid'), 'utf8')).toBe(String(process.pid));
    } finally {
      await reopened.close();
    }
  }, 60_000);
});
