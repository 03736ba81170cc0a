import { afterEach, describe, expect, it } from 'vitest';
import { FAULT_TIMEOUT_MS, FaultHarness } from './harness.js';

let harness: FaultHarness | undefined;

afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

describe('a worker killed in the middle of a job', () => {
  it('lets another worker finish it, and the result is posted exactly once', { timeout: FAULT_TIMEOUT_MS }, async () => {
    const h = (harness = await FaultHarness.start());
    await h.startBot();
    const first = h.startWorker();
    // Long enough that the kill surely lands while the prediction runs.
    h.replicate.delayMs = 60_000;

    const interaction = h.imagine('a lighthouse in fog');
    expect((await interaction.response()).data.content).toContain('Queued');
    await h.expectation(h.predictionsCreated(1));

    const second = h.startWorker();
    await first.kill('SIGKILL');
    h.replicate.delayMs = 50;

    const result = await h.expectation(h.waitForResult(interaction.id));
    expect(result.content).toContain('a lighthouse in fog');
    expect(h.replicate.created).toBe(2);
    expect(second.running).toBe(true);
    expect(h.resultMessages(interaction.id)).toHaveLength(1);
    expect(h.resultUploads(interaction.id)).toHaveLength(1);
    expect(h.discord.validationErrors).toEqual([]);
  });
});
