import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { eventually } from '../support/context.js';
import { ScriptedProvider } from '../support/scripted-provider.js';
import { useStack } from '../support/stack.js';

const start = useStack();

describe('a retried channel post', () => {
  it('never takes a member’s or another bot’s message with the same file name for its earlier post', async () => {
    const provider = new ScriptedProvider();
    const hold = provider.holdNext();
    const s = await start({ provider });
    const interaction = s.discord.slashCommand({ name: 'imagine', options: { prompt: 'a quiet harbour' } });
    await interaction.response();
    interaction.expire();
    // As a retry after a long outage sees it: an attempt was made, and others posted files named like ours.
    await s.ctx.jobs.update(interaction.id, { channelPostAt: Date.now() });
    const filename = `atelier-${interaction.id}-1.png`;
    const png = await sharp({ create: { width: 8, height: 8, channels: 3, background: '#654321' } })
      .png()
      .toBuffer();
    const otherBot = s.discord.user({ username: 'copycat', bot: true });
    const impostors = [
      s.discord.createUserMessage({ authorId: otherBot.id, content: 'not yours', attachments: [{ filename, data: png, contentType: 'image/png' }] }),
      s.discord.createUserMessage({ content: 'mine', attachments: [{ filename, data: png, contentType: 'image/png' }] }),
    ];
    hold.release();

    const record = await eventually(async () => {
      const current = await s.ctx.jobs.get(interaction.id);
      return current?.status === 'delivered' && current;
    });
    expect(impostors.map((m) => m.id)).not.toContain(record.resultMessageId);
    const ours = s.discord.message(record.resultMessageId!);
    expect(ours?.authorId).toBe(s.discord.applicationId);
    expect(ours?.attachments.map((a) => a.filename)).toContain(filename);
    expect(impostors.map((m) => s.discord.message(m.id)?.edits)).toEqual([0, 0]);
  });

  it('once the interaction token is gone from Redis, the result is posted in the channel with its nonce', async () => {
    const provider = new ScriptedProvider();
    const hold = provider.holdNext();
    const s = await start({ provider });
    const interaction = s.discord.slashCommand({ name: 'imagine', options: { prompt: 'a tide going out' } });
    await interaction.response();
    // The token is kept only as long as it works; here its key has lapsed early.
    await s.redis.del(`${s.prefix}:job:${interaction.id}:token`);
    const since = s.discord.requests.length;
    hold.release();

    const record = await eventually(async () => {
      const current = await s.ctx.jobs.get(interaction.id);
      return current?.status === 'delivered' && current;
    });
    const posted = s.discord.message(record.resultMessageId!);
    expect(posted?.nonce).toBe(`d${interaction.id}`);
    expect(posted?.messageReference?.message_id).toBe(interaction.originalMessageId);
    expect(s.discord.requests.slice(since).filter((r) => r.path.includes(interaction.token))).toEqual([]);
  });
});
