import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Worker } from 'bullmq';
import { REST } from 'discord.js';
import type { Redis } from 'ioredis';
import sharp from 'sharp';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { BotContext } from '../../src/bot/context.js';
import { InvalidRequestError } from '../../src/bot/prompt.js';
import { castVote, challengeDataDeleter, submitEntry, withdrawEntry } from '../../src/features/challenges/actions.js';
import { endPhaseNow, scheduleWeekly, transitionJobId, unscheduleWeekly, weeklySchedulerId } from '../../src/features/challenges/timers.js';
import { announceChallenge, announceResults, cancelChallenge, openVoting } from '../../src/features/challenges/transitions.js';
import { runChallengeJob, startChallengeWorker } from '../../src/features/challenges/jobs.js';
import { DAY_MS, seasonOf } from '../../src/features/challenges/model.js';
import { ChallengeStore } from '../../src/features/challenges/store.js';
import { recordImages, recordRequest } from '../../src/features/pictures/store.js';
import { eventually, makeBotContext } from '../support/context.js';
import { FakeDiscord } from '../support/fake-discord.js';
import { connect, dropPrefix, uniquePrefix } from '../support/redis.js';
import { createTestDatabase, type TestDatabase } from '../support/postgres.js';

let redis: Redis;
let prefix: string;
let imageDir: string;
let discord: FakeDiscord;
let ctx: BotContext;
let clock: number;
let database: TestDatabase;
const workers: Worker[] = [];
const connections: Redis[] = [];

const ADA = '200000000000000001';
const BEA = '200000000000000002';
const CY = '200000000000000003';
const DEE = '200000000000000004';
const START = Date.UTC(2026, 10, 2, 18, 0);
let imageCounter = 0;

beforeEach(async () => {
  redis = connect();
  prefix = uniquePrefix();
  imageDir = mkdtempSync(join(tmpdir(), 'atelier-challenges-'));
  discord = new FakeDiscord();
  await discord.start();
  clock = START;
  const rest = new REST({ api: discord.apiUrl, retries: 0 }).setToken(discord.token);
  database = await createTestDatabase({ migrated: true, maxConnections: 10 });
  ctx = makeBotContext(redis, prefix, imageDir, database.db, { rest, now: () => clock });
});

afterEach(async () => {
  await Promise.all(workers.splice(0).map((worker) => worker.close()));
  await ctx.challengeQueue.close();
  await ctx.generateQueue.close();
  await Promise.all(connections.splice(0).map((connection) => connection.quit()));
  expect(discord.validationErrors).toEqual([]);
  await discord.close();
  await dropPrefix(redis, prefix);
  await redis.quit();
  await database.drop();
  rmSync(imageDir, { recursive: true, force: true });
});

const guildId = () => discord.defaultGuildId;
const channelId = () => discord.defaultChannelId;
const member = (userId: string) => ({ userId, guildId: guildId() });

/**
 * A picture the member made, as the bot records it: its request and picture rows in the archive
 * (entries refer to them) and its bytes in image storage.
 */
async function makeImage(userId: string, options: { createdAt?: number; guildId?: string; colour?: string; nsfw?: boolean } = {}): Promise<string> {
  imageCounter += 1;
  const jobId = `${1_300_000_000_000_000_000n + BigInt(imageCounter)}`;
  const id = `${jobId}-1`;
  const data = await sharp({ create: { width: 96, height: 64, channels: 3, background: options.colour ?? '#336699' } })
    .png()
    .toBuffer();
  await ctx.images.writeFile(id, data);
  const made = {
    kind: 'txt2img' as const,
    prompt: 'a city under the sea',
    seed: 1,
    model: 'painterly',
    aspect: '3:2',
    userId,
    guildId: options.guildId ?? guildId(),
    channelId: channelId(),
    createdAt: options.createdAt ?? clock,
  };
  await recordRequest(database.db, { ...made, id: jobId, count: 1 });
  await recordImages(database.db, [{ ...made, id, requestId: jobId, index: 1, width: 96, height: 64, contentType: 'image/png', nsfw: options.nsfw }]);
  return id;
}

async function createChallenge(overrides: { submitDays?: number; voteDays?: number } = {}): Promise<string> {
  const { created, id } = await ctx.challenges.create({
    guildId: guildId(),
    channelId: channelId(),
    theme: 'a city under the sea',
    submitDays: overrides.submitDays ?? 5,
    voteDays: overrides.voteDays ?? 2,
    scheduled: false,
    createdBy: ADA,
    createdAt: clock,
  });
  expect(created).toBe(true);
  return id;
}

