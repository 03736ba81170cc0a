import { ApplicationCommandOptionType, MessageFlags } from 'discord.js';
import { describe, expect, it } from 'vitest';
import { eventually } from '../support/context.js';
import type { FakeMessage } from '../support/fake-discord.js';
import { dropPrefix } from '../support/redis.js';
import { useStack, type Stack } from '../support/stack.js';

const start = useStack();
const O = ApplicationCommandOptionType;
const THEME = 'a lighthouse in fog';

function challenge(
  s: Stack,
  sub: string,
  userId: string,
  options: Array<{ name: string; type: ApplicationCommandOptionType; value: string | number }> = [],
  moderator = false,
) {
  return s.discord.slashCommand({ name: 'challenge', userId, moderator, options: [{ name: sub, type: O.Subcommand, options }] });
}

function customIds(message: { components?: unknown[] }): string[] {
  return (message.components ?? []).flatMap((row) =>
    ((row as { components?: Array<{ custom_id?: string }> }).components ?? []).map((c) => c.custom_id ?? ''),
  );
}

async function imagine(s: Stack, userId: string, prompt: string): Promise<FakeMessage> {
  const interaction = s.discord.slashCommand({ name: 'imagine', userId, options: [{ name: 'prompt', type: O.String, value: prompt }] });
  return s.discord.waitFor(
    () => {
      const message = s.discord.messages(s.discord.defaultChannelId).find((m) => m.interactionId === interaction.id);
      return message && message.attachments.length > 0 && message.content.startsWith('✅') ? message : undefined;
    },
    20_000,
    `the result of "${prompt}"`,
  );
}

async function privateAnswer(interaction: { response(): Promise<{ data: { content: string; flags?: number } }> }): Promise<string> {
  const { data } = await interaction.response();
  expect(data.flags).toBe(MessageFlags.Ephemeral);
  return data.content;
}

const fileOf = (message: FakeMessage) => message.attachments[0]!.filename;
const submitButtonOf = (message: FakeMessage) => customIds(message).find((id) => id.startsWith('challenge:submit:'))!;

