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

