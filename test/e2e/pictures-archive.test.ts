import { ApplicationCommandOptionType, MessageFlags } from 'discord.js';
import { describe, expect, it } from 'vitest';
import { imageStorageKey } from '../../src/features/pictures/store.js';
import { PRIVACY_QUEUE } from '../../src/queues.js';
import { S3ImageStorage } from '../../src/storage/index.js';
import type { FakeInteraction, FakeMessage } from '../support/fake-discord.js';
import { startFakeS3 } from '../support/fake-s3.js';
import { eventually } from '../support/context.js';
import { dropPrefix } from '../support/redis.js';
import { isBullmqKey } from '../support/queues.js';
import { useStack, type Stack } from '../support/stack.js';

const start = useStack();

const BEA = '700000000000000002';
const CY = '700000000000000003';

async function resultOf(s: Stack, interactionId: string): Promise<FakeMessage> {
  return s.discord.waitFor(() => {
    const message = s.discord.messages(s.discord.defaultChannelId).find((m) => m.interactionId === interactionId);
    return message && message.attachments.length > 0 && message.content.startsWith('✅') ? message : undefined;
  }, 30_000);
}

async function imagine(s: Stack, prompt: string, count = 1, userId?: string) {
  const interaction = s.discord.slashCommand({
    name: 'imagine',
    options: [
      { name: 'prompt', type: ApplicationCommandOptionType.String, value: prompt },
      { name: 'count', type: ApplicationCommandOptionType.Integer, value: count },
    ],
    userId,
  });
  return { interaction, result: await resultOf(s, interaction.id) };
}

async function remix(s: Stack, jobId: string, parent: FakeMessage, userId: string, image = '1') {
  const open = await s.discord.button({ customId: `img:remix:${jobId}`, message: parent, userId }).response();
  const submit = s.discord.modalSubmit({
    customId: open.data.custom_id,
    fields: { prompt: 'blue fox in snow', strength: '0.5', ...(image ? { image } : {}) },
    message: parent,
    userId,
  });
  return { interaction: submit, result: await resultOf(s, submit.id) };
}

async function expectPrivateError(interaction: FakeInteraction, pattern: RegExp) {
  const response = await interaction.response();
  expect(response.data.flags, JSON.stringify(response.data)).toBe(MessageFlags.Ephemeral);
  expect(response.data.content).toMatch(pattern);
}

/** Every key under the test's prefix (the test owns it; nothing else writes there). */
async function keysOf(s: Stack): Promise<string[]> {
  const keys: string[] = [];
  let cursor = '0';
  do {
    const [next, page] = await s.redis.scan(cursor, 'MATCH', `${s.prefix}:*`, 'COUNT', 1000);
    cursor = next;
    keys.push(...page);
  } while (cursor !== '0');
  return keys.sort();
}

/** Live job records are gone once their jobs settled. */
const noLiveRecords = async (s: Stack) => (await keysOf(s)).every((key) => !/:job:\d+$/.test(key));

const messageLink = (s: Stack, message: FakeMessage) =>
  `https://discord.com/channels/${s.discord.defaultGuildId}/${s.discord.defaultChannelId}/${message.id}`;

