import { ComponentType, InteractionResponseType, MessageFlags } from 'discord.js';
import { afterEach, describe, expect, it } from 'vitest';
import { startPrivateRedis, type PrivateRedis } from '../../src/redis-server.js';
import { voteCount } from '../../src/features/votes/store.js';
import { twoServers, type FakeInteraction, type FakeMessage } from '../support/fake-discord.js';
import { eventually } from '../support/context.js';
import { useStack, type Stack } from '../support/stack.js';

// FLUSHALL must not touch the Redis other test files share: this file's bots and workers get one
// of their own, stopped after the stack (after-hooks run last registered, first).
let redis: PrivateRedis | undefined;
afterEach(async () => {
  await redis?.stop();
  redis = undefined;
});
const start = useStack();

const BEA = '730000000000000002';
const CY = '730000000000000003';
const DEV = '730000000000000004';

type Row = { components?: Array<{ type: number; label?: string; custom_id?: string }> };
const voteLabel = (message: { components?: unknown[] }) =>
  (message.components ?? [])
    .flatMap((row) => (row as Row).components ?? [])
    .find((c) => c.type === ComponentType.Button && c.custom_id?.startsWith('img:vote:'))?.label;

async function finished(s: Stack, interaction: FakeInteraction): Promise<FakeMessage> {
  return s.discord.waitFor(
    () => {
      const message = s.discord.messages(s.discord.defaultChannelId).find((m) => m.interactionId === interaction.id);
      return message && message.attachments.length > 0 && message.content.startsWith('✅') ? message : undefined;
    },
    20_000,
    'a finished result',
  );
}

async function imagine(s: Stack, prompt: string) {
  const interaction = s.discord.slashCommand({ name: 'imagine', options: { prompt } });
  return { id: interaction.id, message: await finished(s, interaction) };
}

/** A public answer that is deferred first, then edited in: its final content and files. */
async function command(s: Stack, name: string, options: Record<string, string>, userId?: string) {
  const interaction = s.discord.slashCommand({ name, options, ...(userId ? { userId } : {}) });
  expect((await interaction.response()).type).toBe(InteractionResponseType.DeferredChannelMessageWithSource);
  const answer = await s.discord.waitFor(() => {
    const message = interaction.original();
    return message && message.content !== '' ? message : undefined;
  });
  return { content: answer.content, files: answer.attachments.map((a) => a.filename), allowedMentions: answer.allowedMentions };
}

async function privateError(interaction: FakeInteraction): Promise<string> {
  const response = await interaction.response();
  expect(response.data.flags, JSON.stringify(response.data)).toBe(MessageFlags.Ephemeral);
  return response.data.content as string;
}

async function vote(s: Stack, id: string, message: FakeMessage, userId: string) {
  const response = await s.discord.button({ customId: `img:vote:${id}`, message, userId }).response();
  expect(response.type, JSON.stringify(response.data)).toBe(InteractionResponseType.DeferredMessageUpdate);
}

