import { ApplicationCommandOptionType, ComponentType, InteractionResponseType, MessageFlags, Routes } from 'discord.js';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { catchUpProgress } from '../../src/bot/progress.js';
import { GENERATE_QUEUE } from '../../src/queues.js';
import { ProviderRefusedError } from '../../src/worker/providers/types.js';
import type { FakeMessage } from '../support/fake-discord.js';
import { eventually } from '../support/context.js';
import { ScriptedProvider } from '../support/scripted-provider.js';
import { useStack, type Stack } from '../support/stack.js';

const start = useStack();

const option = (name: string, value: string | number) => ({
  name,
  type: typeof value === 'number' ? ApplicationCommandOptionType.Integer : ApplicationCommandOptionType.String,
  value,
});

function imagine(s: Stack, options: Array<ReturnType<typeof option>>, extra: Record<string, unknown> = {}) {
  return s.discord.slashCommand({ name: 'imagine', options, ...extra });
}

/** Every custom_id on a message, row by row. */
function buttonIds(message: { components?: unknown[] }): string[] {
  return (message.components ?? []).flatMap((row) =>
    ((row as { components?: Array<{ custom_id?: string }> }).components ?? []).map((c) => c.custom_id ?? ''),
  );
}

function buttonLabels(message: { components?: unknown[] }): string[] {
  return (message.components ?? []).flatMap((row) =>
    ((row as { components?: Array<{ label?: string; type: number }> }).components ?? [])
      .filter((c) => c.type === ComponentType.Button)
      .map((c) => c.label ?? ''),
  );
}

/** Waits until a message shows a finished result (attachments and a Reroll button). */
async function resultOf(s: Stack, interactionId: string): Promise<FakeMessage> {
  return s.discord.waitFor(() => {
    const message = s.discord.messages(s.discord.defaultChannelId).find((m) => m.interactionId === interactionId);
    return message && message.attachments.length > 0 && message.content.startsWith('✅') ? message : undefined;
  }, 20_000);
}

