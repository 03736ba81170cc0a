import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SnowflakeUtil } from 'discord.js';
import { Redis } from 'ioredis';
import sharp from 'sharp';
import type { BotContext } from '../src/bot/context.js';
import { enqueueGeneration } from '../src/bot/requests.js';
import { GenerationCancelledError, type GeneratedImage, type GenerationRequest, type ImageProvider } from '../src/worker/providers/types.js';
import { startWorker } from '../src/worker/worker.js';
import { makeBotContext } from '../test/support/context.js';
import { dropPrefix } from '../test/support/namespace.js';

/**
 * Fairness: one member floods the queue with 200 requests, then 10 other members each ask for one
 * picture, one after another, while the GPUs are busy with the flood. A light member's wait is the
 * number of jobs that started after their request arrived and before it started. The fair queue
 * promises at most one job slot per busy worker; a plain FIFO queue would make them wait for the
 * flood (reported as the baseline).
 *
 * Everything is real except the GPU: the bot's enqueueGeneration (admission, priorities), BullMQ,
 * Redis and the worker, with a provider that finishes a job only when the scenario says so. That
 * makes the order of starts, and so the result, deterministic.
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
  /** What FIFO would have made them wait: the requests queued ahead of them that had not started. */
  fifoWaitsInSlots: number[];
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

/** A provider that holds every job until `finishOldest()`: the scenario is the clock. */
class SteppedProvider implements ImageProvider {
  readonly name = 'stepped';
  readonly started: string[] = [];
  private readonly running: Array<() => void> = [];
  private startWaiters: Array<() => void> = [];

  constructor(private readonly png: Buffer) {}

  async generate(request: GenerationRequest): Promise<GeneratedImage[]> {
    this.started.push(request.prompt);
    this.startWaiters.splice(0).forEach((wake) => wake());
    await new Promise<void>((resolve, reject) => {
      if (request.signal.aborted) return reject(new GenerationCancelledError('aborted'));
      request.signal.addEventListener('abort', () => reject(new GenerationCancelledError('aborted')), { once: true });
      this.running.push(resolve);
    });
    return [{ data: this.png, contentType: 'image/png', width: 1, height: 1 }];
  }

  /** Resolves once `count` jobs have started in total. */
  async startedAtLeast(count: number): Promise<void> {
    while (this.started.length < count) await new Promise<void>((wake) => this.startWaiters.push(wake));
  }

  finishOldest(): void {
    this.running.shift()?.();
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
  const png = await sharp({ create: { width: 1, height: 1, channels: 3, background: '#000' } }).png().toBuffer();
  const provider = new SteppedProvider(png);
  const ctx: BotContext = makeBotContext(redis, prefix, imageDir, { models: [{ name: 'bench', ref: 'bench', cost: 0 }] });
  // The flood must get in: the scenario measures ordering, not the per-member limits.
  await ctx.settings.update(GUILD, { maxQueued: 1000, maxRunning: workers, dailyImages: 0, dailyBudget: 0 });

  const interactionId = interactionIds();
  const request = (userId: string, prompt: string) =>
    enqueueGeneration(
      ctx,
      { interactionId: interactionId(), interactionToken: 'bench', attachmentSizeLimit: 10 << 20, userId, userName: userId, guildId: GUILD, channelId: '400000000000000001' },
      { kind: 'txt2img', options: { prompt, aspect: '1:1', count: 1, seed: 1 } },
    );

  let admitted = 0;
  for (let i = 0; i < flooderJobs; i++, admitted++) await request('200000000000000001', `flood ${i}`);
  const worker = await startWorker({ redisUrl: options.redisUrl, prefix, provider, concurrency: workers, imageStoreDir: imageDir, logger: ctx.logger, shutdownGraceMs: 100 });

  const arrivals: Array<{ prompt: string; startedBefore: number; queuedAhead: number }> = [];
  try {
    await provider.startedAtLeast(workers);
    let finished = 0;
    while (arrivals.length < lightMembers || arrivals.some((arrival) => !provider.started.includes(arrival.prompt))) {
      if (arrivals.length < lightMembers && finished % arrivalEvery === 0) {
        const prompt = `light ${arrivals.length}`;
        arrivals.push({ prompt, startedBefore: provider.started.length, queuedAhead: admitted - provider.started.length });
        await request(`2100000000000000${String(arrivals.length).padStart(2, '0')}`, prompt);
        admitted++;
      }
      // One job finishes; its slot goes to whichever job the queue serves next.
      const next = provider.started.length + 1;
      provider.finishOldest();
      finished++;
      if (admitted >= next) await provider.startedAtLeast(next);
    }
  } finally {
    await worker.close();
    await ctx.generateQueue.obliterate({ force: true }).catch(() => undefined);
    await ctx.generateQueue.close();
    await dropPrefix(redis, prefix);
    await redis.quit();
    rmSync(imageDir, { recursive: true, force: true });
  }

  const lightWaitsInSlots = arrivals.map((arrival) => provider.started.indexOf(arrival.prompt) - arrival.startedBefore);
  const fifoWaitsInSlots = arrivals.map((arrival) => arrival.queuedAhead);
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
    median,
    p99: sorted[sorted.length - 1] ?? 0,
    baseline,
    ratio: baseline === 0 ? 0 : median / baseline,
    bound,
    target: `≤ ${bound} (one slot per busy worker)`,
    pass: lightWaitsInSlots.every((wait) => wait <= bound),
  };
}