describe('challenges outlive Redis', () => {
  it('after the Redis keys are wiped and the bot restarts, history and leaderboard answer as before and old buttons still behave', async () => {
    const s = await start();
    const channel = s.discord.defaultChannelId;
    const guildId = s.discord.defaultGuildId;
    const admin = s.discord.user({ username: 'keeper' }).id;
    const [ada, bea, cy] = ['ada9', 'bea9', 'cy9'].map((username) => s.discord.user({ username }).id) as [string, string, string];

    await privateAnswer(challenge(s, 'start', admin, [{ name: 'theme', type: O.String, value: THEME }], true));
    const thread = await s.discord.waitFor(() => s.discord.threads(channel)[0], 10_000, 'the entries thread');
    const made = {
      [ada]: await imagine(s, ada, 'a lamp room, amber glow'),
      [bea]: await imagine(s, bea, 'fog rolling over rocks'),
      [cy]: await imagine(s, cy, 'a keeper climbing stairs'),
    };

    // Hostile entries change nothing: someone else's picture, by name or by its button.
    expect(await privateAnswer(challenge(s, 'submit', ada, [{ name: 'image', type: O.String, value: fileOf(made[bea]!) }]))).toContain(
      'pictures you made yourself',
    );
    expect(await privateAnswer(s.discord.button({ customId: submitButtonOf(made[bea]!), message: made[bea]!, userId: ada }))).toContain(
      'Only the person who made this picture',
    );
    // A custom_id naming a picture that does not exist, and forged ones, are refused.
    expect(await privateAnswer(s.discord.button({ customId: 'challenge:submit:1999999999999999999:1', message: made[ada]!, userId: ada }))).toContain(
      'I no longer know that picture',
    );
    for (const forged of ['challenge:vote:1:1:1', 'challenge:vote:x:1', `challenge:submit:${made[ada]!.interactionId}:9`]) {
      expect(await privateAnswer(s.discord.button({ customId: forged, message: made[ada]!, userId: ada })), forged).toContain('not one I recognise');
    }
    const running = (await s.ctx.challenges.active(guildId))!;
    expect(await s.ctx.challenges.entries(running.id)).toEqual([]);

    for (const user of [ada, bea]) {
      expect(await privateAnswer(challenge(s, 'submit', user, [{ name: 'image', type: O.String, value: fileOf(made[user]!) }]))).toContain(
        'Entered as',
      );
    }
    expect(await privateAnswer(s.discord.button({ customId: submitButtonOf(made[cy]!), message: made[cy]!, userId: cy }))).toContain(
      'Entered as **#3**',
    );

    await privateAnswer(challenge(s, 'end', admin, [], true));
    const gallery = await s.discord.waitFor(
      () => (s.discord.messages(thread.id).length === 3 ? s.discord.messages(thread.id) : undefined),
      15_000,
      'the gallery',
    );
    const vote = (entry: number, userId: string) =>
      privateAnswer(s.discord.button({ customId: customIds(gallery[entry - 1]!)[0]!, message: gallery[entry - 1]!, userId }));
    expect(await vote(1, bea)).toContain('is in');
    expect(await vote(1, cy)).toContain('is in');
    expect(await vote(2, ada)).toContain('is in');
    expect(await vote(3, cy)).toContain('your own entry');
    expect(await vote(1, bea)).toContain('already voted');
    // Another server's challenge, named in a forged vote button, is unknown here.
    const elsewhere = await s.ctx.challenges.create({
      guildId: '390000000000000001',
      channelId: '490000000000000001',
      theme: 'elsewhere',
      submitDays: 5,
      voteDays: 2,
      scheduled: false,
      createdBy: admin,
      createdAt: Date.now(),
    });
    expect(await privateAnswer(s.discord.button({ customId: `challenge:vote:${elsewhere.id}:1`, message: gallery[0]!, userId: bea }))).toContain(
      'do not know that challenge',
    );

    await privateAnswer(challenge(s, 'end', admin, [], true));
    const results = await s.discord.waitFor(() => s.discord.messages(channel).find((m) => m.content.includes('**Results:')), 15_000, 'the results');
    expect(results.content).toContain(`🥇 <@${ada}> · entry #1 · 2 votes`);

    const history = () => privateAnswer(challenge(s, 'history', cy));
    const board = async () => (await s.discord.slashCommand({ name: 'leaderboard', userId: bea }).response()).data.content as string;
    const status = () => privateAnswer(challenge(s, 'status', ada));
    const before = { history: await history(), board: await board(), status: await status() };
    expect(before.history).toContain(`**${THEME}**: 🥇 <@${ada}> 🥈 <@${bea}>`);
    expect(before.board).toMatch(new RegExp(`🥇 <@${ada}> · 11 points\\n🥈 <@${bea}> · 7 points\\n🥉 <@${cy}> · 1 point`));
    const votesBefore = await s.ctx.challenges.votes(running.id, 1);

    // Nothing of the challenge is kept in Redis beside BullMQ's queue (named "challenge"): none of
    // 0.1's keys (challenges:guild:…, challenge:<id>:entries, :votes:…, :gallery) is written any more.
    expect(await s.redis.keys(`${s.prefix}:challenges:*`)).toEqual([]);
    expect(
      (await s.redis.keys(`${s.prefix}:challenge:${running.id}:*`)).filter((key) => /:(entries|votes|gallery|member|images)(:|$)/.test(key)),
    ).toEqual([]);
    // Everything the test's bot kept in Redis goes (the shared server's other keys stay).
    await dropPrefix(s.redis, s.prefix);
    expect(await s.redis.keys(`${s.prefix}:*`)).toEqual([]);
    await s.restartBot();
    await s.discord.ready;

    expect(await history()).toBe(before.history);
    expect(await board()).toBe(before.board);
    expect(await status()).toBe(before.status);
    // The old vote buttons know their challenge is over, and count nothing.
    expect(await vote(2, cy)).toContain('Voting on this challenge is closed');
    expect(await s.ctx.challenges.votes(running.id, 1)).toBe(votesBefore);
    // An old result's submit button still knows its picture (from PostgreSQL): no challenge takes it now…
    expect(await privateAnswer(s.discord.button({ customId: submitButtonOf(made[ada]!), message: made[ada]!, userId: ada }))).toContain(
      'no challenge taking entries',
    );
    // …and a new challenge refuses it as made before its announcement, while still refusing other members.
    await privateAnswer(challenge(s, 'start', admin, [{ name: 'theme', type: O.String, value: 'second light' }], true));
    await eventually(async () => (await s.ctx.challenges.active(guildId))?.phase === 'submissions', 10_000, 'entries open');
    expect(await privateAnswer(s.discord.button({ customId: submitButtonOf(made[ada]!), message: made[ada]!, userId: ada }))).toContain(
      'made after the challenge was announced',
    );
    expect(await privateAnswer(s.discord.button({ customId: submitButtonOf(made[ada]!), message: made[ada]!, userId: bea }))).toContain(
      'Only the person who made this picture',
    );
    // The new challenge numbers on from the old ones.
    const second = (await s.ctx.challenges.active(guildId))!;
    expect(Number(second.id)).toBeGreaterThan(Number(running.id));
  });
});
