import { sql } from 'kysely';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SessionStore } from '../../src/features/sessions/store.js';
import { eventually } from '../support/context.js';
import { createTestDatabase, type TestDatabase } from '../support/postgres.js';

/** Entering a live session on real PostgreSQL: the per-round limit holds under concurrent entries. */

const ADA = '340000000000000001';
const SESSION = '340000000000000100';
const TRIES = 6;
const START = Date.UTC(2026, 3, 1, 18, 0);

let database: TestDatabase;
let store: SessionStore;

beforeEach(async () => {
  database = await createTestDatabase({ migrated: true, maxConnections: TRIES + 4 });
  store = new SessionStore(database.db);
  const created = await store.create(
    {
      id: SESSION,
      guildId: '340000000000000200',
      channelId: '340000000000000300',
      threadId: '340000000000000400',
      hostId: ADA,
      theme: 'lighthouses',
      mode: 'fresh',
      rounds: 2,
      roundSeconds: 300,
      voteSeconds: 60,
      entriesPerRound: 2,
      createdAt: START,
      twists: ['underwater', 'made of paper'],
      phaseEndsAt: START + 300_000,
    },
    3,
  );
  expect(created).toEqual({ ok: true });
});

afterEach(async () => {
  await database.drop();
});

/** Sessions in this database's connections that are waiting for a row lock. */
async function waitingForLocks(): Promise<number> {
  const { rows } = await sql<{ n: string }>`
    SELECT count(*) AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'
  `.execute(database.db);
  return Number(rows[0]!.n);
}

describe('session entries on PostgreSQL', () => {
  it('lets one member make exactly entriesPerRound entries when they all arrive at once', async () => {
    // Another transaction holds the round row (as an entry being numbered does), so every entry
    // gets as far as it can before any of them is made; then it lets go and they all go on.
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    let holding!: () => void;
    const holds = new Promise<void>((resolve) => (holding = resolve));
    const holder = database.db.transaction().execute(async (trx) => {
      await trx.selectFrom('session_rounds').select('number').where('session_id', '=', SESSION).where('number', '=', 1).forUpdate().execute();
      holding();
      await held;
    });
    await holds;
    const entries = Array.from({ length: TRIES }, (_, index) =>
      store.reserveEntry(SESSION, { id: `34000000000000100${index}`, userId: ADA, userName: 'Ada', prompt: `try ${index}`, createdAt: START }),
    );
    await eventually(async () => (await waitingForLocks()) === TRIES, 10_000);
    release();
    await holder;
    const results = await Promise.all(entries);

    expect(results.filter((result) => result.ok)).toHaveLength(2);
    expect(results.filter((result) => !result.ok).map((result) => !result.ok && result.reason)).toEqual(Array(TRIES - 2).fill('limit'));
    const stored = await store.entries(SESSION, 1);
    expect(stored.map((entry) => entry.number)).toEqual([1, 2]);
    expect((await store.roundOf(SESSION, 1))!.entryCount).toBe(2);
  });
});
