import { ApplicationCommandOptionType, MessageFlags } from 'discord.js';
import { describe, expect, it } from 'vitest';
import { transitionJobId } from '../../src/features/challenges/timers.js';
import { showProgress } from '../../src/bot/progress.js';
import { eventually } from '../support/context.js';
import type { FakeMessage } from '../support/fake-discord.js';
import { ScriptedProvider } from '../support/scripted-provider.js';
import { useStack, type Stack } from '../support/stack.js';

/**
 * Discord refusals no retry can change (lost access, missing permissions, channel or message gone)
 * outside delivery: challenge posts, series posts and progress edits are tried once, then given up.
 */
const start = useStack();

const O = ApplicationCommandOptionType;
const channelPost = (channelId: string) => new RegExp(`^/channels/${channelId}/messages$`);
const channelEdit = /^\/channels\/\d+\/messages\/\d+$/;
const originalEdit = /^\/webhooks\/\d+\/[^/]+\/messages\/@original$/;

async function privateAnswer(interaction: { response(): Promise<{ data: { content: string; flags?: number } }> }): Promise<string> {
  const { data } = await interaction.response();
  expect(data.flags).toBe(MessageFlags.Ephemeral);
  return data.content;
}

function challenge(s: Stack, sub: string, userId: string, options: Array<{ name: string; type: ApplicationCommandOptionType; value: string }> = []) {
  return s.discord.slashCommand({ name: 'challenge', userId, moderator: true, options: [{ name: sub, type: O.Subcommand, options }] });
}

function series(s: Stack, sub: string, values: Record<string, string | number>, extra: { channelId?: string } = {}) {
  const options = Object.entries(values).map(([name, value]) => ({ name, type: typeof value === 'number' ? O.Integer : O.String, value }));
  return s.discord.slashCommand({ name: 'series', options: [{ name: sub, type: O.Subcommand, options }], ...extra });
}

function botPost(s: Stack, channelId: string, pattern: RegExp): Promise<FakeMessage> {
  return s.discord.waitFor(
    () => s.discord.messages(channelId).find((m) => !m.interactionId && pattern.test(m.content)),
    20_000,
    `a post matching ${pattern}`,
  );
}

describe('Discord refusing a post for good outside delivery', () => {
  it('a challenge announcement refused with Missing Permissions is tried once, pauses the challenge, and /challenge status says why', async () => {
    const s = await start({ noWorker: true });
    const channel = s.discord.defaultChannelId;
    const admin = s.discord.user({ username: 'mod' }).id;
    s.discord.failNext({
      method: 'POST',
      path: channelPost(channel),
      status: 403,
      body: { message: 'Missing Permissions', code: 50013 },
      times: 100,
      when: (request) => JSON.stringify(request.json ?? '').includes('Challenge: a lighthouse'),
    });
    const refusals = () => s.discord.requests.filter((r) => r.status === 403 && channelPost(channel).test(r.path)).length;

    expect(await privateAnswer(challenge(s, 'start', admin, [{ name: 'theme', type: O.String, value: 'a lighthouse' }]))).toContain('Starting');
    const running = await eventually(() => s.ctx.challenges.active(s.discord.defaultGuildId), 10_000, 'the challenge');
    // The job that tried to announce is over (not waiting for another attempt), and no deadline waits.
    await eventually(
      async () => (await s.ctx.challengeQueue.getJobState(transitionJobId(running.id, 'announce'))) === 'completed',
      15_000,
      'the announce job to end',
    );
    expect(await s.ctx.challengeQueue.getJob(transitionJobId(running.id, 'submissions'))).toBeUndefined();
    expect(refusals()).toBe(1);

    const status = await privateAnswer(challenge(s, 'status', admin));
    expect(status).toContain(`⏸ **Paused**: I could not post the announcement in <#${channel}>: I am missing the permissions I need to post there.`);
    expect(status).toContain('`/challenge end` moves it on');

    // Once the admins fixed the channel, /challenge end moves it on: nobody entered, so the results come.
    expect(await privateAnswer(challenge(s, 'end', admin))).toContain('closing entries');
    await botPost(s, channel, /\*\*Results: a lighthouse\*\*/);
    expect(await privateAnswer(challenge(s, 'status', admin))).not.toContain('Paused');
    expect(refusals()).toBe(1);
  });

  it('a series completion refused with Missing Access is tried once; the delivery finishes and nothing stays owed', async () => {
    const s = await start();
    const create = series(s, 'create', { title: 'Tide log', panels: 2 });
    await s.discord.waitFor(() => (create.original()?.edits ?? 0) > 0, 20_000, 'the create reply');
    const thread = await s.discord.waitFor(() => s.discord.threads(s.discord.defaultChannelId).at(-1));
    await botPost(s, thread.id, /started by/);
    const channel = s.discord.defaultChannelId;
    s.discord.failNext({
      method: 'POST',
      path: channelPost(channel),
      status: 403,
      body: { message: 'Missing Access', code: 50001 },
      times: 100,
      when: (request) => JSON.stringify(request.json ?? '').includes('is complete'),
    });

    const first = series(s, 'add', { prompt: 'high tide, rain' }, { channelId: thread.id });
    await eventually(async () => (await s.ctx.jobs.get(first.id))?.hooksDone === '1', 20_000, 'the first panel');
    const panel = series(s, 'add', { prompt: 'low tide, gulls' }, { channelId: thread.id });
    await eventually(async () => (await s.ctx.jobs.get(panel.id))?.hooksDone === '1', 20_000, 'the delivery and its hooks to finish');
    // The thread still hears of it: only the refused post is given up.
    await botPost(s, thread.id, /is complete\. Thanks to/);
    expect(s.discord.requests.filter((r) => r.status === 403 && channelPost(channel).test(r.path))).toHaveLength(1);
    expect((await s.ctx.series.get(create.id))?.completionOwed).toBeUndefined();
    expect(await s.ctx.deliverQueue.getJobState(`deliver-${panel.id}`)).toBe('completed');
  });

  it('a progress edit refused with Missing Access stops the progress edits of that request', async () => {
    const provider = new ScriptedProvider();
    const hold = provider.holdNext();
    const s = await start({ provider });
    // The interaction's webhook is gone (so edits fall back to the channel), and the channel refuses.
    s.discord.failNext({ method: 'PATCH', path: originalEdit, status: 404, body: { message: 'Unknown Message', code: 10008 }, times: 100 });
    s.discord.failNext({ method: 'PATCH', path: channelEdit, status: 403, body: { message: 'Missing Access', code: 50001 }, times: 100 });
    const interaction = s.discord.slashCommand({ name: 'imagine', options: { prompt: 'a slow sunrise' } });
    await interaction.response();
    const refusedEdits = () => s.discord.requests.filter((r) => r.method === 'PATCH' && channelEdit.test(r.path) && r.status === 403);
    await s.discord.waitFor(() => refusedEdits().length > 0, 15_000, 'the first progress edit');

    // Once that edit is over (its message lock free), later progress past the throttle edits nothing more.
    await eventually(async () => (await s.redis.exists(`${s.prefix}:lock:message:${interaction.id}`)) === 0, 10_000, 'the first edit to end');
    await s.redis.del(`${s.prefix}:throttle:progress:${interaction.id}`);
    expect(await showProgress(s.ctx, interaction.id, 80)).toBe(false);
    expect(refusedEdits()).toHaveLength(1);

    hold.release();
    await eventually(async () => (await s.ctx.deliverQueue.getJobState(`deliver-${interaction.id}`)) === 'completed', 20_000, 'the delivery to end');
  });
});
