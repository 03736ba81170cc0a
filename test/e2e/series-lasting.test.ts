/**
 * Series last in PostgreSQL: with every Redis key of the installation gone and the bot restarted,
 * `/series view` and `/series export` answer exactly as before and the buttons on old messages
 * still work. And nothing reaches across servers, whatever ids or text a member sends.
 */
import { ApplicationCommandOptionType, MessageFlags } from 'discord.js';
import { unzipSync } from 'fflate';
import { describe, expect, it } from 'vitest';
import { twoServers, type FakeInteraction, type FakeMessage } from '../support/fake-discord.js';
import { eventually } from '../support/context.js';
import { dropPrefix } from '../support/redis.js';
import { useStack, type Stack } from '../support/stack.js';

const start = useStack();

const ALICE = '710000000000001001';
const BOB = '710000000000001002';
const CAROL = '210000000000000003';
const STRANGER = '710000000000002001';

type Value = string | number;

function series(s: Stack, sub: string, values: Record<string, Value>, extra: { userId: string; channelId: string; moderator?: boolean }) {
  const options = Object.entries(values).map(([name, value]) => ({
    name,
    type: typeof value === 'number' ? ApplicationCommandOptionType.Integer : ApplicationCommandOptionType.String,
    value,
  }));
  return s.discord.slashCommand({ name: 'series', options: [{ name: sub, type: ApplicationCommandOptionType.Subcommand, options }], ...extra });
}

function resultOf(s: Stack, channelId: string, interactionId: string): Promise<FakeMessage> {
  return s.discord.waitFor(
    () => {
      const message = s.discord.messages(channelId).find((m) => m.interactionId === interactionId);
      return message && message.attachments.length > 0 && message.content.startsWith('✅') ? message : undefined;
    },
    20_000,
    'a delivered result',
  );
}

function botPosts(s: Stack, channelId: string, pattern: RegExp): FakeMessage[] {
  return s.discord.messages(channelId).filter((m) => !m.interactionId && pattern.test(m.content));
}

function botPost(s: Stack, channelId: string, pattern: RegExp): Promise<FakeMessage> {
  return s.discord.waitFor(() => botPosts(s, channelId, pattern)[0], 20_000, `a post matching ${pattern}`);
}

function deferredReply(s: Stack, interaction: FakeInteraction, what: string): Promise<FakeMessage> {
  return s.discord.waitFor(
    () => {
      const message = interaction.original();
      return message && message.edits > 0 ? message : undefined;
    },
    20_000,
    what,
  );
}

/** Every delivery is done, hooks included: nothing of the series is still in transit. */
async function settled(s: Stack, jobIds: string[]): Promise<void> {
  await eventually(
    async () => (await Promise.all(jobIds.map((id) => s.ctx.jobs.get(id)))).every((job) => job?.hooksDone === '1'),
    20_000,
    'the deliveries',
  );
}

/** 📚 Add to series on a result message, then the series picked in the menu; resolves with the answer. */
async function addWithButton(s: Stack, result: FakeMessage, jobId: string, seriesId: string, userId: string) {
  const click = s.discord.button({ customId: `series:add:${jobId}`, message: result, userId, strict: true });
  const menu = await click.response();
  expect(menu.data.flags).toBe(MessageFlags.Ephemeral);
  const pick = s.discord.stringSelect({ customId: `series:pick:${jobId}:1`, values: [seriesId], message: click.original()!, userId, strict: true });
  return pick.response();
}

/** What a member sees of a reply: its text and its files (a zip by its entries: its dates differ). */
function answer(message: FakeMessage) {
  return {
    content: message.content,
    allowedMentions: message.allowedMentions,
    files: message.attachments.map((file) =>
      file.filename.endsWith('.zip')
        ? {
            name: file.filename,
            entries: Object.entries(unzipSync(new Uint8Array(file.data))).map(([name, data]) => [
              name,
              name.endsWith('.json') ? JSON.parse(Buffer.from(data).toString('utf8')) : Buffer.from(data).toString('base64'),
            ]),
          }
        : { name: file.filename, data: file.data.toString('base64') },
    ),
  };
}

