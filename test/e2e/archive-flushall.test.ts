/**
 * The archive as a whole: pictures, votes, a remix family, a series and a finished challenge are
 * made; Redis then loses everything (FLUSHALL) and the bot restarts. Every view answers exactly as
 * before, and the buttons on the old messages still work.
 */
import { ApplicationCommandOptionType, ComponentType, InteractionResponseType, MessageFlags } from 'discord.js';
import { describe, expect, it } from 'vitest';
import { eventually } from '../support/context.js';
import type { FakeInteraction, FakeMessage, RawCommandOption } from '../support/fake-discord.js';
import { useStackOnOwnRedis, type Stack } from '../support/stack.js';

// FLUSHALL must not touch the Redis other test files share: this file's bot and worker get one of their own.
const { start, flushAll } = useStackOnOwnRedis();

const O = ApplicationCommandOptionType;
const ADA = '740000000000000001';
const BEA = '740000000000000002';
const CY = '740000000000000003';
const KEEPER = '740000000000000009';

type Row = { components?: Array<{ type: number; label?: string; custom_id?: string }> };
const buttons = (message: { components?: unknown[] }) => (message.components ?? []).flatMap((row) => (row as Row).components ?? []);
const voteLabel = (message: { components?: unknown[] }) =>
  buttons(message).find((c) => c.type === ComponentType.Button && c.custom_id?.startsWith('img:vote:'))?.label;

function resultOf(s: Stack, channelId: string, interactionId: string): Promise<FakeMessage> {
  return s.discord.waitFor(
    () => {
      const message = s.discord.messages(channelId).find((m) => m.interactionId === interactionId);
      return message && message.attachments.length > 0 && message.content.startsWith('✅') ? message : undefined;
    },
    60_000,
    'a delivered result',
  );
}

async function imagine(s: Stack, userId: string, prompt: string) {
  const interaction = s.discord.slashCommand({ name: 'imagine', userId, options: { prompt } });
  return { id: interaction.id, message: await resultOf(s, s.discord.defaultChannelId, interaction.id) };
}

async function privateAnswer(interaction: FakeInteraction): Promise<string> {
  const response = await interaction.response();
  expect(response.data.flags, JSON.stringify(response.data)).toBe(MessageFlags.Ephemeral);
  return response.data.content as string;
}

/** What a member sees of an answer, deferred or not: its text and its files' bytes. */
async function seen(s: Stack, interaction: FakeInteraction) {
  const response = await interaction.response();
  if (response.type === InteractionResponseType.ChannelMessageWithSource) return { content: response.data.content as string, files: [] as string[] };
  const message = await s.discord.waitFor(() => {
    const original = interaction.original();
    return original && (original.content !== '' || original.attachments.length > 0) ? original : undefined;
  });
  return { content: message.content, files: message.attachments.map((file) => `${file.filename}:${file.data.toString('base64')}`) };
}

const sub = (name: string, options: RawCommandOption[] = []): RawCommandOption[] => [{ name, type: O.Subcommand, options }];

