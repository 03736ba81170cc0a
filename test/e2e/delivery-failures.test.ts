import { MessageFlags } from 'discord.js';
import { describe, expect, it } from 'vitest';
import { recoverStrandedJobs } from '../../src/bot/recovery.js';
import { createLocalProvider } from '../../src/worker/providers/local.js';
import { eventually } from '../support/context.js';
import type { FakeInteraction, RecordedRequest } from '../support/fake-discord.js';
import { useStack, type Stack } from '../support/stack.js';

const start = useStack();

const channelPost = /^\/channels\/\d+\/messages$/;
const originalEdit = /^\/webhooks\/\d+\/[^/]+\/messages\/@original$/;

/** Discord's answers that no retry changes. */
const permanent = [
  { code: 50001, status: 403, message: 'Missing Access', told: /no longer have access/ },
  { code: 50013, status: 403, message: 'Missing Permissions', told: /missing the permissions/ },
  { code: 10003, status: 404, message: 'Unknown Channel', told: /channel no longer exists/ },
  { code: 50007, status: 403, message: 'Cannot send messages to this user', told: /direct message/ },
  { code: 10008, status: 404, message: 'Unknown Message', told: /no longer exists/ },
  { code: 50083, status: 400, message: 'Thread is archived', told: /thread is archived/ },
  { code: 160005, status: 400, message: 'Thread is locked', told: /thread is locked/ },
];

/** Attempts to post this job's images in a channel (refused or not). */
const channelUploads = (s: Stack, jobId: string): RecordedRequest[] =>
  s.discord.requests.filter(
    (r) => r.method === 'POST' && channelPost.test(r.path) && r.files.some((f) => f.filename.startsWith(`atelier-${jobId}-`)),
  );

const directMessagesTo = (s: Stack, userId: string) => s.discord.messages().filter((m) => s.discord.channel(m.channelId)?.recipientId === userId);

/** Asks for a picture and waits for the "Queued" answer; the worker starts afterwards. */
async function queued(s: Stack): Promise<FakeInteraction> {
  const interaction = s.discord.slashCommand({ name: 'imagine', options: { prompt: 'a harbour at dusk' } });
  await interaction.response();
  return interaction;
}

/** The request ended failed and settled, and its delivery is over (not waiting for another attempt). */
async function expectSettledAsFailed(s: Stack, jobId: string): Promise<void> {
  const record = await eventually(async () => {
    const current = await s.ctx.jobs.get(jobId);
    return current?.status === 'failed' && current;
  });
  expect(record.errorKind).toBe('discord');
  await eventually(async () => (await s.redis.zscore(`${s.prefix}:jobs:open`, jobId)) === null, 10_000, 'the record to settle');
  await eventually(async () => (await s.ctx.deliverQueue.getJobState(`deliver-${jobId}`)) === 'completed', 10_000, 'the delivery to end');
}