/** A challenge in its submissions phase, announced at START. */
async function announced(overrides: { submitDays?: number; voteDays?: number } = {}): Promise<string> {
  const id = await createChallenge(overrides);
  expect(await announceChallenge(ctx, id, clock)).toBe('moved');
  clock += 60_000;
  return id;
}

const transition = (challengeId: string, phase: 'announce' | 'submissions' | 'voting') =>
  runChallengeJob(ctx, { name: 'transition', data: { challengeId, phase } }, clock);

const botMessages = (where = channelId()) => discord.messages(where).filter((message) => message.authorId !== ADA);

async function refusal(promise: Promise<unknown>): Promise<string> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(InvalidRequestError);
  return (error as Error).message;
}

describe('challenge phases on real Redis and BullMQ', () => {
  it('announces with deadlines and a thread, and schedules the end of submissions once', async () => {
    const id = await createChallenge();
    expect(await transition(id, 'announce')).toBe('moved');

    const challenge = (await ctx.challenges.get(id))!;
    expect(challenge).toMatchObject({
      phase: 'submissions',
      announcedAt: START,
      submissionsEndAt: START + 5 * DAY_MS,
      votingEndAt: START + 7 * DAY_MS,
    });
    const [announcement] = botMessages();
    expect(announcement!.embeds[0]!.title).toBe('🏆 Challenge: a city under the sea');
    expect(announcement!.embeds[0]!.fields?.[0]!.value).toContain(`<t:${(START + 5 * DAY_MS) / 1000}:R>`);
    expect(announcement!.embeds[0]!.fields?.[1]!.value).toContain(`<t:${(START + 7 * DAY_MS) / 1000}:R>`);
    expect(announcement!.embeds[0]!.description).toContain('Up to **2** entries');
    expect(announcement!.allowedMentions).toEqual({ parse: [] });
    expect(discord.threads(channelId()).map((thread) => thread.id)).toEqual([announcement!.id]);
    expect(challenge.threadId).toBe(announcement!.id);

    const deadline = await ctx.challengeQueue.getJob(transitionJobId(id, 'submissions'));
    expect(await deadline!.getState()).toBe('delayed');
    expect(deadline!.opts.delay).toBe(5 * DAY_MS);
    expect(deadline!.data).toEqual({ challengeId: id, phase: 'submissions' });

    // Firing again (a retried job, a second bot process) changes nothing.
    clock += 1000;
    expect(await transition(id, 'announce')).toBe('unchanged');
    expect(botMessages()).toHaveLength(1);
    expect(discord.threads()).toHaveLength(1);
    expect((await ctx.challenges.get(id))!.announcedAt).toBe(START);
    expect(await ctx.challengeQueue.getJobCounts('delayed')).toEqual({ delayed: 1 });
  });

  it('opens voting with an anonymous gallery in the thread, once even when fired twice at the same moment', async () => {
    const id = await announced();
    for (const user of [ADA, BEA, CY]) await submitEntry(ctx, member(user), await makeImage(user));
    clock = START + 5 * DAY_MS;

    const outcomes = await Promise.all([transition(id, 'submissions'), transition(id, 'submissions')]);
    expect(outcomes.filter((outcome) => outcome === 'moved')).toHaveLength(1);

    const challenge = (await ctx.challenges.get(id))!;
    expect(challenge).toMatchObject({ phase: 'voting', votingEndAt: clock + 2 * DAY_MS });
    const header = botMessages().at(-1)!;
    expect(header.content).toContain('**Voting is open**');
    expect(header.content).toContain(`<#${challenge.threadId}>`);
    const gallery = discord.messages(challenge.threadId);
    expect(gallery.map((message) => message.content)).toEqual(['**Entry #1**', '**Entry #2**', '**Entry #3**']);
    for (const [index, message] of gallery.entries()) {
      expect(message.attachments).toHaveLength(1);
      expect(JSON.stringify(message.components)).toContain(`challenge:vote:${id}:${index + 1}`);
      // Anonymous: nothing in the gallery names the author.
      expect(JSON.stringify(message)).not.toMatch(new RegExp(`${ADA}|${BEA}|${CY}`));
    }
    expect(await (await ctx.challengeQueue.getJob(transitionJobId(id, 'voting')))!.getState()).toBe('delayed');

    expect(await transition(id, 'submissions')).toBe('unchanged');
    expect(discord.messages(challenge.threadId)).toHaveLength(3);
  });

  it('schedules the next deadline with the phase change, so a failed post never leaves the challenge stuck', async () => {
    const id = await createChallenge();
    const failPost = () =>
      discord.failNext({ method: 'POST', path: /^\/channels\/\d+\/messages$/, status: 500, body: { message: 'Internal Server Error', code: 0 } });
    failPost();
    await expect(transition(id, 'announce')).rejects.toThrow();
    expect((await ctx.challenges.get(id))!.phase).toBe('submissions');
    expect(botMessages()).toHaveLength(0);
    expect(await (await ctx.challengeQueue.getJob(transitionJobId(id, 'submissions')))!.getState()).toBe('delayed');
    // The retried job posts what was missing.
    expect(await transition(id, 'announce')).toBe('finished');
    expect(botMessages()).toHaveLength(1);

    await submitEntry(ctx, member(BEA), await makeImage(BEA));
    clock = START + 5 * DAY_MS;
    failPost();
    await expect(transition(id, 'submissions')).rejects.toThrow();
    expect((await ctx.challenges.get(id))!.phase).toBe('voting');
    expect(await (await ctx.challengeQueue.getJob(transitionJobId(id, 'voting')))!.getState()).toBe('delayed');

    // Even with the gallery never posted, the voting deadline ends the challenge.
    clock += 2 * DAY_MS;
    expect(await transition(id, 'voting')).toBe('moved');
    expect((await ctx.challenges.get(id))!.phase).toBe('results');
  });

  it('crowns the winners with a podium, pings only them, scores the season, and does it once', async () => {
    const id = await announced();
    const entries: Record<string, string> = {};
    for (const [user, colour] of [
      [ADA, '#ff0000'],
      [BEA, '#00ff00'],
      [CY, '#0000ff'],
    ] as const) {
      entries[user] = await makeImage(user, { colour });
      await submitEntry(ctx, member(user), entries[user]!);
    }
    await transition(id, 'submissions');
    // CY's entry #3 gets 3 votes, BEA's #2 two, ADA's #1 one.
    await castVote(ctx, member(ADA), id, 3);
    await castVote(ctx, member(BEA), id, 3);
    await castVote(ctx, member(DEE), id, 3);
    await castVote(ctx, member(CY), id, 2);
    await castVote(ctx, member(DEE), id, 2);
    await castVote(ctx, member(CY), id, 1);
    clock += 2 * DAY_MS;

    const outcomes = await Promise.all([transition(id, 'voting'), transition(id, 'voting')]);
    expect(outcomes.filter((outcome) => outcome === 'moved')).toHaveLength(1);

    const challenge = (await ctx.challenges.get(id))!;
    expect(challenge.phase).toBe('results');
    expect(challenge.ranking.map((entry) => [entry.id, entry.votes, entry.points])).toEqual([
      [3, 3, 11],
      [2, 2, 7],
      [1, 1, 4],
    ]);
    expect(await ctx.challenges.active(guildId())).toBeUndefined();
    const season = seasonOf(clock);
    expect(await ctx.challenges.leaderboard(guildId(), season)).toEqual([
      { userId: CY, points: 11 },
      { userId: BEA, points: 7 },
      { userId: ADA, points: 4 },
    ]);

    const results = botMessages().at(-1)!;
    expect(results.content).toContain('**Results: a city under the sea**');
    expect(results.content).toMatch(
      new RegExp(`🥇 <@${CY}> · entry #3 · 3 votes\\n🥈 <@${BEA}> · entry #2 · 2 votes\\n🥉 <@${ADA}> · entry #1 · 1 vote`),
    );
    expect(results.content).not.toContain('Ties');
    expect(results.allowedMentions).toEqual({ users: [CY, BEA, ADA] });
    expect(results.attachments.map((attachment) => attachment.filename)).toEqual(['podium.png']);
    const podium = sharp(results.attachments[0]!.data);
    const { width, height } = await podium.metadata();
    expect(width).toBeGreaterThan(height!);
    // The winner (blue) stands in the middle, raised; second (green) on the left.
    const pixel = async (x: number, y: number) => {
      const { data } = await sharp(results.attachments[0]!.data)
        .extract({ left: Math.round(x), top: Math.round(y), width: 1, height: 1 })
        .raw()
        .toBuffer({ resolveWithObject: true });
      return [data[0], data[1], data[2]];
    };
    expect(await pixel(width! / 2, height! * 0.3)).toEqual([0, 0, 255]);
    expect(await pixel(width! / 6, height! * 0.5)).toEqual([0, 255, 0]);

    expect(await transition(id, 'voting')).toBe('unchanged');
    expect(botMessages().filter((message) => message.content.includes('Results'))).toHaveLength(1);
    expect(await ctx.challenges.leaderboard(guildId(), season)).toHaveLength(3);
    expect((await ctx.challenges.leaderboard(guildId(), season))[0]).toEqual({ userId: CY, points: 11 });
  });

  it('breaks ties by the earlier submission and says so', async () => {
    const id = await announced();
    for (const user of [ADA, BEA, CY]) {
      await submitEntry(ctx, member(user), await makeImage(user));
      clock += 1000;
    }
    await transition(id, 'submissions');
    // #1 and #2 both get two votes, #3 one.
    await castVote(ctx, member(CY), id, 1);
    await castVote(ctx, member(DEE), id, 1);
    await castVote(ctx, member(DEE), id, 2);
    await castVote(ctx, member(CY), id, 2);
    await castVote(ctx, member(ADA), id, 3);
    await announceResults(ctx, id, clock);

    const challenge = (await ctx.challenges.get(id))!;
    expect(challenge.ranking.map((entry) => [entry.id, entry.place, entry.votes])).toEqual([
      [1, 1, 2],
      [2, 2, 2],
      [3, 3, 1],
    ]);
    const results = botMessages().at(-1)!;
    expect(results.content).toContain('*Ties go to the earlier submission:* #1 before #2 (2 votes each).');
    expect(results.content).toContain(`🥇 <@${ADA}> · entry #1`);
  });

  it('names and scores nobody whose data was deleted, and puts no entry without votes on the podium', async () => {
    const id = await announced();
    for (const user of [ADA, BEA, CY]) {
      await submitEntry(ctx, member(user), await makeImage(user));
      clock += 1000;
    }
    await transition(id, 'submissions');
    // BEA's #2 wins, ADA's #1 comes second; CY's #3 gets nothing.
    await castVote(ctx, member(CY), id, 2);
    await castVote(ctx, member(DEE), id, 2);
    await castVote(ctx, member(DEE), id, 1);
    // BEA deletes their data before the results.
    await challengeDataDeleter.deleteMemberData(ctx, BEA);
    clock += 2 * DAY_MS;
    expect(await transition(id, 'voting')).toBe('moved');

    const challenge = (await ctx.challenges.get(id))!;
    expect(challenge.ranking.map((entry) => [entry.id, entry.votes, entry.points])).toEqual([
      [2, 2, 0],
      [1, 1, 7],
      [3, 0, 1],
    ]);
    expect(await ctx.challenges.leaderboard(guildId(), seasonOf(clock))).toEqual([
      { userId: ADA, points: 7 },
      { userId: CY, points: 1 },
    ]);
    const results = botMessages().at(-1)!;
    expect(results.content).not.toContain(BEA);
    expect(results.content).not.toContain('<@deleted>');
    expect(results.content).toContain('🥇 a former member · entry #2 · 2 votes');
    expect(results.content).toContain(`🥈 <@${ADA}> · entry #1 · 1 vote`);
    // No bronze: the entry nobody voted for is only "in the running".
    expect(results.content).not.toContain('🥉');
    expect(results.content).toContain(`Also in the running: #3 <@${CY}> (0)`);
    expect(results.allowedMentions).toEqual({ users: [ADA] });
  });

  it('pings nobody and crowns nobody when nobody voted', async () => {
    const id = await announced();
    await submitEntry(ctx, member(ADA), await makeImage(ADA));
    await transition(id, 'submissions');
    await challengeDataDeleter.deleteMemberData(ctx, ADA);
    clock += 2 * DAY_MS;
    expect(await transition(id, 'voting')).toBe('moved');
    const results = botMessages().at(-1)!;
    expect(results.content).toContain('nobody stands on the podium');
    expect(results.content).not.toMatch(/<@|🥇/);
    expect(results.allowedMentions).toEqual({ parse: [] });
    expect(results.attachments).toEqual([]);
    expect(await ctx.challenges.leaderboard(guildId(), seasonOf(clock))).toEqual([]);
  });

  it('goes straight to results when nobody entered', async () => {
    const id = await announced();
    clock += 5 * DAY_MS;
    expect(await transition(id, 'submissions')).toBe('moved');
    expect((await ctx.challenges.get(id))!.phase).toBe('results');
    expect(botMessages().at(-1)!.content).toContain('No entries this time');
    expect(botMessages().at(-1)!.attachments).toEqual([]);
    expect(await ctx.challenges.active(guildId())).toBeUndefined();
  });

  it('cancels a running challenge: its deadline is dropped and later transitions change nothing', async () => {
    const id = await announced();
    await submitEntry(ctx, member(ADA), await makeImage(ADA));
    expect(await cancelChallenge(ctx, id, ADA, clock)).toBe(true);
    expect(await cancelChallenge(ctx, id, ADA, clock)).toBe(false);
    expect(await ctx.challengeQueue.getJob(transitionJobId(id, 'submissions'))).toBeUndefined();
    expect(botMessages().at(-1)!.content).toBe('✖ The challenge **a city under the sea** was cancelled.');
    expect(await openVoting(ctx, id, clock)).toBe('unchanged');
    expect((await ctx.challenges.get(id))!.phase).toBe('cancelled');
    expect(await ctx.challenges.active(guildId())).toBeUndefined();
  });
});

