import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isUniqueViolation, type Database, type OpenDatabase } from '../../src/db/connection.js';
import { ChallengeStore, awardPoints, leaderboard, transition } from '../../src/features/challenges/store.js';
import { claimRefund } from '../../src/features/quota/store.js';
import { SeriesStore, type Panel } from '../../src/features/series/store.js';
import { readSettings, writeSettings } from '../../src/features/settings/store.js';
import { addVote, toggleVote, voteCount } from '../../src/features/votes/store.js';

/**
 * The guarantees the stores rely on, run against whichever database `open` gives (a PostgreSQL
 * server, or the embedded one): the same migrations and queries must hold on both.
 */
export function databaseContract(label: string, open: () => Promise<OpenDatabase & { drop?: () => Promise<void> }>) {
  describe(`${label}: constraints and transactions`, () => {
    let opened: OpenDatabase & { drop?: () => Promise<void> };
    let db: Database;
    let seriesStore: SeriesStore;
    const id = () => randomUUID();
    const guildId = '100000000000000001';

    beforeAll(async () => {
      opened = await open();
      db = opened.db;
      seriesStore = new SeriesStore(db);
    }, 60_000);
    afterAll(async () => {
      await (opened.drop ?? opened.close)();
    });

    async function request(overrides: { cost?: number } = {}): Promise<string> {
      const requestId = id();
      await db
        .insertInto('requests')
        .values({
          id: requestId,
          kind: 'txt2img',
          status: 'done',
          prompt: 'a lighthouse in fog',
          aspect: '1:1',
          seed: 42,
          image_count: 4,
          model: 'painterly',
          user_id: '200000000000000001',
          guild_id: guildId,
          channel_id: '300000000000000001',
          cost: overrides.cost ?? 0,
        })
        .execute();
      return requestId;
    }

    async function series(maxPanels: number): Promise<string> {
      const row = await seriesStore.create({
        id: id(),
        guildId,
        channelId: '300000000000000001',
        threadId: id(),
        title: 'Harbour at night',
        mode: 'open',
        panelCount: maxPanels,
        creatorId: '200000000000000001',
        createdAt: Date.now(),
      });
      return row.id;
    }

    // Reserved panels (no picture yet): the numbering does not depend on pictures.
    const panel = (n: number): Panel => ({
      id: id(),
      userId: `2000000000000001${String(n).padStart(2, '0')}`,
      userName: `member ${n}`,
      prompt: `panel by ${n}`,
      createdAt: Date.now(),
    });
    const addPanel = (_db: Database, seriesId: string, p: Panel) => seriesStore.addPanel(seriesId, p);
    const panels = async (_db: Database, seriesId: string) =>
      (await seriesStore.panels(seriesId)).map((p) => ({ number: p.number, user_name: p.userName }));
    const removePanel = async (_db: Database, seriesId: string, number: number) => (await seriesStore.removePanel(seriesId, number)) !== undefined;

    it('twenty members adding a panel at the same moment get panels 1 to 20, no gap, no repeat', async () => {
      const seriesId = await series(24);
      const results = await Promise.all(Array.from({ length: 20 }, (_, n) => addPanel(db, seriesId, panel(n))));
      expect(results.every((result) => result.ok)).toBe(true);
      expect((await panels(db, seriesId)).map((row) => row.number)).toEqual(Array.from({ length: 20 }, (_, n) => n + 1));
      const stored = await db.selectFrom('series').select('panel_count').where('id', '=', seriesId).executeTakeFirstOrThrow();
      expect(stored.panel_count).toBe(20);
    });

    it('a series with room for 8 takes exactly 8 of 12 concurrent adds and refuses the rest as full', async () => {
      const seriesId = await series(8);
      const results = await Promise.all(Array.from({ length: 12 }, (_, n) => addPanel(db, seriesId, panel(n))));
      expect(results.filter((result) => result.ok)).toHaveLength(8);
      expect(results.filter((result) => !result.ok).map((result) => !result.ok && result.reason)).toEqual(Array(4).fill('full'));
      expect((await panels(db, seriesId)).map((row) => row.number)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    });

    it('a closed series takes nothing, and an unknown one says so', async () => {
      const seriesId = await series(8);
      await db.updateTable('series').set({ status: 'closed' }).where('id', '=', seriesId).execute();
      expect(await addPanel(db, seriesId, panel(1))).toMatchObject({ ok: false, reason: 'closed' });
      expect(await addPanel(db, id(), panel(1))).toMatchObject({ ok: false, reason: 'missing' });
      expect(await panels(db, seriesId)).toEqual([]);
    });

    it('removing a panel shifts the later ones down, and the next add takes the freed last number', async () => {
      const seriesId = await series(8);
      for (let n = 0; n < 4; n += 1) await addPanel(db, seriesId, panel(n));
      expect(await removePanel(db, seriesId, 2)).toBe(true);
      expect((await panels(db, seriesId)).map((row) => [row.number, row.user_name])).toEqual([
        [1, 'member 0'],
        [2, 'member 2'],
        [3, 'member 3'],
      ]);
      const added = await addPanel(db, seriesId, panel(9));
      expect(added.ok && added.number).toBe(4);
      expect(await removePanel(db, seriesId, 7)).toBe(false);
    });

    it('a panel number written twice by hand violates the unique key', async () => {
      const seriesId = await series(8);
      await addPanel(db, seriesId, panel(1));
      const error = await db
        .insertInto('series_panels')
        .values({ id: id(), user_id: '200000000000000102', series_id: seriesId, number: 1 })
        .execute()
        .catch((e: unknown) => e);
      expect(isUniqueViolation(error, 'series_panels_number_key')).toBe(true);
    });

    it("a member's second vote on the same result violates the unique key and is not counted", async () => {
      const requestId = await request();
      await db.insertInto('votes').values({ request_id: requestId, user_id: '200000000000000009' }).execute();
      const error = await db
        .insertInto('votes')
        .values({ request_id: requestId, user_id: '200000000000000009' })
        .execute()
        .catch((e: unknown) => e);
      expect(isUniqueViolation(error, 'votes_pkey')).toBe(true);
      expect(await voteCount(db, requestId)).toBe(1);
    });

    it('fifty members voting at once make fifty votes; a double click counts once', async () => {
      const requestId = await request();
      const members = Array.from({ length: 50 }, (_, n) => `3000000000000000${String(n).padStart(2, '0')}`);
      await Promise.all(members.map((member) => addVote(db, requestId, member)));
      expect(await voteCount(db, requestId)).toBe(50);
      // The score kept on the request moved with every vote, none lost to another's transaction.
      const scored = await db.selectFrom('requests').select('vote_count').where('id', '=', requestId).executeTakeFirstOrThrow();
      expect(scored.vote_count).toBe(50);
      expect(await addVote(db, requestId, members[0]!)).toBe(false);
      expect(await voteCount(db, requestId)).toBe(50);
    });

    it('a click adds the vote and the next click takes it back', async () => {
      const requestId = await request();
      expect(await toggleVote(db, requestId, '200000000000000007')).toEqual({ outcome: 'added', count: 1 });
      expect(await toggleVote(db, requestId, '200000000000000007')).toEqual({ outcome: 'removed', count: 0 });
    });

    it('a challenge phase change from a stale phase changes nothing; fired twice at once, exactly one wins', async () => {
      const challengeId = id();
      await db
        .insertInto('challenges')
        .values({
          id: challengeId,
          guild_id: id(),
          channel_id: '300000000000000001',
          theme: 'Lighthouses',
          phase: 'submissions',
          submit_days: 5,
          vote_days: 2,
        })
        .execute();
      expect(await transition(db, challengeId, 'announce', 'cancelled')).toBe(false);
      const wins = await Promise.all([1, 2, 3].map(() => transition(db, challengeId, 'submissions', 'voting', { voting_started_at: new Date() })));
      expect(wins.filter(Boolean)).toHaveLength(1);
      const row = await db.selectFrom('challenges').select('phase').where('id', '=', challengeId).executeTakeFirstOrThrow();
      expect(row.phase).toBe('voting');
    });

    it('a server cannot have two running challenges', async () => {
      const guild = id();
      const values = { guild_id: guild, channel_id: '300000000000000001', theme: 'Fog', submit_days: 5, vote_days: 2 } as const;
      await db
        .insertInto('challenges')
        .values({ ...values, id: id(), phase: 'announce' })
        .execute();
      const error = await db
        .insertInto('challenges')
        .values({ ...values, id: id(), phase: 'voting' })
        .execute()
        .catch((e: unknown) => e);
      expect(isUniqueViolation(error, 'challenges_one_open')).toBe(true);
      // A finished one beside a running one is fine.
      await db
        .insertInto('challenges')
        .values({ ...values, id: id(), phase: 'results' })
        .execute();
    });

    it('season points of a results step that runs twice are awarded once', async () => {
      const guild = id();
      const challengeId = id();
      await db
        .insertInto('challenges')
        .values({
          id: challengeId,
          guild_id: guild,
          channel_id: '300000000000000001',
          theme: 'Rain',
          phase: 'results',
          submit_days: 5,
          vote_days: 2,
          season: '2026-Q4',
        })
        .execute();
      const awards = [
        { guildId: guild, season: '2026-Q4', challengeId, userId: 'a', reason: 'podium' as const, points: 10 },
        { guildId: guild, season: '2026-Q4', challengeId, userId: 'a', reason: 'entry' as const, points: 1 },
        { guildId: guild, season: '2026-Q4', challengeId, userId: 'b', reason: 'entry' as const, points: 1 },
      ];
      expect(await awardPoints(db, awards)).toBe(3);
      expect(await awardPoints(db, awards)).toBe(0);
      expect(await leaderboard(db, guild, '2026-Q4')).toEqual([
        { user_id: 'a', points: 11 },
        { user_id: 'b', points: 1 },
      ]);
    });

    it('a challenge runs through its store: one at a time per server, entries up to the limit, one vote each, points once', async () => {
      const store = new ChallengeStore(db);
      const server = id();
      const now = Date.UTC(2026, 10, 2, 18, 0);
      const picture = async (userId: string) => {
        const requestId = await request();
        const imageId = `${requestId}-1`;
        await db
          .insertInto('images')
          .values({
            id: imageId,
            request_id: requestId,
            kind: 'txt2img',
            prompt: 'fog',
            width: 64,
            height: 64,
            content_type: 'image/png',
            storage_key: imageId,
            user_id: userId,
            guild_id: server,
            channel_id: '300000000000000001',
          })
          .execute();
        return imageId;
      };
      const challenge = {
        guildId: server,
        channelId: '300000000000000001',
        theme: 'fog',
        submitDays: 5,
        voteDays: 2,
        scheduled: false,
        createdBy: 'a',
        createdAt: now,
      };
      const starts = await Promise.all([store.create(challenge), store.create(challenge), store.create(challenge)]);
      expect(starts.filter((start) => start.created)).toHaveLength(1);
      const challengeId = starts.find((start) => start.created)!.id;
      expect(challengeId).toMatch(/^[1-9]\d*$/);
      const announce = await Promise.all(
        [0, 1].map(() =>
          store.advance(challengeId, ['announce'], 'submissions', { announcedAt: now, submissionsEndAt: now + 1000, votingEndAt: now + 2000 }),
        ),
      );
      expect(announce.filter((move) => move.ok)).toHaveLength(1);
      const mine = await Promise.all([1, 2, 3].map(() => picture('a')));
      const entries = await Promise.all(mine.map((imageId) => store.submit(challengeId, { userId: 'a', imageId, jobId: '' }, now + 1, 2)));
      expect(entries.filter((entry) => entry.ok)).toHaveLength(2);
      expect((await store.submit(challengeId, { userId: 'b', imageId: await picture('b'), jobId: '' }, now + 1, 2)).ok).toBe(true);
      expect((await store.advance(challengeId, ['submissions'], 'voting', { votingEndAt: now + 2000 })).ok).toBe(true);
      const votes = await Promise.all([0, 1, 2].map(() => store.vote(challengeId, 'b', 1, now + 1500)));
      expect(votes.filter((vote) => vote.ok)).toHaveLength(1);
      expect(await store.vote(challengeId, 'a', 1, now + 1500)).toEqual({ ok: false, reason: 'self' });
      const tallies = await Promise.all([store.tally(challengeId, now + 2000), store.tally(challengeId, now + 2000)]);
      expect(tallies.filter((tally) => tally.ok)).toHaveLength(1);
      expect(await store.leaderboard(server, '2026-Q4')).toEqual([
        { userId: 'a', points: 12 },
        { userId: 'b', points: 1 },
      ]);
      expect((await store.get(challengeId))!.ranking.map((entry) => [entry.id, entry.votes, entry.place])).toEqual([
        [1, 1, 1],
        [2, 0, 2],
        [3, 0, 3],
      ]);
    });

    it('settings written from a stale version change nothing; the fresh writer wins', async () => {
      const guild = id();
      expect(await readSettings(db, guild)).toEqual({ settings: {}, version: 0 });
      expect(await writeSettings(db, guild, 0, { allowSelfVote: true }, 'mod-a')).toBe(1);
      // Two moderators read version 1 and both write: one of them wins.
      const writes = await Promise.all([
        writeSettings(db, guild, 1, { allowSelfVote: false }, 'mod-a'),
        writeSettings(db, guild, 1, { allowSelfVote: true, maxQueued: 3 }, 'mod-b'),
      ]);
      expect(writes.filter((version) => version === 2)).toHaveLength(1);
      expect(writes.filter((version) => version === undefined)).toHaveLength(1);
      // A stale write (version 1 again) changes nothing.
      const before = await readSettings(db, guild);
      expect(await writeSettings(db, guild, 1, { nsfw: 'everywhere' }, 'mod-c')).toBeUndefined();
      expect(await readSettings(db, guild)).toEqual(before);
      expect(before.version).toBe(2);
      // Creating settings that someone else created meanwhile changes nothing either.
      expect(await writeSettings(db, guild, 0, {}, 'mod-d')).toBeUndefined();
    });

    it('a refund claimed by ten callers at once is given once', async () => {
      const requestId = await request({ cost: 3 });
      const claims = await Promise.all(Array.from({ length: 10 }, () => claimRefund(db, requestId)));
      expect(claims.filter(Boolean)).toEqual([{ cost: 3 }]);
      expect(await claimRefund(db, requestId)).toBeUndefined();
    });

    it('a picture with no stored bytes must be a tombstone; a tombstone keeps its place in the family', async () => {
      const requestId = await request();
      const base = {
        request_id: requestId,
        kind: 'txt2img',
        prompt: 'fog',
        width: 512,
        height: 512,
        content_type: 'image/png',
        channel_id: '300000000000000001',
      } as const;
      const error = await db
        .insertInto('images')
        .values({ ...base, id: id(), storage_key: null })
        .execute()
        .catch((e: unknown) => e);
      expect((error as { code?: string }).code).toBe('23514'); // check_violation
      const parent = id();
      await db
        .insertInto('images')
        .values({ ...base, id: parent, storage_key: `images/${parent}.png` })
        .execute();
      await db
        .insertInto('images')
        .values({ ...base, id: id(), position: 1, parent_id: parent, storage_key: `images/${id()}.png` })
        .execute();
      await db
        .updateTable('images')
        .set({ deleted_at: new Date(), prompt: null, storage_key: null, user_id: null })
        .where('id', '=', parent)
        .execute();
      const children = await db.selectFrom('images').select('parent_id').where('parent_id', '=', parent).execute();
      expect(children).toHaveLength(1);
    });

    it('streams the rows of a query in chunks', async () => {
      const seriesId = await series(24);
      for (let n = 0; n < 5; n += 1) await addPanel(db, seriesId, panel(n));
      const numbers: number[] = [];
      for await (const row of db.selectFrom('series_panels').select('number').where('series_id', '=', seriesId).orderBy('number').stream(2)) {
        numbers.push(row.number);
      }
      expect(numbers).toEqual([1, 2, 3, 4, 5]);
    });

    it('reads timestamps as dates and bigint seeds and counts as numbers', async () => {
      const requestId = await request();
      const row = await db.selectFrom('requests').select(['seed', 'created_at']).where('id', '=', requestId).executeTakeFirstOrThrow();
      expect(row.seed).toBe(42);
      expect(row.created_at).toBeInstanceOf(Date);
    });
  });
}
