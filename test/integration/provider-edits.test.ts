/**
 * Pan / zoom / square (outpaint) and Vary (Region) (inpaint) on the three remote providers, against
 * their fakes: the ComfyUI templates pass its validator and get the canvas and the mask, Replicate's
 * fill model gets image and mask in the shape it takes, OpenAI's edit gets a mask it accepts. Then
 * the worker's own step puts the kept pixels back, whatever size the provider answered in.
 */
import sharp from 'sharp';
import { afterEach, describe, expect, it } from 'vitest';
import { panPlan, regionPlan, zoomPlan, type EditPlan } from '../../src/features/edits/geometry.js';
import { keepOriginal, prepareEdit } from '../../src/features/edits/render.js';
import { createComfyProvider } from '../../src/worker/providers/comfyui.js';
import { createOpenAIProvider } from '../../src/worker/providers/openai.js';
import { ProviderRefusedError, type GenerationRequest, type ImageProvider } from '../../src/worker/providers/types.js';
import { FakeComfyUI } from '../support/fake-comfyui.js';
import { FakeOpenAI } from '../support/fake-openai.js';
import { FakeReplicate, gradient } from '../support/fake-replicate.js';
import { replicateProviderOn } from '../support/replicate-provider.js';

const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (closers.length > 0) await closers.pop()!();
});

/** A picture with a shape in it, so that where it lands can be checked. */
const picture = (width: number, height: number) => gradient(width, height, 11).png().toBuffer();

function request(overrides: Partial<GenerationRequest>): GenerationRequest {
  return {
    kind: 'txt2img',
    prompt: 'a lighthouse at dusk',
    width: 64,
    height: 64,
    seed: 42,
    count: 1,
    model: 'model',
    signal: new AbortController().signal,
    onProgress: () => undefined,
    ...overrides,
  };
}

/** The worker's path for one edit on a provider: prepare, generate, keep. */
async function edit(provider: ImageProvider, kind: 'outpaint' | 'inpaint', source: Buffer, plan: EditPlan, model: string) {
  const prepared = await prepareEdit(kind, source, plan.width, plan.height, plan.area);
  const images = await provider.generate(
    request({ kind, model, width: plan.width, height: plan.height, init: prepared.canvas, mask: prepared.mask, prompt: 'open sea' }),
  );
  expect(images).toHaveLength(1);
  return { prepared, provided: images[0]!, kept: await keepOriginal(images[0]!.data, prepared) };
}

async function expectKept(kept: Buffer, source: Buffer, left: number, top: number) {
  const meta = await sharp(source).metadata();
  const region = await sharp(kept).extract({ left, top, width: meta.width!, height: meta.height! }).removeAlpha().raw().toBuffer();
  expect(region.equals(await sharp(source).removeAlpha().raw().toBuffer())).toBe(true);
}

describe('ComfyUI', () => {
  async function comfy() {
    const fake = new FakeComfyUI();
    fake.delayMs = 20;
    await fake.start();
    closers.push(() => fake.close());
    return { fake, provider: createComfyProvider({ url: fake.url, workflowDir: 'workflows', pollMs: 20 }) };
  }

  it('outpaint.json takes the canvas and the mask, and passes the validator', async () => {
    const { fake, provider } = await comfy();
    const source = await picture(96, 64);
    const plan = panPlan('left', 96, 64);
    const { kept } = await edit(provider, 'outpaint', source, plan, 'sd_xl_base_1.0.safetensors');
    expect([kept.width, kept.height]).toEqual([144, 64]);
    await expectKept(kept.data, source, 48, 0);

    const workflow = fake.accepted[0]!;
    const node = (type: string) => Object.values(workflow).find((n) => n.class_type === type)!;
    expect(node('KSampler').inputs.denoise).toBe(1);
    const canvasName = node('LoadImage').inputs.image as string;
    const maskName = node('LoadImageMask').inputs.image as string;
    expect(canvasName).not.toBe(maskName);
    // The uploads are the prepared canvas (144 × 64) and its mask (white where ComfyUI paints).
    const mask = await sharp(fake.uploads.get(maskName)!).greyscale().raw().toBuffer({ resolveWithObject: true });
    expect([mask.info.width, mask.info.height]).toEqual([144, 64]);
    expect(mask.data[0]).toBe(255);
    expect(mask.data[100]).toBe(0);
    expect((await sharp(fake.uploads.get(canvasName)!).metadata()).width).toBe(144);
    expect(node('VAEEncodeForInpaint').inputs.mask).toEqual([Object.keys(workflow).find((id) => workflow[id] === node('LoadImageMask')), 0]);
  });

  it('inpaint.json redraws a region, and the rest stays the source', async () => {
    const { fake, provider } = await comfy();
    const source = await picture(90, 60);
    const plan = regionPlan({ x: 0, y: 0, w: 50, h: 50 }, 90, 60);
    const { kept } = await edit(provider, 'inpaint', source, plan, 'sd_xl_base_1.0.safetensors');
    const before = await sharp(source).removeAlpha().raw().toBuffer();
    const after = await sharp(kept.data).removeAlpha().raw().toBuffer();
    const at = (x: number, y: number, data: Buffer) => data.subarray((y * 90 + x) * 3, (y * 90 + x) * 3 + 3);
    expect(at(80, 50, after).equals(at(80, 50, before))).toBe(true);
    expect(at(10, 10, after).equals(at(10, 10, before))).toBe(false);
    expect(fake.accepted).toHaveLength(1);
  });

  it('a job without a mask is refused, not sent', async () => {
    const { fake, provider } = await comfy();
    const init = await picture(64, 64);
    await expect(provider.generate(request({ kind: 'inpaint', init, model: 'sd_xl_base_1.0.safetensors' }))).rejects.toBeInstanceOf(
      ProviderRefusedError,
    );
    expect(fake.accepted).toHaveLength(0);
  });
});

