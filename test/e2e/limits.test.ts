import { ApplicationCommandOptionType, ComponentType, InteractionResponseType, MessageFlags } from 'discord.js';
import { describe, expect, it } from 'vitest';
import type { FakeInteraction } from '../support/fake-discord.js';
import { generationButtonId } from '../../src/bot/components/ids.js';
import { defaultInteractionRateLimit, defaultRateLimit } from '../../src/store/rate-limit.js';
import { useStack, type Stack } from '../support/stack.js';

const start = useStack();

/** The interaction was answered privately; returns what it said and its buttons' custom_ids. */
async function privateAnswer(interaction: FakeInteraction): Promise<{ content: string; buttons: string[] }> {
  const response = await interaction.response();
  expect(response.type).toBe(InteractionResponseType.ChannelMessageWithSource);
  expect((response.data.flags ?? 0) & MessageFlags.Ephemeral).toBe(MessageFlags.Ephemeral);
  expect(response.data.allowed_mentions).toEqual({ parse: [] });
  const buttons = ((response.data.components ?? []) as { components: { type: number; custom_id: string }[] }[])
    .flatMap((row) => row.components)
    .filter((component) => component.type === ComponentType.Button)
    .map((component) => component.custom_id);
  return { content: response.data.content as string, buttons };
}

function imagine(s: Stack, guildId: string, prompt: string) {
  return s.discord.slashCommand({
    name: 'imagine',
    guildId,
    options: [{ name: 'prompt', type: ApplicationCommandOptionType.String, value: prompt }],
  });
}

async function twoServers() {
  const s = await start({ noWorker: true, discord: { guilds: [{ name: 'Server A' }, { name: 'Server B' }] } });
  const [a, b] = s.discord.guilds.map((guild) => guild.id) as [string, string];
  return { s, a, b };
}

describe('limits count per member per server', () => {
  it('requests waiting on server A do not count toward server B’s queue limit, and /quota in B counts B’s alone', async () => {
    const { s, a, b } = await twoServers();
    await s.ctx.settings.update(a, { maxQueued: 1 });
    await s.ctx.settings.update(b, { maxQueued: 1 });

    expect((await imagine(s, a, 'a lighthouse in A').response()).data.content).toMatch(/Queued/);
    expect((await privateAnswer(imagine(s, a, 'one too many in A'))).content).toMatch(/as many requests waiting as this server allows \(1\)/);
    // Server B has its own count for the member: their first request there is welcome.
    expect((await imagine(s, b, 'a lighthouse in B').response()).data.content).toMatch(/Queued/);

    const quotaB = await privateAnswer(s.discord.slashCommand({ name: 'quota', guildId: b }));
    expect(quotaB.content).toMatch(/\*\*Queue:\*\* 0 generating, 1 waiting/);
    expect(quotaB.content).toMatch(/Images today:\*\* 99 of 100 left/);
  });

  it('/queue in server B neither shows nor cancels the member’s requests on server A', async () => {
    const { s, a, b } = await twoServers();
    const inA = imagine(s, a, 'a secret castle in A');
    await inA.response();
    const inB = imagine(s, b, 'a harbour in B');
    await inB.response();

    const queueB = await privateAnswer(s.discord.slashCommand({ name: 'queue', guildId: b }));
    expect(queueB.content).toContain('a harbour in B');
    expect(queueB.content).not.toContain('secret castle');
    expect(queueB.buttons).toEqual([generationButtonId('cancel', inB.id)]);

    // A forged click in server B naming server A's job is refused and cancels nothing.
    const forged = s.discord.button({ customId: generationButtonId('cancel', inA.id), message: inB.original()! });
    expect((await privateAnswer(forged)).content).toMatch(/no longer know that picture/);
    expect((await s.ctx.jobs.get(inA.id))?.status).toBe('queued');

    const queueA = await privateAnswer(s.discord.slashCommand({ name: 'queue', guildId: a }));
    expect(queueA.content).toContain('a secret castle in A');
    expect(queueA.content).not.toContain('harbour');
  });
});

describe('the installation’s daily budget', () => {
  it('refuses, privately and changing nothing, a server budget above OPERATOR_DAILY_BUDGET', async () => {
    const s = await start({ noWorker: true, bot: { operatorDailyBudget: 300 } });
    const limits = (value: number) =>
      s.discord.slashCommand({
        name: 'config',
        moderator: true,
        options: [
          {
            name: 'limits',
            type: ApplicationCommandOptionType.Subcommand,
            options: [{ name: 'daily_budget', type: ApplicationCommandOptionType.Integer, value }],
          },
        ],
      });
    for (const value of [301, 0]) {
      expect((await privateAnswer(limits(value))).content).toMatch(
        /spends at most 300 cost units a day across all servers, so a server's daily budget can be at most 300/,
      );
      expect((await s.ctx.settings.get(s.discord.defaultGuildId)).dailyBudget).toBe(1000);
    }
    const updated = (await privateAnswer(limits(300))).content;
    expect(updated).toMatch(/Limits updated/);
    expect(updated).toContain('**Server budget per day:** 300 cost units (this installation spends at most 300 a day across all servers)');
    expect((await s.ctx.settings.get(s.discord.defaultGuildId)).dailyBudget).toBe(300);
  });
});

describe('two allowances: pictures are rationed, votes and views are not', () => {
  it('a member who votes on ten pictures in a row, then opens a family tree, /profile and /top, is never told to slow down', async () => {
    const s = await start({ bot: { rateLimit: defaultRateLimit, interactionRateLimit: defaultInteractionRateLimit } });
    const authors = Array.from({ length: 10 }, (_, i) => `7100000000000000${String(i).padStart(2, '0')}`);
    const made = authors.map((userId, i) =>
      s.discord.slashCommand({
        name: 'imagine',
        userId,
        options: [{ name: 'prompt', type: ApplicationCommandOptionType.String, value: `picture ${i}` }],
      }),
    );
    const results = await Promise.all(
      made.map((interaction) =>
        s.discord.waitFor(() => {
          const message = interaction.original();
          return message && message.attachments.length > 0 && message.content.startsWith('✅') ? message : undefined;
        }, 30_000),
      ),
    );

    const voter = '720000000000000001';
    const answers: FakeInteraction[] = results.map((message, i) => s.discord.button({ customId: `img:vote:${made[i]!.id}`, message, userId: voter }));
    const family = ((results[0]!.components ?? []) as { components: { label?: string; custom_id: string }[] }[])
      .flatMap((row) => row.components)
      .find((button) => button.label === '🌳 Family')!.custom_id;
    answers.push(s.discord.button({ customId: family, message: results[0]!, userId: voter }));
    answers.push(s.discord.slashCommand({ name: 'profile', userId: voter }));
    answers.push(s.discord.slashCommand({ name: 'top', userId: voter }));
    for (const interaction of answers) {
      const response = await interaction.response();
      expect(JSON.stringify(response.data)).not.toMatch(/Slow down/);
    }
    expect(await s.ctx.votes.counts(made.map((interaction) => interaction.id))).toEqual(authors.map(() => 1));
  });
});