/** A masked link Discord would render: `[text](` whose `[` no backslash escapes. */
const activeMaskedLink = /(^|[^\\])(\\\\)*\[[^\]]*\]\(/;
/** An address Discord would link with a preview: one not wrapped in <…>. */
const previewedAddress = /(^|[^<])https?:\/\//;
/** Message text as Discord shows it: each backslash escape replaced by the character it escapes. */
const shown = (content: string) => content.replace(/\\(.)/g, '$1');

describe('/imagine end to end (real discord.js client, fake Discord, real worker)', () => {
  it('answers within the 3-second window with the queue position, then shows the images and buttons', async () => {
    const s = await start();
    const sent = Date.now();
    const interaction = imagine(s, [
      option('prompt', 'a lighthouse in fog @everyone'),
      option('count', 2),
      option('aspect', '16:9'),
      option('seed', 42),
    ]);
    const response = await interaction.response();
    expect(Date.now() - sent).toBeLessThan(3000);
    expect(response.type).toBe(InteractionResponseType.ChannelMessageWithSource);
    expect(response.data.content).toMatch(/Queued\*\* — position 1 of 1/);
    expect(response.data.flags ?? 0).not.toBe(MessageFlags.Ephemeral);
    expect(response.data.allowed_mentions).toEqual({ parse: [] });
    expect(buttonIds(response.data)).toEqual([`gen:cancel:${interaction.id}`]);

    const result = await resultOf(s, interaction.id);
    expect(result.content).toContain('a lighthouse in fog @everyone');
    expect(result.content).toContain('seed `42`');
    expect(result.content).toContain('painterly');
    expect(result.content).toContain(`<@${interaction.payload.member.user.id}>`);
    expect(result.allowedMentions).toEqual({ parse: [] });
    // A grid first, then each image; every one a real PNG of the requested shape.
    expect(result.attachments.map((a) => a.filename)).toEqual([
      `atelier-${interaction.id}-grid.png`,
      `atelier-${interaction.id}-1.png`,
      `atelier-${interaction.id}-2.png`,
    ]);
    const single = await sharp(result.attachments[1]!.data).metadata();
    expect([single.width, single.height]).toEqual([1344, 768]);
    const downloaded = await fetch(result.attachments[1]!.url);
    expect(Buffer.from(await downloaded.arrayBuffer())).toEqual(result.attachments[1]!.data);
    expect(buttonLabels(result)).toEqual([
      'U1',
      'U2',
      'V1',
      'V2',
      '🔁 Reroll',
      '👍 0 Vote',
      '🔀 Remix',
      '🌳 Family',
      '🗑',
      '📚 Add to series',
      '🏆 Submit to challenge',
    ]);
    // Delivered once: the original response was edited, nothing else was posted.
    expect(s.discord.messages(s.discord.defaultChannelId)).toHaveLength(1);
  });

  it('parses Midjourney-style flags from the prompt', async () => {
    const s = await start();
    const interaction = imagine(s, [option('prompt', 'a quiet harbour --ar 9:16 --seed 7 --no boats')]);
    const result = await resultOf(s, interaction.id);
    expect(result.content).toContain('**a quiet harbour**');
    expect(result.content).toContain('seed `7`');
    expect(result.content).toContain('*without:* boats');
    const image = await sharp(result.attachments[0]!.data).metadata();
    expect([image.width, image.height]).toEqual([768, 1344]);
  });

  it('rerolls with a new seed, and U1/V1 make an upscale and a variation of that image', async () => {
    const s = await start();
    const first = imagine(s, [option('prompt', 'red fox in snow'), option('count', 2), option('seed', 5)]);
    const original = await resultOf(s, first.id);

    const reroll = s.discord.button({ customId: `gen:reroll:${first.id}`, message: original });
    expect((await reroll.response()).data.content).toMatch(/Queued/);
    const rerolled = await resultOf(s, reroll.id);
    expect(rerolled.content).toContain('red fox in snow');
    expect(rerolled.content).not.toContain('seed `5`');
    expect(rerolled.attachments).toHaveLength(3);

    const upscale = s.discord.button({ customId: `gen:upscale:${first.id}:1`, message: original });
    const upscaled = await resultOf(s, upscale.id);
    expect(upscaled.content).toContain('Upscale');
    expect(upscaled.attachments).toHaveLength(1);
    const big = await sharp(upscaled.attachments[0]!.data).metadata();
    expect([big.width, big.height]).toEqual([2048, 2048]);
    // An upscale is final: no more generation buttons, only what can be done with the picture.
    expect(buttonIds(upscaled).filter((id) => id.startsWith('gen:'))).toEqual([]);
    expect(buttonIds(upscaled)).toContain(`series:add:${upscale.id}`);

    const vary = s.discord.button({ customId: `gen:vary:${first.id}:2`, message: original });
    const varied = await resultOf(s, vary.id);
    expect(varied.content).toContain('Variation');
    expect(varied.attachments).toHaveLength(3);
    const lineage = await s.ctx.images.getRecord(`${vary.id}-1`);
    expect(lineage?.parentId).toBe(`${first.id}-2`);
  });

  it('refuses an over-long or empty prompt privately and queues nothing', async () => {
    const s = await start();
    for (const prompt of ['x'.repeat(1001), '   --ar 16:9']) {
      const response = await imagine(s, [option('prompt', prompt)]).response();
      expect(response.type).toBe(InteractionResponseType.ChannelMessageWithSource);
      expect(response.data.flags).toBe(MessageFlags.Ephemeral);
      expect(response.data.content).toMatch(/limit is 1000|empty/);
    }
    const counts = await s.ctx.generateQueue.getJobCounts();
    expect(Object.values(counts).reduce((a, b) => a + b, 0)).toBe(0);
    expect(GENERATE_QUEUE).toBe('generate');
  });

  it('shows progress while the job runs, then the result', async () => {
    const provider = new ScriptedProvider();
    const hold = provider.holdNext();
    const s = await start({ provider });
    const interaction = imagine(s, [option('prompt', 'slow painting')]);
    await interaction.response();
    const progress = await s.discord.waitForRequest(
      (r) => r.method === 'PATCH' && r.path.endsWith('/messages/@original') && /Generating/.test(r.json?.content ?? ''),
    );
    expect(progress.json.allowed_mentions).toEqual({ parse: [] });
    hold.release();
    const result = await resultOf(s, interaction.id);
    expect(result.attachments).toHaveLength(1);
  });

  it('catches up with a job that runs longer than a second when asked, and leaves a finished one alone', async () => {
    const provider = new ScriptedProvider();
    const hold = provider.holdNext();
    const s = await start({ provider });
    const interaction = imagine(s, [option('prompt', 'slow painting')]);
    await interaction.response();
    const progressEdits = () =>
      s.discord.requests.filter((r) => r.method === 'PATCH' && r.path.includes(interaction.token) && /Generating/.test(r.json?.content ?? ''));
    await eventually(() => progressEdits().length === 1, 20_000, 'the first progress edit');
    // Once the edit throttle lets go, an answer arriving now (as one that came late would) shows progress again.
    await eventually(async () => (await s.ctx.redis.exists(`${s.ctx.prefix}:throttle:progress:${interaction.id}`)) === 0, 20_000, 'the throttle');
    await catchUpProgress(s.ctx, interaction.id);
    expect(progressEdits()).toHaveLength(2);
    hold.release();
    await resultOf(s, interaction.id);
    await catchUpProgress(s.ctx, interaction.id);
    expect(progressEdits()).toHaveLength(2);
    const edits = s.discord.requests.filter((r) => r.method === 'PATCH' && r.path.includes(interaction.token));
    expect(edits.at(-1)?.json?.content ?? '').toMatch(/^✅/);
  });

  it('goes from "Queued" straight to the result when the job is quick, without a progress edit', async () => {
    const s = await start({ provider: new ScriptedProvider() });
    const interaction = imagine(s, [option('prompt', 'quick sketch')]);
    await resultOf(s, interaction.id);
    const edits = s.discord.requests.filter((r) => r.method === 'PATCH' && r.path.includes(interaction.token));
    expect(edits.map((r) => (r.json?.content ?? '').slice(0, 1))).toEqual(['✅']);
  });

  it('lets the author cancel a running job, refuses anyone else, and posts no result', async () => {
    const provider = new ScriptedProvider();
    provider.holdNext();
    const s = await start({ provider });
    const started = provider.nextRequest();
    const interaction = imagine(s, [option('prompt', 'never finished')]);
    await interaction.response();
    await started;
    const message = s.discord.messages(s.discord.defaultChannelId).find((m) => m.interactionId === interaction.id)!;

    const stranger = s.discord.button({ customId: `gen:cancel:${interaction.id}`, message, userId: '999999999999999999' });
    const refusal = await stranger.response();
    expect(refusal.data.flags).toBe(MessageFlags.Ephemeral);
    expect(refusal.data.content).toMatch(/Only the person who asked/);
    expect((await s.ctx.jobs.get(interaction.id))?.status).toBe('running');

    const author = s.discord.button({ customId: `gen:cancel:${interaction.id}`, message, userId: interaction.payload.member.user.id });
    const update = await author.response();
    expect(update.type).toBe(InteractionResponseType.UpdateMessage);
    expect(update.data.content).toMatch(/Cancelled/);
    expect(update.data.components).toEqual([]);
    await s.discord.waitFor(async () => (await s.ctx.generateQueue.getJobCounts('active')).active === 0);
    expect((await s.ctx.jobs.get(interaction.id))?.status).toBe('cancelled');
    expect(s.discord.message(message.id)?.attachments).toHaveLength(0);
  });

  it('answers forged and unknown custom_ids privately and changes nothing', async () => {
    const s = await start();
    const interaction = imagine(s, [option('prompt', 'a cat')]);
    const result = await resultOf(s, interaction.id);
    const before = await s.ctx.generateQueue.getJobCounts();
    for (const customId of [
      'gen:reroll:123',
      'gen:upscale:1234567890123456789:1',
      `gen:vary:${interaction.id}:4`,
      'nonsense',
      `gen:cancel:${interaction.id}`,
    ]) {
      const response = await s.discord.button({ customId, message: result }).response();
      expect(response.data.flags, customId).toBe(MessageFlags.Ephemeral);
    }
    expect(await s.ctx.generateQueue.getJobCounts()).toEqual(before);
  });

  it('refuses a button that names another server’s picture', async () => {
    const s = await start({ discord: { guilds: [{}, {}] } });
    const [home, other] = s.discord.guilds;
    const interaction = imagine(s, [option('prompt', 'home only')], { guildId: home!.id, channelId: home!.channels[0]!.id });
    await s.discord.waitFor(
      () => s.discord.messages(home!.channels[0]!.id).find((m) => m.interactionId === interaction.id && m.attachments.length > 0),
      20_000,
    );
    const before = await s.ctx.generateQueue.getJobCounts();
    const elsewhere = s.discord.createUserMessage({ channelId: other!.channels[0]!.id, content: 'hello' });
    for (const action of ['reroll', 'upscale', 'vary']) {
      const customId = action === 'reroll' ? `gen:reroll:${interaction.id}` : `gen:${action}:${interaction.id}:1`;
      const forged = s.discord.button({ customId, message: elsewhere });
      const answer = await forged.response();
      expect(answer.data.flags, action).toBe(MessageFlags.Ephemeral);
      expect(answer.data.content).toMatch(/no longer know that picture/);
    }
    expect(await s.ctx.generateQueue.getJobCounts()).toEqual(before);
  });

  it('posts in the channel, replying to the queued message, when the interaction token expired', async () => {
    const provider = new ScriptedProvider();
    const hold = provider.holdNext();
    const s = await start({ provider });
    const interaction = imagine(s, [option('prompt', 'patience')]);
    await interaction.response();
    const queued = s.discord.messages(s.discord.defaultChannelId).find((m) => m.interactionId === interaction.id)!;
    interaction.expire();
    hold.release();
    const posted = await s.discord.waitFor(() =>
      s.discord.messages(s.discord.defaultChannelId).find((m) => m.messageReference?.message_id === queued.id && m.attachments.length > 0),
    );
    expect(posted.content).toContain('patience');
    expect(posted.allowedMentions).toEqual({ parse: [] });
    expect(buttonLabels(posted)).toContain('🔁 Reroll');
    const post = s.discord.requests.find((r) => r.method === 'POST' && r.path === `/channels/${s.discord.defaultChannelId}/messages`)!;
    expect(post.json.enforce_nonce).toBe(true);
    expect(post.json.nonce).toBe(`d${interaction.id}`);
    await s.discord.waitFor(() => s.discord.message(queued.id)?.content.includes('reply below'));
    expect(s.discord.messages(s.discord.defaultChannelId).filter((m) => m.attachments.length > 0)).toHaveLength(1);
  });

  /** A result posted in the channel long ago, its answer lost: the retry must take that post for its own. */
  async function findsEarlierChannelPost(s: Stack, hold: { release(): void }) {
    const interaction = imagine(s, [option('prompt', 'a long outage')]);
    await interaction.response();
    interaction.expire();
    // As an attempt long ago would have left it: posted, then the bot died before recording it.
    const filename = `atelier-${interaction.id}-1.png`;
    const png = await sharp({ create: { width: 8, height: 8, channels: 3, background: '#123456' } })
      .png()
      .toBuffer();
    await s.ctx.jobs.update(interaction.id, { channelPostAt: Date.now() });
    const earlier = (await s.ctx.rest.post(Routes.channelMessages(s.discord.defaultChannelId), {
      body: { content: 'the first post', allowed_mentions: { parse: [] }, attachments: [{ id: 0, filename }] },
      files: [{ name: filename, data: png }],
    })) as { id: string };
    hold.release();
    await eventually(async () => (await s.ctx.jobs.get(interaction.id))?.status === 'delivered');
    expect((await s.ctx.jobs.get(interaction.id))?.resultMessageId).toBe(earlier.id);
    const posts = s.discord.messages(s.discord.defaultChannelId).filter((m) => m.attachments.some((a) => a.filename === filename));
    expect(posts).toHaveLength(1);
  }

  it('finds its own earlier channel post when a retry comes after Discord forgot the nonce', async () => {
    const provider = new ScriptedProvider();
    const hold = provider.holdNext();
    await findsEarlierChannelPost(await start({ provider }), hold);
  });

  it('finds its earlier channel post too when its bot user’s id is not the application’s (an older application)', async () => {
    const provider = new ScriptedProvider();
    const hold = provider.holdNext();
    const s = await start({ provider, discord: { botUserId: '700000000000000777' } });
    expect(s.discord.botUser.id).not.toBe(s.discord.applicationId);
    await findsEarlierChannelPost(s, hold);
  });

  it('tells the author when the provider refuses the prompt, and does not retry', async () => {
    const provider = new ScriptedProvider().failNext(new ProviderRefusedError('NSFW content detected', 'safety'));
    const s = await start({ provider });
    const interaction = imagine(s, [option('prompt', 'something refused')]);
    await interaction.response();
    const followUp = await s.discord.waitForRequest(
      (r) => r.method === 'POST' && r.path === `/webhooks/${s.discord.applicationId}/${interaction.token}`,
    );
    expect(followUp.json.flags).toBe(MessageFlags.Ephemeral);
    expect(followUp.json.content).toMatch(/safety filter/);
    await s.discord.waitFor(() =>
      s.discord
        .messages(s.discord.defaultChannelId)
        .find((m) => m.interactionId === interaction.id)
        ?.content.startsWith('❌'),
    );
    expect(provider.requests).toHaveLength(1);
  });

  it('shows a prompt’s masked link as plain text and its addresses without a preview, queued and finished', async () => {
    const s = await start();
    const prompt = '[Claim your free Nitro](https://dlscord-gift.example/claim) a cat like https://example.org/cat_photo.png';
    const interaction = imagine(s, [option('prompt', prompt), option('seed', 3)]);
    const queued = (await interaction.response()).data;
    const result = await resultOf(s, interaction.id);
    for (const content of [String(queued.content), result.content]) {
      expect(content).not.toMatch(activeMaskedLink);
      expect(content).not.toMatch(previewedAddress);
      expect(content).toContain('\\[Claim your free Nitro\\](<https://dlscord-gift.example/claim>) a cat like <https://example.org/cat_photo.png>');
    }
    expect(queued.allowed_mentions).toEqual({ parse: [] });
    expect(result.allowedMentions).toEqual({ parse: [] });
  });

  it('keeps what the provider said about a rejected workflow out of the channel and tells the author privately', async () => {
    const detail = 'ComfyUI rejected the workflow: node 4 (CheckpointLoaderSimple): ckpt_name not in list: internal_base_v7.safetensors';
    const provider = new ScriptedProvider().failNext(new ProviderRefusedError(detail, 'invalid_input'));
    const s = await start({ provider });
    const interaction = imagine(s, [option('prompt', 'a lighthouse at night')]);
    await interaction.response();
    const privately = await s.discord.waitFor(() => interaction.followUps().find((m) => m.ephemeral));
    expect(privately.flags & MessageFlags.Ephemeral).toBe(MessageFlags.Ephemeral);
    expect(privately.allowedMentions).toEqual({ parse: [] });
    expect(shown(privately.content)).toContain(`The image provider could not use this request: ${detail}`);
    const failed = await s.discord.waitFor(() =>
      s.discord.messages(s.discord.defaultChannelId).find((m) => m.interactionId === interaction.id && !m.ephemeral && m.content.startsWith('❌')),
    );
    expect(failed.content).toMatch(
      /^❌ \*\*Not generated\.\*\* This request could not be made as asked; its author was told why\.\n\*\*a lighthouse at night\*\*/,
    );
    expect(failed.allowedMentions).toEqual({ parse: [] });
    for (const message of s.discord.messages(s.discord.defaultChannelId).filter((m) => !m.ephemeral)) {
      for (const secret of ['ComfyUI', 'CheckpointLoaderSimple', 'node 4', 'internal_base_v7', 'safetensors'])
        expect(message.content).not.toContain(secret);
    }
    expect(provider.requests).toHaveLength(1);
  });

  it('tells the author of a refused prompt by direct message once the interaction can no longer take a follow-up', async () => {
    const provider = new ScriptedProvider().failNext(
      new ProviderRefusedError('Prompt flagged by moderation model v3 (score 0.97)', 'safety', 'Your prompt was flagged.'),
    );
    const s = await start({ noWorker: true });
    const interaction = imagine(s, [option('prompt', 'something refused')]);
    await interaction.response();
    interaction.expire();
    await s.startWorker(provider);
    const userId = interaction.payload.member.user.id;
    const dm = await s.discord.waitFor(() => s.discord.messages().find((m) => s.discord.channel(m.channelId)?.recipientId === userId));
    expect(dm.content).toContain("The image provider's safety filter refused this prompt. Try rephrasing it. It said: “Your prompt was flagged.”");
    expect(dm.allowedMentions).toEqual({ parse: [] });
    const failed = await s.discord.waitFor(() =>
      s.discord.messages(s.discord.defaultChannelId).find((m) => !m.ephemeral && m.content.startsWith('❌')),
    );
    expect(failed.content).toMatch(/^❌ \*\*Not generated\.\*\* The image provider's safety filter refused this prompt\.\n/);
    expect(failed.content).not.toContain('flagged');
  });

  it('delivers once through Discord 500s and 429s on the result edit', async () => {
    const s = await start();
    s.discord.failNext({ method: 'PATCH', path: /messages\/@original$/, status: 500, times: 1 });
    s.discord.failNext({
      method: 'PATCH',
      path: /messages\/@original$/,
      status: 429,
      body: { message: 'You are being rate limited.', retry_after: 0.2, global: false },
      headers: { 'retry-after': '1', 'x-ratelimit-scope': 'user' },
      times: 1,
    });
    const interaction = imagine(s, [option('prompt', 'stubborn')]);
    const result = await resultOf(s, interaction.id);
    expect(result.attachments).toHaveLength(1);
    expect(s.discord.messages(s.discord.defaultChannelId)).toHaveLength(1);
  });

  it('runs a failed post-delivery step again without posting the result twice', async () => {
    const s = await start({ provider: new ScriptedProvider() });
    const calls: string[] = [];
    s.ctx.onDelivered!.push(async (record) => {
      calls.push(record.id);
      if (calls.length === 1) throw new Error('Redis blip');
    });
    const interaction = imagine(s, [option('prompt', 'family matters')]);
    await resultOf(s, interaction.id);
    await eventually(async () => (await s.ctx.jobs.get(interaction.id))?.hooksDone === '1', 15_000, 'the hooks to complete');
    expect(calls).toEqual([interaction.id, interaction.id]);
    expect(s.discord.messages(s.discord.defaultChannelId).filter((m) => m.attachments.length > 0)).toHaveLength(1);
  });

  it('shrinks the upload and tries again when Discord refuses it as too large', async () => {
    const s = await start();
    s.discord.failNext({
      method: 'PATCH',
      path: /messages\/@original$/,
      status: 413,
      body: { code: 40005, message: 'Request entity too large' },
      when: (r) => r.files.length > 0,
    });
    const interaction = imagine(s, [option('prompt', 'crimson fire over a deep ocean')]);
    const result = await resultOf(s, interaction.id);
    expect((await s.ctx.jobs.get(interaction.id))?.uploadShrink).toBe(2);
    expect(result.attachments[0]!.size).toBeLessThanOrEqual((10 * 1024 * 1024) / 2);
    expect(s.discord.messages(s.discord.defaultChannelId).filter((m) => m.attachments.length > 0)).toHaveLength(1);
  });

  it('re-encodes images to fit a small attachment_size_limit', async () => {
    const s = await start({ discord: { guilds: [{ attachmentSizeLimit: 300 * 1024, channels: [{}] }] } });
    const interaction = imagine(s, [option('prompt', 'crimson fire over a deep ocean'), option('count', 2)]);
    const result = await resultOf(s, interaction.id);
    for (const attachment of result.attachments) expect(attachment.size).toBeLessThanOrEqual(300 * 1024);
    expect(result.attachments.some((a) => /\.(webp|jpe?g)$/.test(a.filename))).toBe(true);
  });
});
