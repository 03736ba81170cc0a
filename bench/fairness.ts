import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SnowflakeUtil } from 'discord.js';
import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import sharp from 'sharp';
import type { BotContext } from '../src/bot/context.js';
import { enqueueGeneration } from '../src/bot/requests.js';
import { openDatabase } from '../src/db/connection.js';
import { migrateToLatest } from '../src/db/migrate.js';
import { GenerationCancelledError, type GeneratedImage, type GenerationRequest, type ImageProvider } from '../src/worker/providers/types.js';
import { startWorker, type RunningWorker } from '../src/worker/worker.js';
import { makeBotContext } from '../test/support/context.js';
import { dropPrefix } from '../test/support/namespace.js';

/**
 * Fairness: one member floods the queue with 200 requests, then 10 other members each ask for one
 * picture, one after another, while the GPUs are busy with the flood. A light member's wait is the
 * number of jobs that started after their request arrived and before it started. The fair queue
 * promises at most one job slot per busy worker. The baseline is measured, not computed: the same
 * flood and the same arrivals run through a bare BullMQ queue and worker (plain FIFO, no priorities).
 *
 * Everything is real except the GPU: the bot's enqueueGeneration (admission, priorities), BullMQ,
 * Redis and the worker, with a GPU that finishes a job only when the scenario says so. That makes
 * the order of starts, and so the result, deterministic.
 */

export interface FairnessOptions {
  redisUrl: string;
  prefix: string;
  flooderJobs?: number;
  lightMembers?: number;
  /** Concurrency of the worker: the busy job slots. */
  workers?: number;
  /** Jobs that finish between two light members' arrivals. */
  arrivalEvery?: number;
}

export interface FairnessResult {
  name: 'fairness';
  parameters: Record<string, number>;
  unit: 'job slots';
  /** Per light member, in arrival order: jobs that started between their arrival and their own start. */
  lightWaitsInSlots: number[];
  /** The same, measured with the same flood and arrivals through a bare BullMQ queue (plain FIFO). */
  fifoWaitsInSlots: number[];
  /** The FIFO run as it happened: jobs the bare queue started, and where in that order each light member's started. */
  fifoStarted: number;
  fifoLightStartedAt: number[];
  median: number;
  p99: number;
  baseline: number;
  ratio: number;
  /** One slot per busy worker. */
  bound: number;
  target: string;
  pass: boolean;
}

const GUILD = '300000000000000001';

/** GPUs that hold every job until `finishOldest()`: the scenario is the clock. */
class SteppedGpu {
  readonly started: string[] = [];
  private readonly running: Array<() => void> = [];
  private startWaiters: Array<() => void> = [];

  async run(prompt: string, signal?: AbortSignal): Promise<void> {
    this.started.push(prompt);
    this.startWaiters.splice(0).forEach((wake) => wake());
    await new Promise<void>((resolve, reject) => {
      if (signal?.aborted) return reject(new GenerationCancelledError('aborted'));
      signal?.addEventListener('abort', () => reject(new GenerationCancelledError('aborted')), { once: true });
      this.running.push(resolve);
    });
  }

  /** Resolves once `count` jobs have started in total. */
  async startedAtLeast(count: number): Promise<void> {
    while (this.started.length < count) await new Promise<void>((wake) => this.startWaiters.push(wake));
  }

  finishOldest(): void {
    this.running.shift()?.();
  }
}

/** Atelier's worker draws on the stepped GPUs. */
class SteppedProvider implements ImageProvider {
  readonly name = 'stepped';

  constructor(
    private readonly gpu: SteppedGpu,
    private readonly png: Buffer,
  ) {}

  async generate(request: GenerationRequest): Promise<GeneratedImage[]> {
    await this.gpu.run(request.prompt, request.signal);
    return [{ data: this.png, contentType: 'image/png', width: 1, height: 1 }];
  }
}

interface Flood {
  flooderJobs: number;
  lightMembers: number;
  workers: number;
  arrivalEvery: number;
}

/**
 * Drives one run, whichever queue is under test: the flood is queued before the workers start;
 * then jobs finish one at a time and, every `arrivalEvery` finishes, a light member asks for one
 * picture. Returns each light member's wait, in jobs that started between their arrival and theirs.
 */
async function measureLightWaits(
  gpu: SteppedGpu,
  flood: Flood,
  submit: (userId: string, prompt: string) => Promise<unknown>,
  startWorkers: () => Promise<void>,
): Promise<number[]> {
  for (let i = 0; i < flood.flooderJobs; i++) await submit('200000000000000001', `flood ${i}`);
  let submitted = flood.flooderJobs;
  await startWorkers();
  await gpu.startedAtLeast(flood.workers);
  const arrivals: Array<{ prompt: string; startedBefore: number }> = [];
  let finished = 0;
  while (arrivals.length < flood.lightMembers || arrivals.some((arrival) => !gpu.started.includes(arrival.prompt))) {
    if (arrivals.length < flood.lightMembers && finished % flood.arrivalEvery === 0) {
      const prompt = `light ${arrivals.length}`;
      arrivals.push({ prompt, startedBefore: gpu.started.length });
      await submit(`2100000000000000${String(arrivals.length).padStart(2, '0')}`, prompt);
      submitted++;
    }
    // One job finishes; its slot goes to whichever job the queue serves next.
    const next = gpu.started.length + 1;
    gpu.finishOldest();
    finished++;
    if (submitted >= next) await gpu.startedAtLeast(next);
  }
  return arrivals.map((arrival) => gpu.started.indexOf(arrival.prompt) - arrival.startedBefore);
}