describe('/series after Redis is wiped and the bot restarted', () => {
  it('views and exports exactly as before, and the buttons on old messages still add panels and complete it once', async () => {
    const s = await start({ discord: { guilds: twoServers() } });
    const general = s.discord.guilds[0]!.channels[0]!.id;
    const create = series(s, 'create', { title: 'Harbour lights', panels: 4, seed: 7 }, { userId: ALICE, channelId: general });
    await deferredReply(s, create, 'the create reply');
    const thread = await s.discord.waitFor(() => s.discord.threads(general).at(-1));
    const seriesId = create.id;

    // Panels from three members: one drawn in the thread, two pictures added with 📚.
    const drawn = series(s, 'add', { prompt: 'a lamp is lit on the quay' }, { userId: ALICE, channelId: thread.id });
    await resultOf(s, thread.id, drawn.id);
    await botPost(s, thread.id, /Panel 1 of 4/);
    const bobs = s.discord.slashCommand({ name: 'imagine', options: { prompt: 'boats come home at dusk' }, userId: BOB, channelId: general });
    const bobsResult = await resultOf(s, general, bobs.id);
    expect((await addWithButton(s, bobsResult, bobs.id, seriesId, BOB)).data.content).toMatch(/Added as panel 2 of 4/);
    await botPost(s, thread.id, /Panel 2 of 4/);
    // Carol's picture is added only after the restart, with the button on its old message.
    const carols = s.discord.slashCommand({ name: 'imagine', options: { prompt: 'the lighthouse answers' }, userId: CAROL, channelId: general });
    const carolsResult = await resultOf(s, general, carols.id);
    await settled(s, [drawn.id, bobs.id, carols.id]);

    const ask = async () => ({
      view: answer(await deferredReply(s, series(s, 'view', {}, { userId: CAROL, channelId: thread.id }), 'the view')),
      strip: answer(await deferredReply(s, series(s, 'export', { series: 'harbour LIGHTS' }, { userId: CAROL, channelId: general }), 'the strip')),
      zip: answer(await deferredReply(s, series(s, 'export', { format: 'zip', series: seriesId }, { userId: BOB, channelId: general }), 'the zip')),
    });
    const before = await ask();
    expect(before.view.content).toContain('**Harbour lights** · 2 of 4 panels');
    expect(before.view.content).toContain(`by <@${ALICE}>, <@${BOB}>`);
    expect(before.zip.files[0]!.entries!.map(([name]) => name)).toEqual(['01.png', '02.png', 'manifest.json']);

    // FLUSHALL, for this installation: every key under its prefix goes.
    await dropPrefix(s.redis, s.prefix);
    await s.restartBot();
    const after = await ask();
    expect(after.view).toEqual(before.view);
    expect(after.strip).toEqual(before.strip);
    expect(after.zip).toEqual(before.zip);
    // The series left nothing lasting in Redis.
    const keys = await s.redis.keys(`${s.prefix}:*series*`);
    expect(keys).toEqual([]);

    // The 📚 button on Carol's old result still works, and so does the old menu of Bob's.
    expect((await addWithButton(s, carolsResult, carols.id, seriesId, CAROL)).data.content).toMatch(/Added as panel 3 of 4/);
    const third = await botPost(s, thread.id, /Panel 3 of 4/);
    expect(third.attachments).toHaveLength(1);
    expect((await addWithButton(s, bobsResult, bobs.id, seriesId, BOB)).data.content).toMatch(/Added as panel 4 of 4/);
    const done = await botPost(s, general, /is complete/);
    expect(done.content).toContain('**Harbour lights** is complete: 4 panels');
    for (const member of [ALICE, BOB, CAROL]) expect(done.content).toContain(`<@${member}>`);
    expect(done.attachments).toHaveLength(1);
    await botPost(s, thread.id, /is complete\. Thanks to/);
    // Counted once: a late add is refused, and there is one completion post.
    const late = await series(s, 'add', { prompt: 'one more', series: seriesId }, { userId: ALICE, channelId: general }).response();
    expect(late.data.content).toMatch(/already has all 4 panels/);
    expect(botPosts(s, general, /is complete/)).toHaveLength(1);
    expect((await s.ctx.series.panels(seriesId)).map((panel) => [panel.number, panel.userId])).toEqual([
      [1, ALICE],
      [2, BOB],
      [3, CAROL],
      [4, BOB],
    ]);
    // Three generations and six composed answers: more than the default limit on a busy machine.
  }, 120_000);

  it("refuses another server's series, forged custom_ids and huge text, privately and without changes", async () => {
    const s = await start({ discord: { guilds: twoServers() } });
    const [home, other] = s.discord.guilds;
    const general = home!.channels[0]!.id;
    const elsewhere = other!.channels[0]!.id;
    const create = series(s, 'create', { title: 'Home only', panels: 3 }, { userId: ALICE, channelId: general });
    await deferredReply(s, create, 'the create reply');
    const seriesId = create.id;
    const threads = s.discord.threads().length;

    // Another server's series id: answered like an unknown one, whatever the command.
    for (const sub of ['view', 'export', 'add', 'join', 'close']) {
      const values: Record<string, Value> = sub === 'add' ? { prompt: 'a raid', series: seriesId } : { series: seriesId };
      const refused = await series(s, sub, values, { userId: STRANGER, channelId: elsewhere, moderator: true }).response();
      expect(refused.data.flags).toBe(MessageFlags.Ephemeral);
      expect(refused.data.content).toMatch(/There is no series called/);
    }
    expect(await s.ctx.series.get(seriesId)).toMatchObject({ status: 'open', turn: 0 });

    // A result in the other server, offered to this server's series through a forged select.
    const theirs = s.discord.slashCommand({ name: 'imagine', options: { prompt: 'a stranger picture' }, userId: STRANGER, channelId: elsewhere });
    const theirResult = await resultOf(s, elsewhere, theirs.id);
    const crossPick = await s.discord
      .stringSelect({ customId: `series:pick:${theirs.id}:1`, values: [seriesId], message: theirResult, userId: STRANGER })
      .response();
    expect(crossPick.data.flags).toBe(MessageFlags.Ephemeral);
    expect(crossPick.data.content).toMatch(/no longer know that series/);
    // Their picture, named from this server: unknown here.
    const anchor = s.discord.createUserMessage({ content: 'hello', channelId: general });
    const crossButton = await s.discord.button({ customId: `series:add:${theirs.id}`, message: anchor, userId: BOB }).response();
    expect(crossButton.data.content).toMatch(/no longer know that picture/);
    // A picture number the result does not have; a value that is not a series id at all.
    const mine = s.discord.slashCommand({ name: 'imagine', options: { prompt: 'a home picture' }, userId: BOB, channelId: general });
    const mineResult = await resultOf(s, general, mine.id);
    const noPicture = await s.discord
      .stringSelect({ customId: `series:pick:${mine.id}:3`, values: [seriesId], message: mineResult, userId: BOB })
      .response();
    expect(noPicture.data.content).toMatch(/There is no picture 3/);
    const notAnId = await s.discord
      .stringSelect({ customId: `series:pick:${mine.id}:1`, values: [`${seriesId}' OR 1=1 --`], message: mineResult, userId: BOB })
      .response();
    expect(notAnId.data.content).toMatch(/Pick one series from the list/);
    expect(await s.ctx.series.panels(seriesId)).toEqual([]);

    // Huge text: a title far over the limit makes no series and no thread; a huge name finds nothing.
    const huge = await series(s, 'create', { title: `@everyone ${'x'.repeat(5000)}` }, { userId: BOB, channelId: general }).response();
    expect(huge.data.flags).toBe(MessageFlags.Ephemeral);
    expect(huge.data.content).toMatch(/at most 80 characters/);
    expect(s.discord.threads()).toHaveLength(threads);
    const named = await series(s, 'view', { series: `@everyone <@${ALICE}> ${'y'.repeat(6000)}` }, { userId: BOB, channelId: general }).response();
    expect(named.data.flags).toBe(MessageFlags.Ephemeral);
    expect(named.data.content.length).toBeLessThanOrEqual(2000);
    expect(named.data.allowed_mentions).toEqual({ parse: [] });
    expect((await s.ctx.series.ofGuild(home!.id)).map((record) => record.title)).toEqual(['Home only']);
    expect(await s.ctx.series.ofGuild(other!.id)).toEqual([]);
  });
});
