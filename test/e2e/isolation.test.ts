/**
 * Nothing leaks from one server to another: ids, links and forged clicks from another server reach
 * nothing, and a picture made in an age-restricted channel is never shown in an ordinary one.
 */
import { ComponentType, InteractionResponseType, MessageFlags } from 'discord.js';
import { describe, expect, it } from 'vitest';
import { twoServers, type FakeChannel, type FakeInteraction, type FakeMessage } from '../support/fake-discord.js';
import { eventually } from '../support/context.js';
import { useStack, type Stack } from '../support/stack.js';

const start = useStack();

const startTwoServers = () => start({ discord: { guilds: twoServers() } });

/** The two servers' channels: general, art and the age-restricted after-dark. */
function places(s: Stack) {
  const [home, other] = s.discord.guilds;
  const channels = (guild: typeof home) => ({ id: guild!.id, general: guild!.channels[0]!, art: guild!.channels[1]!, adult: guild!.channels[2]! });
  return { home: channels(home), other: channels(other) };
}

const MEMBER_A = '710000000000001001';
const MEMBER_B = '710000000000001002';
const OUTSIDER = '710000000000002001';

type Row = { components?: Array<{ type: number; label?: string; custom_id?: string }> };
const voteLabel = (message: { components?: unknown[] }) =>
  (message.components ?? [])
    .flatMap((row) => (row as Row).components ?? [])
    .find((c) => c.type === ComponentType.Button && c.custom_id?.startsWith('img:vote:'))?.label;

/** /imagine in a channel; resolves with the interaction and its finished result message. */
async function imagine(s: Stack, channel: FakeChannel, prompt: string, userId = MEMBER_A) {
  const interaction = s.discord.slashCommand({ name: 'imagine', channelId: channel.id, userId, options: { prompt } });
  const result = await s.discord.waitFor(() => {
    const message = s.discord.messages(channel.id).find((m) => m.interactionId === interaction.id);
    return message && message.attachments.length > 0 && message.content.startsWith('✅') ? message : undefined;
  }, 20_000, `the result of "${prompt}"`);
  return { interaction, result };
}

async function expectPrivateRefusal(interaction: FakeInteraction, pattern: RegExp) {
  const response = await interaction.response();
  expect(response.type, JSON.stringify(response)).toBe(InteractionResponseType.ChannelMessageWithSource);
  expect(response.data.flags).toBe(MessageFlags.Ephemeral);
  expect(response.data.content).toMatch(pattern);
}

describe('buttons check their server', () => {
  it('refuses a vote, remix or family click forged in another server, and the vote count and label stay unchanged', async () => {
    const s = await startTwoServers();
    const { home, other } = places(s);
    const { interaction, result } = await imagine(s, home.general, 'a harbour at dawn');
    const elsewhere = { channelId: other.general.id };

    for (const userId of [OUTSIDER, '710000000000002002', '710000000000002003']) {
      const vote = s.discord.button({ customId: `img:vote:${interaction.id}`, message: result, forgedPlace: elsewhere, userId });
      await expectPrivateRefusal(vote, /no longer know that picture/);
    }
    await expectPrivateRefusal(
      s.discord.button({ customId: `img:remix:${interaction.id}`, message: result, forgedPlace: elsewhere, userId: OUTSIDER }),
      /no longer know that picture/,
    );
    await expectPrivateRefusal(
      s.discord.button({ customId: `img:family:${interaction.id}`, message: result, forgedPlace: elsewhere, userId: OUTSIDER }),
      /no longer know that picture/,
    );

    expect(await s.ctx.votes.count(interaction.id)).toBe(0);
    expect(voteLabel(s.discord.message(result.id)!)).toBe('👍 0 Vote');
    expect(s.discord.message(result.id)!.edits).toBe(result.edits);
    // Nothing reached the other server's channels either.
    expect(s.discord.messages(other.general.id).filter((m) => !m.ephemeral)).toEqual([]);

    // The same click from the picture's own server still counts.
    const own = await s.discord.button({ customId: `img:vote:${interaction.id}`, message: result, userId: MEMBER_B }).response();
    expect(voteLabel(own.data)).toBe('👍 1 Vote');
  });
});

/** A private answer's text. */
async function privateAnswer(interaction: FakeInteraction): Promise<string> {
  const response = await interaction.response();
  expect(response.data.flags, JSON.stringify(response.data)).toBe(MessageFlags.Ephemeral);
  return response.data.content as string;
}

const linkTo = (message: FakeMessage) => `https://discord.com/channels/${message.guildId}/${message.channelId}/${message.id}`;
const UNKNOWN_JOB = '1000000000000000001';

