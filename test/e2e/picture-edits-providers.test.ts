/**
 * ➡ pan and Vary (Region) through the whole stack on each remote provider (fake servers speaking
 * the real APIs): the provider is asked with canvas and mask, and the picture that reaches the
 * channel keeps the original exactly where it was.
 */
import sharp from 'sharp';
import { afterEach, describe, expect, it } from 'vitest';
import { createComfyProvider } from '../../src/worker/providers/comfyui.js';
import { createOpenAIProvider } from '../../src/worker/providers/openai.js';
import type { ImageProvider } from '../../src/worker/providers/types.js';
import { FakeComfyUI } from '../support/fake-comfyui.js';
import { FakeOpenAI } from '../support/fake-openai.js';
import { FakeReplicate } from '../support/fake-replicate.js';
import { replicateProviderOn } from '../support/replicate-provider.js';
import { finishedResult, Stack } from '../support/stack.js';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const raw = (png: Buffer) => sharp(png).removeAlpha().raw().toBuffer({ resolveWithObject: true });

/** /imagine one picture, ➡ pan it, and redraw its centre; checks what reached the channel. */
async function panAndRegion(provider: ImageProvider, model: string) {
  const stack = await Stack.start({ provider, bot: { models: [{ name: 'main', ref: model }] } });
  cleanups.push(() => stack.close());
  await stack.discord.ready;

  const imagine = stack.discord.slashCommand({ name: 'imagine', options: { prompt: 'a harbour', count: 1 } });
  const original = await finishedResult(stack, imagine.id, 30_000);
  expect(original.content).toMatch(/^✅/);
  const source = await raw(original.attachments[0]!.data);

  const pan = stack.discord.button({ customId: `edit:panr:${imagine.id}`, message: original });
  const panned = await finishedResult(stack, pan.id, 30_000);
  expect(panned.content, panned.content).toMatch(/^✅/);
  const wide = await raw(panned.attachments[0]!.data);
  expect([wide.info.width, wide.info.height]).toEqual([source.info.width * 1.5, source.info.height]);
  const left = await sharp(panned.attachments[0]!.data)
    .extract({ left: 0, top: 0, width: source.info.width, height: source.info.height })
    .removeAlpha()
    .raw()
    .toBuffer();
  expect(left.equals(source.data)).toBe(true);

  const region = stack.discord.modalSubmit({
    customId: `edit:regionform:${imagine.id}`,
    fields: { region: 'centre', prompt: 'a boat' },
    message: original,
  });
  const redrawn = await finishedResult(stack, region.id, 30_000);
  expect(redrawn.content, redrawn.content).toMatch(/^✅/);
  const after = await raw(redrawn.attachments[0]!.data);
  expect([after.info.width, after.info.height]).toEqual([source.info.width, source.info.height]);
  // The top row lies outside the centre cell: unchanged.
  const row = source.info.width * 3;
  expect(after.data.subarray(0, row).equals(source.data.subarray(0, row))).toBe(true);
  expect(stack.discord.validationErrors).toEqual([]);
}

describe('pan and Vary (Region) on each provider', () => {
  it('ComfyUI: outpaint.json and inpaint.json', async () => {
    const comfy = new FakeComfyUI();
    comfy.delayMs = 20;
    await comfy.start();
    cleanups.push(() => comfy.close());
    await panAndRegion(createComfyProvider({ url: comfy.url, workflowDir: 'workflows', pollMs: 20 }), 'sd_xl_base_1.0.safetensors');
    const loaders = comfy.accepted.map((workflow) => Object.values(workflow).filter((node) => node.class_type === 'LoadImageMask').length);
    expect(loaders).toEqual([0, 1, 1]);
  }, 90_000);

  it('Replicate: the fill model', async () => {
    const replicate = new FakeReplicate();
    replicate.delayMs = 30;
    await replicate.start();
    cleanups.push(() => replicate.close());
    const provider = replicateProviderOn(replicate, {
      inpaintModel: 'black-forest-labs/flux-fill-dev',
    });
    await panAndRegion(provider, 'black-forest-labs/flux-schnell');
    expect(replicate.requestsTo('POST', /\/models\/black-forest-labs\/flux-fill-dev\/predictions$/)).toHaveLength(2);
  }, 90_000);

  it('OpenAI: images.edit with a mask', async () => {
    const openai = new FakeOpenAI();
    await openai.start();
    cleanups.push(() => openai.close());
    await panAndRegion(createOpenAIProvider({ apiKey: openai.apiKey, baseUrl: openai.baseUrl, model: 'gpt-image-1' }), 'gpt-image-1');
    const edits = openai.requestsTo(/^\/v1\/images\/edits$/);
    expect(edits).toHaveLength(2);
    expect(edits.every((request) => request.body.mask?.type === 'image/png')).toBe(true);
  }, 90_000);
});
