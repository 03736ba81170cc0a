import { Queue, QueueEvents, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { Installation, median, percentile, round, type BenchOptions, type ScenarioResult } from './lib.js';

const TARGET_MEDIAN_MS = 25;

/**
 * One `/imagine` at a time with an instant provider: dispatch → the final message with the image
 * at Discord, minus the provider's time (zero: it returns a ready PNG). Beside it, bare BullMQ's
 * add → process → completed-event round trip on the same Redis.
 */
export async function overheadScenario({ quick, redisUrl }: BenchOptions): Promise<ScenarioResult> {
  const runs = quick ? 30 : 150;
  const warmUp = 5;
  const providerMs = 0;
  const imageSize = 512;
  const installation = await Installation.start({ redisUrl, workers: 1, workerConcurrency: 2, imageSize });
  const ours: number[] = [];
  try {
    await installation.waitForWorkerSlots(2);
    for (let i = 0; i < warmUp + runs; i += 1) {
      const interaction = installation.imagine(i);
      const result = await installation.discord.waitFor(() => installation.result(interaction.id), 60_000, `result ${i}`);
      const at = result.editedAt ?? result.createdAt;
      if (i >= warmUp) ours.push(at - interaction.dispatchedAt - providerMs);
    }
  } finally {
    await installation.close();
  }
  const bare = await bareBullmqRoundTrips(redisUrl, runs, warmUp);
  const ourMedian = median(ours);
  const bareMedian = median(bare);
  return {
    name: 'overhead',
    parameters: { runs, provider_ms: providerMs, image: `${imageSize}×${imageSize} PNG`, workers: 1 },
    unit: 'ms',
    median: round(ourMedian),
    p99: round(percentile(ours, 99)),
    baseline: round(bareMedian, 2),
    ratio: round(ourMedian / bareMedian),
    target: `median ≤ ${TARGET_MEDIAN_MS} ms`,
    pass: ourMedian <= TARGET_MEDIAN_MS,
    extra: { baseline_p99: round(percentile(bare, 99), 2) },
  };
}

/** add → a no-op processor → the `completed` event back at the producer, one job at a time. */
async function bareBullmqRoundTrips(redisUrl: string, runs: number, warmUp: number): Promise<number[]> {
  const connections = Array.from({ length: 3 }, () => new Redis(redisUrl, { maxRetriesPerRequest: null }));
  const prefix = 'bare-overhead';
  const queue = new Queue('bare', { connection: connections[0]!, prefix });
  const events = new QueueEvents('bare', { connection: connections[1]!, prefix });
  const worker = new Worker('bare', async () => 'ok', { connection: connections[2]!, prefix });
  await Promise.all([events.waitUntilReady(), worker.waitUntilReady()]);
  const times: number[] = [];
  try {
    for (let i = 0; i < warmUp + runs; i += 1) {
      const start = performance.now();
      // Listened for before the add: a job removed on completion may be gone by the time
      // job.waitUntilFinished would first look at it ("Missing key for job … isFinished").
      const jobId = `round-trip-${i}`;
      const completed = completedEvent(events, jobId, 30_000);
      await queue.add('job', { i }, { jobId, removeOnComplete: true });
      await completed;
      if (i >= warmUp) times.push(performance.now() - start);
    }
  } finally {
    await worker.close();
    await events.close();
    await queue.close();
    for (const connection of connections) await connection.quit().catch(() => undefined);
  }
  return times;
}

/** Resolves when `jobId`'s completed event arrives, rejects when it does not within `timeoutMs`. */
function completedEvent(events: QueueEvents, jobId: string, timeoutMs: number): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      events.off('completed', onCompleted);
      reject(new Error(`job ${jobId} did not complete within ${timeoutMs} ms`));
    }, timeoutMs);
    const onCompleted = (event: { jobId: string }) => {
      if (event.jobId !== jobId) return;
      clearTimeout(timer);
      events.off('completed', onCompleted);
      resolve();
    };
    events.on('completed', onCompleted);
  });
}
