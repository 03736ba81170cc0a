import { afterEach, describe, expect, it } from 'vitest';
import { FAULT_TIMEOUT_MS, FaultHarness } from './harness.js';

let harness: FaultHarness | undefined;

afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

const originalEdit = /^\/webhooks\/\d+\/[^/]+\/messages\/@original$/;

describe('Discord failing the result post', () => {
  it('after a 500 and then a 429 with retry_after, delivers once, after the wait', { timeout: FAULT_TIMEOUT_MS }, async () => {
    const h = (harness = await FaultHarness.start());
    await h.startBot();
    h.startWorker();
    const uploads = (r: { files: unknown[] }) => r.files.length > 0;
    h.discord.failNext({ method: 'PATCH', path: originalEdit, status: 500, when: uploads });
    h.discord.failNext({ method: 'PATCH', path: originalEdit, status: 429, body: { retry_after: 1.5 }, when: uploads });

    const interaction = h.imagine('a paper boat on a river');
    await interaction.response();
    const result = await h.expectation(h.waitForResult(interaction.id));

    const attempts = h.discord.requests.filter((r) => r.method === 'PATCH' && originalEdit.test(r.path) && r.files.length > 0);
    expect(attempts.map((r) => r.status)).toEqual([500, 429, 200]);
    expect(attempts[2]!.at - attempts[1]!.at).toBeGreaterThanOrEqual(1_400);
    expect(result.id).toBe(interaction.originalMessageId);
    expect(h.resultMessages(interaction.id)).toHaveLength(1);
    expect(h.resultUploads(interaction.id)).toHaveLength(1);
    expect(h.discord.validationErrors).toEqual([]);
  });

  it('when the interaction is unknown (expired token), posts the result in the channel instead', { timeout: FAULT_TIMEOUT_MS }, async () => {
    const h = (harness = await FaultHarness.start());
    await h.startBot();
    h.startWorker();
    h.discord.failNext({
      method: 'PATCH',
      path: originalEdit,
      status: 404,
      body: { message: 'Unknown interaction', code: 10062 },
      when: (r) => r.files.length > 0,
    });

    const interaction = h.imagine('a paper boat on a river');
    await interaction.response();
    const result = await h.expectation(h.waitForResult(interaction.id));

    expect(result.id).not.toBe(interaction.originalMessageId);
    expect(result.channelId).toBe(interaction.channelId);
    expect(result.messageReference?.message_id).toBe(interaction.originalMessageId);
    expect(result.allowedMentions).toEqual({ parse: [] });
    await h.discord.waitFor(() => interaction.original()?.content.includes('reply below'), 10_000, 'the queued message to point at the reply');
    expect(h.resultMessages(interaction.id)).toHaveLength(1);
    expect(h.resultUploads(interaction.id)).toHaveLength(1);
    expect(h.discord.validationErrors).toEqual([]);
  });
});
