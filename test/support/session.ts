import { ApplicationCommandOptionType, InteractionResponseType, MessageFlags } from 'discord.js';
import { expect } from 'vitest';
import type { FakeInteraction, FakeMessage } from './fake-discord.js';
import type { Stack } from './stack.js';

/** Driving /session through the fake Discord, as members do (shared by the session e2e tests). */

const HOST = '310000000000000001';

type Value = string | number;

/** `/session <sub> name:value …` as Discord sends it. */
export function session(
  s: Stack,
  sub: string,
  values: Record<string, Value> = {},
  extra: { userId?: string; guildId?: string; channelId?: string; moderator?: boolean } = {},
) {
  const options = Object.entries(values).map(([name, value]) => ({
    name,
    type: typeof value === 'number' ? ApplicationCommandOptionType.Integer : ApplicationCommandOptionType.String,
    value,
  }));
  return s.discord.slashCommand({ name: 'session', options: [{ name: sub, type: ApplicationCommandOptionType.Subcommand, options }], ...extra });
}

export function customIds(message: { components?: unknown[] }): string[] {
  return (message.components ?? []).flatMap((row) =>
    ((row as { components?: Array<{ custom_id?: string }> }).components ?? []).map((c) => c.custom_id ?? ''),
  );
}

export async function privateAnswer(interaction: FakeInteraction): Promise<string> {
  const { type, data } = await interaction.response();
  expect(type, JSON.stringify(data)).toBe(InteractionResponseType.ChannelMessageWithSource);
  expect(data.flags).toBe(MessageFlags.Ephemeral);
  return data.content as string;
}

/** Waits for the interaction's message to show a delivered result. */
export function resultOf(s: Stack, channelId: string, interactionId: string): Promise<FakeMessage> {
  return s.discord.waitFor(
    () => {
      const message = s.discord.messages(channelId).find((m) => m.interactionId === interactionId);
      return message && message.attachments.length > 0 && message.content.startsWith('✅') ? message : undefined;
    },
    30_000,
    'a delivered entry',
  );
}

/** A bot post in the thread (not an answer to an interaction) matching the pattern. */
export function botPost(s: Stack, channelId: string, pattern: RegExp, timeoutMs = 30_000): Promise<FakeMessage> {
  return s.discord.waitFor(
    () => s.discord.messages(channelId).find((m) => !m.interactionId && pattern.test(m.content)),
    timeoutMs,
    `a post matching ${pattern}`,
  );
}

/** Starts a session as `host`; resolves with its id, thread and panel. */
export async function startSession(s: Stack, values: Record<string, Value>, host = HOST) {
  const command = session(s, 'start', values, { userId: host });
  const reply = await s.discord.waitFor(() => {
    const message = command.original();
    return message && message.edits > 0 ? message : undefined;
  });
  const thread = await s.discord.waitFor(() => s.discord.threads(s.discord.defaultChannelId).at(-1));
  const panel = await s.discord.waitFor(() => s.discord.messages(thread.id).find((m) => m.embeds[0]?.title?.startsWith('🎨')));
  return { id: command.id, reply, thread, panel };
}

/** /imagine inside the thread: an entry. Resolves with the "Queued" answer and the delivered result. */
export async function enter(s: Stack, threadId: string, userId: string, prompt: string) {
  const interaction = s.discord.slashCommand({ name: 'imagine', userId, channelId: threadId, options: { prompt } });
  const answer = await interaction.response();
  expect(answer.data.content, JSON.stringify(answer.data)).toMatch(/Entry #\d+/);
  return { interaction, answer: answer.data.content as string, result: await resultOf(s, threadId, interaction.id) };
}

/** The voting message of a round (its grid and 🗳 buttons). */
export function votingMessage(s: Stack, threadId: string, round: number) {
  return botPost(s, threadId, new RegExp(`Round ${round}: vote!`));
}

export function vote(s: Stack, message: FakeMessage, sessionId: string, round: number, entry: number, userId: string) {
  return privateAnswer(s.discord.button({ customId: `session:vote:${sessionId}:${round}:${entry}`, message, userId }));
}