describe('ids resolve pictures of the current server only', () => {
  it('/lineage answers another server’s picture id or link like an unknown one, privately, and posts nothing', async () => {
    const s = await startTwoServers();
    const { home, other } = places(s);
    const { interaction, result } = await imagine(s, home.art, 'a private sketch');
    const lineage = (image: string) => privateAnswer(s.discord.slashCommand({ name: 'lineage', channelId: other.general.id, userId: OUTSIDER, options: { image } }));

    const unknownId = await lineage(`${UNKNOWN_JOB}-1`);
    expect(unknownId).toMatch(/do not know that picture/);
    expect(await lineage(`${interaction.id}-1`)).toBe(unknownId);
    const unknownLink = await lineage(`https://discord.com/channels/${home.id}/${home.art.id}/${UNKNOWN_JOB}`);
    expect(await lineage(linkTo(result))).toBe(unknownLink);
    expect(await lineage(result.id)).toBe(unknownLink);

    expect(s.discord.messages(other.general.id).filter((m) => !m.ephemeral)).toEqual([]);
    expect(s.discord.messages().some((m) => m.channelId !== home.art.id && m.content.includes(home.art.id))).toBe(false);
    // In its own server the same id works.
    const own = s.discord.slashCommand({ name: 'lineage', channelId: home.general.id, options: { image: `${interaction.id}-1` } });
    await own.response();
    await s.discord.waitFor(() => own.original()?.attachments.length);
    expect(own.original()!.ephemeral).toBe(false);
  });

  it('/challenge submit refuses another server’s picture exactly like an unknown one, and enters nothing', async () => {
    const s = await startTwoServers();
    const { home, other } = places(s);
    const challenge = (sub: string, options: Record<string, string>, moderator = false) =>
      s.discord.slashCommand({
        name: 'challenge',
        channelId: other.general.id,
        userId: MEMBER_A,
        moderator,
        options: [{ name: sub, type: 1, options: Object.entries(options).map(([name, value]) => ({ name, type: 3, value })) }],
      });
    expect(await privateAnswer(challenge('start', { theme: 'harbours' }, true))).toContain('Starting');
    await eventually(async () => (await s.ctx.challenges.active(other.id))?.phase === 'submissions', 10_000, 'entries open');
    // The same member made a picture in the first server after the announcement.
    const { result } = await imagine(s, home.general, 'a harbour at night', MEMBER_A);
    const file = result.attachments[0]!.filename;

    const unknownFile = await privateAnswer(challenge('submit', { image: `atelier-${UNKNOWN_JOB}-1.png` }));
    expect(await privateAnswer(challenge('submit', { image: file }))).toBe(unknownFile);
    const unknownLink = await privateAnswer(challenge('submit', { image: `https://discord.com/channels/${other.id}/${other.general.id}/${UNKNOWN_JOB}` }));
    expect(await privateAnswer(challenge('submit', { image: linkTo(result) }))).toBe(unknownLink);
    // A link that claims this server but points into the other one reads the same.
    expect(await privateAnswer(challenge('submit', { image: `https://discord.com/channels/${other.id}/${home.general.id}/${result.id}` }))).toBe(unknownLink);

    const active = await s.ctx.challenges.active(other.id);
    expect(await s.ctx.challenges.entriesOf(active!.id, MEMBER_A)).toEqual([]);
  });

  it('the remix form and /top reach no picture of another server', async () => {
    const s = await startTwoServers();
    const { home, other } = places(s);
    const { interaction, result } = await imagine(s, home.general, 'a secret garden');
    await s.discord.button({ customId: `img:vote:${interaction.id}`, message: result, userId: MEMBER_B }).response();
    const queuedBefore = await s.ctx.generateQueue.getJobCounts();

    const remix = s.discord.modalSubmit({
      customId: `img:remiximage:${interaction.id}-1`,
      channelId: other.general.id,
      userId: OUTSIDER,
      fields: { prompt: 'mine now', strength: '0.5' },
    });
    expect(await privateAnswer(remix)).toMatch(/no longer know that picture/);
    expect(await s.ctx.generateQueue.getJobCounts()).toEqual(queuedBefore);

    // A channel option naming the other server's channel lists nothing of it.
    const top = s.discord.slashCommand({ name: 'top', channelId: other.general.id, userId: OUTSIDER, options: { period: 'all', channel: home.general.id } });
    await top.response();
    const answer = await s.discord.waitFor(() => (top.original()?.content.includes('Top pictures') ? top.original() : undefined));
    expect(answer.content).not.toContain('secret garden');
    expect(answer.content).not.toContain(result.id);
    expect(answer.attachments).toEqual([]);
  });
});
