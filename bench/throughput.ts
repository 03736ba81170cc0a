import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { Installation, round, sendAsFastAsAcknowledged, type BenchOptions, type ScenarioResult } from './lib.js';

const TARGET_RATIO = 0.6;
/** Jobs each pipeline delivers before the clock starts (not counted). */
const WARM_UP = 50;

/**
 * Jobs delivered per second with an instant provider and 4 worker processes (one job at a time
 * each), members sending `/imagine` as fast as the bot acknowledges; against the naive pipeline
 * of bench/naive.ts (defer, one queue, same PNG, editReply with the file) run the same way in the
 * same run, each after 50 uncounted warm-up jobs. Bare BullMQ's add → process rate with 4 no-op workers is kept in `extra`, as is the
 * CPU each pipeline's bot and workers spent per delivered job.
 *
 * Discord lets a bot make 50 requests per second, and the bot keeps to that by default: with it,
 * delivery can never pass ~50 results/s, whatever Atelier does. The headline figure is measured
 * with the client-side limit lifted (DISCORD_GLOBAL_RATE_LIMIT, as behind a rate-limiting REST
 * proxy), which is what Atelier itself can do; the rate under Discord's limit is in `extra`.
 */
export async function throughputScenario({ quick, redisUrl }: BenchOptions): Promise<ScenarioResult> {
  const jobs = quick ? 200 : 1000;
  const workers = 4;
  const ours = await deliveredPerSecond(redisUrl, jobs, workers, 100_000, 'atelier');
  const naive = await deliveredPerSecond(redisUrl, jobs, workers, 100_000, 'naive');
  const underDiscordLimit = await deliveredPerSecond(redisUrl, quick ? 100 : 300, workers, undefined, 'atelier');
  const bare = await bareBullmqRate(redisUrl, jobs, workers);
  const ratio = ours.rate / naive.rate;
  return {
    name: 'throughput',
    parameters: { jobs, warm_up: WARM_UP, workers, worker_concurrency: 1, provider_ms: 0, sender_in_flight: 16, discord_global_rate_limit: 'lifted' },
    unit: 'jobs/s',
    median: round(ours.rate),
    p99: null,
    baseline: round(naive.rate),
    ratio: round(ratio, 2),
    target: `≥ ${TARGET_RATIO * 100} % of the naive pipeline`,
    pass: ratio >= TARGET_RATIO,
    extra: {
      refused: ours.refused,
      cpu_ms_per_job: { bot: round(ours.botCpuMs), workers: round(ours.workersCpuMs) },
      naive_cpu_ms_per_job: { bot: round(naive.botCpuMs), workers: round(naive.workersCpuMs) },
      bare_bullmq_jobs_per_s: round(bare),
      with_discord_global_limit_50: round(underDiscordLimit.rate),
    },
  };
}

interface Delivered {
  rate: number;
  refused: number;
  /** CPU milliseconds per delivered job, from the first send to the last result. */
  botCpuMs: number;
  workersCpuMs: number;
}

async function deliveredPerSecond(
  redisUrl: string,
  jobs: number,
  workers: number,
  globalRateLimit: number | undefined,
  pipeline: 'atelier' | 'naive',
): Promise<Delivered> {
  const installation = await Installation.start({ redisUrl, workers, workerConcurrency: 1, globalRateLimit, pipeline });
  try {
    // Worker start-up is not throughput lost: start counting once they all serve.
    await installation.waitForWorkerSlots(workers);
    // Both pipelines first deliver a few jobs uncounted, as every earlier scenario does for its
    // own: what is measured is the steady rate, not first-use costs (compiling code on first
    // call, opening database and Redis connections, loading scripts) that a running bot paid long ago.
    const warm = Installation.accepted(await sendAsFastAsAcknowledged(WARM_UP, 16, (i) => installation.imagine(jobs + i)));
    await installation.discord.waitFor(() => warm.every((interaction) => installation.result(interaction.id)), 120_000, 'the warm-up results');
    const cpuBefore = installation.cpu();
    const start = Date.now();
    const sent = Installation.accepted(await sendAsFastAsAcknowledged(jobs, 16, (i) => installation.imagine(i)));
    await installation.discord.waitFor(() => installation.resultCount >= warm.length + sent.length, 300_000, 'every result');
    const last = Math.max(
      ...sent.map((interaction) => {
        const message = installation.result(interaction.id)!;
        return message.editedAt ?? message.createdAt;
      }),
    );
    const cpuAfter = installation.cpu();
    return {
      rate: sent.length / ((last - start) / 1000),
      refused: jobs - sent.length,
      botCpuMs: (cpuAfter.bot - cpuBefore.bot) / sent.length,
      workersCpuMs: (cpuAfter.workers - cpuBefore.workers) / sent.length,
    };
  } finally {
    await installation.close();
  }
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
