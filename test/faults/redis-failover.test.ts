import { MessageFlags } from 'discord.js';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { REDIS_PREFIX } from '../../src/runtime.js';
import { JobStore } from '../../src/store/jobs.js';
import type { FakeInteraction } from '../support/fake-discord.js';
import { startSentinelSet, type TestSentinelSet } from '../support/redis-sentinel.js';
import { FAULT_TIMEOUT_MS, FaultHarness, WAIT_MS } from './harness.js';

let harness: FaultHarness | undefined;
let sentinels: TestSentinelSet | undefined;

afterEach(async () => {
  await harness?.close();
  await sentinels?.stop();
  harness = undefined;
  sentinels = undefined;
});

const STORAGE_UNAVAILABLE = /cannot reach my storage/;

describe('Redis primary killed under Sentinel', () => {
  it(
    'bot and worker carry on with the promoted replica; every job accepted after the failover is delivered once',
    { timeout: FAULT_TIMEOUT_MS * 2 },
    async ({ annotate }) => {
      const set = (sentinels = await startSentinelSet());
      const h = (harness = await FaultHarness.start());
      // Bot and worker find the primary through the sentinels only (REDIS_URL stays unset).
      const redisEnv = {
        REDIS_URL: '',
        REDIS_SENTINELS: set.sentinels.map((node) => `${node.host}:${node.port}`).join(','),
        REDIS_SENTINEL_NAME: set.name,
      };
      const bot = await h.startBot(redisEnv);
      const worker = h.startWorker({ ...redisEnv, WORKER_CONCURRENCY: '1' });
      h.replicate.delayMs = 800;

      // Mid-run: one job drawing, two waiting, when the primary dies.
      const before = ['a harbour at dawn', 'a desert caravan', 'a glass greenhouse'].map((prompt, i) => h.imagine(prompt, `21000000000000000${i}`));
      for (const interaction of before) expect((await interaction.response()).data.content).toContain('Queued');
      await h.expectation(h.predictionsCreated(1));

      const formerPort = set.primary.port;
      expect(await set.primaryPort()).toBe(formerPort);
      set.primary.process.kill('SIGKILL');
      const promoted = await h.expectation(set.failedOver(formerPort, WAIT_MS));
      expect(promoted).toBe(set.replica.port);

      // Members keep asking; until the bot's connection found the new primary it says, privately,
      // to try again. Each answer is awaited before the next request (a poll, not a timer).
      const accepted: FakeInteraction[] = [];
      const refused: FakeInteraction[] = [];
      const deadline = Date.now() + WAIT_MS;
      let attempt = 0;
      while (accepted.length < 3) {
        if (Date.now() > deadline) throw new Error(`only ${accepted.length} of 3 requests accepted after the failover\n${h.processes.describe()}`);
        const interaction = h.imagine(`after the failover ${attempt}`, `22000000000000000${attempt % 10}`);
        attempt += 1;
        const response = await interaction.response();
        if (/Queued/.test(response.data.content ?? '')) {
          accepted.push(interaction);
        } else {
          expect(response.data.content).toMatch(STORAGE_UNAVAILABLE);
          expect(response.data.flags).toBe(MessageFlags.Ephemeral);
          refused.push(interaction);
          // The pace of a member trying again, not a wait for anything in particular.
          await new Promise((resolve) => setTimeout(resolve, 250));
        }
      }

      for (const interaction of accepted) await h.expectation(h.waitForResult(interaction.id));
      for (const interaction of accepted) {
        expect(h.resultMessages(interaction.id)).toHaveLength(1);
        expect(h.resultUploads(interaction.id)).toHaveLength(1);
      }
      // A request told to try again left nothing behind.
      for (const interaction of refused) expect(h.resultMessages(interaction.id)).toHaveLength(0);
      expect(bot.running).toBe(true);
      expect(worker.running).toBe(true);
      expect(h.discord.validationErrors).toEqual([]);

      // Replication is asynchronous: what the dead primary had not passed on is gone. A job queued
      // before the kill may also come late (its worker lost the lock while no primary answered, and
      // BullMQ hands the job out again within 1.5 × WORKER_LOCK_MS), so it gets a while to arrive.
      await Promise.allSettled(before.map((interaction) => h.waitForResult(interaction.id, 20_000)));
      const promotedRedis = new Redis(promoted, '127.0.0.1', { maxRetriesPerRequest: 1 });
      const outcome: string[] = [];
      try {
        const records = new JobStore(promotedRedis, REDIS_PREFIX);
        for (const [i, interaction] of before.entries()) {
          const posts = h.resultMessages(interaction.id).length;
          const status = (await records.live(interaction.id))?.status;
          const fate =
            posts === 1
              ? 'delivered once'
              : posts > 1
                ? `delivered ${posts} times`
                : status
                  ? `not delivered (its record says ${status})`
                  : 'lost with the primary';
          outcome.push(`job ${i + 1} accepted before the failover: ${fate}`);
        }
      } finally {
        promotedRedis.disconnect();
      }
      const report = [
        `primary on port ${formerPort} killed; replica on port ${promoted} promoted`,
        ...outcome,
        `${refused.length} request(s) told to try again while the bot reconnected; ${accepted.length} accepted after the failover, each delivered once`,
      ].join('\n');
      await annotate(report);
      console.info(`Redis failover report:\n${report}`);
    },
  );
});
