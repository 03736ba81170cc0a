import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterEach, expect } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { startBot, type BotOptions, type RunningBot } from '../../src/bot/bot.js';
import { startPrivateRedis, type PrivateRedis } from '../../src/redis-server.js';
import { discordPublicKey } from '../../src/bot/http-interactions.js';
import { createMetrics } from '../../src/metrics.js';
import { createWebServer } from '../../src/web/server.js';
import { createLocalProvider } from '../../src/worker/providers/local.js';
import type { ImageProvider } from '../../src/worker/providers/types.js';
import { startWorker, type RunningWorker, type WorkerOptions } from '../../src/worker/worker.js';
import { quietLogger } from './context.js';
import { createTestDatabase, type TestDatabase } from './postgres.js';
import { FakeDiscord, type FakeMessage } from './fake-discord.js';
import { connect, dropPrefix, redisTarget, uniquePrefix } from './redis.js';

export interface StackOptions {
  provider?: ImageProvider;
  /** Start no worker (tests that start their own, or check the queue untouched). */
  noWorker?: boolean;
  worker?: Partial<WorkerOptions>;
  bot?: Partial<BotOptions>;
  discord?: ConstructorParameters<typeof FakeDiscord>[0];
  /**
   * How the bot hears interactions: over the gateway, or as signed POSTs from the fake Discord to
   * the bot's web server (/interactions). Default: E2E_INTERACTIONS from the environment, else gateway.
   */
  interactions?: InteractionsMode;
}

export type InteractionsMode = 'gateway' | 'http';

/** The mode e2e stacks run in unless a test says otherwise (`E2E_INTERACTIONS=http npx vitest run ...`). */
export function defaultInteractionsMode(): InteractionsMode {
  return process.env.E2E_INTERACTIONS === 'http' ? 'http' : 'gateway';
}

/**
 * The whole of Atelier for an end-to-end test: a local fake Discord, the real bot (discord.js
 * client) logged in to it, a real worker, all on a private Redis namespace and a database of
 * its own (a fresh copy of the migrated schema, dropped on close).
 */
export class Stack {
  readonly prefix = uniquePrefix();
  readonly imageDir = mkdtempSync(join(tmpdir(), 'atelier-e2e-'));
  readonly redis: Redis = connect();
  discord!: FakeDiscord;
  database!: TestDatabase;
  bot!: RunningBot;
  private botOptions!: BotOptions;
  workers: RunningWorker[] = [];
  interactions: InteractionsMode = 'gateway';
  /** HTTP mode: the bot's web server, where the fake Discord POSTs interactions. */
  web: FastifyInstance | undefined;

  static async start(options: StackOptions = {}): Promise<Stack> {
    const stack = new Stack();
    stack.interactions = options.interactions ?? defaultInteractionsMode();
    stack.discord = new FakeDiscord(options.discord);
    await stack.discord.start();
    stack.database = await createTestDatabase({ migrated: true, maxConnections: 10 });
    stack.botOptions = {
      token: stack.discord.token,
      applicationId: stack.discord.applicationId,
      apiUrl: stack.discord.apiUrl,
      cdnUrl: stack.discord.cdnUrl,
      redisUrl: redisTarget(),
      db: stack.database.db,
      prefix: stack.prefix,
      models: [
        { name: 'painterly', ref: 'painterly' },
        { name: 'geometric', ref: 'geometric' },
      ],
      imageStoreDir: stack.imageDir,
      logger: quietLogger(),
      generateJobOptions: { backoff: { type: 'fixed', delay: 50 } },
      // Tests click faster than people do; the rate limit has tests of its own.
      rateLimit: { burst: 1000, refillMs: 1000 },
      interactionRateLimit: { burst: 1000, refillMs: 1000 },
      // Inside the after-test time limit, whatever a test left Redis in.
      shutdownGraceMs: 5_000,
      ...(stack.interactions === 'http' ? { interactions: 'http' as const, publicKey: discordPublicKey(stack.discord.publicKey) } : {}),
      ...options.bot,
    };
    await stack.startBotProcess();
    if (!options.noWorker) await stack.startWorker(options.provider ?? createLocalProvider(), options.worker);
    return stack;
  }

