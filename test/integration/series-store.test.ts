import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { recordImages, recordRequest } from '../../src/features/pictures/store.js';
import { SeriesStore, type NewSeries, type Panel } from '../../src/features/series/store.js';
import { createTestDatabase, type TestDatabase } from '../support/postgres.js';

let database: TestDatabase;
let store: SeriesStore;
let ids = 0;

/** Snowflake-shaped ids, unique within a test. */
const nextId = () => `${1_300_000_000_000_000_000n + BigInt(++ids)}`;

function series(overrides: Partial<NewSeries> = {}): NewSeries {
  return {
    id: nextId(),
    guildId: '300000000000000001',
    channelId: '400000000000000001',
    threadId: nextId(),
    title: 'The lighthouse keeper',
    mode: 'open',
    panelCount: 8,
    creatorId: '200000000000000001',
    createdAt: Date.now(),
    ...overrides,
  };
}

function panel(userId: string, overrides: Partial<Panel> = {}): Panel {
  const id = nextId();
  return { id, userId, userName: `member ${userId.slice(-2)}`, prompt: 'a storm', imageId: `${id}-1`, createdAt: Date.now(), ...overrides };
}

/** Adds a panel once the archive rows it refers to exist (its request, and its picture if it has one). */
async function add(seriesId: string, p: Panel) {
  await archived(p);
  return store.addPanel(seriesId, p);
}

/** The archive rows a panel refers to, written the way admission and delivery write them. */
async function archived(p: Panel): Promise<void> {
  const requestId = p.jobId ?? p.id;
  await recordRequest(database.db, {
    id: requestId,
    kind: 'txt2img',
    prompt: p.prompt,
    aspect: '1:1',
    seed: 7,
    count: 1,
    model: 'painterly',
    userId: p.userId,
    guildId: '300000000000000001',
    channelId: '400000000000000001',
    createdAt: Date.now(),
  });
  if (p.imageId) await picture(p.imageId, requestId, p.userId);
}

async function picture(imageId: string, requestId: string | undefined, userId: string): Promise<void> {
  await recordImages(database.db, [
    {
      id: imageId,
      requestId,
      index: 1,
      kind: 'txt2img',
      prompt: 'a storm',
      seed: 7,
      width: 64,
      height: 64,
      contentType: 'image/png',
      userId,
      guildId: '300000000000000001',
      channelId: '400000000000000001',
      createdAt: Date.now(),
    },
  ]);
}

const user = (n: number) => `2000000000000000${String(n).padStart(2, '0')}`;

beforeAll(async () => {
  // Enough connections for twenty adds to really run at once.
  database = await createTestDatabase({ migrated: true, maxConnections: 24 });
});

afterAll(() => database.drop());

beforeEach(() => {
  store = new SeriesStore(database.db);
});

