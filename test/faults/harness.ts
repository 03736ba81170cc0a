import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { GENERATE_QUEUE } from '../../src/queues.js';
import { startPrivateRedis, type PrivateRedis } from '../../src/redis-server.js';
import { REDIS_PREFIX } from '../../src/runtime.js';
import { FakeDiscord, type FakeDiscordOptions, type FakeInteraction, type FakeMessage } from '../support/fake-discord.js';
import { FakeReplicate } from '../support/fake-replicate.js';
import { createTestDatabase, type TestDatabase } from '../support/postgres.js';
import { fakeDiscordEnv, ProcessGroup, spawnAtelier, waitForBotReady, type AtelierProcess } from '../support/processes.js';

/** Generous: these tests spawn several Node processes on a small, shared machine. */
export const FAULT_TIMEOUT_MS = 90_000;
export const WAIT_MS = 45_000;

/**
 * A whole Atelier installation for fault tests: its own redis-server (append-only file on, in a
 * data folder that survives a restart), a database of its own on the test PostgreSQL server, a
 * fake Discord, a fake Replicate, and bot and worker processes started exactly as in production.
 */
export class FaultHarness {
  readonly processes = new ProcessGroup();
  readonly imageDir = mkdtempSync(join(tmpdir(), 'atelier-faults-img-'));
  readonly redisDir = mkdtempSync(join(tmpdir(), 'atelier-faults-redis-'));
  readonly replicate = new FakeReplicate();
  discord!: FakeDiscord;
  redisServer!: PrivateRedis;
  database!: TestDatabase;
  redis!: Redis;
  generateQueue!: Queue;
  private botCount = 0;
  private workerCount = 0;

  static async start(discordOptions: FakeDiscordOptions = {}): Promise<FaultHarness> {
    const harness = new FaultHarness();
    harness.redisServer = await startPrivateRedis({ dataDir: harness.redisDir, appendOnly: true });
    harness.redis = new Redis(harness.redisServer.url, { maxRetriesPerRequest: null });
    harness.database = await createTestDatabase({ migrated: true, maxConnections: 2 });
    harness.generateQueue = new Queue(GENERATE_QUEUE, { connection: harness.redis, prefix: REDIS_PREFIX });
    harness.discord = new FakeDiscord(discordOptions);
    await harness.discord.start();
    harness.replicate.delayMs = 50;
    await harness.replicate.start();
    return harness;
  }

  /** Bot and worker read the same settings, as with one .env file (the worker ignores DATABASE_URL). */
  env(extra: Record<string, string> = {}): Record<string, string> {
    return {
      ...fakeDiscordEnv(this.discord),
      REDIS_URL: this.redisServer.url,
      DATABASE_URL: this.database.url,
      IMAGE_STORE_DIR: this.imageDir,
      IMAGE_PROVIDER: 'replicate',
      REPLICATE_BASE_URL: this.replicate.baseUrl,
      REPLICATE_API_TOKEN: this.replicate.token,
      REPLICATE_POLL_MS: '20',
      IMAGE_MODELS: 'schnell=black-forest-labs/flux-schnell',
      // A killed worker's job moves on within seconds instead of 45 s.
      WORKER_LOCK_MS: '4000',
      WORKER_CONCURRENCY: '2',
      // Faults, not the command rate limit, are under test: every storm interaction must reach its handler.
      COMMAND_RATE_LIMIT: '9999/1',
      INTERACTION_RATE_LIMIT: '9999/1',
      LOG_LEVEL: 'warn',
      ...extra,
    };
  }

  /** Starts a bot process and resolves once it handles interactions and deliveries. */
  async startBot(extra: Record<string, string> = {}): Promise<AtelierProcess> {
    const since = Date.now();
    const bot = this.processes.add(spawnAtelier(`bot ${++this.botCount}`, 'src/bot/main.ts', this.env(extra)));
    await waitForBotReady(this.discord, bot, since, WAIT_MS);
    return bot;
  }

  startWorker(extra: Record<string, string> = {}): AtelierProcess {
    return this.processes.add(spawnAtelier(`worker ${++this.workerCount}`, 'src/worker/main.ts', this.env(extra)));
  }

  /** Stops redis-server (it writes its append-only file on the way out) and starts it again on the same port and data. */
  async restartRedis(): Promise<void> {
    await this.stopRedis();
    await this.startRedisAgain();
  }

  /** Stops redis-server; `startRedisAgain` brings it back on the same port and data. */
  async stopRedis(): Promise<void> {
    await this.redisServer.stop();
  }

  async startRedisAgain(): Promise<void> {
    this.redisServer = await startPrivateRedis({ dataDir: this.redisDir, port: this.redisServer.port, appendOnly: true });
  }

  imagine(prompt: string, userId?: string): FakeInteraction {
    return this.discord.slashCommand({ name: 'imagine', options: { prompt }, userId });
  }

  /** Resolves once the fake Replicate has created `count` predictions in all. */
  predictionsCreated(count: number, timeoutMs = WAIT_MS): Promise<void> {
    return new Promise((resolve, reject) => {
      const check = () => {
        if (this.replicate.created < count) return;
        clearTimeout(timer);
        this.replicate.events.off('created', check);
        resolve();
      };
      const timer = setTimeout(() => {
        this.replicate.events.off('created', check);
        reject(new Error(`Replicate saw ${this.replicate.created} predictions, not ${count}, within ${timeoutMs} ms`));
      }, timeoutMs);
      this.replicate.events.on('created', check);
      check();
    });
  }

  /** Messages that carry this job's images: exactly one when the job was delivered once. */
  resultMessages(jobId: string): FakeMessage[] {
    return this.discord.messages().filter((m) => m.attachments.some((a) => a.filename.startsWith(`atelier-${jobId}-`)));
  }

  /** Successful uploads of this job's images: a second one would mean it was posted (or edited in) twice. */
  resultUploads(jobId: string) {
    return this.discord.requests.filter((r) => r.status < 300 && r.files.some((f) => f.filename.startsWith(`atelier-${jobId}-`)));
  }

  /** Waits until the job's result reached Discord, and returns that message. */
  waitForResult(jobId: string, timeoutMs = WAIT_MS): Promise<FakeMessage> {
    return this.discord.waitFor(() => this.resultMessages(jobId)[0], timeoutMs, `the result of job ${jobId}`);
  }

  /** Fails with every process's output attached, so a crash explains itself. */
  async expectation<T>(work: Promise<T>): Promise<T> {
    try {
      return await work;
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      throw new Error(`${message}\n\nProcess output:\n${this.processes.describe()}`);
    }
  }

  async close(): Promise<void> {
    await this.processes.killAll();
    await this.generateQueue?.close().catch(() => undefined);
    await this.redis?.quit().catch(() => undefined);
    await this.discord?.close();
    await this.replicate.close();
    await this.redisServer?.stop();
    await this.database?.drop();
    rmSync(this.imageDir, { recursive: true, force: true });
    rmSync(this.redisDir, { recursive: true, force: true });
  }
}