  async startWorker(provider: ImageProvider, options: Partial<WorkerOptions> = {}): Promise<RunningWorker> {
    const worker = await startWorker({
      redisUrl: redisTarget(),
      prefix: this.prefix,
      provider,
      concurrency: 2,
      imageStoreDir: this.imageDir,
      logger: quietLogger(),
      progressIntervalMs: 0,
      ...options,
    });
    this.workers.push(worker);
    return worker;
  }

  /** Stops the bot and starts a new one with the same options (a restart: nothing of the old process's memory survives). */
  async restartBot(): Promise<RunningBot> {
    await this.stopBotProcess();
    await this.startBotProcess();
    return this.bot;
  }

  /** The bot, and in HTTP mode its web server registered as the interactions endpoint (Discord PINGs it first). */
  private async startBotProcess(): Promise<void> {
    this.bot = await startBot(this.botOptions);
    // Its start-up sweep takes a lock in Redis for a moment: tests that compare Redis before and
    // after an action start once it is done.
    await this.bot.startupSweep;
    if (this.bot.interactions) {
      this.web = await createWebServer({
        logger: quietLogger(),
        metrics: createMetrics(),
        readiness: this.bot.readiness,
        interactions: this.bot.interactions,
      });
      const address = await this.web.listen({ port: 0, host: '127.0.0.1' });
      await this.discord.setInteractionsEndpoint(`${address}/interactions`);
    }
  }

  private async stopBotProcess(): Promise<void> {
    await this.web?.close();
    this.web = undefined;
    await this.bot?.close();
  }

  get ctx() {
    return this.bot.ctx;
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.splice(0).map((worker) => worker.close()));
    await this.stopBotProcess();
    await this.discord?.close();
    await this.database?.drop();
    await dropPrefix(this.redis, this.prefix);
    await this.redis.quit();
    rmSync(this.imageDir, { recursive: true, force: true });
  }
}

/**
 * For an e2e test file: returns `start(options)`, which brings a Stack up and waits for the
 * gateway; after each test the Stack is closed, and every request the bot sent must have had
 * a valid shape.
 */
export function useStack(): (options?: StackOptions) => Promise<Stack> {
  let current: Stack | undefined;
  afterEach(async () => {
    const stack = current;
    current = undefined;
    if (!stack) return;
    try {
      expect(stack.discord.validationErrors).toEqual([]);
    } finally {
      await stack.close();
    }
  });
  return async (options) => {
    current = await Stack.start(options);
    await current.discord.ready;
    return current;
  };
}

/** The result (✅) or failure (❌) an interaction ended with in the stack's default channel. */
export function finishedResult(stack: Stack, interactionId: string, timeoutMs = 20_000): Promise<FakeMessage> {
  return stack.discord.waitFor(
    () => {
      const message = stack.discord.messages(stack.discord.defaultChannelId).find((m) => m.interactionId === interactionId);
      return message && /^(✅|❌)/.test(message.content) ? message : undefined;
    },
    timeoutMs,
    `the result of ${interactionId}`,
  );
}

/**
 * For an e2e file whose tests make Redis lose its data: like useStack, but the bot and worker use
 * a private Redis of their own (a FLUSHALL must not touch the one other files share), stopped
 * after the stack. `flushAll()` empties it.
 */
export function useStackOnOwnRedis(): { start: (options?: StackOptions) => Promise<Stack>; flushAll: () => Promise<void> } {
  let redis: PrivateRedis | undefined;
  // Registered before useStack's: after-hooks run last registered first, so the stack closes first.
  afterEach(async () => {
    await redis?.stop();
    redis = undefined;
  });
  const start = useStack();
  return {
    async start(options = {}) {
      redis = await startPrivateRedis({ ephemeral: true });
      return start({ ...options, bot: { ...options.bot, redisUrl: redis.url }, worker: { ...options.worker, redisUrl: redis.url } });
    },
    async flushAll() {
      const connection = new Redis(redis!.url);
      try {
        await connection.flushall();
      } finally {
        connection.disconnect();
      }
    },
  };
}
