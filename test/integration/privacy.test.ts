import type { Redis } from 'ioredis';
import sharp from 'sharp';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { challengeDataDeleter } from '../../src/challenges/actions.js';
import { communityDataDeleter } from '../../src/bot/community.js';
import type { BotContext } from '../../src/bot/context.js';
import { deleteMemberData, memberDataDeleters } from '../../src/bot/privacy.js';
import { panelImages, seriesDataDeleter } from '../../src/bot/series.js';
import type { ImageRecord } from '../../src/features/pictures/images.js';
import { recordRequest } from '../../src/features/pictures/store.js';
import { openTestBed, closeTestBed, type TestBed } from '../support/test-bed.js';

const ADA = '200000000000000001';
const BEA = '200000000000000002';
let bed: TestBed;
let redis: Redis;
let prefix: string;
let ctx: BotContext;

beforeEach(async () => {
  bed = await openTestBed();
  ({ redis, prefix, ctx } = bed);
  ctx.dataDeleters = [...memberDataDeleters, communityDataDeleter, seriesDataDeleter, challengeDataDeleter];
});

afterEach(() => closeTestBed(bed));

async function picture(id: string, userId: string, prompt: string, parentId?: string): Promise<ImageRecord> {
  const record: ImageRecord = {
    id,
    jobId: id.split('-')[0]!,
    index: 1,
    kind: parentId ? 'img2img' : 'txt2img',
    prompt,
    seed: 1,
    model: 'painterly',
    aspect: '1:1',
    width: 64,
    height: 64,
    contentType: 'image/png',
    userId,
    guildId: '300000000000000001',
    channelId: '400000000000000001',
    parentId,
    createdAt: Date.now(),
    attachmentUrl: `https://cdn.discordapp.com/attachments/1/2/${id}.png`,
  };
  await recordRequest(ctx.db, {
    id: record.jobId,
    kind: record.kind as 'txt2img',
    prompt,
    aspect: '1:1',
    seed: 1,
    count: 1,
    model: 'painterly',
    userId,
    guildId: record.guildId,
    channelId: record.channelId,
    createdAt: record.createdAt,
  });
  await ctx.images.saveRecord(record);
  await ctx.images.writeFile(
    id,
    await sharp({ create: { width: 64, height: 64, channels: 3, background: '#884422' } })
      .png()
      .toBuffer(),
  );
  return record;
}

describe('/privacy delete-my-data on real Redis', () => {
  it('leaves anonymous tombstones: families and series keep their shape, the member and their prompts are gone', async () => {
    await picture('100000000000000001-1', ADA, 'ada secret prompt');
    await picture('100000000000000002-1', BEA, 'bea remix', '100000000000000001-1');
    const series = await ctx.series.create({
      id: '500000000000000001',
      guildId: '300000000000000001',
      channelId: '400000000000000001',
      threadId: '600000000000000001',
      title: 'Two panels',
      mode: 'open',
      panelCount: 4,
      creatorId: BEA,
      createdAt: Date.now(),
    });
    for (const [i, [userId, userName, imageId]] of [
      [ADA, 'Ada', '100000000000000001-1'],
      [BEA, 'Bea', '100000000000000002-1'],
    ].entries()) {
      await ctx.series.addPanel(series.id, { id: `p${i}`, userId: userId!, userName: userName!, prompt: 'x', imageId, createdAt: Date.now() });
    }

    await deleteMemberData(ctx, ADA);

    const tombstone = await ctx.images.getRecord('100000000000000001-1');
    expect(tombstone).toMatchObject({ userId: 'deleted', prompt: '', deletedBy: 'privacy' });
    expect(tombstone?.deletedAt).toBeGreaterThan(0);
    expect(tombstone?.attachmentUrl).toBeUndefined();
    expect(await ctx.images.readFile('100000000000000001-1')).toBeUndefined();
    // Bea's remix still knows where it came from; Bea's own picture is untouched.
    expect((await ctx.images.getRecord('100000000000000002-1'))?.parentId).toBe('100000000000000001-1');
    expect(await ctx.images.readFile('100000000000000002-1')).toBeDefined();

    const panels = await ctx.series.panels(series.id);
    expect(panels.map((p) => p.userName)).toEqual(['a former member', 'Bea']);
    const tiles = await panelImages(ctx, panels, false);
    expect(tiles.map((t) => t.caption)).toEqual(['(deleted)', 'Bea']);
    expect((await sharp(tiles[0]!.image).metadata()).width).toBe(64);
    // Nothing of Ada's prompt is left in the archive: not on the picture, not on the request.
    const rows = await ctx.db.selectFrom('images').selectAll().where('id', '=', '100000000000000001-1').execute();
    const request = await ctx.db.selectFrom('requests').selectAll().where('id', '=', '100000000000000001').execute();
    expect(JSON.stringify([rows, request])).not.toContain('ada secret prompt');
    expect(request[0]).toMatchObject({ user_id: null, prompt: null });
  });

  it('keeps challenge entries as anonymous ones and takes the member off the season leaderboard', async () => {
    await picture('100000000000000003-1', ADA, 'ada entry');
    await picture('100000000000000004-1', BEA, 'bea entry');
    const now = Date.now();
    const { id } = await ctx.challenges.create({
      guildId: '300000000000000001',
      channelId: '400000000000000001',
      theme: 'glass',
      submitDays: 5,
      voteDays: 2,
      scheduled: false,
      createdBy: BEA,
      createdAt: now - 1000,
    });
    await ctx.challenges.record(id, {
      phase: 'submissions',
      announcedAt: String(now - 1000),
      submissionsEndAt: String(now + 60_000),
      votingEndAt: String(now + 120_000),
    });
    expect(await ctx.challenges.submit(id, { userId: ADA, imageId: '100000000000000003-1', jobId: '100000000000000003' }, now, 2)).toMatchObject({
      ok: true,
    });
    expect(await ctx.challenges.submit(id, { userId: BEA, imageId: '100000000000000004-1', jobId: '100000000000000004' }, now, 2)).toMatchObject({
      ok: true,
    });
    const season = `${prefix}:challenges:guild:300000000000000001:season:2026-Q4`;
    await redis.zadd(season, 11, ADA, 7, BEA);

    await deleteMemberData(ctx, ADA);

    const entries = await ctx.challenges.entries(id);
    expect(entries.map((entry) => entry.userId).sort()).toEqual([BEA, 'deleted']);
    expect(await redis.zrange(season, 0, '-1')).toEqual([BEA]);
  });
});