describe('votes outlive Redis', () => {
  it('after Redis loses everything and the bot restarts, /top and /profile answer as before and old 👍 buttons still toggle', async () => {
    redis = await startPrivateRedis({ ephemeral: true });
    const s = await start({ bot: { redisUrl: redis.url }, worker: { redisUrl: redis.url } });
    const author = s.discord.defaultUser.id;

    const cat = await imagine(s, 'a cat on a windowsill');
    const dog = await imagine(s, 'a dog in the surf');
    const bird = await imagine(s, 'a heron at dawn');
    // A remix by someone else counts as a remix received by the author.
    const remix = s.discord.modalSubmit({ customId: `img:remixjob:${cat.id}`, fields: { prompt: 'a cat, painted', strength: '0.6' }, userId: BEA });
    const remixed = await finished(s, remix);
    for (const userId of [BEA, CY]) await vote(s, dog.id, dog.message, userId);
    await vote(s, cat.id, cat.message, BEA);
    await vote(s, bird.id, bird.message, BEA);
    await vote(s, bird.id, bird.message, CY);
    await vote(s, bird.id, bird.message, DEV);
    await vote(s, remix.id, remixed, CY);
    // The most-voted picture is deleted: it leaves the rankings and takes no more votes.
    const deleted = await s.discord.button({ customId: `img:delete:${bird.id}`, message: bird.message }).response();
    expect(deleted.type).toBe(InteractionResponseType.UpdateMessage);
    await eventually(async () => (await s.ctx.votes.profile(s.discord.defaultGuildId, author)).images === 3, 5000, 'the results on the profile');
    await eventually(() => voteLabel(s.discord.message(dog.message.id)!) === '👍 2 Vote', 5000, 'the label redrawn');

    const views = async () => ({
      month: await command(s, 'top', { period: 'month' }),
      channel: await command(s, 'top', { period: 'all', channel: s.discord.defaultChannelId }),
      today: await command(s, 'top', { period: 'day' }),
      author: await command(s, 'profile', { user: author }),
      remixer: await command(s, 'profile', { user: BEA }),
      voter: await command(s, 'profile', {}, CY),
    });
    const before = await views();
    expect(before.month.content.split('\n')).toHaveLength(4);
    expect(before.month.content).toContain(dog.message.id);
    expect(before.month.content).not.toContain(bird.message.id);
    expect(before.month.files).toEqual(['top.png']);
    expect(before.author.content).toContain('3 pictures made · 👍 6 votes received · 🔀 1 remix by others');
    expect(before.author.content).toContain(`Best picture: https://discord.com/channels/${s.discord.defaultGuildId}/`);
    expect(before.author.content).toContain(dog.message.id);
    expect(before.remixer.content).toContain('1 picture made · 👍 1 vote received · 🔀 0 remixes by others');
    expect(before.voter.content).toContain('No voted pictures yet.');

    await Promise.all(s.workers.splice(0).map((worker) => worker.close()));
    await s.bot.ctx.redis.flushall();
    expect(await s.bot.ctx.redis.dbsize()).toBe(0);
    await s.restartBot();
    await s.discord.ready;

    expect(await views()).toEqual(before);

    // The 👍 on an old message: a new vote adds, a repeated one takes back, and the label follows.
    await vote(s, dog.id, dog.message, DEV);
    await eventually(() => voteLabel(s.discord.message(dog.message.id)!) === '👍 3 Vote', 5000, 'the label at 3');
    await vote(s, dog.id, dog.message, BEA);
    await eventually(() => voteLabel(s.discord.message(dog.message.id)!) === '👍 2 Vote', 5000, 'the label at 2');
    expect(await s.ctx.votes.hasVoted(dog.id, BEA)).toBe(false);
    expect(await voteCount(s.database.db, dog.id)).toBe(2);

    // The same rules as before the restart.
    expect(await privateError(s.discord.button({ customId: `img:vote:${dog.id}`, message: dog.message }))).toMatch(
      /cannot vote for your own pictures/,
    );
    expect(await privateError(s.discord.button({ customId: `img:vote:${bird.id}`, message: bird.message, userId: CY }))).toMatch(/was deleted/);
    expect(await privateError(s.discord.button({ customId: `img:vote:${cat.id}`, message: dog.message, userId: CY }))).toMatch(/does not belong/);
    expect(await privateError(s.discord.button({ customId: 'img:vote:123456789012345678', message: dog.message, userId: CY }))).toMatch(
      /no longer know/,
    );
    expect(await s.ctx.votes.counts([cat.id, bird.id])).toEqual([1, 3]);
    // Only what has a TTL (or belongs to BullMQ) is left in Redis by votes.
    for (const key of await s.bot.ctx.redis.keys(`${s.prefix}:votes:*`)) expect(await s.bot.ctx.redis.pttl(key)).toBeGreaterThan(0);
  });

  it('refuses a vote from another server and vote spam past the allowance, and counts neither', async () => {
    const s = await start({ bot: { interactionRateLimit: { burst: 3, refillMs: 60_000 } }, discord: { guilds: twoServers() } });
    const cat = await imagine(s, 'a cat');
    const elsewhere = { channelId: s.discord.guilds[1]!.channels[0]!.id };
    const forged = s.discord.button({ customId: `img:vote:${cat.id}`, message: cat.message, forgedPlace: elsewhere, userId: BEA });
    expect(await privateError(forged)).toMatch(/no longer know that picture/);

    // BEA's allowance: one was spent on the refused click above.
    await vote(s, cat.id, cat.message, BEA);
    const spam = Array.from({ length: 5 }, () => s.discord.button({ customId: `img:vote:${cat.id}`, message: cat.message, userId: BEA }));
    const answers = await Promise.all(spam.map((interaction) => interaction.response()));
    const slowed = answers.filter((answer) => /Slow down/.test(String(answer.data?.content ?? '')));
    expect(slowed.length).toBeGreaterThanOrEqual(3);
    expect(await voteCount(s.database.db, cat.id)).toBeLessThanOrEqual(1);
    expect(await s.ctx.votes.count(cat.id)).toBe(await voteCount(s.database.db, cat.id));
  });
});