describe('series store on real PostgreSQL', () => {
  it('gives 20 concurrent adds to an 8-panel series exactly the numbers 1..8 and refuses the rest', async () => {
    const { id } = await store.create(series());
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => add(id, panel(user(i)))));
    const numbers = results.flatMap((r) => (r.ok ? [r.number] : [])).sort((a, b) => a - b);
    expect(numbers).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    // Refused as full (or, once the eighth landed, as complete): either way nothing more got in.
    const refusals = results.flatMap((r) => (r.ok ? [] : [r.reason]));
    expect(refusals).toHaveLength(12);
    expect(refusals.every((reason) => reason === 'full' || reason === 'complete')).toBe(true);
    // Exactly one add completed the series.
    expect(results.filter((r) => r.ok && r.completed)).toHaveLength(1);
    const panels = await store.panels(id);
    expect(panels.map((p) => p.number)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(new Set(panels.map((p) => p.userId)).size).toBe(8);
    expect((await store.get(id))?.status).toBe('complete');
  });

  it('in a relay, refuses a second panel in a row from the same member, even when sent at once', async () => {
    const { id } = await store.create(series({ mode: 'relay' }));
    const results = await Promise.all(Array.from({ length: 5 }, () => add(id, panel(user(1)))));
    expect(results.filter((r) => r.ok)).toHaveLength(1);
    expect(results.filter((r) => !r.ok).map((r) => !r.ok && r.reason)).toEqual(Array(4).fill('twice_in_a_row'));
    expect(await add(id, panel(user(2)))).toMatchObject({ ok: true, number: 2 });
    expect(await add(id, panel(user(1)))).toMatchObject({ ok: true, number: 3 });
  });

  it('follows the turn order under concurrency: whatever lands, lands in turn', async () => {
    const { id } = await store.create(series({ mode: 'relay', panelCount: 12 }));
    const order = [user(1), user(2), user(3)];
    for (const member of order) expect(await store.join(id, member)).toBe(true);
    expect(await store.join(id, user(1))).toBe(false);
    expect(await store.turnOrder(id)).toEqual(order);

    // Everyone (and an outsider) tries at once, three times over.
    const attempts = [...order, user(9), ...order, ...order];
    const results = await Promise.all(attempts.map((member) => add(id, panel(member))));
    const panels = await store.panels(id);
    expect(panels.length).toBeGreaterThanOrEqual(1);
    expect(panels.map((p) => p.userId)).toEqual(panels.map((_, i) => order[i % 3]));
    const refusals = results.flatMap((r) => (r.ok ? [] : [r.reason]));
    expect(refusals.length).toBe(attempts.length - panels.length);
    expect(refusals.every((reason) => reason === 'not_your_turn' || reason === 'not_in_turn_order')).toBe(true);
    expect(results[3]).toMatchObject({ ok: false, reason: 'not_in_turn_order' });

    // A late, sequential round says exactly whose turn it is.
    const expected = order[panels.length % 3]!;
    const wrong = order.find((member) => member !== expected)!;
    expect(await add(id, panel(wrong))).toEqual({ ok: false, reason: 'not_your_turn', expectedUserId: expected });
    expect(await add(id, panel(expected))).toMatchObject({ ok: true, number: panels.length + 1 });
  });

  it('accepts nothing once closed, and closing twice reports the state found', async () => {
    const { id } = await store.create(series());
    expect(await add(id, panel(user(1)))).toMatchObject({ ok: true, number: 1 });
    expect(await store.close(id)).toBe('open');
    expect(await store.close(id)).toBe('closed');
    expect(await add(id, panel(user(2)))).toEqual({ ok: false, reason: 'closed', expectedUserId: undefined });
    expect(await add('1300000000000009999', panel(user(2)))).toMatchObject({ ok: false, reason: 'missing' });
    expect(await store.panels(id)).toHaveLength(1);
  });

  it('reserves numbers for generations and completes only when the last reserved panel is filled', async () => {
    const { id } = await store.create(series({ panelCount: 4 }));
    const reserved = await Promise.all(
      [1, 2, 3, 4].map((n) => {
        const jobId = nextId();
        return add(id, panel(user(n), { id: jobId, jobId, imageId: undefined })).then((r) => ({ r, jobId }));
      }),
    );
    expect(reserved.map(({ r }) => r.ok && r.number).sort()).toEqual([1, 2, 3, 4]);
    expect(reserved.every(({ r }) => r.ok && !r.completed)).toBe(true);
    expect(await add(id, panel(user(5)))).toMatchObject({ ok: false, reason: 'full' });
    expect((await store.get(id))?.status).toBe('open');

    for (const { jobId } of reserved) expect(await store.pendingSeriesOf(jobId)).toBe(id);
    // Delivery writes the pictures' rows before its hooks fill the panels.
    for (const { jobId } of reserved) await picture(`${jobId}-1`, jobId, user(1));
    const fills = await Promise.all(reserved.map(({ jobId }) => store.fillPending(id, jobId, `${jobId}-1`, 7)));
    expect(fills.filter((f) => f.completed)).toHaveLength(1);
    expect(fills.map((f) => f.number).sort()).toEqual([1, 2, 3, 4]);
    // Each filled panel owes its announcement, the series its completion; the panel still names
    // its request, so a retried delivery finds its series again and posts only what is owed.
    expect([...(await store.owedAnnouncements(id)).keys()].sort()).toEqual(reserved.map(({ jobId }) => jobId).sort());
    expect((await store.get(id))?.completionOwed).toBe(true);
    expect(await store.pendingSeriesOf(reserved[0]!.jobId)).toBe(id);
    await store.announced(id, reserved[0]!.jobId);
    expect((await store.owedAnnouncements(id)).has(reserved[0]!.jobId)).toBe(false);
    await store.recordCompletion(id, { done: true });
    expect((await store.get(id))?.completionOwed).toBeUndefined();
    // Filling again (a repeated delivery) changes nothing and completes nothing.
    expect(await store.fillPending(id, reserved[0]!.jobId, 'other', 1)).toMatchObject({ filled: false, completed: false });
    const panels = await store.panels(id);
    expect(panels.every((p) => p.imageId === `${p.id}-1` && p.seed === 7)).toBe(true);
    expect(await store.get(id)).toMatchObject({ status: 'complete', pending: 0 });
  });

  it('releases a reservation whose generation failed, so its number goes to the next member', async () => {
    const { id } = await store.create(series({ panelCount: 2 }));
    const jobId = nextId();
    await add(id, panel(user(1), { id: jobId, jobId, imageId: undefined }));
    expect(await store.releasePending(id, jobId)).toBe(true);
    expect(await store.releasePending(id, jobId)).toBe(false);
    expect(await add(id, panel(user(2)))).toMatchObject({ ok: true, number: 1 });
    expect(await store.get(id)).toMatchObject({ pending: 0 });
  });

  it('never lets one member add twice in a row in a relay, even as the only one in the turn order', async () => {
    const { id } = await store.create(series({ mode: 'relay', panelCount: 4 }));
    await store.join(id, user(1));
    expect(await add(id, panel(user(1)))).toMatchObject({ ok: true });
    expect(await add(id, panel(user(1)))).toMatchObject({ ok: false, reason: 'twice_in_a_row' });
  });

  it('gives a relay turn back with a released reservation, unless someone added since', async () => {
    const { id } = await store.create(series({ mode: 'relay', panelCount: 6 }));
    expect(await add(id, panel(user(2)))).toMatchObject({ ok: true });
    const jobId = nextId();
    await add(id, panel(user(1), { id: jobId, jobId, imageId: undefined }));
    await store.releasePending(id, jobId);
    // Member 1's refused generation does not count as their turn: they may add now...
    expect(await store.get(id)).toMatchObject({ turn: 1, lastUserId: user(2) });
    expect(await add(id, panel(user(1)))).toMatchObject({ ok: true, number: 2 });
    // ...and a reservation released after someone else added keeps the order as it is.
    const later = nextId();
    await add(id, panel(user(3), { id: later, jobId: later, imageId: undefined }));
    expect(await add(id, panel(user(2)))).toMatchObject({ ok: true });
    await store.releasePending(id, later);
    expect(await store.get(id)).toMatchObject({ turn: 4, lastUserId: user(2) });
  });

  it('treats the same panel id twice as one add (a double-submitted interaction)', async () => {
    const { id } = await store.create(series({ mode: 'relay' }));
    const same = panel(user(1));
    const [a, b] = await Promise.all([add(id, same), add(id, same)]);
    expect([a, b].filter((r) => r.ok && !r.duplicate)).toHaveLength(1);
    expect([a, b].filter((r) => r.ok && r.duplicate)).toHaveLength(1);
    expect(await store.panels(id)).toHaveLength(1);
  });

  it('moves and removes panels, renumbering the rest', async () => {
    const { id } = await store.create(series());
    const added = [];
    for (let n = 1; n <= 4; n++) {
      const p = panel(user(n));
      await add(id, p);
      added.push(p.id);
    }
    expect(await store.movePanel(id, 4, 1)).toBe(true);
    expect((await store.panels(id)).map((p) => p.id)).toEqual([added[3], added[0], added[1], added[2]]);
    expect(await store.movePanel(id, 5, 1)).toBe(false);
    expect((await store.removePanel(id, 2))?.id).toBe(added[0]);
    expect(await store.removePanel(id, 9)).toBeUndefined();
    const panels = await store.panels(id);
    expect(panels.map((p) => [p.number, p.id])).toEqual([
      [1, added[3]],
      [2, added[1]],
      [3, added[2]],
    ]);
  });

  it('finds series by thread, by guild and by member', async () => {
    // A server of its own: the database is shared by this file's tests.
    const guildId = nextId();
    const a = await store.create(series({ title: 'first', createdAt: 1, guildId }));
    const member = nextId();
    const b = await store.create(series({ title: 'second', createdAt: 2, creatorId: member, guildId }));
    expect((await store.byThread(a.threadId))?.id).toBe(a.id);
    expect((await store.ofGuild(a.guildId)).map((s) => s.title)).toEqual(['second', 'first']);
    await add(a.id, panel(member));
    expect(await store.idsOfMember(member)).toEqual(new Set([a.id, b.id]));
  });

  it('deletes a member\'s series data by member id: creator and turns gone, panels kept as "a former member"', async () => {
    const leaving = nextId();
    const staying = nextId();
    const { id } = await store.create(series({ mode: 'relay', creatorId: leaving }));
    await store.join(id, leaving);
    await store.join(id, staying);
    expect(await add(id, panel(leaving))).toMatchObject({ ok: true, number: 1 });
    const reserved = nextId();
    expect(await add(id, panel(staying, { id: reserved, jobId: reserved, imageId: undefined }))).toMatchObject({ ok: true, number: 2 });

    expect(await store.deleteMemberData(leaving)).toBe(3); // creator, turn, panel
    expect(await store.get(id)).toMatchObject({ turn: 2, pending: 1 });
    expect((await store.get(id))?.creatorId).toBeUndefined();
    expect(await store.turnOrder(id)).toEqual([staying]);
    const panels = await store.panels(id);
    expect(panels.map((p) => [p.number, p.userId, p.userName, p.prompt])).toEqual([
      [1, 'deleted', 'a former member', ''],
      [2, staying, `member ${staying.slice(-2)}`, 'a storm'],
    ]);
    // Releasing the reservation does not bring the member back as the last one to add.
    expect(await store.releasePending(id, reserved)).toBe(true);
    expect((await store.get(id))?.lastUserId).toBeUndefined();
    expect(await store.idsOfMember(leaving)).toEqual(new Set());
    // Nothing else of theirs is left to find.
    expect(await store.deleteMemberData(leaving)).toBe(0);
  });

  it('takes a picture made before the archive kept requests as a panel, without a request', async () => {
    const { id } = await store.create(series());
    const old = panel(user(1), { jobId: nextId() });
    await picture(old.imageId!, undefined, user(1));
    expect(await store.addPanel(id, old)).toMatchObject({ ok: true, number: 1 });
    expect((await store.panels(id)).map((p) => [p.imageId, p.jobId])).toEqual([[old.imageId, undefined]]);
  });
});
