import { ApplicationCommandOptionType, ComponentType, InteractionResponseType, MessageFlags } from 'discord.js';
import { readdirSync } from 'node:fs';
import pg from 'pg';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import type { FakeInteraction, FakeMessage } from '../support/fake-discord.js';
import { Thumbnails } from '../../src/features/gallery/thumbnails.js';
import { imageStorageKey, thumbnailKey } from '../../src/features/pictures/store.js';
import { FsImageStorage } from '../../src/storage/index.js';
import { eventually } from '../support/context.js';
import { ScriptedProvider } from '../support/scripted-provider.js';
import { useStack, type Stack } from '../support/stack.js';

const start = useStack();

const BEA = '700000000000000002';
const CY = '700000000000000003';

type Row = { components?: Array<{ type: number; label?: string; custom_id?: string }> };

function buttons(message: { components?: unknown[] }) {
  return (message.components ?? []).flatMap((row) => ((row as Row).components ?? []).filter((c) => c.type === ComponentType.Button));
}

const voteLabel = (message: { components?: unknown[] }) => buttons(message).find((b) => b.custom_id?.startsWith('img:vote:'))?.label;

/** Waits until an interaction's message shows a finished result. */
async function resultOf(s: Stack, interactionId: string): Promise<FakeMessage> {
  return s.discord.waitFor(() => {
    const message = s.discord.messages(s.discord.defaultChannelId).find((m) => m.interactionId === interactionId);
    return message && message.attachments.length > 0 && message.content.startsWith('✅') ? message : undefined;
  }, 20_000);
}

async function imagine(s: Stack, prompt: string, count = 1) {
  const interaction = s.discord.slashCommand({
    name: 'imagine',
    options: [
      { name: 'prompt', type: ApplicationCommandOptionType.String, value: prompt },
      { name: 'count', type: ApplicationCommandOptionType.Integer, value: count },
    ],
  });
  return { interaction, result: await resultOf(s, interaction.id) };
}

async function expectPrivateError(interaction: FakeInteraction, pattern: RegExp) {
  const response = await interaction.response();
  expect(response.data.flags, JSON.stringify(response.data)).toBe(MessageFlags.Ephemeral);
  expect(response.data.content).toMatch(pattern);
}

