/**
 * /blend, /describe and --sref through the worker to the fake Replicate and ComfyUI servers: the
 * pictures the bot kept reach the provider in the shape it takes, and the answers reach Discord.
 */
import sharp from 'sharp';
import { afterEach, describe, expect, it } from 'vitest';
import { createComfyProvider } from '../../src/worker/providers/comfyui.js';
import { FakeComfyUI } from '../support/fake-comfyui.js';
import { FakeReplicate } from '../support/fake-replicate.js';
import { replicateProviderOn } from '../support/replicate-provider.js';
import { finishedResult, Stack } from '../support/stack.js';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const solid = (background: string) =>
  sharp({ create: { width: 120, height: 80, channels: 3, background } })
    .png()
    .toBuffer();

describe('blend, describe and styles through the real provider APIs', () => {
  it('Replicate: /blend sends every picture to the blend model, /describe asks the captioner, --sref goes to img2img', async () => {
    const replicate = new FakeReplicate();
    replicate.delayMs = 20;
    await replicate.start();
    cleanups.push(() => replicate.close());
    const provider = replicateProviderOn(replicate, {
      blendModel: 'google/nano-banana',
      captionModel: 'salesforce/blip',
      pollMs: 10,
    });
    const stack = await Stack.start({ provider, bot: { models: [{ name: 'schnell', ref: 'black-forest-labs/flux-schnell' }] } });
    cleanups.push(() => stack.close());
    await stack.discord.ready;

    const files = await Promise.all(
      ['#ff0000', '#00ff00'].map(async (c, i) =>
        stack.discord.createAttachment({ filename: `${i}.png`, data: await solid(c), contentType: 'image/png' }),
      ),
    );
    const blend = stack.discord.slashCommand({ name: 'blend', options: { file1: files[0]!.id, file2: files[1]!.id } });
    const blended = await finishedResult(stack, blend.id);
    expect(blended.content).toContain('🧪 blend of 2 pictures');
    const [call] = replicate.requestsTo('POST', /nano-banana\/predictions$/);
    expect(call!.body.input.image_input).toHaveLength(2);

    const describeIt = stack.discord.slashCommand({ name: 'describe', options: { image: files[0]!.id } });
    const answer = await stack.discord.waitFor(() => {
      const reply = describeIt.original();
      return reply?.content.includes('Four prompts') ? reply : undefined;
    }, 20_000);
    expect(answer.content).toContain('**1.** a wide picture of a lighthouse on a cliff');

    const code = /🎨 style `([0-9a-f]{10})`/.exec(blended.content)![1]!;
    const styled = stack.discord.slashCommand({ name: 'imagine', options: { prompt: `a harbour --sref ${code} --sw 1000` } });
    expect((await finishedResult(stack, styled.id)).content).toContain('🎨 style from');
    const img2img = replicate.requestsTo('POST', /flux-dev\/predictions$/);
    expect(img2img).toHaveLength(1);
    expect(img2img[0]!.body.input).toMatchObject({ prompt: 'a harbour', prompt_strength: 0.4 });
    expect(stack.discord.validationErrors).toEqual([]);
  });

  it('ComfyUI: /blend and --sref run img2img.json, /describe runs describe.json, all accepted by the validator', async () => {
    const comfy = new FakeComfyUI();
    comfy.delayMs = 10;
    await comfy.start();
    cleanups.push(() => comfy.close());
    const provider = createComfyProvider({ url: comfy.url, workflowDir: 'workflows', pollMs: 10 });
    const stack = await Stack.start({ provider, bot: { models: [{ name: 'sdxl', ref: 'sd_xl_base_1.0.safetensors' }] } });
    cleanups.push(() => stack.close());
    await stack.discord.ready;

    const files = await Promise.all(
      ['#ff0000', '#0000ff'].map(async (c, i) =>
        stack.discord.createAttachment({ filename: `${i}.png`, data: await solid(c), contentType: 'image/png' }),
      ),
    );
    const blend = stack.discord.slashCommand({ name: 'blend', options: { file1: files[0]!.id, file2: files[1]!.id } });
    const blended = await finishedResult(stack, blend.id);
    expect(blended.content).toContain('🧪 blend of 2 pictures');

    const describeIt = stack.discord.slashCommand({ name: 'describe', options: { image: files[1]!.id } });
    const answer = await stack.discord.waitFor(() => {
      const reply = describeIt.original();
      return reply?.content.includes('Four prompts') ? reply : undefined;
    }, 20_000);
    expect(answer.content).toContain('harbour at night');

    const code = /🎨 style `([0-9a-f]{10})`/.exec(blended.content)![1]!;
    const styled = stack.discord.slashCommand({ name: 'imagine', options: { prompt: `a harbour --sref ${code}` } });
    expect((await finishedResult(stack, styled.id)).content).toContain('🎨 style from');
    const classes = comfy.accepted.map((workflow) =>
      Object.values(workflow)
        .map((node) => node.class_type)
        .sort()
        .join(','),
    );
    expect(classes).toHaveLength(3);
    expect(classes[1]).toContain('Florence2Run');
    expect(classes[0]).toContain('VAEEncode');
    expect(classes[2]).toContain('VAEEncode');
    expect(stack.discord.validationErrors).toEqual([]);
  });
});
