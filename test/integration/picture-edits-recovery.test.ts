import sharp from 'sharp';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { BotContext } from '../../src/bot/context.js';
import { recoverStrandedJobs } from '../../src/bot/recovery.js';
import { formatEditArea } from '../../src/queues.js';
import { startWorker, type RunningWorker } from '../../src/worker/worker.js';
import { eventually, quietLogger } from '../support/context.js';
import { redisUrl } from '../support/redis.js';
import { ScriptedProvider } from '../support/scripted-provider.js';
import { closeTestBed, openTestBed, requestRecord, type TestBed } from '../support/test-bed.js';

/**
 * An edit survives a crash between being recorded and being queued: the recovery sweep queues it
 * again from its record, canvas and area included, and the worker draws the same edit.
 */
let bed: TestBed;
let ctx: BotContext;
const workers: RunningWorker[] = [];

beforeEach(async () => {
  bed = await openTestBed();
  ctx = bed.ctx;
});

afterEach(async () => {
  await closeTestBed(bed, workers);
});

describe('a stranded edit', () => {
  it('is queued again with its canvas and area, and the picture keeps its place on the canvas', async () => {
    const parentId = '1000000000000000001-1';
    const parent = await sharp({ create: { width: 128, height: 96, channels: 3, background: { r: 200, g: 30, b: 30 } } })
      .png()
      .toBuffer();
    await ctx.images.writeFile(parentId, parent);

    const record = requestRecord(ctx, {
      kind: 'outpaint',
      prompt: 'more sky',
      aspect: '3:2',
      parentImageId: parentId,
      // Pan left: 192 × 96, the picture on the right.
      width: 192,
      height: 96,
      area: formatEditArea({ x: 64, y: 0, w: 128, h: 96 }),
    });
    const { id } = record;
    await ctx.jobs.create(record);
    expect((await recoverStrandedJobs(ctx)).get(id)).toBe('requeued');

    const provider = new ScriptedProvider();
    workers.push(
      await startWorker({ redisUrl: redisUrl(), prefix: bed.prefix, provider, concurrency: 1, imageStoreDir: bed.imageDir, logger: quietLogger() }),
    );
    await eventually(async () => ['done', 'failed'].includes((await ctx.jobs.get(id))?.status ?? ''));
    expect((await ctx.jobs.get(id))?.error).toBeUndefined();

    const asked = provider.requests[0]!;
    expect(asked).toMatchObject({ kind: 'outpaint', width: 192, height: 96 });
    expect((await sharp(asked.init!).metadata()).width).toBe(192);
    expect((await sharp(asked.mask!).metadata()).width).toBe(192);
    const made = await ctx.images.bytes(`${id}-1`);
    const kept = await sharp(made!).extract({ left: 64, top: 0, width: 128, height: 96 }).removeAlpha().raw().toBuffer();
    expect(kept.equals(await sharp(parent).raw().toBuffer())).toBe(true);
  });
});
