import { afterEach, describe, expect, it } from 'vitest';
import { REDIS_PREFIX } from '../../src/runtime.js';
import { JobStore } from '../../src/store/jobs.js';
import { FAULT_TIMEOUT_MS, FaultHarness } from './harness.js';

let harness: FaultHarness | undefined;

afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

describe('Redis restarted with jobs waiting and running', () => {
  it('delivers every job once after it returns; bot and worker reconnect by themselves', { timeout: FAULT_TIMEOUT_MS }, async () => {
    const h = (harness = await FaultHarness.start());
    const jobs = new JobStore(h.redis, REDIS_PREFIX);
    const bot = await h.startBot();
    // One job at a time and slow pictures: while Redis is down one job runs and the rest wait.
    const worker = h.startWorker({ WORKER_CONCURRENCY: '1' });
    h.replicate.delayMs = 1_500;

    const prompts = ['a harbour at dawn', 'a desert caravan', 'a glass greenhouse', 'an owl on a branch'];
    const interactions = prompts.map((prompt, i) => h.imagine(prompt, `20000000000000000${i}`));
    for (const interaction of interactions) expect((await interaction.response()).data.content).toContain('Queued');
    await h.expectation(h.predictionsCreated(1));
    const statuses = await Promise.all(interactions.map(async (i) => (await jobs.get(i.id))?.status));
    expect(statuses.sort()).toEqual(['queued', 'queued', 'queued', 'running']);

    await h.restartRedis();

    for (const interaction of interactions) await h.expectation(h.waitForResult(interaction.id));
    for (const interaction of interactions) {
      expect(h.resultMessages(interaction.id)).toHaveLength(1);
      expect(h.resultUploads(interaction.id)).toHaveLength(1);
    }
    expect(bot.running).toBe(true);
    expect(worker.running).toBe(true);
    expect(h.discord.validationErrors).toEqual([]);
  });
});
