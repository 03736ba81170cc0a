import { Queue } from 'bullmq';
import { afterEach, describe, expect, it } from 'vitest';
import { DELIVER_QUEUE } from '../../src/queues.js';
import { REDIS_PREFIX } from '../../src/runtime.js';
import { pictureArchive } from '../../src/features/pictures/store.js';
import { JobStore } from '../../src/store/jobs.js';
import { eventually } from '../support/context.js';
import { FAULT_TIMEOUT_MS, FaultHarness, WAIT_MS } from './harness.js';

let harness: FaultHarness | undefined;
let deliverQueue: Queue | undefined;

afterEach(async () => {
  await deliverQueue?.close();
  deliverQueue = undefined;
  await harness?.close();
  harness = undefined;
});

describe('the bot killed after a result was recorded and before it was posted', () => {
  it('posts it on restart, once', { timeout: FAULT_TIMEOUT_MS }, async () => {
    const h = (harness = await FaultHarness.start());
    const queue = (deliverQueue = new Queue(DELIVER_QUEUE, { connection: h.redis, prefix: REDIS_PREFIX }));
    // With the archive behind it, as the bot reads records: a delivered one soon leaves Redis.
    const jobs = new JobStore(h.redis, REDIS_PREFIX, pictureArchive(h.database.db, h.discord.applicationId));
    const bot = await h.startBot();
    h.startWorker();

    // Discord fails every upload of the result until the bot is gone: the result stays recorded
    // and unposted, and the delivery waits in BullMQ for its next attempt.
    let discordBroken = true;
    h.discord.failNext({
      method: 'PATCH',
      path: /\/messages\/@original$/,
      status: 500,
      times: Infinity,
      when: (r) => discordBroken && r.files.length > 0,
    });

    const interaction = h.imagine('a red fox in snow');
    await interaction.response();
    await h.expectation(
      eventually(
        async () => {
          const delivery = await queue.getJob(`deliver-${interaction.id}`);
          return delivery && delivery.attemptsMade >= 1 && (await delivery.getState()) === 'delayed';
        },
        WAIT_MS,
        'the first delivery attempt to fail',
      ),
    );
    await bot.kill('SIGKILL');
    discordBroken = false;
    expect((await jobs.get(interaction.id))?.status).toBe('done');
    expect(h.resultMessages(interaction.id)).toEqual([]);

    await h.startBot();
    const result = await h.expectation(h.waitForResult(interaction.id));
    expect(result.id).toBe(interaction.originalMessageId);
    expect(result.content).toContain('a red fox in snow');
    await eventually(async () => (await jobs.get(interaction.id))?.status === 'delivered', WAIT_MS, 'the record to say delivered');
    expect(h.resultMessages(interaction.id)).toHaveLength(1);
    expect(h.resultUploads(interaction.id)).toHaveLength(1);
    expect(h.discord.validationErrors).toEqual([]);
  });
});
