import { MessageFlags } from 'discord.js';
import { afterEach, describe, expect, it } from 'vitest';
import { REDIS_PREFIX } from '../../src/runtime.js';
import { JobStore } from '../../src/store/jobs.js';
import { FAULT_TIMEOUT_MS, FaultHarness, WAIT_MS } from './harness.js';

let harness: FaultHarness | undefined;

afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

describe('the image provider failing', () => {
  it('fails transiently twice, then succeeds: one result', { timeout: FAULT_TIMEOUT_MS }, async () => {
    const h = (harness = await FaultHarness.start());
    await h.startBot();
    h.startWorker();
    h.replicate.failNext(2, 'failed');

    const interaction = h.imagine('a tram in the rain');
    await interaction.response();
    await h.expectation(h.waitForResult(interaction.id));

    expect(h.replicate.created).toBe(3);
    expect(h.resultMessages(interaction.id)).toHaveLength(1);
    expect(h.resultUploads(interaction.id)).toHaveLength(1);
    expect(h.discord.validationErrors).toEqual([]);
  });

  it('refuses for safety: the author is told privately, and it is not retried', { timeout: FAULT_TIMEOUT_MS }, async () => {
    const h = (harness = await FaultHarness.start());
    await h.startBot();
    h.startWorker();
    h.replicate.failNext(1, 'nsfw');

    const interaction = h.imagine('something the filter dislikes');
    await interaction.response();
    const notice = await h.expectation(
      h.discord.waitFor(() => interaction.followUps().find((m) => m.ephemeral), WAIT_MS, 'a private notice to the author'),
    );
    expect(notice.content).toContain('safety filter');
    expect(notice.flags & MessageFlags.Ephemeral).toBe(MessageFlags.Ephemeral);
    expect(interaction.original()?.content).toContain('safety filter');
    expect(interaction.original()?.attachments).toEqual([]);

    // The notice is only sent once the job has failed for good: a refusal takes no second attempt.
    const record = await new JobStore(h.redis, REDIS_PREFIX).get(interaction.id);
    expect(record?.status).toBe('failed');
    expect(record?.errorKind).toBe('refused');
    expect(h.replicate.created).toBe(1);
    expect(h.discord.validationErrors).toEqual([]);
  });
});