describe('pictures and families outlive Redis', () => {
  it('after every Redis key is gone and the bot restarts, /lineage, 🌳 Family and the buttons on old results work', async () => {
    const s = await start();
    const { interaction: first, result: parent } = await imagine(s, 'red fox in snow', 2);
    const { interaction: child, result: childResult } = await remix(s, first.id, parent, BEA, '2');
    const { interaction: doomed, result: doomedResult } = await imagine(s, 'a picture to delete');
    await s.discord.button({ customId: `img:delete:${doomed.id}`, message: doomedResult }).response();
    await eventually(async () => (await s.ctx.images.getRecord(`${doomed.id}-1`))?.deletedAt, 10_000, 'the tombstone');
    await eventually(() => noLiveRecords(s), 15_000, 'the live records to settle');

    // Everything Redis held is gone (like FLUSHALL, limited to this test's keys), then a restart.
    await dropPrefix(s.redis, s.prefix);
    expect(await keysOf(s)).toEqual([]);
    await s.restartBot();

    // /lineage with a link to the old message: the whole family, with its remix.
    const lineage = s.discord.slashCommand({ name: 'lineage', options: { image: messageLink(s, parent) } });
    await lineage.response();
    const shared = await s.discord.waitFor(() => (lineage.original()?.attachments.length ? lineage.original() : undefined));
    expect(shared.content).toContain('2 pictures');
    expect(shared.content).toContain(messageLink(s, childResult));
    expect(shared.allowedMentions).toEqual({ parse: [] });

    // 🌳 Family on the remix's old message, privately.
    const family = s.discord.button({ customId: `img:family:${child.id}`, message: childResult, userId: CY });
    await family.response();
    const tree = await s.discord.waitFor(() => (family.original()?.attachments.length ? family.original() : undefined));
    expect(tree.ephemeral).toBe(true);
    expect(tree.content).toContain('2 pictures');
    expect(tree.content).toContain(messageLink(s, parent));

    // U1, V1 and Reroll on the first old message make new pictures from the stored bytes.
    const upscale = s.discord.button({ customId: `gen:upscale:${first.id}:1`, message: parent });
    expect((await upscale.response()).data.content).toMatch(/Queued/);
    expect((await resultOf(s, upscale.id)).content).toContain('Upscale');
    const vary = s.discord.button({ customId: `gen:vary:${first.id}:1`, message: parent });
    await vary.response();
    await resultOf(s, vary.id);
    expect((await s.ctx.images.getRecord(`${vary.id}-1`))?.parentId).toBe(`${first.id}-1`);
    const reroll = s.discord.button({ customId: `gen:reroll:${first.id}`, message: parent });
    await reroll.response();
    expect((await resultOf(s, reroll.id)).content).toContain('red fox in snow');

    // Remix from the old message, and a cancel of a finished picture says so.
    const again = await remix(s, first.id, parent, CY, '1');
    expect((await s.ctx.images.getRecord(`${again.interaction.id}-1`))?.parentId).toBe(`${first.id}-1`);
    await expectPrivateError(s.discord.button({ customId: `gen:cancel:${first.id}`, message: parent }), /already finished/);

    // 🗑 on the remix's old message: a tombstone that the family keeps, and the bytes are gone.
    const remove = s.discord.button({ customId: `img:delete:${child.id}`, message: childResult, userId: BEA });
    await remove.response();
    await eventually(async () => (await s.ctx.images.getRecord(`${child.id}-1`))?.deletedAt, 10_000, 'the remix tombstone');
    expect(await s.ctx.images.readFile(`${child.id}-1`)).toBeUndefined();
    const after = s.discord.slashCommand({ name: 'lineage', options: { image: `${first.id}-1` } });
    await after.response();
    const trimmed = await s.discord.waitFor(() => (after.original()?.content.includes('Family tree') ? after.original() : undefined));
    expect(trimmed.content).toContain('🪦 deleted picture');
    // The picture deleted before the wipe is still a tombstone, and its buttons say so.
    await expectPrivateError(s.discord.button({ customId: `img:delete:${doomed.id}`, message: doomedResult }), /already deleted|no longer/);
  }, 180_000);

  it('after a workload, every key left in Redis has a TTL or belongs to BullMQ', async () => {
    const s = await start();
    const { interaction: first, result } = await imagine(s, 'a lighthouse', 2);
    await s.discord.button({ customId: `img:vote:${first.id}`, message: result, userId: BEA }).response();
    const { interaction: child } = await remix(s, first.id, result, CY, '1');
    const upscale = s.discord.button({ customId: `gen:upscale:${first.id}:2`, message: result });
    await upscale.response();
    const upscaled = await resultOf(s, upscale.id);
    await s.discord.button({ customId: `img:delete:${upscale.id}`, message: upscaled }).response();
    await eventually(async () => (await s.ctx.images.getRecord(`${upscale.id}-1`))?.deletedAt, 10_000, 'the tombstone');
    await eventually(() => noLiveRecords(s), 15_000, 'the live records to settle');
    expect(await s.ctx.images.getRecord(`${child.id}-1`)).toBeDefined();

    const withoutTtl: string[] = [];
    for (const key of await keysOf(s)) {
      if (isBullmqKey(s.prefix, key)) continue;
      if ((await s.redis.ttl(key)) === -1) withoutTtl.push(key);
    }
    expect(withoutTtl).toEqual([]);
    // No image bytes are left in Redis once delivered.
    expect((await keysOf(s)).filter((key) => key.includes(':blob:'))).toEqual([]);
  }, 60_000);

  it('/privacy delete-my-data answers at once, runs as a job, reports privately, and deletes bytes and messages', async () => {
    const s = await start();
    const { interaction: mine, result } = await imagine(s, 'my secret prompt', 1, BEA);
    const { interaction: theirs } = await imagine(s, 'someone else', 1, CY);
    const remixed = await remix(s, mine.id, result, CY, '');
    await eventually(() => noLiveRecords(s), 15_000, 'the live records to settle');
    expect(await s.ctx.images.readFile(`${mine.id}-1`)).toBeDefined();

    const command = s.discord.slashCommand({
      name: 'privacy',
      options: [{ name: 'delete-my-data', type: ApplicationCommandOptionType.Subcommand }],
      userId: BEA,
    });
    expect((await command.response()).data.flags).toBe(MessageFlags.Ephemeral);
    const confirm = s.discord.button({ customId: 'privacy:delete-my-data', message: command.original()!, userId: BEA });
    const answer = await confirm.response();
    expect(answer.data.content).toMatch(/Deleting your data/);
    const report = await s.discord.waitFor(() => confirm.followUps().find((m) => m.content.includes('Your data is deleted')), 20_000);
    expect(report.ephemeral).toBe(true);
    expect(report.content).toMatch(/pictures deleted: 1/);
    expect(command.original()!.content).toMatch(/^🗑 Done\. .*pictures deleted: 1/);

    expect(s.discord.message(result.id)).toBeUndefined();
    expect(await s.ctx.images.readFile(`${mine.id}-1`)).toBeUndefined();
    const tombstone = await s.ctx.images.getRecord(`${mine.id}-1`);
    expect(tombstone).toMatchObject({ userId: 'deleted', prompt: '' });
    expect(JSON.stringify(await s.ctx.db.selectFrom('requests').selectAll().where('id', '=', mine.id).execute())).not.toContain('my secret prompt');
    expect(await s.ctx.lineage.names([BEA])).toEqual(new Map());
    // Others' pictures and the remix made from hers stay, still in the family.
    expect(await s.ctx.images.readFile(`${theirs.id}-1`)).toBeDefined();
    expect((await s.ctx.images.getRecord(`${remixed.interaction.id}-1`))?.parentId).toBe(`${mine.id}-1`);
    // The job is gone from Redis with the interaction token it carried.
    await eventually(async () => (await keysOf(s)).every((key) => !key.includes(`:${PRIVACY_QUEUE}:privacy-${BEA}`)), 10_000, 'the job to go');
  });
});

