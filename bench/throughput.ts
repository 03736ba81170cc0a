import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { cpuMs, cpuMsOfCommand, Installation, machineCpuMs, round, sendAsFastAsAcknowledged, type BenchOptions, type ScenarioResult } from './lib.js';

const TARGET_RATIO = 0.6;
/** Jobs each pipeline delivers before the clock starts (not counted). */
const WARM_UP = 50;

/**
 * Jobs delivered per second with an instant provider and 4 worker processes (one job at a time
 * each), members sending `/imagine` as fast as the bot acknowledges; against the naive pipeline
 * of bench/naive.ts (defer, one queue, same PNG, editReply with the file) run the same way in the
 * same run, each after 50 uncounted warm-up jobs. Bare BullMQ's add → process rate with 4 no-op
 * workers is kept in `extra`, as is where each pipeline's CPU went per delivered job: the whole
 * machine's, and that of the bot, the workers, Redis, PostgreSQL and this process (the fake Discord).
 *
 * Discord lets a bot make 50 requests per second, and the bot keeps to that by default: with it,
 * delivery can never pass ~50 results/s, whatever Atelier does. The headline figure is measured
 * with the client-side limit lifted (DISCORD_GLOBAL_RATE_LIMIT, as behind a rate-limiting REST
 * proxy), which is what Atelier itself can do; the rate under Discord's limit is in `extra`.
 */
export async function throughputScenario({ quick, redisUrl, redisPid }: BenchOptions): Promise<ScenarioResult> {
  const jobs = quick ? 200 : 1000;
  const workers = 4;
  const ours = await deliveredPerSecond(redisUrl, redisPid, jobs, workers, 100_000, 'atelier');
  const naive = await deliveredPerSecond(redisUrl, redisPid, jobs, workers, 100_000, 'naive');
  const underDiscordLimit = await deliveredPerSecond(redisUrl, redisPid, quick ? 100 : 300, workers, undefined, 'atelier');
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
      cpu_ms_per_job: cpuBreakdown(ours),
      naive_cpu_ms_per_job: cpuBreakdown(naive),
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
  redisCpuMs?: number;
  /** Every PostgreSQL process on this machine (none when the database is elsewhere). */
  postgresCpuMs: number;
  /** The benchmark process: the fake Discord and the members sending. */
  harnessCpuMs: number;
  /** The whole machine: every process shares its cores, so this is what the rate is paid with. */
  machineCpuMs: number;
}

/**
 * Where a pipeline's CPU goes per delivered job, machine first: with everything on the same cores,
 * the rate follows the machine's CPU per job, not the bot's alone.
 */
function cpuBreakdown(run: Delivered): Record<string, number | null> {
  return {
    machine: round(run.machineCpuMs),
    bot: round(run.botCpuMs),
    workers: round(run.workersCpuMs),
    redis: run.redisCpuMs === undefined ? null : round(run.redisCpuMs),
    postgres: round(run.postgresCpuMs),
    harness: round(run.harnessCpuMs),
  };
}

async function deliveredPerSecond(
  redisUrl: string,
  redisPid: number | undefined,
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
    const cpuBefore = { ...installation.cpu(), ...othersCpu(redisPid) };
    const start = Date.now();
    const sent = Installation.accepted(await sendAsFastAsAcknowledged(jobs, 16, (i) => installation.imagine(i)));
    await installation.discord.waitFor(() => installation.resultCount >= warm.length + sent.length, 300_000, 'every result');
    const last = Math.max(
      ...sent.map((interaction) => {
        const message = installation.result(interaction.id)!;
        return message.editedAt ?? message.createdAt;
      }),
    );
    const cpuAfter = { ...installation.cpu(), ...othersCpu(redisPid) };
    const perJob = (key: keyof typeof cpuAfter) => (cpuAfter[key] - cpuBefore[key]) / sent.length;
    return {
      rate: sent.length / ((last - start) / 1000),
      refused: jobs - sent.length,
      botCpuMs: perJob('bot'),
      workersCpuMs: perJob('workers'),
      redisCpuMs: redisPid === undefined ? undefined : perJob('redis'),
      postgresCpuMs: perJob('postgres'),
      harnessCpuMs: perJob('harness'),
      machineCpuMs: perJob('machine'),
    };
  } finally {
    await installation.close();
  }
}

/** CPU used so far by the processes around the pipeline, and by the machine as a whole (ms). */
function othersCpu(redisPid: number | undefined) {
  const harness = process.cpuUsage();
  return {
    redis: redisPid === undefined ? 0 : cpuMs(redisPid),
    postgres: cpuMsOfCommand('postgres'),
    harness: (harness.user + harness.system) / 1000,
    machine: machineCpuMs(),
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
