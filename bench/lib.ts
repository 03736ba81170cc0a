import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import { MessageFlags } from 'discord.js';
import { Redis } from 'ioredis';
import { REDIS_PREFIX } from '../src/runtime.js';
import { QueueStats } from '../src/store/stats.js';
import { createBenchDatabase, type BenchDatabase } from './database.js';
import { NAIVE_PREFIX, NAIVE_QUEUE } from './naive.js';
import { FakeDiscord, type FakeDiscordOptions, type FakeInteraction, type FakeMessage, type RecordedRequest } from '../test/support/fake-discord.js';
import { fakeDiscordEnv, ProcessGroup, spawnAtelier, waitForBotReady, type AtelierProcess } from '../test/support/processes.js';

const GUILDS = 50;

/** One line of `npm run bench` output. Times are milliseconds unless `unit` says otherwise. */
export interface ScenarioResult {
  name: string;
  parameters: Record<string, unknown>;
  unit: string;
  median: number | null;
  p99: number | null;
  /** The same figure for bare BullMQ (or the smallest setup), measured in the same run. */
  baseline: number | null;
  /** Our figure against the baseline, in the direction the target is written. */
  ratio: number | null;
  target: string | null;
  pass: boolean | null;
  skipped?: string;
  /** Further figures worth keeping (counts, spreads). */
  extra?: Record<string, unknown>;
}

export interface BenchOptions {
  quick: boolean;
  /** The private redis-server of this run; scenarios start from an empty database. */
  redisUrl: string;
  /** Its process, for the CPU it spends. */
  redisPid?: number;
}

export type Scenario = (options: BenchOptions) => Promise<ScenarioResult>;

export function skipped(name: string, reason: string, target: string | null = null): ScenarioResult {
  return { name, parameters: {}, unit: '', median: null, p99: null, baseline: null, ratio: null, target, pass: null, skipped: reason };
}

export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[index]!;
}

export const median = (values: readonly number[]) => percentile(values, 50);
export const round = (value: number, digits = 1) => Math.round(value * 10 ** digits) / 10 ** digits;
export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Resident memory of a process, in MiB, from /proc. */
export function rssMiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? NaN);
  return kb / 1024;
}

/** Clock ticks per second of /proc's CPU times. */
let ticksPerSecond: number | undefined;

/** CPU time (user + system) a process has used so far, in milliseconds, from /proc. */
export function cpuMs(pid: number): number {
  ticksPerSecond ??= Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name in parentheses: utime and stime are the 12th and 13th.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / ticksPerSecond;
}

