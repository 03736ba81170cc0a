import { MessageFlags } from 'discord.js';
import pg from 'pg';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { twoServers, type FakeInteraction, type FakeMessage } from '../support/fake-discord.js';
import { useStack, type Stack } from '../support/stack.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const start = useStack();

const BEA = '720000000000000002';
const CY = '720000000000000003';

const solid = (width: number, height: number, background: string) =>
  sharp({ create: { width, height, channels: 3, background } })
    .png()
    .toBuffer();

/** Waits until an interaction's message shows a finished result. */
async function resultOf(s: Stack, interactionId: string, channelId = s.discord.defaultChannelId): Promise<FakeMessage> {
  return s.discord.waitFor(() => {
    const message = s.discord.messages(channelId).find((m) => m.interactionId === interactionId);
    return message && message.attachments.length > 0 && message.content.startsWith('✅') ? message : undefined;
  }, 20_000);
}

async function expectPrivateError(interaction: FakeInteraction, pattern: RegExp) {
  const response = await interaction.response();
  expect(response.data.flags, JSON.stringify(response.data)).toBe(MessageFlags.Ephemeral);
  expect(response.data.content).toMatch(pattern);
}

const linkTo = (message: FakeMessage) => `https://discord.com/channels/${message.guildId}/${message.channelId}/${message.id}`;

async function meanColour(png: Buffer): Promise<{ r: number; g: number; b: number }> {
  const { channels } = await sharp(png).stats();
  return { r: channels[0]!.mean, g: channels[1]!.mean, b: channels[2]!.mean };
}

/** Nothing was queued or recorded. */
async function expectNothingQueued(s: Stack) {
  const counts = await s.ctx.generateQueue.getJobCounts('waiting', 'active', 'prioritized', 'delayed', 'completed');
  expect(
    Object.values(counts).every((n) => n === 0),
    JSON.stringify(counts),
  ).toBe(true);
  const requests = await s.ctx.db.selectFrom('requests').select('id').execute();
  const parents = await s.ctx.db.selectFrom('blend_parents').select('request_id').execute();
  const uploads = await s.ctx.db.selectFrom('images').select('id').where('kind', '=', 'upload').execute();
  expect({ requests, parents, uploads }).toEqual({ requests: [], parents: [], uploads: [] });
}

