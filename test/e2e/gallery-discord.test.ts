import { ApplicationCommandOptionType, ButtonStyle, ComponentType, InteractionResponseType, MessageFlags } from 'discord.js';
import { describe, expect, it } from 'vitest';
import { requestVoteLabelRefresh, voteLabelQueue } from '../../src/features/votes/jobs.js';
import type { FakeInteraction, FakeMessage } from '../support/fake-discord.js';
import { connect } from '../support/redis.js';
import { useStack, type Stack } from '../support/stack.js';

const { Subcommand, String: Str, Boolean: Bool } = ApplicationCommandOptionType;
const start = useStack();
const PUBLIC_URL = 'https://gallery.example.test';

type Button = { type: number; style?: number; label?: string; custom_id?: string; url?: string };
const buttons = (message: { components?: unknown[] }): Button[] =>
  (message.components ?? []).flatMap((row) => ((row as { components?: Button[] }).components ?? []).filter((c) => c.type === ComponentType.Button));

async function privateAnswer(interaction: FakeInteraction): Promise<{ content: string; allowed_mentions?: unknown }> {
  const response = await interaction.response();
  expect(response.type).toBe(InteractionResponseType.ChannelMessageWithSource);
  expect((response.data.flags ?? 0) & MessageFlags.Ephemeral).toBe(MessageFlags.Ephemeral);
  return response.data;
}

async function result(s: Stack, prompt: string): Promise<{ interaction: FakeInteraction; message: FakeMessage }> {
  const interaction = s.discord.slashCommand({ name: 'imagine', options: [{ name: 'prompt', type: Str, value: prompt }] });
  const message = await s.discord.waitFor(() => {
    const found = s.discord.messages(s.discord.defaultChannelId).find((m) => m.interactionId === interaction.id);
    return found && found.attachments.length > 0 && found.content.startsWith('✅') ? found : undefined;
  }, 20_000);
  return { interaction, message };
}

describe('the gallery from Discord', () => {
  it('/gallery answers privately with the server’s link, and says whether it is public after /config gallery', async () => {
    const s = await start({ noWorker: true, bot: { webPublicUrl: PUBLIC_URL } });
    const guild = s.discord.defaultGuildId;
    const first = await privateAnswer(s.discord.slashCommand({ name: 'gallery' }));
    expect(first.content).toContain(`${PUBLIC_URL}/g/${guild}`);
    expect(first.content).toContain('Members of this server log in with Discord');
    expect(first.allowed_mentions).toEqual({ parse: [] });

    const set = await privateAnswer(
      s.discord.slashCommand({
        name: 'config',
        options: [{ name: 'gallery', type: Subcommand, options: [{ name: 'public', type: Bool, value: true }] }],
        userId: '210000000000000001',
        moderator: true,
      }),
    );
    expect(set.content).toContain('open to everyone');
    expect(set.content).toContain('**Web gallery:** public');
    expect((await s.ctx.settings.fresh(guild)).galleryPublic).toBe(true);
    const second = await privateAnswer(s.discord.slashCommand({ name: 'gallery' }));
    expect(second.content).toContain('anyone with the link');
  });

  it('/config gallery is refused to members without Manage Server, and changes nothing', async () => {
    const s = await start({ noWorker: true, bot: { webPublicUrl: PUBLIC_URL } });
    const refused = await privateAnswer(
      s.discord.slashCommand({
        name: 'config',
        options: [{ name: 'gallery', type: Subcommand, options: [{ name: 'public', type: Bool, value: true }] }],
        userId: '220000000000000001',
      }),
    );
    expect(refused.content).toMatch(/Manage Server/);
    expect((await s.ctx.settings.fresh(s.discord.defaultGuildId)).galleryPublic).toBe(false);
  });

  it('/gallery says so when the installation has no web gallery', async () => {
    const s = await start({ noWorker: true });
    const answer = await privateAnswer(s.discord.slashCommand({ name: 'gallery' }));
    expect(answer.content).toContain('WEB_PUBLIC_URL');
  });

  it('puts a 🌐 link to the picture’s page on results, and keeps it when a web vote redraws the label', async () => {
    const s = await start({ bot: { webPublicUrl: PUBLIC_URL } });
    const { interaction, message } = await result(s, 'a lighthouse');
    const web = buttons(message).find((b) => b.label === '🌐 Web');
    expect(web).toMatchObject({
      style: ButtonStyle.Link,
      url: `${PUBLIC_URL}/g/${s.discord.defaultGuildId}/p/${encodeURIComponent(`${interaction.id}-1`)}`,
    });
    expect((await s.ctx.jobs.get(interaction.id))?.imageIds[0]).toBe(`${interaction.id}-1`);

    // A vote stored outside the bot, then the job the web process queues: the bot redraws the label.
    await s.ctx.votes.toggle({ jobId: interaction.id }, '230000000000000001', Date.now());
    const connection = connect();
    const queue = voteLabelQueue(connection, s.prefix);
    try {
      await requestVoteLabelRefresh(queue, interaction.id);
      const label = () => buttons(s.discord.message(message.id)!).find((b) => b.custom_id?.includes('vote'))?.label;
      await s.discord.waitFor(() => label() === '👍 1 Vote');
      expect(buttons(s.discord.message(message.id)!).find((b) => b.label === '🌐 Web')?.url).toBe(web!.url);
    } finally {
      await queue.close();
      await connection.quit();
    }
  });
});
