import { ApplicationCommandOptionType, ChannelType, MessageFlags, Routes } from 'discord.js';
import sharp from 'sharp';
import { unzipSync, strFromU8 } from 'fflate';
import { describe, expect, it } from 'vitest';
import type { FakeMessage } from '../support/fake-discord.js';
import { ScriptedProvider } from '../support/scripted-provider.js';
import { eventually } from '../support/context.js';
import { useStack, type Stack } from '../support/stack.js';

const start = useStack();

const ALICE = '210000000000000001';
const BOB = '210000000000000002';
const CAROL = '210000000000000003';

type Value = string | number;

/** `/series <sub> name:value …` as Discord sends it (a subcommand with typed options). */
function series(s: Stack, sub: string, values: Record<string, Value> = {}, extra: { userId?: string; channelId?: string; moderator?: boolean } = {}) {
  const options = Object.entries(values).map(([name, value]) => ({
    name,
    type: typeof value === 'number' ? ApplicationCommandOptionType.Integer : ApplicationCommandOptionType.String,
    value,
  }));
  return s.discord.slashCommand({
    name: 'series',
    options: [{ name: sub, type: ApplicationCommandOptionType.Subcommand, options }],
    ...extra,
  });
}

function customIds(message: { components?: unknown[] }): string[] {
  return (message.components ?? []).flatMap((row) =>
    ((row as { components?: Array<{ custom_id?: string }> }).components ?? []).map((c) => c.custom_id ?? ''),
  );
}

/** Waits until the interaction's message shows a finished result. */
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

function botPost(s: Stack, channelId: string, pattern: RegExp): Promise<FakeMessage> {
  return s.discord.waitFor(
    () => s.discord.messages(channelId).find((m) => !m.interactionId && pattern.test(m.content)),
    20_000,
    `a post matching ${pattern}`,
  );
}

/** The reply of a deferred command, once filled in. */
function deferredReply(s: Stack, interaction: { original(): FakeMessage | undefined }, what: string): Promise<FakeMessage> {
  return s.discord.waitFor(
    () => {
      const message = interaction.original();
      return message && message.edits > 0 ? message : undefined;
    },
    20_000,
    what,
  );
}

async function createSeries(s: Stack, values: Record<string, Value>, userId = ALICE) {
  const create = series(s, 'create', values, { userId });
  const reply = await deferredReply(s, create, 'the create reply');
  const thread = await s.discord.waitFor(() => s.discord.threads(s.discord.defaultChannelId).at(-1));
  return { create, reply, thread, id: create.id };
}

