import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { BotContext } from '../../src/bot/context.js';
import { releaseAbandonedPanels } from '../../src/features/series/flow.js';
import type { JobRecord, JobStore } from '../../src/store/jobs.js';
import { makeBotContext } from '../support/context.js';
import { closeTestBed, openTestBed, type TestBed } from '../support/test-bed.js';

const NOW = Date.UTC(2026, 11, 1, 12, 0);
const MEMBER = '200000000000000001';

let bed: TestBed;
let ctx: BotContext;
/** The live job records this test pretends Redis holds. */
const live = new Map<string, Pick<JobRecord, 'status'>>();

beforeEach(async () => {
  bed = await openTestBed();
  live.clear();
  const jobs = { get: async (id: string) => live.get(id) } as unknown as JobStore;
  ctx = makeBotContext(bed.redis, bed.prefix, bed.imageDir, bed.database.db, { jobs, now: () => NOW });
});

afterEach(() => closeTestBed(bed));

async function reserve(seriesId: string, panelId: string, createdAt: number) {
  return ctx.series.addPanel(seriesId, { id: panelId, userId: MEMBER, userName: 'Ada', prompt: 'a wave', jobId: panelId, createdAt });
}

describe('releasing panels whose generation died', () => {
  it('frees failed, cancelled and long-lost reservations, and keeps those still on their way', async () => {
    const series = await ctx.series.create({
      id: '500000000000000001',
      guildId: '300000000000000001',
      channelId: '400000000000000001',
      threadId: '600000000000000001',
      title: 'Dead ends',
      mode: 'open',
      panelCount: 8,
      creatorId: MEMBER,
      createdAt: NOW - 3_600_000,
    });
    const failed = '700000000000000001';
    const cancelled = '700000000000000002';
    const running = '700000000000000003';
    const justReserved = '700000000000000004';
    const lost = '700000000000000005';
    live.set(failed, { status: 'failed' });
    live.set(cancelled, { status: 'cancelled' });
    live.set(running, { status: 'running' });
    for (const id of [failed, cancelled, running, lost]) await reserve(series.id, id, NOW - 30 * 60_000);
    // Its request is being queued right now: no live record yet, and that is no reason to free it.
    await reserve(series.id, justReserved, NOW - 1000);

    await releaseAbandonedPanels(ctx, (await ctx.series.get(series.id))!);
    expect((await ctx.series.panels(series.id)).map((panel) => [panel.number, panel.id])).toEqual([
      [1, running],
      [2, justReserved],
    ]);
    expect(await ctx.series.get(series.id)).toMatchObject({ pending: 2, panelsAdded: 2 });
  });
});
