import { MessageFlags } from 'discord.js';
import { describe, expect, it } from 'vitest';
import { useStack } from '../support/stack.js';

const start = useStack();

const originalEdit = /^\/webhooks\/\d+\/[^/]+\/messages\/@original$/;

describe('errors stay private', () => {
  it('an error after a public "thinking…" reaches the member in an ephemeral follow-up, and the placeholder goes away', async () => {
    const s = await start({ noWorker: true });
    // /top defers publicly; Discord then refuses the answer it edits in.
    s.discord.failNext({
      method: 'PATCH',
      path: originalEdit,
      status: 400,
      body: { message: 'Invalid Form Body', code: 50035 },
      when: (r) => String((r.json as { content?: string })?.content).includes('Top pictures'),
    });
    const interaction = s.discord.slashCommand({ name: 'top' });
    const response = await interaction.response();
    expect(response.data?.flags ?? 0).not.toBe(MessageFlags.Ephemeral);
    const placeholderId = await s.discord.waitFor(() => interaction.originalMessageId, 10_000, 'the deferred reply');

    const notice = await s.discord.waitFor(() => interaction.followUps()[0], 10_000, 'the private error');
    expect(notice.flags & MessageFlags.Ephemeral).toBe(MessageFlags.Ephemeral);
    expect(notice.content).toMatch(/^⚠️ Something went wrong/);
    await s.discord.waitFor(() => s.discord.message(placeholderId) === undefined, 10_000, 'the public placeholder to be deleted');
    // Nothing public says anything about the error.
    expect(s.discord.messages(s.discord.defaultChannelId).filter((m) => !m.ephemeral)).toEqual([]);
  });
});