describe('Discord refusing a delivery for good', () => {
  for (const refusal of permanent) {
    it(`${refusal.code} (${refusal.message}) is final: one attempt, the request fails, its author hears by direct message`, async () => {
      const s = await start({ noWorker: true });
      const interaction = await queued(s);
      // The result comes after the token died, so it goes to the channel, which refuses it.
      interaction.expire();
      s.discord.failNext({
        method: 'POST',
        path: channelPost,
        status: refusal.status,
        body: { message: refusal.message, code: refusal.code },
        when: (r) => r.files.length > 0,
        times: 100,
      });
      await s.startWorker(createLocalProvider());

      const userId = interaction.payload.member.user.id;
      const notice = await s.discord.waitFor(() => directMessagesTo(s, userId)[0], 20_000, 'a direct message to the author');
      expect(notice.content).toMatch(refusal.told);
      expect(notice.content).toContain(`<#${interaction.channelId}>`);
      expect(notice.allowedMentions).toEqual({ parse: [] });
      await expectSettledAsFailed(s, interaction.id);

      // Neither BullMQ nor the recovery sweep (even an hour later) tries the refused post again.
      const sweep = await recoverStrandedJobs(s.ctx, Date.now() + 3600_000);
      expect(sweep.has(interaction.id)).toBe(false);
      expect(await s.ctx.deliverQueue.getJobState(`deliver-${interaction.id}`)).toBe('completed');
      expect(channelUploads(s, interaction.id)).toHaveLength(1);
      expect(directMessagesTo(s, userId)).toHaveLength(1);
    });
  }

  it('while the interaction token lives, the author is told in an ephemeral follow-up, not by direct message', async () => {
    const s = await start({ noWorker: true });
    const interaction = await queued(s);
    // The "Queued" message was deleted, and the channel no longer lets the bot post.
    s.discord.failNext({
      method: 'PATCH',
      path: originalEdit,
      status: 404,
      body: { message: 'Unknown Message', code: 10008 },
      when: (r) => r.files.length > 0,
    });
    s.discord.failNext({
      method: 'POST',
      path: channelPost,
      status: 403,
      body: { message: 'Missing Permissions', code: 50013 },
      when: (r) => r.files.length > 0,
      times: 100,
    });
    await s.startWorker(createLocalProvider());

    const notice = await s.discord.waitFor(() => interaction.followUps()[0], 20_000, 'a follow-up to the author');
    expect(notice.flags & MessageFlags.Ephemeral).toBe(MessageFlags.Ephemeral);
    expect(notice.content).toMatch(/missing the permissions/);
    await expectSettledAsFailed(s, interaction.id);
    expect(channelUploads(s, interaction.id)).toHaveLength(1);
    expect(directMessagesTo(s, interaction.payload.member.user.id)).toHaveLength(0);
  });

  it('when the direct message is refused too, it stops there: the request is failed and settled', async () => {
    const s = await start({ noWorker: true });
    const interaction = await queued(s);
    interaction.expire();
    s.discord.failNext({
      method: 'POST',
      path: channelPost,
      status: 403,
      body: { message: 'Missing Access', code: 50001 },
      when: (r) => r.files.length > 0,
      times: 100,
    });
    const toTheAuthor = (r: { files: unknown[]; json: unknown }) =>
      r.files.length === 0 && String((r.json as { nonce?: string })?.nonce).startsWith('n');
    s.discord.failNext({
      method: 'POST',
      path: channelPost,
      status: 403,
      body: { message: 'Cannot send messages to this user', code: 50007 },
      when: toTheAuthor,
      times: 100,
    });
    await s.startWorker(createLocalProvider());

    await expectSettledAsFailed(s, interaction.id);
    await recoverStrandedJobs(s.ctx, Date.now() + 3600_000);
    const attemptsToTell = s.discord.requests.filter((r) => r.method === 'POST' && channelPost.test(r.path) && toTheAuthor(r));
    expect(attemptsToTell).toHaveLength(1);
    expect(channelUploads(s, interaction.id)).toHaveLength(1);
  });
});

describe('Discord refusing only part of a delivery', () => {
  it('posts the result without replying when the bot may not read the channel’s history (160002)', async () => {
    const s = await start({ noWorker: true });
    const interaction = await queued(s);
    interaction.expire();
    // Replying needs Read Message History; a plain post does not.
    s.discord.failNext({
      method: 'POST',
      path: channelPost,
      status: 400,
      body: { message: 'Cannot reply without permission to read message history', code: 160002 },
      when: (r) => r.files.length > 0 && (r.json as { message_reference?: unknown }).message_reference !== undefined,
      times: 100,
    });
    await s.startWorker(createLocalProvider());

    const record = await eventually(async () => {
      const current = await s.ctx.jobs.get(interaction.id);
      return current?.status === 'delivered' && current;
    });
    const posted = s.discord.message(record.resultMessageId!)!;
    expect(posted.attachments.some((a) => a.filename.startsWith(`atelier-${interaction.id}-`))).toBe(true);
    expect(posted.messageReference).toBeUndefined();
    expect(channelUploads(s, interaction.id)).toHaveLength(2);
    expect(s.discord.messages(interaction.channelId).filter((m) => m.attachments.length > 0)).toHaveLength(1);
    expect(directMessagesTo(s, interaction.payload.member.user.id)).toHaveLength(0);
  });
});
