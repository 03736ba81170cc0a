import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { Installation, round, sendAsFastAsAcknowledged, type BenchOptions, type ScenarioResult } from './lib.js';

const TARGET_RATIO = 0.4;

/**
 * Jobs delivered per second with an instant provider and 4 worker processes (one job at a time
 * each), members sending `/imagine` as fast as the bot acknowledges; against bare BullMQ's
 * add → process rate with 4 no-op workers in the same run.
 */
export async function throughputScenario({ quick, redisUrl }: BenchOptions): Promise<ScenarioResult> {
  const jobs = quick ? 200 : 1000;
  const workers = 4;
  const installation = await Installation.start({ redisUrl, workers, workerConcurrency: 1 });
  let ours: number;
  let refused = 0;
  try {
    // Worker start-up is not throughput lost: start counting once they all serve.
    await installation.waitForWorkerSlots(workers);
    const start = Date.now();
    const sent = Installation.accepted(await sendAsFastAsAcknowledged(jobs, 16, (i) => installation.imagine(i)));
    refused = jobs - sent.length;
    const last = await installation.discord.waitFor(
      () => {
        const results = sent.map((interaction) => installation.result(interaction.id));
        if (results.some((message) => !message)) return undefined;
        return Math.max(...results.map((message) => message!.editedAt ?? message!.createdAt));
      },
      300_000,
      'every result',
    );
    ours = sent.length / ((last - start) / 1000);
  } finally {
    await installation.close();
  }
  const bare = await bareBullmqRate(redisUrl, jobs, workers);
  const ratio = ours / bare;
  return {
    name: 'throughput',
    parameters: { jobs, workers, worker_concurrency: 1, provider_ms: 0, sender_in_flight: 16 },
    unit: 'jobs/s',
    median: round(ours),
    p99: null,
    baseline: round(bare),
    ratio: round(ratio, 2),
    target: `≥ ${TARGET_RATIO * 100} % of bare BullMQ`,
    pass: ratio >= TARGET_RATIO,
    extra: { refused },
  };
}

/** Jobs per second from the first add to the last completion, 4 no-op workers. */
async function bareBullmqRate(redisUrl: string, jobs: number, workers: number): Promise<number> {
  const prefix = 'bare-throughput';
  const connections: Redis[] = [];
  const connect = () => {
    const connection = new Redis(redisUrl, { maxRetriesPerRequest: null });
    connections.push(connection);
    return connection;
  };
  const queue = new Queue('bare', { connection: connect(), prefix });
  let completed = 0;
  let finished!: () => void;
  const allDone = new Promise<void>((resolve) => (finished = resolve));
  const running = Array.from({ length: workers }, () => {
    const worker = new Worker('bare', async () => 'ok', { connection: connect(), prefix, concurrency: 1 });
    worker.on('completed', () => {
      completed += 1;
      if (completed === jobs) finished();
    });
    return worker;
  });
  await Promise.all(running.map((worker) => worker.waitUntilReady()));
  const start = performance.now();
  await Promise.all(Array.from({ length: jobs }, (_, i) => queue.add('job', { i }, { removeOnComplete: true })));
  await allDone;
  const seconds = (performance.now() - start) / 1000;
  await Promise.all(running.map((worker) => worker.close()));
  await queue.close();
  for (const connection of connections) await connection.quit().catch(() => undefined);
  return jobs / seconds;
}
