import { afterEach, describe, expect, it } from 'vitest';
import { REDIS_PREFIX } from '../../src/runtime.js';
import { JobStore } from '../../src/store/jobs.js';
import { eventually } from '../support/context.js';
import { FAULT_TIMEOUT_MS, FaultHarness, WAIT_MS } from './harness.js';

let harness: FaultHarness | undefined;

afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

describe('a worker killed in the middle of a job', () => {
  it(
    'lets another worker resume its prediction (one Replicate charge), and the result is posted exactly once',
    { timeout: FAULT_TIMEOUT_MS },
    async () => {
      const h = (harness = await FaultHarness.start());
      await h.startBot();
      const first = h.startWorker();
      // Long enough that the kill surely lands while the prediction runs.
      h.replicate.delayMs = 60_000;

      const interaction = h.imagine('a lighthouse in fog');
      expect((await interaction.response()).data.content).toContain('Queued');
      await h.expectation(h.predictionsCreated(1));
      // The kill lands once the prediction's id is kept with the job, as it would mid-prediction.
      const predictionId = h.replicate.predictionIds[0];
      const jobs = new JobStore(h.redis, REDIS_PREFIX);
      await h.expectation(
        eventually(async () => (await jobs.get(interaction.id))?.remoteRun === predictionId, WAIT_MS, 'the prediction id to be saved'),
      );

      const second = h.startWorker();
      await first.kill('SIGKILL');
      const killedAt = Date.now();
      h.replicate.delayMs = 50;

      const result = await h.expectation(h.waitForResult(interaction.id));
      expect(result.content).toContain('a lighthouse in fog');
      // The second worker picked up the running prediction instead of paying for another.
      expect(h.replicate.created).toBe(1);
      expect(h.replicate.requestsTo('GET', new RegExp(`^/v1/predictions/${predictionId}$`)).some((r) => r.at >= killedAt)).toBe(true);
      expect(second.running).toBe(true);
      expect(h.resultMessages(interaction.id)).toHaveLength(1);
      expect(h.resultUploads(interaction.id)).toHaveLength(1);
      expect(h.discord.validationErrors).toEqual([]);
    },
  );
});