describe('pictures on S3-compatible storage', () => {
  it('the worker writes results to the bucket, Redis carries no bytes, and 🗑 removes the objects', async () => {
    const s3 = await startFakeS3();
    try {
      const storage = () =>
        new S3ImageStorage({
          bucket: 'atelier',
          endpoint: s3.url,
          region: s3.region,
          credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
          forcePathStyle: true,
        });
      const s = await start({ bot: { imageStorage: storage() }, worker: { imageStorage: storage() } });
      const { interaction, result } = await imagine(s, 'a fox in a bucket', 2);
      const keys = [1, 2].map((n) => imageStorageKey(`${interaction.id}-${n}`));
      for (const key of keys) expect(s3.objects('atelier').has(key)).toBe(true);
      // The bytes went straight to the bucket: no transfer blob was ever written.
      expect((await keysOf(s)).filter((key) => key.includes(':blob:'))).toEqual([]);
      expect(s3.requests.some((request) => request.method === 'PUT' && request.path === `/atelier/${keys[0]}`)).toBe(true);

      // U1 reads the source from the bucket.
      const upscale = s.discord.button({ customId: `gen:upscale:${interaction.id}:1`, message: result });
      await upscale.response();
      await resultOf(s, upscale.id);
      expect(s3.objects('atelier').has(imageStorageKey(`${upscale.id}-1`))).toBe(true);

      await s.discord.button({ customId: `img:delete:${interaction.id}`, message: result }).response();
      await eventually(() => keys.every((key) => !s3.objects('atelier').has(key)), 10_000, 'the objects to go');
      expect((await s.ctx.images.getRecord(`${interaction.id}-1`))?.deletedAt).toBeGreaterThan(0);
      expect(s3.objects('atelier').has(imageStorageKey(`${upscale.id}-1`))).toBe(true);
    } finally {
      await s3.close();
    }
  });
});