/** CPU time (user + system) of every process with this command name (e.g. `postgres`), in milliseconds. */
export function cpuMsOfCommand(command: string): number {
  let total = 0;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/comm`, 'utf8').trim() === command) total += cpuMs(Number(entry));
    } catch {
      // The process ended meanwhile.
    }
  }
  return total;
}

/**
 * CPU time the whole machine spent busy (every core, every process and the kernel; not time the
 * hypervisor gave to other machines), in milliseconds, from /proc/stat.
 */
export function machineCpuMs(): number {
  ticksPerSecond ??= Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  const [user, nice, system, , , irq, softirq] = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  return (((user ?? 0) + (nice ?? 0) + (system ?? 0) + (irq ?? 0) + (softirq ?? 0)) * 1000) / ticksPerSecond;
}

export interface InstallationOptions {
  redisUrl: string;
  /** Atelier (default), or the naive baseline of bench/naive.ts. */
  pipeline?: 'atelier' | 'naive';
  discord?: FakeDiscordOptions;
  /** Worker processes to start (each a real startWorker with the fixed-delay provider). */
  workers?: number;
  /** Further environment for the bot and workers (e.g. DATABASE_URL: a PostgreSQL server instead of the embedded database). */
  env?: Record<string, string>;
  workerConcurrency?: number;
  providerDelayMs?: number;
  providerCapacity?: number;
  imageSize?: number;
  /** DISCORD_GLOBAL_RATE_LIMIT for the bot (default: the bot's own default, Discord's 50/s). */
  globalRateLimit?: number;
  /** Extra settings of the first bot process (e.g. SHARD_IDS when more bots share the shards). */
  botEnv?: Record<string, string>;
}

/**
 * Atelier as deployed: a bot process (discord.js on the fake Discord) and worker processes,
 * on the run's Redis. The fake Discord lives in the benchmark process, where the clock is read.
 */
export class Installation {
  readonly processes = new ProcessGroup();
  readonly imageDir = mkdtempSync(join(tmpdir(), 'atelier-bench-'));
  readonly discord: FakeDiscord;
  /** Atelier's own database (the naive pipeline keeps no records and gets none). */
  database?: BenchDatabase;
  bot!: AtelierProcess;
  workers: AtelierProcess[] = [];
  /**
   * Result message id by job id, kept as uploads arrive: looking results up by scanning every
   * message on every request would make the harness, not Atelier, what a scenario measures.
   */
  private readonly results = new Map<string, string>();

  private constructor(private readonly options: InstallationOptions) {
    // Load is spread over many servers, so that a server's daily image budget is not what is measured.
    this.discord = new FakeDiscord({ guilds: Array.from({ length: GUILDS }, () => ({})), ...options.discord });
    this.discord.on('request', (request: RecordedRequest) => {
      if (request.status >= 300 || request.files.length === 0) return;
      const jobId = /^atelier-(\d+)-/.exec(request.files[0]!.filename)?.[1];
      const messageId = (request.response as { id?: string } | undefined)?.id;
      if (jobId && messageId && !this.results.has(jobId)) this.results.set(jobId, messageId);
    });
  }

  /** How many jobs have a result message. */
  get resultCount(): number {
    return this.results.size;
  }

  static async start(options: InstallationOptions): Promise<Installation> {
    const flush = new Redis(options.redisUrl);
    await flush.flushall();
    await flush.quit();
    const installation = new Installation(options);
    if (options.pipeline !== 'naive') installation.database = await createBenchDatabase('installation');
    await installation.discord.start();
    const since = Date.now();
    installation.bot = installation.processes.add(
      options.pipeline === 'naive'
        ? spawnAtelier('naive bot', 'bench/naive.ts', installation.env({ NAIVE_ROLE: 'bot' }))
        : spawnAtelier('bot', 'src/bot/main.ts', installation.env(options.botEnv)),
    );
    await waitForBotReady(installation.discord, installation.bot, since, 120_000);
    for (let i = 0; i < (options.workers ?? 0); i += 1) installation.startWorker();
    return installation;
  }

  env(extra: Record<string, string> = {}): Record<string, string> {
    return {
      ...fakeDiscordEnv(this.discord),
      REDIS_URL: this.options.redisUrl,
      IMAGE_STORE_DIR: this.imageDir,
      ...(this.database ? { DATABASE_URL: this.database.url } : {}),
      // Bot and workers on one machine share the folder: results travel as keys, not bytes.
      IMAGE_STORE_SHARED: 'true',
      IMAGE_PROVIDER: 'local',
      LOG_LEVEL: 'warn',
      WORKER_CONCURRENCY: String(this.options.workerConcurrency ?? 1),
      BENCH_DELAY_MS: String(this.options.providerDelayMs ?? 0),
      BENCH_CAPACITY: String(this.options.providerCapacity ?? Infinity),
      BENCH_IMAGE_SIZE: String(this.options.imageSize ?? 512),
      ...(this.options.globalRateLimit ? { DISCORD_GLOBAL_RATE_LIMIT: String(this.options.globalRateLimit) } : {}),
      ...this.options.env,
      ...extra,
    };
  }

  startWorker(): AtelierProcess {
    const name = `worker ${this.workers.length + 1}`;
    const worker = this.processes.add(
      this.options.pipeline === 'naive'
        ? spawnAtelier(`naive ${name}`, 'bench/naive.ts', this.env({ NAIVE_ROLE: 'worker' }))
        : spawnAtelier(name, 'bench/worker-main.ts', this.env()),
    );
    this.workers.push(worker);
    return worker;
  }

  /** Resolves once `slots` job slots of running workers have announced themselves in Redis. */
  async waitForWorkerSlots(slots: number, timeoutMs = 120_000): Promise<void> {
    if (this.options.pipeline === 'naive') return this.waitForNaiveWorkers(slots, timeoutMs);
    const redis = new Redis(this.options.redisUrl);
    const stats = new QueueStats(redis, REDIS_PREFIX);
    const deadline = Date.now() + timeoutMs;
    try {
      while ((await stats.capacity()) < slots) {
        if (Date.now() > deadline) throw new Error(`workers did not start within ${timeoutMs} ms:\n${this.processes.describe()}`);
        await sleep(50);
      }
    } finally {
      await redis.quit();
    }
  }

  /** The naive workers (concurrency 1 each) announce nothing: count BullMQ's worker connections. */
  private async waitForNaiveWorkers(count: number, timeoutMs: number): Promise<void> {
    const connection = new Redis(this.options.redisUrl, { maxRetriesPerRequest: null });
    const queue = new Queue(NAIVE_QUEUE, { connection, prefix: NAIVE_PREFIX });
    const deadline = Date.now() + timeoutMs;
    try {
      while ((await queue.getWorkersCount()) < count) {
        if (Date.now() > deadline) throw new Error(`naive workers did not start within ${timeoutMs} ms:\n${this.processes.describe()}`);
        await sleep(50);
      }
    } finally {
      await queue.close();
      await connection.quit();
    }
  }

  /** CPU milliseconds used so far by the bot and by all workers together. */
  cpu(): { bot: number; workers: number } {
    return { bot: cpuMs(this.bot.child.pid!), workers: this.workers.reduce((sum, worker) => sum + cpuMs(worker.child.pid!), 0) };
  }

  /** `/imagine` from its own member each time (per-member limits are not what is measured here). */
  imagine(index: number, prompt = `a lighthouse in fog, take ${index}`): FakeInteraction {
    const guild = this.discord.guilds[index % this.discord.guilds.length]!;
    return this.discord.slashCommand({
      name: 'imagine',
      options: { prompt },
      userId: String(300000000000000000n + BigInt(index)),
      guildId: guild.id,
      channelId: guild.channels[0]!.id,
    });
  }

  /** Interactions the bot accepted (queued) rather than refused with a private error. */
  static accepted(interactions: readonly FakeInteraction[]): FakeInteraction[] {
    return interactions.filter((i) => i.callback && ((i.callback.data?.flags ?? 0) & MessageFlags.Ephemeral) === 0);
  }

  /** The message with this job's images, once it is at Discord. */
  result(jobId: string): FakeMessage | undefined {
    const messageId = this.results.get(jobId);
    return messageId === undefined ? undefined : this.discord.message(messageId);
  }

  async close(): Promise<void> {
    await this.processes.killAll();
    await this.discord.close();
    await this.database?.drop();
    rmSync(this.imageDir, { recursive: true, force: true });
  }
}

/**
 * Sends `count` interactions, at most `inFlight` of them unanswered at a time, as a member base
 * hammering the bot would: as fast as the bot acknowledges them.
 */
export async function sendAsFastAsAcknowledged(
  count: number,
  inFlight: number,
  send: (index: number) => FakeInteraction,
): Promise<FakeInteraction[]> {
  const sent: FakeInteraction[] = [];
  let next = 0;
  const lane = async () => {
    while (next < count) {
      const interaction = send(next++);
      sent.push(interaction);
      await interaction.response(60_000);
    }
  };
  await Promise.all(Array.from({ length: inFlight }, lane));
  return sent;
}
