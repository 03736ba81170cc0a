import { describe, expect, it } from 'vitest';
import { ApplicationCommandOptionType } from 'discord.js';
import { endPhaseNow, scheduleWeekly, transitionJobId, weeklySchedulerId } from '../../src/features/challenges/timers.js';
import { FairQueue } from '../../src/store/fair-queue.js';
import { eventually } from '../support/context.js';
import { ScriptedProvider } from '../support/scripted-provider.js';
import { useStack, type Stack } from '../support/stack.js';

const start = useStack();

const weekly = { channelId: '', weekday: 5, time: '18:00', timezone: 'Europe/Berlin', submitDays: 5, voteDays: 2 };

async function withWeeklyChallenge(s: Stack): Promise<void> {
  const schedule = { ...weekly, channelId: s.discord.defaultChannelId };
  await s.ctx.challenges.setSchedule(s.discord.defaultGuildId, schedule);
  await scheduleWeekly(s.ctx.challengeQueue, s.discord.defaultGuildId, schedule);
}

const weeklyStart = (s: Stack) => s.ctx.challengeQueue.getJobScheduler(weeklySchedulerId(s.discord.defaultGuildId));

describe('being removed from a server', () => {
  it('cancels its waiting requests and gives their quota back, drops the running one unposted, and posts nothing more there', async () => {
    const provider = new ScriptedProvider();
    const hold = provider.holdNext();
    const s = await start({ provider, worker: { concurrency: 1 } });
    const guildId = s.discord.defaultGuildId;
    const running = s.discord.slashCommand({ name: 'imagine', options: { prompt: 'a first sketch' } });
    await running.response();
    await eventually(() => provider.requests.length === 1, 10_000, 'the first request to run');
    const waiting = s.discord.slashCommand({ name: 'imagine', options: { prompt: 'a second sketch' } });
    await waiting.response();
    const userId = waiting.payload.member.user.id;
    const fair = new FairQueue(s.redis, s.prefix);
    expect((await fair.usage(userId, guildId, Date.now())).imagesToday).toBe(2);

    const since = s.discord.requests.length;
    s.discord.removeBotFromGuild(guildId);

    await eventually(async () => (await s.ctx.jobs.get(waiting.id))?.status === 'cancelled', 10_000, 'the waiting request to be cancelled');
    await eventually(async () => (await s.ctx.jobs.get(running.id))?.status === 'cancelled', 10_000, 'the running request to be cancelled');
    await eventually(async () => (await s.ctx.generateQueue.getJob(`gen-${waiting.id}`)) === undefined, 10_000, 'its job to leave the queue');
    expect(provider.requests.map((r) => r.prompt)).toEqual(['a first sketch']);
    // The waiting picture costs nothing; the running one had its GPU time.
    expect((await fair.usage(userId, guildId, Date.now())).imagesToday).toBe(1);
    hold.release();
    await eventually(async () => (await s.ctx.generateQueue.getJobState(`gen-${running.id}`)) !== 'active', 10_000, 'the worker to stop');

    const after = s.discord.requests.slice(since);
    expect(after.filter((r) => r.files.length > 0)).toEqual([]);
    expect(after.filter((r) => r.method === 'POST' && /^\/channels\/\d+\/messages$/.test(r.path))).toEqual([]);
    expect(await s.redis.zscore(`${s.prefix}:jobs:open`, running.id)).toBeNull();
    expect(await s.redis.zscore(`${s.prefix}:jobs:open`, waiting.id)).toBeNull();
  });

  it('pauses the weekly challenge, and resumes it when the bot is added back', async () => {
    const s = await start({ noWorker: true });
    await withWeeklyChallenge(s);
    expect(await weeklyStart(s)).toBeDefined();

    s.discord.removeBotFromGuild(s.discord.defaultGuildId);
    await eventually(async () => (await weeklyStart(s)) === undefined, 10_000, 'the weekly start to stop');
    // The admins' settings stay: they are what comes back.
    expect(await s.ctx.challenges.schedule(s.discord.defaultGuildId)).toMatchObject({ weekday: 5, time: '18:00' });

    s.discord.addBotToGuild(s.discord.defaultGuildId);
    const resumed = await eventually(() => weeklyStart(s), 10_000, 'the weekly start to come back');
    expect(resumed.pattern).toBe('0 18 * * 5');
  });

  it('stops a challenge running there: its deadlines go, no phase change posts, and it stays stopped when the bot comes back', async () => {
    const s = await start({ noWorker: true });
    const guildId = s.discord.defaultGuildId;
    const channel = s.discord.defaultChannelId;
    const admin = s.discord.user({ username: 'mod' }).id;
    const challengeCommand = (sub: string, options: Array<{ name: string; type: ApplicationCommandOptionType; value: string }> = []) =>
      s.discord.slashCommand({
        name: 'challenge',
        userId: admin,
        moderator: true,
        options: [{ name: sub, type: ApplicationCommandOptionType.Subcommand, options }],
      });
    await challengeCommand('start', [{ name: 'theme', type: ApplicationCommandOptionType.String, value: 'lanterns' }]).response();
    await s.discord.waitFor(() => s.discord.messages(channel).find((m) => m.embeds[0]?.title?.includes('lanterns')), 10_000, 'the announcement');
    const running = (await s.ctx.challenges.active(guildId))!;
    expect(await s.ctx.challengeQueue.getJob(transitionJobId(running.id, 'submissions'))).toBeDefined();

    const since = s.discord.requests.length;
    s.discord.removeBotFromGuild(guildId);
    await eventually(async () => (await s.ctx.challenges.get(running.id))?.phase === 'cancelled', 10_000, 'the challenge to stop');
    // The phase changes first, then the deadlines are removed one by one.
    await eventually(
      async () => (await s.ctx.challengeQueue.getJob(transitionJobId(running.id, 'submissions'))) === undefined,
      10_000,
      'its deadline to go',
    );

    // Its deadline coming anyway (a job that was already due) changes and posts nothing.
    await endPhaseNow(s.ctx.challengeQueue, running.id, 'submissions');
    await eventually(
      async () => (await s.ctx.challengeQueue.getJobState(transitionJobId(running.id, 'submissions'))) === 'completed',
      10_000,
      'the late deadline to run',
    );
    expect((await s.ctx.challenges.get(running.id))?.phase).toBe('cancelled');

    s.discord.addBotToGuild(guildId);
    await eventually(async () => (await s.redis.exists(`${s.prefix}:guild:${guildId}:left`)) === 0, 10_000, 'the bot to be back');
    expect((await challengeCommand('status').response()).data.content).toContain('No challenge is running here.');
    const posts = s.discord.requests.slice(since).filter((r) => r.method === 'POST' && /^\/channels\/\d+\/messages$/.test(r.path));
    expect(posts).toEqual([]);
  });

  it('ignores an outage (GUILD_DELETE with unavailable): the server’s requests and challenge carry on', async () => {
    const s = await start({ noWorker: true });
    await withWeeklyChallenge(s);
    const waiting = s.discord.slashCommand({ name: 'imagine', options: { prompt: 'patience' } });
    await waiting.response();

    s.discord.removeBotFromGuild(s.discord.defaultGuildId, { unavailable: true });
    await eventually(() => s.bot.client.guilds.cache.get(s.discord.defaultGuildId)?.available === false, 10_000, 'the outage to be seen');
    // Another interaction after the outage event: by its answer, the event was handled.
    await s.discord.slashCommand({ name: 'imagine', options: { prompt: 'still here' } }).response();

    expect((await s.ctx.jobs.get(waiting.id))?.status).toBe('queued');
    expect(await s.ctx.generateQueue.getJob(`gen-${waiting.id}`)).toBeDefined();
    expect(await weeklyStart(s)).toBeDefined();
  });

  it('ends the work of a server that removed the bot during an outage', async () => {
    const s = await start({ noWorker: true });
    const waiting = s.discord.slashCommand({ name: 'imagine', options: { prompt: 'patience' } });
    await waiting.response();
    s.discord.removeBotFromGuild(s.discord.defaultGuildId, { unavailable: true });
    await eventually(() => s.bot.client.guilds.cache.get(s.discord.defaultGuildId)?.available === false, 10_000, 'the outage to be seen');

    s.discord.removeBotFromGuild(s.discord.defaultGuildId);
    await eventually(async () => (await s.ctx.jobs.get(waiting.id))?.status === 'cancelled', 10_000, 'the waiting request to be cancelled');
    await eventually(async () => (await s.ctx.generateQueue.getJob(`gen-${waiting.id}`)) === undefined, 10_000, 'its job to leave the queue');
  });
});