describe('challenge entries and votes', () => {
  it('takes only the member’s own pictures from this server, made after the announcement, up to the limit', async () => {
    const id = await announced();
    const early = await makeImage(ADA, { createdAt: START - 1 });
    expect(await refusal(submitEntry(ctx, member(ADA), early))).toMatch(/made after the challenge was announced/);
    expect(await refusal(submitEntry(ctx, member(ADA), await makeImage(BEA)))).toMatch(/pictures you made yourself/);
    // Another server's picture is refused exactly like an unknown one.
    const unknown = await refusal(submitEntry(ctx, member(ADA), '1399999999999999999-1'));
    expect(unknown).toMatch(/do not know that picture/);
    expect(await refusal(submitEntry(ctx, member(ADA), await makeImage(ADA, { guildId: '300000000000000009' })))).toBe(unknown);

    const first = await makeImage(ADA);
    expect(await submitEntry(ctx, member(ADA), first)).toMatchObject({ entryId: 1, count: 1, max: 2 });
    expect(await refusal(submitEntry(ctx, member(ADA), first))).toMatch(/already entered/);
    await submitEntry(ctx, member(ADA), await makeImage(ADA));
    expect(await refusal(submitEntry(ctx, member(ADA), await makeImage(ADA)))).toMatch(/already have 2 entries/);

    // Withdrawing makes room; with several entries the member must say which.
    expect(await refusal(withdrawEntry(ctx, member(ADA), null))).toMatch(/#1 and #2/);
    expect(await refusal(withdrawEntry(ctx, member(BEA), 1))).toMatch(/no entry #1/);
    expect((await withdrawEntry(ctx, member(ADA), 1)).entry.imageId).toBe(first);
    expect(await submitEntry(ctx, member(ADA), first)).toMatchObject({ entryId: 3, count: 2 });
    expect((await ctx.challenges.entries(id)).map((entry) => entry.id)).toEqual([2, 3]);

    // The server's own limit applies.
    await ctx.settings.update(guildId(), { challengeMaxEntries: 1 });
    await submitEntry(ctx, member(BEA), await makeImage(BEA));
    expect(await refusal(submitEntry(ctx, member(BEA), await makeImage(BEA)))).toMatch(/already have 1 entry/);
  });

  it('holds the entry limit under concurrent submissions, and closes at the deadline even before the job runs', async () => {
    const id = await announced();
    const images = await Promise.all([1, 2, 3, 4, 5].map(() => makeImage(CY)));
    const results = await Promise.allSettled(images.map((image) => submitEntry(ctx, member(CY), image)));
    expect(results.filter((result) => result.status === 'fulfilled')).toHaveLength(2);
    expect(await ctx.challenges.entriesOf(id, CY)).toHaveLength(2);

    const late = await makeImage(BEA);
    clock = START + 5 * DAY_MS;
    expect(await refusal(submitEntry(ctx, member(BEA), late))).toMatch(/Entries closed/);
    await openVoting(ctx, id, clock);
    expect(await refusal(submitEntry(ctx, member(BEA), late))).toMatch(/voting is under way/);
    expect(await refusal(withdrawEntry(ctx, member(CY), 1))).toMatch(/voting is under way/);
  });

  it('takes one vote per member per entry, never for oneself, only while voting is open', async () => {
    const id = await announced();
    await submitEntry(ctx, member(ADA), await makeImage(ADA));
    await submitEntry(ctx, member(BEA), await makeImage(BEA));
    expect(await refusal(castVote(ctx, member(BEA), id, 1))).toMatch(/closed/);

    await openVoting(ctx, id, clock);
    expect(await refusal(castVote(ctx, member(ADA), id, 1))).toMatch(/your own entry/);
    expect(await refusal(castVote(ctx, member(ADA), id, 9))).toMatch(/not in this challenge/);
    expect(await refusal(castVote(ctx, { userId: BEA, guildId: '300000000000000009' }, id, 1))).toMatch(/do not know that challenge/);
    const concurrent = await Promise.allSettled([1, 2, 3, 4].map(() => castVote(ctx, member(BEA), id, 1)));
    expect(concurrent.filter((result) => result.status === 'fulfilled')).toHaveLength(1);
    expect(await refusal(castVote(ctx, member(BEA), id, 1))).toMatch(/already voted for entry #1/);
    expect(await ctx.challenges.votes(id, 1)).toBe(1);

    clock = (await ctx.challenges.get(id))!.votingEndAt!;
    expect(await refusal(castVote(ctx, member(CY), id, 1))).toMatch(/closed/);
    expect(await ctx.challenges.votes(id, 1)).toBe(1);
  });
});

describe('challenge schedule and restarts', () => {
  it('registers the weekly start as a job scheduler with the cron pattern and timezone, replaces and removes it', async () => {
    const schedule = { channelId: channelId(), weekday: 5, time: '18:30', timezone: 'Europe/Berlin', submitDays: 5, voteDays: 2 };
    const next = await scheduleWeekly(ctx.challengeQueue, guildId(), schedule);
    const registered = await ctx.challengeQueue.getJobScheduler(weeklySchedulerId(guildId()));
    expect(registered).toMatchObject({ pattern: '30 18 * * 5', tz: 'Europe/Berlin', name: 'weekly-start' });
    expect(registered!.template?.data).toEqual({ guildId: guildId() });
    // The next start is a Friday, 18:30 in Berlin.
    const parts = new Intl.DateTimeFormat('en-GB', { timeZone: 'Europe/Berlin', weekday: 'long', hour: '2-digit', minute: '2-digit' }).format(next);
    expect(parts).toBe('Friday 18:30');

    await scheduleWeekly(ctx.challengeQueue, guildId(), { ...schedule, weekday: 1, time: '09:00', timezone: 'America/New_York' });
    expect(await ctx.challengeQueue.getJobSchedulersCount()).toBe(1);
    expect(await ctx.challengeQueue.getJobScheduler(weeklySchedulerId(guildId()))).toMatchObject({ pattern: '0 9 * * 1', tz: 'America/New_York' });

    expect(await unscheduleWeekly(ctx.challengeQueue, guildId())).toBe(true);
    expect(await ctx.challengeQueue.getJobSchedulersCount()).toBe(0);
  });

  it('starts the weekly challenge with a theme from the pool, never twice at once, without repeating themes', async () => {
    await ctx.challenges.setSchedule(guildId(), { channelId: channelId(), weekday: 5, time: '18:30', timezone: 'UTC', submitDays: 3, voteDays: 1 });
    for (const theme of ['dragons', 'harbours', 'winter']) await ctx.challenges.addTheme(guildId(), theme);
    const weekly = () => runChallengeJob(ctx, { name: 'weekly-start', data: { guildId: guildId() } }, clock);

    const drawn: string[] = [];
    for (let week = 0; week < 3; week++) {
      expect(await weekly()).toBe('moved');
      // A second firing while it runs starts nothing.
      expect(await weekly()).toBe('unchanged');
      const running = (await ctx.challenges.active(guildId()))!;
      expect(running).toMatchObject({ scheduled: true, phase: 'submissions', submitDays: 3 });
      drawn.push(running.theme);
      await cancelChallenge(ctx, running.id, ADA, clock);
      clock += 7 * DAY_MS;
    }
    expect(drawn.sort()).toEqual(['dragons', 'harbours', 'winter']);
    expect((await ctx.challenges.themes(guildId())).every((theme) => theme.used)).toBe(true);
    // The pool is exhausted: a new round begins.
    expect(await weekly()).toBe('moved');
    expect((await ctx.challenges.themes(guildId())).filter((theme) => theme.used)).toHaveLength(1);
    expect(await ctx.challenges.history(guildId())).toHaveLength(4);
  });

  it('resumes after a restart in the middle of voting with no entry and no vote lost', async () => {
    const startWorker = (context: BotContext) => {
      const connection = connect();
      connections.push(connection);
      const worker = startChallengeWorker(context, connection);
      workers.push(worker);
      return worker;
    };
    const first = startWorker(ctx);
    const id = await createChallenge();
    await endPhaseNow(ctx.challengeQueue, id, 'announce');
    await eventually(async () => (await ctx.challenges.get(id))?.threadId, 10_000, 'the announcement');
    for (const user of [ADA, BEA, CY]) await submitEntry(ctx, member(user), await makeImage(user));
    await endPhaseNow(ctx.challengeQueue, id, 'submissions');
    await eventually(async () => (await ctx.challenges.get(id))?.galleryPosted, 10_000, 'the gallery');
    await castVote(ctx, member(ADA), id, 2);
    await castVote(ctx, member(CY), id, 2);
    await castVote(ctx, member(BEA), id, 1);

    // The bot goes away: worker and store connections close.
    await first.close();
    const restartedRedis = connect();
    connections.push(restartedRedis);
    const restarted = { ...ctx, redis: restartedRedis, challenges: new ChallengeStore(database.db) };
    const state = (await restarted.challenges.get(id))!;
    expect(state.phase).toBe('voting');
    expect((await restarted.challenges.entries(id)).map((entry) => entry.userId)).toEqual([ADA, BEA, CY]);
    expect(await restarted.challenges.votes(id, 2)).toBe(2);
    expect(await (await ctx.challengeQueue.getJob(transitionJobId(id, 'voting')))!.getState()).toBe('delayed');

    // Voting goes on after the restart, and the deadline (fired now) is handled by the new worker.
    await castVote(restarted, member(DEE), id, 1);
    startWorker(restarted);
    await endPhaseNow(ctx.challengeQueue, id, 'voting');
    const done = await eventually(
      async () => {
        const challenge = await restarted.challenges.get(id);
        return challenge?.resultMessageId ? challenge : undefined;
      },
      10_000,
      'the results',
    );
    expect(done.ranking.map((entry) => [entry.id, entry.votes])).toEqual([
      [1, 2],
      [2, 2],
      [3, 0],
    ]);
    expect(botMessages().filter((message) => message.content.includes('Results'))).toHaveLength(1);
  });
});

describe('challenge guarantees held by PostgreSQL under concurrency', () => {
  const newChallenge = (createdBy: string) => ({
    guildId: guildId(),
    channelId: channelId(),
    theme: `theme by ${createdBy}`,
    submitDays: 5,
    voteDays: 2,
    scheduled: false,
    createdBy,
    createdAt: clock,
  });

  it('runs one challenge per server however many starts arrive at once, and another server is not blocked', async () => {
    const starts = await Promise.all(Array.from({ length: 10 }, (_, index) => ctx.challenges.create(newChallenge(`2000000000000000${10 + index}`))));
    const created = starts.filter((start) => start.created);
    expect(created).toHaveLength(1);
    // Every refused start names the challenge that runs.
    expect(new Set(starts.map((start) => start.id))).toEqual(new Set([created[0]!.id]));
    expect((await ctx.challenges.history(guildId())).map((challenge) => challenge.id)).toEqual([created[0]!.id]);
    expect((await ctx.challenges.create({ ...newChallenge(ADA), guildId: '300000000000000009' })).created).toBe(true);
    // Once it is over, the next one may start.
    expect((await ctx.challenges.advance(created[0]!.id, ['announce'], 'cancelled', { cancelledAt: clock, cancelledBy: ADA })).ok).toBe(true);
    expect((await ctx.challenges.create(newChallenge(BEA))).created).toBe(true);
  });

  it('moves a phase once when the same move is tried ten times at once', async () => {
    const { id } = await ctx.challenges.create(newChallenge(ADA));
    const moves = await Promise.all(
      Array.from({ length: 10 }, (_, index) =>
        ctx.challenges.advance(id, ['announce'], 'submissions', { announcedAt: clock + index, submissionsEndAt: clock + DAY_MS }),
      ),
    );
    expect(moves.filter((move) => move.ok)).toHaveLength(1);
    expect(moves.filter((move) => !move.ok).every((move) => move.previous === 'submissions')).toBe(true);
    const winner = moves.findIndex((move) => move.ok);
    expect((await ctx.challenges.get(id))!.announcedAt).toBe(clock + winner);
  });

  it('counts exactly the votes accepted before the tally closed voting, and awards points once', async () => {
    const id = await announced();
    for (const user of [ADA, BEA]) await submitEntry(ctx, member(user), await makeImage(user));
    await openVoting(ctx, id, clock);
    const voters = Array.from({ length: 30 }, (_, index) => `2100000000000000${String(index).padStart(2, '0')}`);
    const [votes, tallies] = await Promise.all([
      Promise.all(voters.map((voter) => ctx.challenges.vote(id, voter, 1, clock))),
      Promise.all([ctx.challenges.tally(id, clock), ctx.challenges.tally(id, clock)]),
    ]);
    expect(tallies.filter((tally) => tally.ok)).toHaveLength(1);
    const accepted = votes.filter((vote) => vote.ok).length;
    expect(votes.filter((vote) => !vote.ok).every((vote) => !vote.ok && vote.reason === 'closed')).toBe(true);
    const challenge = (await ctx.challenges.get(id))!;
    expect(challenge.ranking.find((entry) => entry.id === 1)!.votes).toBe(accepted);
    // Nobody votes after the results, and a third tally changes nothing.
    expect(await ctx.challenges.vote(id, CY, 1, clock)).toEqual({ ok: false, reason: 'closed' });
    expect((await ctx.challenges.tally(id, clock)).ok).toBe(false);
    const board = await ctx.challenges.leaderboard(guildId(), seasonOf(clock));
    const expected =
      accepted > 0
        ? [
            { userId: ADA, points: 11 },
            { userId: BEA, points: 1 },
          ]
        : [
            { userId: BEA, points: 1 },
            { userId: ADA, points: 1 },
          ];
    expect(board).toEqual(expected);
    const ledger = await ctx.db.selectFrom('season_points').select(['user_id', 'reason', 'points']).where('challenge_id', '=', id).execute();
    expect(ledger).toHaveLength(accepted > 0 ? 3 : 2);
  });

  it('gives a member with two entries both entry points in one ledger row, and two draws at once take different themes', async () => {
    const id = await announced();
    await submitEntry(ctx, member(ADA), await makeImage(ADA));
    await submitEntry(ctx, member(ADA), await makeImage(ADA));
    await openVoting(ctx, id, clock);
    await castVote(ctx, member(BEA), id, 2);
    await announceResults(ctx, id, clock);
    expect(await ctx.challenges.leaderboard(guildId(), seasonOf(clock))).toEqual([{ userId: ADA, points: 12 }]);
    const rows = await ctx.db.selectFrom('season_points').select(['reason', 'points']).where('challenge_id', '=', id).orderBy('reason').execute();
    expect(rows).toEqual([
      { reason: 'entry', points: 2 },
      { reason: 'podium', points: 10 },
    ]);

    for (const theme of ['dragons', 'harbours']) await ctx.challenges.addTheme(guildId(), theme);
    expect(await ctx.challenges.addTheme(guildId(), 'DRAGONS')).toBe(false);
    const drawn = await Promise.all([ctx.challenges.drawTheme(guildId(), 0), ctx.challenges.drawTheme(guildId(), 0)]);
    expect(drawn.sort()).toEqual(['dragons', 'harbours']);
  });

  it('treats ids that are not challenge numbers as unknown, changing nothing', async () => {
    const id = await announced();
    for (const forged of ["1' OR '1'='1", '-1', '0', '1e3', 'x'.repeat(5000), `${id} `]) {
      expect(await ctx.challenges.get(forged)).toBeUndefined();
      expect(await ctx.challenges.vote(forged, ADA, 1, clock)).toEqual({ ok: false, reason: 'unknown' });
      expect((await ctx.challenges.advance(forged, ['submissions'], 'cancelled')).ok).toBe(false);
      expect(await refusal(castVote(ctx, member(ADA), forged, 1))).toMatch(/do not know that challenge/);
    }
    expect((await ctx.challenges.get(id))!.phase).toBe('submissions');
  });
});