describe('votes, remixes and lineage end to end', () => {
  it('puts Vote, Remix, Family and Delete on results, within Discord’s row limits', async () => {
    const s = await start();
    const { interaction: four, result: grid } = await imagine(s, 'four foxes', 4);
    const rows = grid.components as Row[];
    expect(rows.length).toBeLessThanOrEqual(5);
    expect(rows[2]!.components!.map((c) => c.label)).toEqual(['🔁 Reroll', '👍 0 Vote', '🔀 Remix', '🌳 Family', '🗑']);
    expect(rows[2]!.components!.map((c) => c.custom_id)).toContain(`img:vote:${four.id}`);

    const { result: single } = await imagine(s, 'one fox');
    const singleRows = single.components as Row[];
    expect(singleRows[0]!.components!.map((c) => c.label)).toEqual(['🔁 Reroll', '⤴ Upscale', '🎲 Vary']);
    expect(singleRows[1]!.components!.map((c) => c.label)).toEqual(['👍 0 Vote', '🔀 Remix', '🌳 Family', '🗑']);
    for (const row of [...rows, ...singleRows]) expect(row.components!.length).toBeLessThanOrEqual(5);
  });

  it('counts a vote in the message it was clicked on, refuses self-votes unless the server allows them', async () => {
    const s = await start();
    const { interaction, result } = await imagine(s, 'a lighthouse');
    const customId = `img:vote:${interaction.id}`;
    const label = () => voteLabel(s.discord.message(result.id)!);

    const click = s.discord.button({ customId, message: result, userId: BEA });
    expect((await click.response()).type).toBe(InteractionResponseType.DeferredMessageUpdate);
    await s.discord.waitFor(() => label() === '👍 1 Vote');
    // The rest of the message is untouched: same text, same pictures.
    expect(s.discord.message(result.id)!.content).toBe(result.content);
    expect(s.discord.message(result.id)!.attachments).toHaveLength(1);

    await s.discord.button({ customId, message: result, userId: CY }).response();
    await s.discord.waitFor(() => label() === '👍 2 Vote');

    // A double click (two clicks of one member at once) is one vote.
    const double = [0, 1].map(() => s.discord.button({ customId, message: result, userId: '700000000000000004' }));
    await Promise.all(double.map((click) => click.response()));
    expect(await s.ctx.votes.count(interaction.id)).toBe(3);
    await s.discord.waitFor(() => label() === '👍 3 Vote');
    await expectPrivateError(s.discord.button({ customId, message: result }), /own pictures/);
    expect(await s.ctx.votes.count(interaction.id)).toBe(3);

    await s.ctx.settings.update(s.discord.defaultGuildId, { allowSelfVote: true });
    await s.discord.button({ customId, message: result }).response();
    await s.discord.waitFor(() => label() === '👍 4 Vote');
  });

  it('ends on the stored count after 20 simultaneous clicks and one more, with fewer edits than clicks', async () => {
    const s = await start();
    const { interaction, result } = await imagine(s, 'a crowd favourite');
    const customId = `img:vote:${interaction.id}`;
    const editsBefore = s.discord.message(result.id)!.edits;
    const voter = (i: number) => `7100000000000000${String(i).padStart(2, '0')}`;

    const burst = Array.from({ length: 20 }, (_, i) => s.discord.button({ customId, message: result, userId: voter(i) }));
    const answers = await Promise.all(burst.map((click) => click.response()));
    expect(answers.every((answer) => answer.type === InteractionResponseType.DeferredMessageUpdate)).toBe(true);
    await s.discord.button({ customId, message: result, userId: voter(20) }).response();
    // Every click counts (one still waiting its turn 1.5 s after it was made is answered first, then counted).
    await eventually(async () => (await s.ctx.votes.count(interaction.id)) === 21, 10_000, 'every vote to be counted');
    await s.discord.waitFor(() => voteLabel(s.discord.message(result.id)!) === '👍 21 Vote');

    // Quiet: no redraw is under way or owed, so nothing can change the label any more.
    const redrawKeys = [`${s.prefix}:votes:${interaction.id}:redraw`, `${s.prefix}:lock:vote-redraw:${interaction.id}`];
    await eventually(async () => (await s.redis.exists(...redrawKeys)) === 0, 10_000, 'the redraws to settle');
    expect(voteLabel(s.discord.message(result.id)!)).toBe('👍 21 Vote');
    expect(s.discord.message(result.id)!.edits - editsBefore).toBeGreaterThan(0);
    expect(s.discord.message(result.id)!.edits - editsBefore).toBeLessThan(21);
  });

  it('answers a click whose vote waits its turn past 1.5 s at once, then counts it and redraws the label', async () => {
    const s = await start();
    const { interaction, result } = await imagine(s, 'a queue of voters');
    // Holds the result's row as a long burst of clicks on it would: the vote waits its turn.
    const hold = new pg.Client({ connectionString: s.database.url });
    await hold.connect();
    try {
      await hold.query('BEGIN');
      await hold.query('SELECT id FROM requests WHERE id = $1 FOR NO KEY UPDATE', [interaction.id]);
      const click = s.discord.button({ customId: `img:vote:${interaction.id}`, message: result, userId: BEA });
      // Answered although the vote is not counted yet (the fake Discord, as Discord, takes a first
      // answer only within 3 s of the click): the member sees no failed click.
      expect((await click.response()).type).toBe(InteractionResponseType.DeferredMessageUpdate);
      expect(await s.ctx.votes.count(interaction.id)).toBe(0);
    } finally {
      await hold.query('COMMIT').catch(() => undefined);
      await hold.end();
    }
    await s.discord.waitFor(() => voteLabel(s.discord.message(result.id)!) === '👍 1 Vote');
    expect(await s.ctx.votes.count(interaction.id)).toBe(1);
  });

  it('counts a vote, and serves Remix, Family, V1 and Vary, clicked the moment a result is posted, before the bot has heard back from Discord', async () => {
    const s = await start();
    const other = await imagine(s, 'an earlier picture');
    // The result is posted, but Discord's answer to the post is held: the bot has not recorded yet
    // which message the result is in.
    const held = s.discord.holdNextAnswer({ method: 'PATCH', path: /\/messages\/@original$/, when: (request) => request.files.length > 0 });
    const interaction = s.discord.slashCommand({ name: 'imagine', options: { prompt: 'a quick vote' } });
    let result: FakeMessage;
    let variations: string[];
    try {
      await held.reached;
      result = await resultOf(s, interaction.id);
      const click = s.discord.button({ customId: `img:vote:${interaction.id}`, message: result, userId: BEA });
      expect((await click.response()).type).toBe(InteractionResponseType.DeferredMessageUpdate);
      expect(await s.ctx.votes.count(interaction.id)).toBe(1);
      // Its vote button replayed on another result's message is still refused.
      await expectPrivateError(
        s.discord.button({ customId: `img:vote:${interaction.id}`, message: other.result, userId: CY }),
        /no longer know that picture|does not belong to this message/,
      );
      expect(await s.ctx.votes.count(interaction.id)).toBe(1);
      // Its other buttons work in that moment too.
      const remix = await s.discord.button({ customId: `img:remix:${interaction.id}`, message: result, userId: CY }).response();
      expect(remix.type).toBe(InteractionResponseType.Modal);
      expect(remix.data.custom_id).toBe(`img:remixjob:${interaction.id}`);
      const family = s.discord.button({ customId: `img:family:${interaction.id}`, message: result, userId: CY });
      await family.response();
      const tree = await s.discord.waitFor(() => (family.original()?.attachments.length ? family.original() : undefined));
      expect(tree.ephemeral).toBe(true);
      expect(tree.attachments[0]!.filename).toBe('family.png');
      // So do the generation and edit controls: a variation from V1, and Vary (Subtle).
      const vary = s.discord.button({ customId: `gen:vary:${interaction.id}:1`, message: result, userId: CY });
      expect((await vary.response()).data.content).toMatch(/Queued/);
      const subtle = s.discord.button({ customId: `edit:subtle:${interaction.id}`, message: result, userId: CY });
      expect((await subtle.response()).data.content).toMatch(/Queued/);
      variations = [vary.id, subtle.id];
    } finally {
      held.release();
    }
    await s.discord.waitFor(() => voteLabel(s.discord.message(result.id)!) === '👍 1 Vote');
    await eventually(async () => (await s.ctx.votes.request(interaction.id))?.status === 'delivered', 10_000, 'the delivery to be archived');
    expect(await s.ctx.votes.count(interaction.id)).toBe(1);
    for (const id of variations) {
      await resultOf(s, id);
      expect((await s.ctx.images.getRecord(`${id}-1`))?.parentId).toBe(`${interaction.id}-1`);
    }
  });

  it('takes a link to a result posted a moment ago in /lineage and --sref; a member’s file named like it is not taken for it', async () => {
    const s = await start();
    const linkTo = (message: FakeMessage) => `https://discord.com/channels/${message.guildId}/${message.channelId}/${message.id}`;
    const held = s.discord.holdNextAnswer({ method: 'PATCH', path: /\/messages\/@original$/, when: (request) => request.files.length > 0 });
    const interaction = s.discord.slashCommand({ name: 'imagine', options: { prompt: 'a kite over dunes' } });
    try {
      await held.reached;
      const result = await resultOf(s, interaction.id);
      expect(await s.ctx.lineage.imagesOfMessage(result.id)).toEqual([]);

      const lineage = s.discord.slashCommand({ name: 'lineage', userId: BEA, options: { image: linkTo(result) } });
      await lineage.response();
      const tree = await s.discord.waitFor(() => (lineage.original()?.attachments.length ? lineage.original() : undefined));
      expect(tree.content).toMatch(/Family tree\*\* · 1 picture/);
      const styled = s.discord.slashCommand({ name: 'imagine', userId: BEA, options: { prompt: `a harbour --sref ${linkTo(result)}` } });
      expect((await styled.response()).data.content).toMatch(/Queued/);
      const borrowed = () => s.ctx.db.selectFrom('style_borrows').select('style_image_id').where('request_id', '=', styled.id).executeTakeFirst();
      await expect.poll(borrowed, { timeout: 10_000 }).toEqual({ style_image_id: `${interaction.id}-1` });

      // The same file name on a member's message names nothing of Atelier's.
      const spoof = s.discord.createUserMessage({
        authorId: CY,
        content: 'mine, really',
        attachments: [
          {
            filename: `atelier-${interaction.id}-1.png`,
            contentType: 'image/png',
            data: await sharp({ create: { width: 8, height: 8, channels: 3, background: '#0f0' } })
              .png()
              .toBuffer(),
          },
        ],
      });
      await expectPrivateError(
        s.discord.slashCommand({ name: 'lineage', userId: CY, options: { image: linkTo(spoof) } }),
        /do not know that picture/,
      );
      await expectPrivateError(
        s.discord.slashCommand({ name: 'imagine', userId: CY, options: { prompt: `a harbour --sref ${linkTo(spoof)}` } }),
        /link to an Atelier picture of this server/,
      );
      // Nor is the result's link, pointed at from another server.
      await expectPrivateError(
        s.discord.slashCommand({ name: 'lineage', userId: CY, options: { image: linkTo({ ...result, guildId: '123456789012345678' }) } }),
        /do not know that picture/,
      );
    } finally {
      held.release();
    }
  });

  it('deletes a result clicked the moment it is posted, and the delivery that follows leaves it deleted', async () => {
    const s = await start();
    const held = s.discord.holdNextAnswer({ method: 'PATCH', path: /\/messages\/@original$/, when: (request) => request.files.length > 0 });
    const interaction = s.discord.slashCommand({ name: 'imagine', options: { prompt: 'a picture regretted at once' } });
    const imageId = `${interaction.id}-1`;
    let result: FakeMessage;
    try {
      await held.reached;
      result = await resultOf(s, interaction.id);
      // Another member's click is refused, as it would be a moment later.
      await expectPrivateError(s.discord.button({ customId: `img:delete:${interaction.id}`, message: result, userId: BEA }), /Only the person/);
      expect((await s.ctx.images.getRecord(imageId))?.deletedAt).toBeUndefined();
      const removal = await s.discord.button({ customId: `img:delete:${interaction.id}`, message: result }).response();
      expect(removal.type).toBe(InteractionResponseType.UpdateMessage);
      expect(removal.data.content).toMatch(/deleted by its author/);
    } finally {
      held.release();
    }
    // The delivery goes on to archive the post and settle; the picture stays deleted.
    await eventually(async () => (await s.ctx.votes.request(interaction.id))?.status === 'delivered', 10_000, 'the delivery to be archived');
    await eventually(async () => (await s.ctx.jobs.peek(interaction.id)) === undefined, 10_000, 'the delivery to settle');
    const picture = await s.ctx.images.getRecord(imageId);
    expect(picture?.deletedAt).toBeGreaterThan(0);
    expect(picture?.attachmentUrl).toBeUndefined();
    expect(await s.ctx.images.readFile(imageId)).toBeUndefined();
    const message = s.discord.message(result.id)!;
    expect(message.content).toMatch(/deleted by its author/);
    expect(message.attachments).toEqual([]);
    expect(message.components).toEqual([]);
  });

  it('remixes through the modal, and the remix links to its parent without pinging', async () => {
    const provider = new ScriptedProvider();
    const s = await start({ provider });
    const { interaction: first, result: parent } = await imagine(s, 'red fox in snow', 2);

    const open = await s.discord.button({ customId: `img:remix:${first.id}`, message: parent, userId: BEA }).response();
    expect(open.type).toBe(InteractionResponseType.Modal);
    // Text inputs in action rows, then the optional reference upload in a label.
    type Field = { custom_id: string; value?: string };
    const inputs = (open.data.components as Array<Row & { component?: Field }>).map((row) => (row.components?.[0] ?? row.component) as Field);
    expect(inputs.map((i) => [i.custom_id, i.value])).toEqual([
      ['prompt', 'red fox in snow'],
      ['strength', '0.6'],
      ['image', '1'],
      ['reference', undefined],
    ]);

    const refused = s.discord.modalSubmit({
      customId: open.data.custom_id,
      fields: { prompt: 'x', strength: '3', image: '1' },
      message: parent,
      userId: BEA,
    });
    await expectPrivateError(refused, /Strength must be/);

    const submit = s.discord.modalSubmit({
      customId: open.data.custom_id,
      fields: { prompt: 'blue fox in snow @everyone', strength: '0.4', image: '2' },
      message: parent,
      userId: BEA,
    });
    expect((await submit.response()).data.content).toMatch(/Queued/);
    const remix = await resultOf(s, submit.id);
    const link = `https://discord.com/channels/${s.discord.defaultGuildId}/${s.discord.defaultChannelId}/${parent.id}`;
    expect(remix.content).toContain(`remix of ${link} by <@${first.payload.member.user.id}>`);
    expect(remix.content).toContain('blue fox in snow @everyone');
    expect(remix.allowedMentions).toEqual({ parse: [] });
    expect(provider.requests.filter((r) => r.kind === 'img2img')).toHaveLength(1);
    expect(provider.requests.at(-1)).toMatchObject({ kind: 'img2img', strength: 0.4 });
    expect((await s.ctx.images.getRecord(`${submit.id}-1`))?.parentId).toBe(`${first.id}-2`);
    // Lineage is recorded right after delivery: wait for it, as a member clicking 🌳 would.
    await eventually(async () => (await s.ctx.lineage.childrenOf([`${first.id}-2`])).includes(`${submit.id}-1`), 5000, 'the child index');
    expect(await s.ctx.lineage.childrenOf([`${first.id}-2`])).toEqual([`${submit.id}-1`]);

    // The family, privately from the button, publicly from /lineage with a message link.
    const family = s.discord.button({ customId: `img:family:${submit.id}`, message: remix, userId: CY });
    await family.response();
    const tree = await s.discord.waitFor(() => (family.original()?.attachments.length ? family.original() : undefined));
    expect(tree.ephemeral).toBe(true);
    expect(tree.attachments[0]!.filename).toBe('family.png');
    expect(tree.content).toContain('2 pictures');
    expect(tree.content).toContain(link);
    const lineage = s.discord.slashCommand({ name: 'lineage', options: { image: link } });
    await lineage.response();
    const shared = await s.discord.waitFor(() => (lineage.original()?.attachments.length ? lineage.original() : undefined));
    expect(shared.ephemeral).toBe(false);
    expect(shared.allowedMentions).toEqual({ parse: [] });
  });

  it('remixes a member’s upload from the message context menu, and refuses a message without a picture', async () => {
    const s = await start();
    const png = await sharp({ create: { width: 640, height: 360, channels: 3, background: '#336699' } })
      .png()
      .toBuffer();
    const upload = s.discord.createUserMessage({
      authorId: BEA,
      content: 'my sketch',
      attachments: [{ filename: 'sketch.png', data: png, contentType: 'image/png' }],
    });

    const menu = s.discord.messageContextMenu({ name: 'Remix this image', targetMessage: upload, userId: CY });
    const modal = await menu.response();
    expect(modal.type).toBe(InteractionResponseType.Modal);
    const submit = s.discord.modalSubmit({ customId: modal.data.custom_id, fields: { prompt: 'the sketch, painted', strength: '0.7' }, userId: CY });
    const remix = await resultOf(s, submit.id);

    const link = `https://discord.com/channels/${s.discord.defaultGuildId}/${s.discord.defaultChannelId}/${upload.id}`;
    expect(remix.content).toContain(`remix of ${link} by <@${BEA}>`);
    expect(remix.allowedMentions).toEqual({ parse: [] });
    const parentId = `upload-${upload.attachments[0]!.id}`;
    expect(await s.ctx.images.getRecord(parentId)).toMatchObject({ kind: 'upload', userId: BEA, messageId: upload.id, aspect: '16:9' });
    expect((await s.ctx.images.getRecord(`${submit.id}-1`))?.parentId).toBe(parentId);
    expect((await sharp(remix.attachments[0]!.data).metadata()).width).toBe(1344);

    const text = s.discord.createUserMessage({ authorId: BEA, content: 'no picture here' });
    await expectPrivateError(s.discord.messageContextMenu({ name: 'Remix this image', targetMessage: text }), /no picture/);
  });

  it('opening "Remix this image" on a member’s picture and dismissing the form keeps nothing', async () => {
    const s = await start();
    const png = await sharp({ create: { width: 320, height: 320, channels: 3, background: '#996633' } })
      .png()
      .toBuffer();
    const upload = s.discord.createUserMessage({
      authorId: BEA,
      content: 'just looking',
      attachments: [{ filename: 'look.png', data: png, contentType: 'image/png' }],
    });
    const keysNow = async () => (await s.redis.keys(`${s.prefix}:*`)).filter((key) => !key.startsWith(`${s.prefix}:ratelimit:`)).sort();
    const before = await keysNow();

    const modal = await s.discord.messageContextMenu({ name: 'Remix this image', targetMessage: upload, userId: CY }).response();
    expect(modal.type).toBe(InteractionResponseType.Modal);
    // The member closes the form without sending it.
    expect(await s.ctx.images.getRecord(`upload-${upload.attachments[0]!.id}`)).toBeUndefined();
    expect(await s.ctx.lineage.imagesOfMessage(upload.id)).toEqual([]);
    expect(await keysNow()).toEqual(before);
    expect(await s.ctx.generateQueue.count()).toBe(0);
    expect(readdirSync(s.imageDir)).toEqual([]);
  });

  it('a remix of a member’s upload refused at queueing (blocklist, daily quota) keeps no record, lineage or file of the upload', async () => {
    const s = await start();
    const png = await sharp({ create: { width: 320, height: 320, channels: 3, background: '#663399' } })
      .png()
      .toBuffer();
    const upload = s.discord.createUserMessage({
      authorId: BEA,
      content: 'a sketch',
      attachments: [{ filename: 'sketch.png', data: png, contentType: 'image/png' }],
    });
    const uploadId = `upload-${upload.attachments[0]!.id}`;
    await s.ctx.settings.update(s.discord.defaultGuildId, { blocklist: ['gargoyle'] });
    const keysNow = async () => (await s.redis.keys(`${s.prefix}:*`)).filter((key) => !key.startsWith(`${s.prefix}:ratelimit:`)).sort();
    const before = await keysNow();
    const remix = async (prompt: string) => {
      const modal = await s.discord.messageContextMenu({ name: 'Remix this image', targetMessage: upload, userId: CY }).response();
      return s.discord.modalSubmit({ customId: modal.data.custom_id, fields: { prompt, strength: '0.6' }, userId: CY });
    };
    const expectNothingKept = async () => {
      expect(await s.ctx.images.getRecord(uploadId)).toBeUndefined();
      expect(await s.ctx.lineage.imagesOfMessage(upload.id)).toEqual([]);
      expect(await s.ctx.images.readFile(uploadId)).toBeUndefined();
    };

    await expectPrivateError(await remix('a gargoyle on the roof'), /blocked|not allowed|blocklist/i);
    await expectNothingKept();
    expect(await keysNow()).toEqual(before);
    expect(readdirSync(s.imageDir)).toEqual([]);

    // The member's one picture of the day is used: the next request is refused for the quota.
    await s.ctx.settings.update(s.discord.defaultGuildId, { dailyImages: 1 });
    await resultOf(s, s.discord.slashCommand({ name: 'imagine', userId: CY, options: { prompt: 'a first picture' } }).id);
    await expectPrivateError(await remix('the sketch, in ink'), /today|daily|quota/i);
    await expectNothingKept();
  });

  it('answers forged custom_ids and other members’ delete and cancel privately, and changes nothing', async () => {
    const s = await start();
    const { interaction, result } = await imagine(s, 'a cat');
    const { result: other } = await imagine(s, 'a dog');
    const before = { content: result.content, attachments: result.attachments.length, queue: await s.ctx.generateQueue.getJobCounts() };

    const forged: Array<[string, FakeMessage, RegExp]> = [
      ['img:vote:123456789012345678', result, /no longer know/],
      [`img:vote:${interaction.id}`, other, /does not belong/],
      ['img:vote:12', result, /not one I recognise/],
      [`img:remix:${interaction.id}:9`, result, /not one I recognise/],
    ];
    for (const [customId, message, pattern] of forged) await expectPrivateError(s.discord.button({ customId, message, userId: BEA }), pattern);
    await expectPrivateError(s.discord.button({ customId: `img:delete:${interaction.id}`, message: result, userId: BEA }), /Only the person/);
    await expectPrivateError(s.discord.button({ customId: `gen:cancel:${interaction.id}`, message: result, userId: BEA }), /Only the person/);
    await expectPrivateError(
      s.discord.modalSubmit({ customId: 'img:remiximage:upload-123456789012345678', fields: { prompt: 'x', strength: '0.5' }, userId: BEA }),
      /no longer know/,
    );
    // A remix form naming a message that is not in this channel (or does not exist) is refused.
    await expectPrivateError(
      s.discord.modalSubmit({
        customId: `img:remixupload:123456789012345678:123456789012345679`,
        fields: { prompt: 'x', strength: '0.5' },
        userId: BEA,
      }),
      /no longer know/,
    );

    expect(s.discord.message(result.id)!.content).toBe(before.content);
    expect(s.discord.message(result.id)!.attachments).toHaveLength(before.attachments);
    expect(await s.ctx.votes.count(interaction.id)).toBe(0);
    expect((await s.ctx.images.getRecord(`${interaction.id}-1`))?.deletedAt).toBeUndefined();
    expect(await s.ctx.generateQueue.getJobCounts()).toEqual(before.queue);
  });

  it('deletes for the author, leaving a tombstone that remixes still hang from', async () => {
    const s = await start();
    const { interaction, result } = await imagine(s, 'a cat');
    await s.discord.button({ customId: `img:vote:${interaction.id}`, message: result, userId: BEA }).response();
    const open = await s.discord.button({ customId: `img:remix:${interaction.id}`, message: result, userId: BEA }).response();
    const submit = s.discord.modalSubmit({
      customId: open.data.custom_id,
      fields: { prompt: 'a cat, again', strength: '0.5' },
      message: result,
      userId: BEA,
    });
    const remix = await resultOf(s, submit.id);
    // The web gallery has made its thumbnail, kept in the same image storage.
    const storage = new FsImageStorage(s.imageDir);
    const thumbnail = thumbnailKey(imageStorageKey(`${interaction.id}-1`));
    expect(await new Thumbnails(storage).get(imageStorageKey(`${interaction.id}-1`))).toBeInstanceOf(Buffer);
    expect(await storage.get(thumbnail)).toBeDefined();

    const removal = await s.discord.button({ customId: `img:delete:${interaction.id}`, message: result }).response();
    expect(removal.type).toBe(InteractionResponseType.UpdateMessage);
    const deleted = await s.discord.waitFor(() =>
      s.discord.message(result.id)!.attachments.length === 0 ? s.discord.message(result.id) : undefined,
    );
    expect(deleted!.content).toMatch(/deleted by its author/);
    expect(deleted!.components).toEqual([]);
    expect((await s.ctx.images.getRecord(`${interaction.id}-1`))?.deletedAt).toBeGreaterThan(0);
    expect(await s.ctx.images.readFile(`${interaction.id}-1`)).toBeUndefined();
    expect(await storage.get(thumbnail)).toBeUndefined();
    await expectPrivateError(s.discord.button({ customId: `img:vote:${interaction.id}`, message: result, userId: CY }), /deleted/);

    const lineage = s.discord.slashCommand({ name: 'lineage', options: { image: `${submit.id}-1` } });
    await lineage.response();
    const tree = await s.discord.waitFor(() => (lineage.original()?.attachments.length ? lineage.original() : undefined));
    expect(tree.content).toContain('🪦 deleted picture');
    expect(tree.content).toContain(remix.id);

    const top = s.discord.slashCommand({ name: 'top', options: { period: 'all' } });
    await top.response();
    const board = await s.discord.waitFor(() => (top.original()?.content.includes('Top') ? top.original() : undefined));
    expect(board.content).toMatch(/No votes yet/);

    // A moderator may delete someone else's picture.
    const byModerator = await s.discord.button({ customId: `img:delete:${submit.id}`, message: remix, userId: CY, moderator: true }).response();
    expect(byModerator.type).toBe(InteractionResponseType.UpdateMessage);
    expect(byModerator.data.content).toMatch(/deleted by a moderator/);
    expect((await s.ctx.images.getRecord(`${submit.id}-1`))?.deletedBy).toBe(CY);
  });

  it('shows the most-voted pictures with /top and a member’s numbers with /profile', async () => {
    const s = await start();
    const { interaction: cat, result: catMessage } = await imagine(s, 'a cat');
    const { interaction: dog, result: dogMessage } = await imagine(s, 'a dog');
    for (const userId of [BEA, CY]) await s.discord.button({ customId: `img:vote:${dog.id}`, message: dogMessage, userId }).response();
    await s.discord.button({ customId: `img:vote:${cat.id}`, message: catMessage, userId: BEA }).response();

    const top = s.discord.slashCommand({ name: 'top', options: { period: 'day', channel: s.discord.defaultChannelId } });
    await top.response();
    const board = await s.discord.waitFor(() => (top.original()?.attachments.length ? top.original() : undefined));
    const lines = board.content.split('\n');
    expect(lines[1]).toContain(`👍 2`);
    expect(lines[1]).toContain(dogMessage.id);
    expect(lines[2]).toContain(catMessage.id);
    expect(board.attachments[0]!.filename).toBe('top.png');
    expect(board.allowedMentions).toEqual({ parse: [] });

    const author = cat.payload.member.user.id;
    await eventually(async () => (await s.ctx.votes.profile(s.discord.defaultGuildId, author)).images === 2, 5000, 'both results on the profile');
    const profile = s.discord.slashCommand({ name: 'profile', options: { user: author } });
    // The thumbnail takes a moment: the first answer is a deferral, the profile follows.
    expect((await profile.response()).type).toBe(InteractionResponseType.DeferredChannelMessageWithSource);
    const answer = await s.discord.waitFor(() => (profile.original()?.content.includes('Profile') ? profile.original() : undefined));
    expect(answer.content).toContain('2 pictures made');
    expect(answer.content).toContain('👍 3 votes received');
    expect(answer.content).toContain(dogMessage.id);
    expect(answer.attachments.map((a) => a.filename)).toEqual(['best.png']);
    expect(answer.allowedMentions).toEqual({ parse: [] });
  });
});
