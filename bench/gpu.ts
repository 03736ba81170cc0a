import { Redis } from 'ioredis';
import { REDIS_PREFIX } from '../src/runtime.js';
import { JobStore } from '../src/store/jobs.js';
import { Installation, round, sendAsFastAsAcknowledged, type BenchOptions, type ScenarioResult } from './lib.js';

const TARGET_RATIO = 0.95;
const IMAGE_MS = 200;

/**
 * A provider that takes 200 ms per image and serves `c` at once, the queue full before it starts:
 * images per second between the first job starting and the last one finishing, against the ideal
 * c / 0.2 s. The worker runs one job more than the GPU serves (as README advises for
 * WORKER_CONCURRENCY), so the next job is already waiting at the GPU while a finished one is
 * being stored and handed to delivery.
 */
export async function gpuScenario({ quick, redisUrl }: BenchOptions): Promise<ScenarioResult> {
  const capacity = 4;
  const jobs = capacity * (quick ? 15 : 50);
  const workerConcurrency = capacity + 1;
  const installation = await Installation.start({ redisUrl, workerConcurrency, providerDelayMs: IMAGE_MS, providerCapacity: capacity });
  const redis = new Redis(redisUrl);
  try {
    const sent = Installation.accepted(await sendAsFastAsAcknowledged(jobs, 16, (i) => installation.imagine(i)));
    installation.startWorker();
    await installation.discord.waitFor(() => sent.every((interaction) => installation.result(interaction.id)), 300_000, 'every result');
    const store = new JobStore(redis, REDIS_PREFIX);
    const records = await Promise.all(sent.map((interaction) => store.get(interaction.id)));
    const started = Math.min(...records.map((r) => r!.startedAt ?? Infinity));
    const finished = Math.max(...records.map((r) => r!.finishedAt ?? 0));
    const rate = sent.length / ((finished - started) / 1000);
    const ideal = capacity / (IMAGE_MS / 1000);
    return {
      name: 'gpu-busy',
      parameters: { c: capacity, jobs, image_ms: IMAGE_MS, worker_concurrency: workerConcurrency },
      unit: 'images/s',
      median: round(rate, 2),
      p99: null,
      baseline: ideal,
      ratio: round(rate / ideal, 3),
      target: `≥ ${TARGET_RATIO * 100} % of c / 0.2 s`,
      pass: rate / ideal >= TARGET_RATIO,
      extra: { refused: jobs - sent.length },
    };
  } finally {
    await redis.quit();
    await installation.close();
  }
}
