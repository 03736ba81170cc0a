import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pictureArchive, recordRequest } from '../../src/features/pictures/store.js';
import { readPreferences, remixModeOn, writePreference } from '../../src/features/preferences/store.js';
import { createTestDatabase, type TestDatabase } from '../support/postgres.js';

let database: TestDatabase;
beforeAll(async () => {
  database = await createTestDatabase({ migrated: true });
});
afterAll(() => database.drop());

const request = (id: string, extra: Record<string, unknown> = {}) => ({
  id,
  kind: 'txt2img' as const,
  prompt: 'moss',
  aspect: '1:1',
  seed: 3,
  count: 2,
  model: 'painterly',
  userId: '700000000000000002',
  guildId: '800000000000000001',
  channelId: '900000000000000001',
  createdAt: Date.now(),
  ...extra,
});

describe('creative parameters and personal defaults in PostgreSQL', () => {
  it('the archive keeps --chaos, --stylize, --tile and --draft, so rerolls and 🔍 Enhance work once Redis let go', async () => {
    await recordRequest(database.db, request('100000000000000001', { chaos: 0, stylize: 750, tile: true, draft: true }));
    await recordRequest(database.db, request('100000000000000002'));
    const archive = pictureArchive(database.db, '1');
    expect(await archive.load('100000000000000001')).toMatchObject({ chaos: 0, stylize: 750, tile: true, draft: true });
    const plain = await archive.load('100000000000000002');
    expect([plain?.chaos, plain?.stylize, plain?.tile, plain?.draft]).toEqual([undefined, undefined, undefined, undefined]);
  });

  it('refuses out-of-range parameters and style codes at the database too', async () => {
    await expect(recordRequest(database.db, request('100000000000000003', { chaos: 101 }))).rejects.toThrow(/check/i);
    await expect(writePreference(database.db, '700000000000000009', { field: 'styleCode', value: 'bad code!' })).rejects.toThrow(/check/i);
    await expect(writePreference(database.db, '700000000000000009', { field: 'count', value: 9 })).rejects.toThrow(/check/i);
  });

  it('keeps one row of defaults per member, one field at a time', async () => {
    const member = '700000000000000004';
    expect(await readPreferences(database.db, member)).toEqual({ remix: false });
    await writePreference(database.db, member, { field: 'aspect', value: '16:9' });
    await writePreference(database.db, member, { field: 'remix', value: true });
    await writePreference(database.db, member, { field: 'styleCode', value: 'k7-moss' });
    await writePreference(database.db, member, { field: 'aspect', value: null });
    expect(await readPreferences(database.db, member)).toEqual({
      remix: true,
      styleCode: 'k7-moss',
      model: undefined,
      aspect: undefined,
      count: undefined,
    });
    expect(await remixModeOn(database.db, member)).toBe(true);
    expect(await remixModeOn(database.db, '700000000000000005')).toBe(false);
  });
});