describe('/blend end to end (real client, fake Discord, offline provider)', () => {
  it('mixes attached files and a linked picture into one, and the family records every parent', async () => {
    const s = await start();
    // An Atelier picture to link to.
    const imagine = s.discord.slashCommand({ name: 'imagine', userId: CY, options: { prompt: 'deep ocean blue', seed: 3 } });
    const original = await resultOf(s, imagine.id);
    const red = s.discord.createAttachment({ filename: 'red.png', data: await solid(300, 200, '#ff0000'), contentType: 'image/png' });
    const posted = s.discord.createUserMessage({
      authorId: BEA,
      content: 'my blue',
      attachments: [{ filename: 'blue.png', data: await solid(200, 200, '#0000ff'), contentType: 'image/png' }],
    });

    const blend = s.discord.slashCommand({
      name: 'blend',
      userId: BEA,
      options: { images: `${linkTo(posted)} ${linkTo(original)}`, file1: red.id, aspect: '16:9' },
    });
    expect((await blend.response()).data.content).toMatch(/Queued/);
    const result = await resultOf(s, blend.id);
    expect(result.content).toContain('🧪 blend of 3 pictures: [1](');
    expect(result.content).toContain(linkTo(original));
    expect(result.content).toMatch(/🎨 style `[0-9a-f]{10}`/);
    expect(result.allowedMentions).toEqual({ parse: [] });
    expect(result.attachments).toHaveLength(1);
    const picture = result.attachments[0]!.data;
    expect(await sharp(picture).metadata()).toMatchObject({ width: 1344, height: 768 });
    // Half the picture is the three sources averaged: red and blue each carry a third of it.
    const mean = await meanColour(picture);
    expect(mean.r).toBeGreaterThan(35);
    expect(mean.b).toBeGreaterThan(35);

    const blue = `upload-${posted.attachments[0]!.id}`;
    const redId = `upload-${red.id}`;
    const parents = await s.ctx.db
      .selectFrom('blend_parents')
      .select(['position', 'image_id'])
      .where('request_id', '=', blend.id)
      .orderBy('position')
      .execute();
    expect(parents.map((p) => p.image_id)).toEqual([blue, `${imagine.id}-1`, redId]);
    expect(await s.ctx.images.getRecord(`${blend.id}-1`)).toMatchObject({ parentId: blue, userId: BEA });
    expect(await s.ctx.images.getRecord(blue)).toMatchObject({ kind: 'upload', userId: BEA, messageId: posted.id });
    expect(await s.ctx.images.getRecord(redId)).toMatchObject({ kind: 'upload', userId: BEA });

    // 🌳 Family on the blend names all three parents.
    const family = s.discord.button({ customId: `img:family:${blend.id}`, message: result, userId: CY });
    const tree = await s.discord.waitFor(() => {
      const reply = family.original();
      return reply && reply.content.includes('Family tree') ? reply : undefined;
    });
    expect(tree.content).toMatch(/🧪 <@720000000000000002>.* · blend of \[1\]\(.*\) \+ \[2\]\(.*\) \+ 3/);
    // The linked picture (a later parent) has the blend below it in its own family.
    const lineage = s.discord.slashCommand({ name: 'lineage', userId: CY, options: { image: `${imagine.id}-1` } });
    const theirs = await s.discord.waitFor(() => {
      const reply = lineage.original();
      return reply && reply.content.includes('Family tree') ? reply : undefined;
    });
    expect(theirs.content).toContain('2 pictures');
    expect(theirs.content).toContain('blend of');

    // 🔁 Reroll blends the same three pictures again, with a new seed.
    const reroll = s.discord.button({ customId: `gen:reroll:${blend.id}`, message: result, userId: CY });
    const rerolled = await resultOf(s, reroll.id);
    expect(rerolled.content).toContain('🧪 blend of 3 pictures');
    const again = await s.ctx.db.selectFrom('blend_parents').select('image_id').where('request_id', '=', reroll.id).orderBy('position').execute();
    expect(again.map((p) => p.image_id)).toEqual(parents.map((p) => p.image_id));
  });

  it('refuses 1 or 6 pictures, other servers’ links, unknown links, non-images and huge pictures, changing nothing', async () => {
    const s = await start({ discord: { guilds: twoServers() } });
    const [home, other] = s.discord.guilds;
    const general = home!.channels[0]!.id;
    const png = await solid(64, 64, '#22aa44');
    const file = () => s.discord.createAttachment({ filename: 'a.png', data: png, contentType: 'image/png' }).id;
    const blend = (options: Record<string, string>) => s.discord.slashCommand({ name: 'blend', channelId: general, userId: BEA, options });

    await expectPrivateError(blend({ file1: file() }), /2 to 5 pictures .* you gave 1/);
    const six = Array.from({ length: 6 }, () =>
      s.discord.createUserMessage({ channelId: general, authorId: BEA, attachments: [{ filename: 'p.png', data: png, contentType: 'image/png' }] }),
    );
    await expectPrivateError(blend({ images: six.map(linkTo).join(' ') }), /you gave 6/);

    // Another server's picture, and a forged link that claims this server: the same answer as an unknown one.
    const theirs = s.discord.createUserMessage({
      channelId: other!.channels[0]!.id,
      attachments: [{ filename: 'x.png', data: png, contentType: 'image/png' }],
    });
    const forged = `https://discord.com/channels/${home!.id}/${theirs.channelId}/${theirs.id}`;
    const unknown = `https://discord.com/channels/${home!.id}/${general}/799999999999999999`;
    for (const link of [linkTo(theirs), forged, unknown]) {
      await expectPrivateError(blend({ images: link, file1: file() }), /I do not know that picture/);
    }
    await expectPrivateError(blend({ images: 'not-a-link', file1: file() }), /not a message link/);

    const text = s.discord.createAttachment({ filename: 'notes.txt', data: Buffer.from('hello'), contentType: 'text/plain' });
    await expectPrivateError(blend({ file1: text.id, file2: file() }), /not a PNG, JPEG, WebP or GIF/);
    const disguised = s.discord.createAttachment({ filename: 'fake.png', data: Buffer.from('definitely not a png'), contentType: 'image/png' });
    await expectPrivateError(blend({ file1: disguised.id, file2: file() }), /not a PNG, JPEG, WebP or GIF image I can read/);
    const huge = s.discord.createAttachment({ filename: 'huge.png', data: await solid(5000, 4000, '#000000'), contentType: 'image/png' });
    await expectPrivateError(blend({ file1: huge.id, file2: file() }), /5000×4000; I work from pictures of up to 4096×4096/);

    await expectNothingQueued(s);
  });

  it('works with a worker whose image folder is not the bot’s: the pictures travel through Redis and are cleared after', async () => {
    const own = mkdtempSync(join(tmpdir(), 'atelier-worker-'));
    try {
      const s = await start({ worker: { imageStoreDir: own, transferBlobs: true } });
      const files = await Promise.all(
        ['#ff0000', '#0000ff'].map(async (c, i) =>
          s.discord.createAttachment({ filename: `${i}.png`, data: await solid(80, 80, c), contentType: 'image/png' }),
        ),
      );
      const blend = s.discord.slashCommand({ name: 'blend', userId: BEA, options: { file1: files[0]!.id, file2: files[1]!.id } });
      const blended = await resultOf(s, blend.id);
      expect(blended.content).toContain('🧪 blend of 2 pictures');
      const code = /🎨 style `([0-9a-f]{10})`/.exec(blended.content)![1]!;
      const styled = s.discord.slashCommand({ name: 'imagine', userId: CY, options: { prompt: `a harbour --sref ${code}` } });
      expect((await resultOf(s, styled.id)).content).toContain('🎨 style from');
      expect(await s.redis.keys(`${s.prefix}:blob:ref-*`)).toEqual([]);
    } finally {
      rmSync(own, { recursive: true, force: true });
    }
  });
  it('takes a result linked the moment it is posted, before the archive knows its message, as Atelier’s picture; a file merely named like one stays an upload', async () => {
    const s = await start();
    const imagine = s.discord.slashCommand({ name: 'imagine', userId: CY, options: { prompt: 'a red kite', seed: 5 } });
    expect((await imagine.response()).data.content).toMatch(/Queued/);
    // Holds the archive's delivery statement (it locks the request's row) until the end: the
    // result is on Discord, and the archive does not say yet which message it is in.
    const hold = new pg.Client({ connectionString: s.database.url });
    await hold.connect();
    let blendId: string;
    try {
      await hold.query('BEGIN');
      await hold.query('SELECT id FROM requests WHERE id = $1 FOR NO KEY UPDATE', [imagine.id]);
      const original = await resultOf(s, imagine.id);
      const row = await s.ctx.db.selectFrom('images').select('message_id').where('id', '=', `${imagine.id}-1`).executeTakeFirstOrThrow();
      expect(row.message_id).toBeNull();

      // A member's message with a file named like a result is still the member's picture.
      const spoof = s.discord.createUserMessage({
        authorId: BEA,
        content: 'not really yours',
        attachments: [{ filename: `atelier-${imagine.id}-1.png`, data: await solid(200, 200, '#00ff00'), contentType: 'image/png' }],
      });
      const blend = s.discord.slashCommand({ name: 'blend', userId: BEA, options: { images: `${linkTo(original)} ${linkTo(spoof)}` } });
      blendId = blend.id;
      expect((await blend.response()).data.content).toMatch(/Queued/);
      const parents = await s.ctx.db.selectFrom('blend_parents').select('image_id').where('request_id', '=', blend.id).orderBy('position').execute();
      expect(parents.map((p) => p.image_id)).toEqual([`${imagine.id}-1`, `upload-${spoof.attachments[0]!.id}`]);
      expect(await s.ctx.images.getRecord(`upload-${spoof.attachments[0]!.id}`)).toMatchObject({ kind: 'upload', userId: BEA });

      // "Remix this image" on it remixes the picture itself, not an upload of it.
      const modal = await s.discord.messageContextMenu({ name: 'Remix this image', targetMessage: original, userId: BEA }).response();
      expect(modal.data.custom_id).toBe(`img:remiximage:${imagine.id}-1`);
      // On the member's look-alike it is their upload (recorded by the blend).
      const spoofModal = await s.discord.messageContextMenu({ name: 'Remix this image', targetMessage: spoof, userId: CY }).response();
      expect(spoofModal.data.custom_id).toBe(`img:remiximage:upload-${spoof.attachments[0]!.id}`);
      expect(await s.ctx.images.getRecord(`upload-${original.attachments[0]!.id}`)).toBeUndefined();
    } finally {
      await hold.query('COMMIT').catch(() => undefined);
      await hold.end();
    }
    // Let go, the archive fills in the message and the blend is delivered.
    await resultOf(s, blendId);
    const messageOf = async (imageId: string) =>
      (await s.ctx.db.selectFrom('images').select('message_id').where('id', '=', imageId).executeTakeFirst())?.message_id;
    await expect.poll(() => messageOf(`${imagine.id}-1`), { timeout: 10_000 }).toBe((await resultOf(s, imagine.id)).id);
  });
});