describe('/series end to end (real discord.js client, fake Discord, real worker)', () => {
  it('creates a series with a thread, takes panels both ways, views, exports and posts the finished piece', async () => {
    const s = await start();
    const { reply, thread, id } = await createSeries(s, { title: 'The lighthouse keeper', panels: 3, style: 'ink and watercolour', seed: 42 });
    expect(reply.content).toContain('**The lighthouse keeper**');
    expect(reply.content).toContain(`<#${thread.id}>`);
    expect(thread.name).toBe('📚 The lighthouse keeper');
    const intro = await botPost(s, thread.id, /started by/);
    expect(intro.content).toContain('ink and watercolour');
    expect(intro.allowedMentions).toEqual({ parse: [] });

    // 1. /series add inside the thread: the panel is generated and delivered there.
    const add = series(s, 'add', { prompt: 'a keeper climbs the stairs @everyone' }, { userId: ALICE, channelId: thread.id });
    const queued = await add.response();
    expect(queued.data.content).toMatch(/Panel 1 of 3/);
    expect(queued.data.flags ?? 0).not.toBe(MessageFlags.Ephemeral);
    const first = await resultOf(s, thread.id, add.id);
    expect(first.content).toContain('a keeper climbs the stairs @everyone, ink and watercolour');
    expect(first.content).toContain('seed `42`');
    expect(first.allowedMentions).toEqual({ parse: [] });
    await botPost(s, thread.id, /Panel 1 of 3 of \*\*The lighthouse keeper\*\*, by/);

    // 2. 📚 Add to series on an /imagine result in the channel.
    const imagine = s.discord.slashCommand({ name: 'imagine', options: { prompt: 'a storm at sea' }, userId: BOB });
    const result = await resultOf(s, s.discord.defaultChannelId, imagine.id);
    expect(result.components.length).toBeLessThanOrEqual(5);
    expect(customIds(result)).toContain(`series:add:${imagine.id}`);
    const click = s.discord.button({ customId: `series:add:${imagine.id}`, message: result, userId: BOB, strict: true });
    const menu = await click.response();
    expect(menu.data.flags).toBe(MessageFlags.Ephemeral);
    expect(customIds(menu.data)).toEqual([`series:pick:${imagine.id}:1`]);
    const pick = s.discord.stringSelect({
      customId: `series:pick:${imagine.id}:1`,
      values: [id],
      message: click.original()!,
      userId: BOB,
      strict: true,
    });
    expect((await pick.response()).data.content).toMatch(/Added as panel 2 of 3/);
    const second = await botPost(s, thread.id, /Panel 2 of 3/);
    expect(second.attachments).toHaveLength(1);

    // Panels survive the deletion of the message they came from.
    await s.ctx.rest.delete(Routes.channelMessage(result.channelId, result.id));
    expect(s.discord.message(result.id)).toBeUndefined();

    // 3. View: one composed picture of both panels, side by side with captions.
    const view = series(s, 'view', {}, { channelId: thread.id, userId: CAROL });
    const viewed = await deferredReply(s, view, 'the view reply');
    expect(viewed.content).toContain('2 of 3 panels');
    expect(viewed.allowedMentions).toEqual({ parse: [] });
    const grid = await sharp(viewed.attachments[0]!.data).metadata();
    expect([grid.width, grid.height]).toEqual([2 * 512 + 12, 512 + 46]);

    // 4. Export as GIF: one frame per panel.
    const gif = series(s, 'export', { format: 'gif', series: 'the LIGHTHOUSE keeper' }, { userId: CAROL });
    const exported = await deferredReply(s, gif, 'the GIF export');
    expect(exported.attachments[0]!.filename).toMatch(/\.gif$/);
    const frames = await sharp(exported.attachments[0]!.data, { animated: true }).metadata();
    expect(frames.format).toBe('gif');
    expect(frames.pages).toBe(2);

    // 5. The third panel, from the channel with the series option, completes it.
    const last = series(s, 'add', { prompt: 'dawn over calm water', series: id }, { userId: CAROL });
    await resultOf(s, s.discord.defaultChannelId, last.id);
    const done = await botPost(s, s.discord.defaultChannelId, /is complete/);
    expect(done.content).toContain('**The lighthouse keeper** is complete: 3 panels');
    for (const member of [ALICE, BOB, CAROL]) expect(done.content).toContain(`<@${member}>`);
    expect(done.allowedMentions).toEqual({ parse: [] });
    const finished = await sharp(done.attachments[0]!.data).metadata();
    // Three panels in a 2 × 2 grid, each with its caption band.
    expect([finished.width, finished.height]).toEqual([2 * 512 + 12, 2 * (512 + 46) + 12]);
    // Posted once, and the series takes nothing more.
    expect(s.discord.messages(s.discord.defaultChannelId).filter((m) => /is complete/.test(m.content))).toHaveLength(1);
    const late = series(s, 'add', { prompt: 'one more', series: id }, { userId: ALICE });
    const refused = await late.response();
    expect(refused.data.flags).toBe(MessageFlags.Ephemeral);
    expect(refused.data.content).toMatch(/already has all 3 panels/);

    // A zip of the originals with a manifest.
    const zip = series(s, 'export', { format: 'zip', series: id }, { userId: CAROL });
    const zipped = await deferredReply(s, zip, 'the zip export');
    const entries = unzipSync(new Uint8Array(zipped.attachments[0]!.data));
    expect(Object.keys(entries).sort()).toEqual(['01.png', '02.png', '03.png', 'manifest.json']);
    const manifest = JSON.parse(strFromU8(entries['manifest.json']!));
    expect(manifest.panels.map((p: { prompt: string; contributor: { id: string } }) => [p.prompt, p.contributor.id])).toEqual([
      ['a keeper climbs the stairs @everyone', ALICE],
      ['a storm at sea', BOB],
      ['dawn over calm water', CAROL],
    ]);
    expect(manifest.panels[0].seed).toBe(42);
  });

  it('posts a panel announcement and the completion exactly once when Discord fails their first try', async () => {
    const s = await start();
    const { thread, id } = await createSeries(s, { title: 'Weather report', panels: 2 });
    await botPost(s, thread.id, /started by/);
    // Every try of the bot's REST client (it retries a 5xx itself) fails for the first post of each.
    const failFirst = (channelId: string, text: string) =>
      s.discord.failNext({
        method: 'POST',
        path: new RegExp(`^/channels/${channelId}/messages$`),
        status: 502,
        body: { message: 'Bad Gateway', code: 0 },
        times: 4,
        when: (request) => JSON.stringify(request.json ?? '').includes(text),
      });
    const failures = () => s.discord.requests.filter((request) => request.status === 502).length;

    failFirst(thread.id, 'Panel 1 of 2');
    const first = series(s, 'add', { prompt: 'rain over the harbour' }, { userId: ALICE, channelId: thread.id });
    await resultOf(s, thread.id, first.id);
    await botPost(s, thread.id, /Panel 1 of 2 of \*\*Weather report\*\*/);
    expect(failures()).toBe(4);

    failFirst(s.discord.defaultChannelId, 'is complete');
    const second = series(s, 'add', { prompt: 'sun after the rain' }, { userId: BOB, channelId: thread.id });
    await resultOf(s, thread.id, second.id);
    const done = await botPost(s, s.discord.defaultChannelId, /is complete/);
    expect(done.attachments).toHaveLength(1);
    await botPost(s, thread.id, /is complete\. Thanks to/);
    expect(failures()).toBe(8);

    // Quiet: both deliveries are finished, so nothing more will be posted.
    const deliveries = [first.id, second.id];
    await eventually(
      async () => (await Promise.all(deliveries.map((id) => s.ctx.jobs.get(id)))).every((job) => job?.hooksDone === '1'),
      20_000,
      'the deliveries',
    );
    const count = (channelId: string, pattern: RegExp) =>
      s.discord.messages(channelId).filter((m) => !m.interactionId && pattern.test(m.content)).length;
    expect(count(thread.id, /Panel 1 of 2/)).toBe(1);
    expect(count(thread.id, /Panel 2 of 2/)).toBe(1);
    expect(count(s.discord.defaultChannelId, /is complete/)).toBe(1);
    expect(count(thread.id, /is complete/)).toBe(1);
    expect(await s.ctx.series.owedAnnouncements(id)).toEqual(new Map());
    expect((await s.ctx.series.get(id))?.completionOwed).toBeUndefined();
  });

  it('credits a member who deleted their data as "a former member", never as a mention, in the completion and /series view', async () => {
    const s = await start();
    const { thread } = await createSeries(s, { title: 'Two voices', panels: 2 });
    const first = series(s, 'add', { prompt: 'a quiet pier' }, { userId: ALICE, channelId: thread.id });
    await resultOf(s, thread.id, first.id);
    await eventually(async () => (await s.ctx.jobs.get(first.id))?.hooksDone === '1', 20_000, 'the first panel');

    const ask = s.discord.slashCommand({
      name: 'privacy',
      userId: ALICE,
      options: [{ name: 'delete-my-data', type: ApplicationCommandOptionType.Subcommand }],
    });
    const question = await ask.response();
    s.discord.button({ customId: question.data.components[0].components[0].custom_id, message: ask.original()!, userId: ALICE });
    await s.discord.waitFor(() => ask.original()?.content.startsWith('🗑 Done') || undefined, 20_000, 'the deletion');

    series(s, 'add', { prompt: 'gulls over the pier' }, { userId: BOB, channelId: thread.id });
    const done = await botPost(s, s.discord.defaultChannelId, /is complete/);
    expect(done.content).toContain(`by a former member, <@${BOB}>.`);
    const reveal = await botPost(s, thread.id, /is complete\. Thanks to/);
    expect(reveal.content).toContain(`Thanks to a former member, <@${BOB}>!`);
    const view = await deferredReply(s, series(s, 'view', {}, { userId: CAROL, channelId: thread.id }), 'the view');
    expect(view.content).toContain(`by a former member, <@${BOB}>`);
    for (const message of [done, reveal, view]) expect(message.content).not.toMatch(/<@deleted>|<@!?[^0-9]/);
  });

  it('hides an exquisite corpse until the last panel and then reveals it', async () => {
    const s = await start();
    const { thread, id } = await createSeries(s, { title: 'Corpse', mode: 'corpse', panels: 2 });

    const one = series(s, 'add', { prompt: 'a head of a fox' }, { userId: ALICE, channelId: thread.id });
    expect((await one.response()).data.flags).toBe(MessageFlags.Ephemeral);
    const onlyFirst = await s.discord.waitFor(() => one.followUps()[0]);
    expect(onlyFirst.content).toMatch(/first panel/);
    const placeholder = await botPost(s, thread.id, /Panel 1 of 2 added by/);
    expect(placeholder.attachments).toHaveLength(0);
    // Nothing of the picture is public: the result went to the contributor alone.
    await s.discord.waitFor(() => one.original()?.content.startsWith('✅') && one.original());
    expect(s.discord.messages(thread.id).filter((m) => !m.ephemeral && m.attachments.length > 0)).toHaveLength(0);

    const peek = series(s, 'view', {}, { channelId: thread.id, userId: BOB });
    const peeked = await peek.response();
    expect(peeked.data.flags).toBe(MessageFlags.Ephemeral);
    expect(peeked.data.content).toMatch(/revealed when the last panel is in/);

    const two = series(s, 'add', { prompt: 'the body of a whale', series: 'Corpse' }, { userId: BOB, channelId: thread.id });
    const previous = await s.discord.waitFor(() => two.followUps()[0]);
    expect(previous.ephemeral).toBe(true);
    expect(previous.content).toMatch(/panel before yours \(panel 1\)/);
    expect(previous.attachments).toHaveLength(1);

    const reveal = await botPost(s, thread.id, /revealed at last/);
    expect(reveal.attachments).toHaveLength(1);
    const done = await botPost(s, s.discord.defaultChannelId, /is complete/);
    expect(done.content).toContain('exquisite corpse');
    expect(done.attachments).toHaveLength(1);
    expect((await s.ctx.series.get(id))?.status).toBe('complete');
  });

  it('refuses a series title that the server blocklist forbids, privately, and makes no thread', async () => {
    const s = await start({ noWorker: true });
    await s.ctx.settings.update(s.discord.defaultGuildId, { blocklist: ['grimdark'] });
    const create = series(s, 'create', { title: 'A grimdark saga' });
    const answer = await create.response();
    expect(answer.data.flags).toBe(MessageFlags.Ephemeral);
    expect(answer.data.content).toMatch(/blocked on this server/);
    expect(answer.data.content).not.toContain('grimdark');
    expect(s.discord.threads()).toHaveLength(0);
  });

  it('refuses a second open series with the same title, privately, making no thread; the title keeps naming the first', async () => {
    const s = await start({ noWorker: true });
    const { thread, id } = await createSeries(s, { title: 'The lighthouse keeper', panels: 3 });
    const before = await s.ctx.db.selectFrom('series').select('id').execute();

    const copy = series(s, 'create', { title: '  the LIGHTHOUSE   keeper ' }, { userId: BOB });
    const refused = await copy.response();
    expect(refused.data.flags).toBe(MessageFlags.Ephemeral);
    expect(refused.data.content).toMatch(/already an open series called \*\*The lighthouse keeper\*\*/);
    expect(refused.data.content).toContain(`<#${thread.id}>`);
    expect(s.discord.threads()).toHaveLength(1);
    expect(await s.ctx.db.selectFrom('series').select('id').execute()).toEqual(before);

    // Named by its title from the channel, the series is still the first one.
    const add = series(s, 'add', { series: 'the lighthouse keeper', prompt: 'a keeper climbs the stairs' }, { userId: CAROL });
    expect((await add.response()).data.content).toMatch(/Panel 1 of 3 · \*\*The lighthouse keeper\*\*/);
    expect((await s.ctx.series.panels(id)).map((panel) => panel.id)).toEqual([add.id]);
  });

  it('a title several series share names none of them: the member is shown them all, and nothing changes', async () => {
    const s = await start({ noWorker: true });
    const first = await createSeries(s, { title: 'Harbour tales', panels: 3 });
    expect((await series(s, 'close', {}, { userId: ALICE, channelId: first.thread.id }).response()).data.content).toMatch(/is closed/);
    // Once the first is closed, the title may be used again.
    const second = await createSeries(s, { title: 'Harbour tales', panels: 3 }, BOB);
    expect(second.reply.content).toContain('started **Harbour tales**');
    // Older data may even hold two open ones.
    const third = await s.ctx.series.create({
      id: '990000000000000001',
      guildId: s.discord.defaultGuildId,
      channelId: s.discord.defaultChannelId,
      threadId: '990000000000000002',
      title: 'harbour TALES',
      mode: 'open',
      panelCount: 3,
      creatorId: BOB,
      createdAt: Date.now(),
    });

    const ambiguous = async (sub: string, values: Record<string, Value>, extra: { userId?: string; moderator?: boolean } = {}) => {
      const answer = await series(s, sub, { series: 'Harbour Tales', ...values }, extra).response();
      expect(answer.data.flags).toBe(MessageFlags.Ephemeral);
      expect(answer.data.content).toMatch(/Several series here are called/);
      for (const one of [first.id, second.id, third.id]) expect(answer.data.content).toContain(`\`${one}\``);
      expect(answer.data.content).toContain(`<#${first.thread.id}>`);
      expect(answer.data.content).toContain(`<#${second.thread.id}>`);
    };
    await ambiguous('add', { prompt: 'a boat' }, { userId: CAROL });
    await ambiguous('join', {}, { userId: CAROL });
    await ambiguous('close', {}, { userId: BOB, moderator: true });
    await ambiguous('view', {}, { userId: CAROL });
    for (const one of [first.id, second.id, third.id]) expect(await s.ctx.series.panels(one)).toEqual([]);
    expect((await s.ctx.series.get(second.id))?.status).toBe('open');
    expect((await s.ctx.series.get(third.id))?.status).toBe('open');
    expect(await s.ctx.db.selectFrom('requests').select('id').execute()).toEqual([]);

    // Its id names one for sure.
    const add = series(s, 'add', { series: second.id, prompt: 'a boat' }, { userId: CAROL });
    expect((await add.response()).data.content).toMatch(/Panel 1 of 3 · \*\*Harbour tales\*\*/);
    expect((await s.ctx.series.panels(second.id)).map((panel) => panel.id)).toEqual([add.id]);
  });

  it('keeps a corpse panel private when its interaction expired during generation: it arrives by direct message', async () => {
    const provider = new ScriptedProvider();
    const hold = provider.holdNext();
    const s = await start({ provider });
    const { thread } = await createSeries(s, { title: 'Slow corpse', mode: 'corpse', panels: 3 });
    const started = provider.nextRequest();
    const add = series(s, 'add', { prompt: 'a secret tail' }, { userId: ALICE, channelId: thread.id });
    expect((await add.response()).data.flags).toBe(MessageFlags.Ephemeral);
    await started;
    add.expire();
    hold.release();
    const direct = await s.discord.waitFor(() =>
      s.discord.messages().find((m) => m.attachments.length > 0 && s.discord.channel(m.channelId)?.type === ChannelType.DM),
    );
    expect(direct.content).toContain('a secret tail');
    await botPost(s, thread.id, /Panel 1 of 3 added by/);
    expect(s.discord.messages(thread.id).filter((m) => !m.ephemeral && m.attachments.length > 0)).toHaveLength(0);
    expect(s.discord.messages(s.discord.defaultChannelId).filter((m) => m.attachments.length > 0)).toHaveLength(0);
  });

  it('refuses a second relay panel in a row, forged ids and strangers, privately and without changes', async () => {
    const s = await start();
    const { thread, id } = await createSeries(s, { title: 'Relay', mode: 'relay', panels: 4 });
    const first = series(s, 'add', { prompt: 'a door' }, { userId: ALICE, channelId: thread.id });
    await first.response();
    const again = series(s, 'add', { prompt: 'another door' }, { userId: ALICE, channelId: thread.id });
    const refused = await again.response();
    expect(refused.data.flags).toBe(MessageFlags.Ephemeral);
    expect(refused.data.content).toMatch(/Not your turn/);
    expect(await s.ctx.jobs.get(again.id)).toBeUndefined();

    // Only the creator or a moderator closes it.
    const stranger = await series(s, 'close', {}, { userId: BOB, channelId: thread.id }).response();
    expect(stranger.data.content).toMatch(/Only the person who started this series/);
    expect((await s.ctx.series.get(id))?.status).toBe('open');

    // Forged components: an unknown job, and a select naming a series that does not exist.
    const anchor = s.discord.createUserMessage({ content: 'hello' });
    const unknown = await s.discord.button({ customId: 'series:add:123456789012345678', message: anchor }).response();
    expect(unknown.data.content).toMatch(/no longer know that picture/);
    await resultOf(s, thread.id, first.id);
    const forged = await s.discord
      .stringSelect({ customId: `series:pick:${first.id}:1`, values: ['999999999999999999'], message: anchor, userId: BOB })
      .response();
    expect(forged.data.flags).toBe(MessageFlags.Ephemeral);
    expect(forged.data.content).toMatch(/no longer know that series/);
    expect(await s.ctx.series.panels(id)).toHaveLength(1);

    const closed = await series(s, 'close', {}, { userId: BOB, channelId: thread.id, moderator: true }).response();
    expect(closed.data.content).toMatch(/closed with 1 of 4 panels/);
    const list = await series(s, 'list', {}, { userId: CAROL }).response();
    expect(list.data.flags).toBe(MessageFlags.Ephemeral);
    expect(list.data.content).toContain('🔒 **Relay** · relay · 1/4');
  });
});
