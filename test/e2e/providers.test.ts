import { resolve } from 'node:path';
import { MessageFlags } from 'discord.js';
import sharp from 'sharp';
import { afterEach, describe, expect, it } from 'vitest';
import { createComfyProvider } from '../../src/worker/providers/comfyui.js';
import { FakeComfyUI } from '../support/fake-comfyui.js';
import { FakeReplicate } from '../support/fake-replicate.js';
import { replicateProviderOn } from '../support/replicate-provider.js';
import { Writable } from 'node:stream';
import { createLogger } from '../../src/logger.js';
import { createOpenAIProvider } from '../../src/worker/providers/openai.js';
import { FakeOpenAI, MODERATION_MESSAGE } from '../support/fake-openai.js';
import { finishedResult, Stack } from '../support/stack.js';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** Message text as Discord shows it: each backslash escape replaced by the character it escapes. */
const shown = (content: string) => content.replace(/\\(.)/g, '$1');

describe('/imagine through each provider (fake provider servers speaking the real APIs)', () => {
  it('Replicate: the prediction runs on the configured model and its outputs reach the channel', async () => {
    const replicate = new FakeReplicate();
    replicate.delayMs = 30;
    await replicate.start();
    cleanups.push(() => replicate.close());
    const provider = replicateProviderOn(replicate);
    const stack = await Stack.start({
      provider,
      bot: { models: [{ name: 'schnell', ref: 'black-forest-labs/flux-schnell' }] },
    });
    cleanups.push(() => stack.close());
    await stack.discord.ready;

    const interaction = stack.discord.slashCommand({ name: 'imagine', options: { prompt: 'neon koi', count: 2, seed: 9 } });
    const result = await finishedResult(stack, interaction.id);
    expect(result.content).toMatch(/^✅/);
    expect(result.content).toContain('schnell');
    expect(result.attachments).toHaveLength(3);
    const create = replicate.requestsTo('POST', /\/models\/black-forest-labs\/flux-schnell\/predictions$/);
    expect(create).toHaveLength(1);
    expect((create[0]!.body as { input: Record<string, unknown> }).input).toMatchObject({ prompt: 'neon koi', num_outputs: 2, seed: 9 });

    // U1 goes to the upscale model with the first image.
    const upscale = stack.discord.button({ customId: `gen:upscale:${interaction.id}:1`, message: result });
    const upscaled = await finishedResult(stack, upscale.id);
    expect(upscaled.attachments).toHaveLength(1);
    expect(replicate.requestsTo('POST', /real-esrgan\/predictions$|\/predictions$/).length).toBeGreaterThanOrEqual(2);
    expect(stack.discord.validationErrors).toEqual([]);
  });

  it('Replicate: a safety refusal is told to the author privately and not retried', async () => {
    const replicate = new FakeReplicate();
    replicate.delayMs = 10;
    await replicate.start();
    cleanups.push(() => replicate.close());
    replicate.failNext(1, 'nsfw');
    const provider = replicateProviderOn(replicate, {
      pollMs: 10,
    });
    const stack = await Stack.start({ provider, bot: { models: [{ name: 'schnell', ref: 'black-forest-labs/flux-schnell' }] } });
    cleanups.push(() => stack.close());
    await stack.discord.ready;
    const interaction = stack.discord.slashCommand({ name: 'imagine', options: { prompt: 'forbidden' } });
    const result = await finishedResult(stack, interaction.id);
    expect(result.content).toMatch(/^❌.*safety filter/);
    const privately = await stack.discord.waitFor(() =>
      interaction.followUps().find((m) => m.flags === MessageFlags.Ephemeral && /safety filter/.test(m.content)),
    );
    expect(privately.ephemeral).toBe(true);
    expect(replicate.created).toBe(1);
  });

  it('ComfyUI: the workflow template is filled, queued, polled and its images fetched', async () => {
    const comfy = new FakeComfyUI();
    await comfy.start();
    cleanups.push(() => comfy.close());
    const provider = createComfyProvider({ url: comfy.url, workflowDir: resolve('workflows'), pollMs: 20 });
    const stack = await Stack.start({ provider, bot: { models: [{ name: 'sdxl', ref: 'sd_xl_base_1.0.safetensors' }] } });
    cleanups.push(() => stack.close());
    await stack.discord.ready;

    const interaction = stack.discord.slashCommand({ name: 'imagine', options: { prompt: 'moss temple', aspect: '3:2' } });
    const result = await finishedResult(stack, interaction.id);
    expect(result.content).toMatch(/^✅/);
    const image = await sharp(result.attachments[0]!.data).metadata();
    expect([image.width, image.height]).toEqual([1216, 832]);
    expect(comfy.accepted).toHaveLength(1);
    expect(JSON.stringify(comfy.accepted[0])).toContain('moss temple');
    expect(comfy.requestsTo('GET', /^\/view/).length).toBeGreaterThanOrEqual(1);
    expect(stack.discord.validationErrors).toEqual([]);
  });

  describe('OpenAI Images', () => {
    async function openAIStack() {
      const openai = new FakeOpenAI();
      await openai.start();
      cleanups.push(() => openai.close());
      const lines: string[] = [];
      const sink = new Writable({
        write(chunk, _encoding, done) {
          lines.push(String(chunk));
          done();
        },
      });
      const provider = createOpenAIProvider({ apiKey: openai.apiKey, baseUrl: openai.baseUrl, model: 'gpt-image-1' });
      const stack = await Stack.start({
        provider,
        bot: { models: [{ name: 'gpt-image-1', ref: 'gpt-image-1' }] },
        worker: { logger: createLogger('trace', sink) },
      });
      cleanups.push(() => stack.close());
      await stack.discord.ready;
      return { openai, stack, lines };
    }

    it('draws /imagine at the nearest supported size, remixes through images.edit, and upscales offline', async () => {
      const { openai, stack } = await openAIStack();
      const interaction = stack.discord.slashCommand({ name: 'imagine', options: { prompt: 'paper boats', aspect: '9:16', count: 2 } });
      const result = await finishedResult(stack, interaction.id);
      expect(result.content).toMatch(/^✅/);
      // The grid first, then each picture.
      const image = await sharp(result.attachments[1]!.data).metadata();
      expect([image.width, image.height]).toEqual([1024, 1536]);
      expect(openai.requestsTo(/generations$/).map((r) => r.body)).toEqual([
        { model: 'gpt-image-1', prompt: 'paper boats', n: 2, size: '1024x1536' },
      ]);

      const vary = stack.discord.button({ customId: `gen:vary:${interaction.id}:1`, message: result });
      expect((await finishedResult(stack, vary.id)).content).toMatch(/^✅/);
      expect(openai.requestsTo(/edits$/)).toHaveLength(1);

      const upscale = stack.discord.button({ customId: `gen:upscale:${interaction.id}:2`, message: result });
      const upscaled = await finishedResult(stack, upscale.id);
      const big = await sharp(upscaled.attachments[0]!.data).metadata();
      expect([big.width, big.height]).toEqual([2048, 3072]);
      expect(openai.requests).toHaveLength(2);
      expect(stack.discord.validationErrors).toEqual([]);
    });

    it('tells the author privately why OpenAI refused, and does not ask again', async () => {
      const { openai, stack } = await openAIStack();
      openai.failNext(1, 'moderation');
      const interaction = stack.discord.slashCommand({ name: 'imagine', options: { prompt: 'forbidden' } });
      const result = await finishedResult(stack, interaction.id);
      expect(result.content).toMatch(/^❌.*safety filter/);
      // What OpenAI said is for the author alone.
      expect(result.content).not.toContain('safety system');
      const privately = await stack.discord.waitFor(() =>
        interaction.followUps().find((m) => m.flags === MessageFlags.Ephemeral && shown(m.content).includes(MODERATION_MESSAGE)),
      );
      expect(privately.content).toContain('safety filter');
      expect(openai.requests).toHaveLength(1);
    });

    it('waits out a 429 for its Retry-After and a 500 with a retry, delivers once, and never logs the key', async () => {
      const { openai, stack, lines } = await openAIStack();
      openai.retryAfterSeconds = 1;
      openai.failNext(1, 'http429');
      openai.failNext(1, 'http500');
      const interaction = stack.discord.slashCommand({ name: 'imagine', options: { prompt: 'a slow tide' } });
      const result = await finishedResult(stack, interaction.id);
      expect(result.content).toMatch(/^✅/);

      const [{ at, retryAfterMs }] = openai.throttled as [{ at: number; retryAfterMs: number }];
      const after = openai.requests.filter((r) => r.at > at);
      expect(after).toHaveLength(2);
      for (const request of after) expect(request.at - at).toBeGreaterThanOrEqual(retryAfterMs);
      expect(stack.discord.messages(stack.discord.defaultChannelId).filter((m) => m.interactionId === interaction.id)).toHaveLength(1);

      expect(lines.join('\n')).toMatch(/rate limited/);
      const log = createLogger('info', new Writable({ write: (chunk, _e, done) => (lines.push(String(chunk)), done()) }));
      log.info({ config: { OPENAI_API_KEY: openai.apiKey }, apiKey: openai.apiKey }, 'settings');
      expect(lines.join('\n')).not.toContain(openai.apiKey);
    });
  });

  it('refuses, privately and at once, to upscale an upscale past 4096 pixels, and queues nothing', async () => {
    const stack = await Stack.start({});
    cleanups.push(() => stack.close());
    await stack.discord.ready;
    const interaction = stack.discord.slashCommand({ name: 'imagine', options: { prompt: 'harbour lights', aspect: '16:9', count: 1 } });
    const result = await finishedResult(stack, interaction.id);
    const upscale = stack.discord.button({ customId: `gen:upscale:${interaction.id}:1`, message: result });
    const upscaled = await finishedResult(stack, upscale.id);
    const big = await sharp(upscaled.attachments[0]!.data).metadata();
    expect(big.width).toBeGreaterThan(2048);

    // An upscale shows no U buttons; a forged one asks for an upscale of the upscale.
    const before = await stack.ctx.generateQueue.getJobCounts();
    const again = stack.discord.button({ customId: `gen:upscale:${upscale.id}:1`, message: upscaled });
    const answer = await again.response();
    expect(answer.data.flags).toBe(MessageFlags.Ephemeral);
    expect(answer.data.content).toContain(`This picture is already ${big.width}×${big.height}; upscaling it again would pass 4096 pixels`);
    expect(await stack.ctx.generateQueue.getJobCounts()).toEqual(before);
    expect(stack.discord.validationErrors).toEqual([]);
  });
});