describe('Replicate', () => {
  async function replicate(withInpaintModel = true) {
    const fake = new FakeReplicate();
    fake.delayMs = 60;
    await fake.start();
    closers.push(() => fake.close());
    const provider = replicateProviderOn(fake, {
      inpaintModel: withInpaintModel ? 'black-forest-labs/flux-fill-dev' : undefined,
    });
    return { fake, provider };
  }

  const created = (fake: FakeReplicate) => fake.requests.filter((r) => r.method === 'POST' && /predictions$/.test(r.path));

  it('runs the configured fill model with image and mask, and the kept pixels survive its rounding of the size', async () => {
    const { fake, provider } = await replicate();
    await provider.start!();
    const source = await picture(100, 60);
    const plan = zoomPlan(2, 100, 60);
    const { provided, kept } = await edit(provider, 'outpaint', source, plan, 'ignored');
    // The fake, like Flux Fill, answers in multiples of 16; the worker fits it back to the canvas.
    expect([provided.width, provided.height]).toEqual([96, 48]);
    expect([kept.width, kept.height]).toEqual([100, 60]);
    const shrunk = await sharp(source).resize(50, 30, { fit: 'fill' }).png().toBuffer();
    await expectKept(kept.data, shrunk, 25, 15);

    const sent = created(fake);
    expect(sent).toHaveLength(1);
    expect(sent[0]!.path).toBe('/v1/models/black-forest-labs/flux-fill-dev/predictions');
    const input = sent[0]!.body.input;
    expect(Object.keys(input).sort()).toEqual(['image', 'mask', 'num_outputs', 'output_format', 'prompt', 'seed']);
    expect(input.image).toMatch(/^data:image\/png;base64,/);
    expect(input.mask).toMatch(/^data:image\/png;base64,/);
  });

  it('Vary (Subtle) and (Strong) reach the img2img model as their strength', async () => {
    const { fake, provider } = await replicate();
    const init = await picture(64, 64);
    for (const strength of [0.3, 0.75]) {
      await provider.generate(request({ kind: 'variation', init, strength, width: 512, height: 512, model: 'x' }));
    }
    expect(created(fake).map((r) => r.body.input.prompt_strength)).toEqual([0.3, 0.75]);
  });

  it('without an inpainting model an edit is refused clearly', async () => {
    const { fake, provider } = await replicate(false);
    const prepared = await prepareEdit('outpaint', await picture(64, 64), 96, 64, { x: 0, y: 0, w: 64, h: 64 });
    const attempt = provider.generate(request({ kind: 'outpaint', init: prepared.canvas, mask: prepared.mask, width: 96 }));
    await expect(attempt).rejects.toThrow(/REPLICATE_INPAINT_MODEL/);
    expect(created(fake)).toHaveLength(0);
  });
});

describe('OpenAI', () => {
  it('sends the canvas with a mask that is transparent where it may draw, the size of the image', async () => {
    const fake = new FakeOpenAI();
    await fake.start();
    closers.push(() => fake.close());
    const provider = createOpenAIProvider({ apiKey: fake.apiKey, baseUrl: fake.baseUrl, model: 'gpt-image-1' });
    const source = await picture(96, 64);
    const plan = panPlan('right', 96, 64);
    const { provided, kept } = await edit(provider, 'outpaint', source, plan, 'gpt-image-1');
    expect([provided.width, provided.height]).toEqual([1536, 1024]);
    expect([kept.width, kept.height]).toEqual([144, 64]);
    await expectKept(kept.data, source, 0, 0);

    const sent = fake.requestsTo(/^\/v1\/images\/edits$/);
    expect(sent).toHaveLength(1);
    const mask = await sharp(sent[0]!.body.mask.data as Buffer)
      .raw()
      .toBuffer({ resolveWithObject: true });
    expect([mask.info.width, mask.info.height, mask.info.channels]).toEqual([144, 64, 4]);
    // Alpha 255 over the kept picture (left), 0 over the new strip (right).
    expect(mask.data[3]).toBe(255);
    expect(mask.data[(143 * 1 + 0) * 4 + 3]).toBe(0);
  });
});