/** The baseline: the same run through a bare BullMQ queue and worker, first in first out. */
async function measureFifo(redisUrl: string, prefix: string, flood: Flood): Promise<{ waits: number[]; startOrder: string[] }> {
  const connection = new Redis(redisUrl, { maxRetriesPerRequest: null });
  const queue = new Queue<{ prompt: string }>('fifo-baseline', { connection, prefix });
  const workerConnection = new Redis(redisUrl, { maxRetriesPerRequest: null });
  const gpu = new SteppedGpu();
  let worker: Worker | undefined;
  try {
    const waits = await measureLightWaits(
      gpu,
      flood,
      (_userId, prompt) => queue.add('job', { prompt }),
      async () => {
        worker = new Worker<{ prompt: string }>('fifo-baseline', (job) => gpu.run(job.data.prompt), {
          connection: workerConnection,
          prefix,
          concurrency: flood.workers,
        });
      },
    );
    return { waits, startOrder: [...gpu.started] };
  } finally {
    // Let the jobs still held finish, so the worker closes at once.
    for (let i = 0; i < flood.workers; i++) gpu.finishOldest();
    await worker?.close(true);
    await queue.obliterate({ force: true }).catch(() => undefined);
    await queue.close();
    await workerConnection.quit();
    await connection.quit();
  }
}

/** Unique interaction ids as Discord makes them (BullMQ refuses ids that parse back to the same integer). */
function interactionIds(): () => string {
  let increment = 0;
  return () => {
    for (;;) {
      const id = SnowflakeUtil.generate({ increment: BigInt(increment++ % 4096) }).toString();
      if (String(parseInt(id, 10)) !== id) return id;
    }
  };
}

export async function fairnessScenario(options: FairnessOptions): Promise<FairnessResult> {
  const flooderJobs = options.flooderJobs ?? 200;
  const lightMembers = options.lightMembers ?? 10;
  const workers = options.workers ?? 2;
  const arrivalEvery = options.arrivalEvery ?? 3;
  const { prefix } = options;
  const redis = new Redis(options.redisUrl, { maxRetriesPerRequest: null });
  const imageDir = mkdtempSync(join(tmpdir(), 'atelier-fairness-'));
  const png = await sharp({ create: { width: 1, height: 1, channels: 3, background: '#000' } })
    .png()
    .toBuffer();
  const gpu = new SteppedGpu();
  const provider = new SteppedProvider(gpu, png);
  // Server settings live in the database; an in-memory one needs no server (bench runs anywhere).
  const database = await openDatabase({ dataDir: 'memory://' });
  await migrateToLatest(database.db);
  const ctx: BotContext = makeBotContext(redis, prefix, imageDir, database.db, { models: [{ name: 'bench', ref: 'bench', cost: 0 }] });
  // The flood must get in: the scenario measures ordering, not the per-member limits.
  await ctx.settings.update(GUILD, { maxQueued: 1000, maxRunning: workers, dailyImages: 0, dailyBudget: 0 });

  const interactionId = interactionIds();
  const request = (userId: string, prompt: string) =>
    enqueueGeneration(
      ctx,
      {
        interactionId: interactionId(),
        interactionToken: 'bench',
        attachmentSizeLimit: 10 << 20,
        userId,
        userName: userId,
        guildId: GUILD,
        channelId: '400000000000000001',
      },
      { kind: 'txt2img', options: { prompt, aspect: '1:1', count: 1, seed: 1 } },
    );

  const flood: Flood = { flooderJobs, lightMembers, workers, arrivalEvery };
  let worker: RunningWorker | undefined;
  let lightWaitsInSlots: number[];
  let fifo: { waits: number[]; startOrder: string[] };
  try {
    lightWaitsInSlots = await measureLightWaits(gpu, flood, request, async () => {
      worker = await startWorker({
        redisUrl: options.redisUrl,
        prefix,
        provider,
        concurrency: workers,
        imageStoreDir: imageDir,
        logger: ctx.logger,
        shutdownGraceMs: 100,
      });
    });
    await worker?.close();
    worker = undefined;
    fifo = await measureFifo(options.redisUrl, `${prefix}:fifo`, flood);
  } finally {
    await worker?.close();
    await ctx.generateQueue.obliterate({ force: true }).catch(() => undefined);
    await ctx.generateQueue.close();
    await dropPrefix(redis, prefix);
    await redis.quit();
    await database.close();
    rmSync(imageDir, { recursive: true, force: true });
  }

  const fifoWaitsInSlots = fifo.waits;
  const sorted = [...lightWaitsInSlots].sort((a, b) => a - b);
  const median = sorted[Math.floor((sorted.length - 1) / 2)] ?? 0;
  const baselineSorted = [...fifoWaitsInSlots].sort((a, b) => a - b);
  const baseline = baselineSorted[Math.floor((baselineSorted.length - 1) / 2)] ?? 0;
  const bound = workers;
  return {
    name: 'fairness',
    parameters: { flooderJobs, lightMembers, workers, arrivalEvery },
    unit: 'job slots',
    lightWaitsInSlots,
    fifoWaitsInSlots,
    fifoStarted: fifo.startOrder.length,
    fifoLightStartedAt: Array.from({ length: lightMembers }, (_, i) => fifo.startOrder.indexOf(`light ${i}`)),
    median,
    p99: sorted[sorted.length - 1] ?? 0,
    baseline,
    ratio: baseline === 0 ? 0 : median / baseline,
    bound,
    target: `≤ ${bound} (one slot per busy worker)`,
    pass: lightWaitsInSlots.every((wait) => wait <= bound),
  };
}
