import sharp from 'sharp';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { challengeDataDeleter, challengeVoteDeleter } from '../../src/features/challenges/actions.js';
import { awardPoints } from '../../src/features/challenges/store.js';
import { recordImages, recordRequest } from '../../src/features/pictures/store.js';
import { communityDataDeleter } from '../../src/bot/community.js';
import type { BotContext } from '../../src/bot/context.js';
import { deleteMemberData, memberDataDeleters } from '../../src/bot/privacy.js';
import { panelImages, seriesDataDeleter } from '../../src/features/series/flow.js';
import type { ImageRecord } from '../../src/features/pictures/images.js';
import { openTestBed, closeTestBed, type TestBed } from '../support/test-bed.js';

const ADA = '200000000000000001';
const BEA = '200000000000000002';
let bed: TestBed;
let ctx: BotContext;

beforeEach(async () => {
  bed = await openTestBed();
  ({ ctx } = bed);
  ctx.dataDeleters = [...memberDataDeleters, communityDataDeleter, seriesDataDeleter, challengeDataDeleter, challengeVoteDeleter];
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
  await recordImages(ctx.db, [{ ...record, kind: record.kind as 'txt2img' | 'img2img' }]);
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
    const now = Date.now();
    // Entries refer to the archive's rows of their pictures.
    for (const [id, userId] of [
      ['100000000000000003', ADA],
      ['100000000000000004', BEA],
    ] as const) {
      await picture(`${id}-1`, userId, 'an entry');
      const made = {
        kind: 'txt2img' as const,
        prompt: 'an entry',
        seed: 1,
        model: 'painterly',
        aspect: '1:1',
        userId,
        channelId: '400000000000000001',
      };
      await recordRequest(ctx.db, { ...made, id, count: 1, guildId: '300000000000000001', createdAt: now - 500 });
      await recordImages(ctx.db, [
        {
          ...made,
          id: `${id}-1`,
          requestId: id,
          index: 1,
          width: 64,
          height: 64,
          contentType: 'image/png',
          guildId: '300000000000000001',
          createdAt: now - 500,
        },
      ]);
    }
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
    await ctx.challenges.advance(id, ['announce'], 'submissions', {
      announcedAt: now - 1000,
      submissionsEndAt: now + 60_000,
      votingEndAt: now + 120_000,
    });
    expect(await ctx.challenges.submit(id, { userId: ADA, imageId: '100000000000000003-1', jobId: '100000000000000003' }, now, 2)).toMatchObject({
      ok: true,
    });
    expect(await ctx.challenges.submit(id, { userId: BEA, imageId: '100000000000000004-1', jobId: '100000000000000004' }, now, 2)).toMatchObject({
      ok: true,
    });
    const points = (userId: string, reason: 'entry' | 'podium', amount: number) => ({
      guildId: '300000000000000001',
      season: '2026-Q4',
      challengeId: id,
      userId,
      reason,
      points: amount,
    });
    await awardPoints(ctx.db, [points(ADA, 'podium', 10), points(ADA, 'entry', 1), points(BEA, 'podium', 6), points(BEA, 'entry', 1)]);
    await ctx.challenges.advance(id, ['submissions'], 'voting', { votingEndAt: now + 120_000 });
    expect(await ctx.challenges.vote(id, ADA, 2, now)).toEqual({ ok: true });
    expect(await ctx.challenges.vote(id, BEA, 1, now)).toEqual({ ok: true });

    const summary = await deleteMemberData(ctx, ADA);
    expect(summary).toContainEqual({ name: 'challenge entries made anonymous', count: 1 });
    expect(summary).toContainEqual({ name: 'challenge votes removed', count: 1 });

    const entries = await ctx.challenges.entries(id);
    expect(entries.map((entry) => entry.userId).sort()).toEqual([BEA, 'deleted']);
    expect(await ctx.challenges.leaderboard('300000000000000001', '2026-Q4')).toEqual([{ userId: BEA, points: 7 }]);
    expect(await ctx.challenges.votes(id, 2)).toBe(0);
    // Others' votes stay, also on the anonymous entry.
    expect(await ctx.challenges.votes(id, 1)).toBe(1);
    // Nothing of the member is left in the challenge tables.
    for (const table of ['challenges', 'challenge_entries', 'challenge_votes', 'season_points'] as const) {
      const rows = await ctx.db.selectFrom(table).selectAll().execute();
      expect(JSON.stringify(rows)).not.toContain(ADA);
    }
  });
});