describe('the archive outlives Redis', () => {
  it('after FLUSHALL and a restart, /top, /profile, /lineage, /series, /challenge history, /leaderboard and /config show answer as before, and old buttons work', async () => {
    const s = await start();
    const channel = s.discord.defaultChannelId;
    const guild = s.discord.defaultGuildId;

    // A server setting.
    await privateAnswer(
      s.discord.slashCommand({
        name: 'config',
        userId: KEEPER,
        moderator: true,
        options: sub('limits', [{ name: 'daily_images', type: O.Integer, value: 40 }]),
      }),
    );

    // Pictures, votes, and a remix family.
    const cat = await imagine(s, ADA, 'a cat on a windowsill');
    const dog = await imagine(s, ADA, 'a dog in the surf');
    const remix = s.discord.modalSubmit({ customId: `img:remixjob:${cat.id}`, fields: { prompt: 'a cat, painted', strength: '0.6' }, userId: BEA });
    const remixed = await resultOf(s, channel, remix.id);
    for (const [id, message, voter] of [
      [cat.id, cat.message, BEA],
      [dog.id, dog.message, BEA],
      [dog.id, dog.message, CY],
      [remix.id, remixed, CY],
    ] as const) {
      const click = await s.discord.button({ customId: `img:vote:${id}`, message, userId: voter }).response();
      expect(click.type).toBe(InteractionResponseType.DeferredMessageUpdate);
    }
    await eventually(() => voteLabel(s.discord.message(dog.message.id)!) === '👍 2 Vote', 10_000, 'the vote labels');

    // A series of two panels, drawn in its thread.
    const create = s.discord.slashCommand({
      name: 'series',
      userId: ADA,
      options: sub('create', [
        { name: 'title', type: O.String, value: 'Harbour lights' },
        { name: 'panels', type: O.Integer, value: 4 },
      ]),
    });
    await create.response();
    // The thread shows on Discord a moment before the series is recorded with it: its panels are
    // taken once the create reply says the series is open.
    await s.discord.waitFor(() => ((create.original()?.edits ?? 0) > 0 ? true : undefined), 20_000, 'the create reply');
    const thread = await s.discord.waitFor(() => s.discord.threads(channel).at(-1), 10_000, 'the series thread');
    for (const [userId, prompt] of [
      [ADA, 'a lamp is lit on the quay'],
      [BEA, 'boats come home at dusk'],
    ] as const) {
      const add = s.discord.slashCommand({
        name: 'series',
        userId,
        channelId: thread.id,
        options: sub('add', [{ name: 'prompt', type: O.String, value: prompt }]),
      });
      await resultOf(s, thread.id, add.id);
    }
    await eventually(async () => (await s.ctx.series.panels(create.id)).filter((panel) => panel.imageId).length === 2, 60_000, 'two panels');

    // A challenge run to its results: two entries, one vote.
    const challenge = (userId: string, name: string, options: RawCommandOption[] = [], moderator = false) =>
      s.discord.slashCommand({ name: 'challenge', userId, moderator, options: sub(name, options) });
    await privateAnswer(challenge(KEEPER, 'start', [{ name: 'theme', type: O.String, value: 'a lighthouse in fog' }], true));
    const entries = await s.discord.waitFor(() => s.discord.threads(channel).find((t) => t.id !== thread.id), 10_000, 'the entries thread');
    const adaEntry = await imagine(s, ADA, 'a lamp room, amber glow');
    const beaEntry = await imagine(s, BEA, 'fog rolling over rocks');
    for (const [userId, made] of [
      [ADA, adaEntry],
      [BEA, beaEntry],
    ] as const) {
      expect(
        await privateAnswer(challenge(userId, 'submit', [{ name: 'image', type: O.String, value: made.message.attachments[0]!.filename }])),
      ).toContain('Entered as');
    }
    await privateAnswer(challenge(KEEPER, 'end', [], true));
    const gallery = await s.discord.waitFor(() => (s.discord.messages(entries.id).length === 2 ? s.discord.messages(entries.id) : undefined));
    expect(await privateAnswer(s.discord.button({ customId: buttons(gallery[0]!)[0]!.custom_id!, message: gallery[0]!, userId: CY }))).toContain(
      'is in',
    );
    await privateAnswer(challenge(KEEPER, 'end', [], true));
    await s.discord.waitFor(() => s.discord.messages(channel).find((m) => m.content.includes('**Results:')), 60_000, 'the results');

    const link = (message: FakeMessage) => `https://discord.com/channels/${guild}/${channel}/${message.id}`;
    const views = async () => ({
      top: await seen(s, s.discord.slashCommand({ name: 'top', userId: CY, options: { period: 'month' } })),
      profile: await seen(s, s.discord.slashCommand({ name: 'profile', userId: CY, options: { user: ADA } })),
      lineage: await seen(s, s.discord.slashCommand({ name: 'lineage', userId: CY, options: { image: link(cat.message) } })),
      seriesView: await seen(s, s.discord.slashCommand({ name: 'series', userId: CY, channelId: thread.id, options: sub('view') })),
      seriesExport: await seen(
        s,
        s.discord.slashCommand({ name: 'series', userId: CY, options: sub('export', [{ name: 'series', type: O.String, value: 'Harbour lights' }]) }),
      ),
      history: await seen(s, challenge(CY, 'history')),
      leaderboard: await seen(s, s.discord.slashCommand({ name: 'leaderboard', userId: CY })),
      config: await seen(s, s.discord.slashCommand({ name: 'config', userId: KEEPER, moderator: true, options: sub('show') })),
    });
    const before = await views();
    expect(before.top.content).toContain(dog.message.id);
    expect(before.lineage.content).toContain(link(remixed));
    expect(before.seriesView.content).toContain('**Harbour lights** · 2 of 4 panels');
    expect(before.history.content).toContain(`🥇 <@${ADA}>`);
    expect(before.config.content).toContain('40');

    await flushAll();
    await s.restartBot();
    await s.discord.ready;

    expect(await views()).toEqual(before);

    // The buttons on the old messages: a vote counts and its label follows; U1 draws an upscale.
    await s.discord.button({ customId: `img:vote:${cat.id}`, message: cat.message, userId: CY }).response();
    await eventually(() => voteLabel(s.discord.message(cat.message.id)!) === '👍 2 Vote', 10_000, 'the old label redrawn');
    const upscale = s.discord.button({ customId: `gen:upscale:${cat.id}:1`, message: cat.message, userId: ADA });
    expect((await resultOf(s, channel, upscale.id)).attachments).toHaveLength(1);
    expect(s.discord.validationErrors).toEqual([]);
  }, 400_000);
});
