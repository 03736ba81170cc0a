/**
 * Blends, --sref styles and /describe as each provider sends them: request shapes checked against
 * the fake Replicate and the fake ComfyUI (whose validator checks the workflow), and the offline
 * renderer's visible effect measured in pixels.
 */
import sharp from 'sharp';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { blendComposite } from '../../src/images/references.js';
import { createComfyProvider } from '../../src/worker/providers/comfyui.js';
import { createLocalProvider } from '../../src/worker/providers/local.js';
import type { ReplicateProviderOptions } from '../../src/worker/providers/replicate.js';
import type { GenerationRequest } from '../../src/worker/providers/types.js';
import { FakeComfyUI } from '../support/fake-comfyui.js';
import { FakeReplicate } from '../support/fake-replicate.js';
import { replicateProviderOn } from '../support/replicate-provider.js';

const solid = (background: string, width = 96, height = 64) =>
  sharp({ create: { width, height, channels: 3, background } })
    .png()
    .toBuffer();

function request(overrides: Partial<GenerationRequest> = {}): GenerationRequest {
  return {
    kind: 'txt2img',
    prompt: 'a lighthouse at dusk',
    width: 512,
    height: 384,
    seed: 42,
    count: 1,
    model: 'black-forest-labs/flux-schnell',
    signal: new AbortController().signal,
    onProgress: () => undefined,
    ...overrides,
  };
}

async function mean(png: Buffer): Promise<[number, number, number]> {
  const { channels } = await sharp(png).stats();
  return [channels[0]!.mean, channels[1]!.mean, channels[2]!.mean];
}

const decode = (uri: string) => Buffer.from(uri.slice(uri.indexOf(',') + 1), 'base64');

describe('Replicate: blends, styles and captions', () => {
  let fake: FakeReplicate;
  beforeEach(async () => {
    fake = new FakeReplicate();
    fake.delayMs = 40;
    await fake.start();
  });
  afterEach(() => fake.close());

  const provider = (overrides: Partial<ReplicateProviderOptions> = {}) => replicateProviderOn(fake, { pollMs: 10, ...overrides });
  const created = () => fake.requestsTo('POST', /predictions$/);

  it('sends every picture of a blend as image_input to the blend model', async () => {
    const pictures = await Promise.all(['#ff0000', '#00ff00', '#0000ff'].map((c) => solid(c)));
    const images = await provider({ blendModel: 'google/nano-banana' }).generate(
      request({ kind: 'img2img', init: pictures[0], blend: pictures, strength: 0.5 }),
    );
    expect(images).toHaveLength(1);
    const [call] = created();
    expect(call!.path).toBe('/v1/models/google/nano-banana/predictions');
    expect(call!.body.input.image_input).toHaveLength(3);
    expect(call!.body.input.image_input.map(decode)).toEqual(pictures);
    expect(call!.body.input).toMatchObject({ prompt: 'a lighthouse at dusk', prompt_strength: 0.5, aspect_ratio: '4:3' });
  });

  it('without a blend model, sends the pictures averaged as the img2img source', async () => {
    const pictures = await Promise.all(['#ff0000', '#0000ff'].map((c) => solid(c)));
    await provider().generate(request({ kind: 'img2img', init: pictures[0], blend: pictures, strength: 0.5 }));
    const [call] = created();
    expect(call!.path).toBe('/v1/models/black-forest-labs/flux-dev/predictions');
    expect(call!.body.input.image_input).toBeUndefined();
    const [r, g, b] = await mean(decode(call!.body.input.image));
    expect([Math.round(r), Math.round(g), Math.round(b)]).toEqual([128, 0, 128]);
  });

  it('draws a --sref prompt from the style picture on the img2img model, keeping more of it the heavier the weight', async () => {
    const style = await solid('#ff8800');
    await provider().generate(request({ style: { image: style, weight: 1000 } }));
    await provider().generate(request({ style: { image: style, weight: 100 } }));
    await provider().generate(request({ style: { image: style, weight: 0 } }));
    const [heavy, usual, none] = created();
    expect(heavy!.path).toBe('/v1/models/black-forest-labs/flux-dev/predictions');
    expect(decode(heavy!.body.input.image)).toEqual(style);
    expect(heavy!.body.input.prompt_strength).toBeCloseTo(0.4);
    expect(usual!.body.input.prompt_strength).toBeCloseTo(1 - 0.6 * Math.sqrt(0.1));
    // Weight 0: the prompt alone, on the text model.
    expect(none!.path).toBe('/v1/models/black-forest-labs/flux-schnell/predictions');
    expect(none!.body.input.image).toBeUndefined();
  });

  it('describes through the captioning model: its caption and three looks of it', async () => {
    const replicate = provider({ captionModel: 'salesforce/blip' });
    const suggestions = await replicate.describe!({ image: await solid('#123456', 300, 100), signal: new AbortController().signal });
    expect(suggestions).toHaveLength(4);
    expect(suggestions[0]).toBe('a wide picture of a lighthouse on a cliff');
    expect(suggestions.slice(1).every((s) => s.startsWith('a wide picture of a lighthouse on a cliff, '))).toBe(true);
    const [call] = created();
    expect(call!.path).toBe('/v1/predictions');
    expect(Object.keys(call!.body.input)).toEqual(['image']);
    expect(provider().describe).toBeUndefined();
  });
});

describe('ComfyUI: blends and styles through img2img.json', () => {
  let fake: FakeComfyUI;
  beforeEach(async () => {
    fake = new FakeComfyUI();
    fake.delayMs = 20;
    await fake.start();
  });
  afterEach(() => fake.close());
  const provider = () => createComfyProvider({ url: fake.url, workflowDir: 'workflows', pollMs: 10 });
  const comfy = (overrides: Partial<GenerationRequest>) => request({ model: 'sd_xl_base_1.0.safetensors', ...overrides });

  it('uploads a blend averaged and runs the img2img workflow the validator accepts', async () => {
    const pictures = await Promise.all(['#ff0000', '#0000ff'].map((c) => solid(c)));
    const images = await provider().generate(comfy({ kind: 'img2img', init: pictures[0], blend: pictures, strength: 0.5 }));
    expect(images).toHaveLength(1);
    expect(fake.accepted).toHaveLength(1);
    const sampler = Object.values(fake.accepted[0]!).find((node) => node.class_type === 'KSampler')!;
    expect(sampler.inputs.denoise).toBe(0.5);
    const [uploaded] = [...fake.uploads.values()];
    expect((await mean(uploaded!)).map(Math.round)).toEqual([128, 0, 128]);
  });

  it('runs a --sref prompt as img2img from the style picture', async () => {
    const style = await solid('#ff8800');
    await provider().generate(comfy({ style: { image: style, weight: 1000 } }));
    const sampler = Object.values(fake.accepted[0]!).find((node) => node.class_type === 'KSampler')!;
    expect(sampler.inputs.denoise).toBeCloseTo(0.4);
    expect([...fake.uploads.values()]).toEqual([style]);
  });
});

describe('ComfyUI: /describe through describe.json', () => {
  let fake: FakeComfyUI;
  beforeEach(async () => {
    fake = new FakeComfyUI();
    fake.delayMs = 20;
    await fake.start();
  });
  afterEach(() => fake.close());

  it('uploads the picture, runs the captioning workflow the validator accepts, and makes four prompts of its text', async () => {
    const comfy = createComfyProvider({ url: fake.url, workflowDir: 'workflows', pollMs: 10 });
    const picture = await solid('#335577', 90, 300);
    const suggestions = await comfy.describe!({ image: picture, signal: new AbortController().signal });
    expect(suggestions).toHaveLength(4);
    expect(suggestions[0]).toBe('A tall photograph of a harbour at night, boats resting on calm water.');
    expect(fake.accepted).toHaveLength(1);
    const classes = Object.values(fake.accepted[0]!).map((node) => node.class_type);
    expect(classes).toEqual(['LoadImage', 'DownloadAndLoadFlorence2Model', 'Florence2Run', 'ShowText|pysssss']);
    expect([...fake.uploads.values()]).toEqual([picture]);
  });
});

describe('offline: blends, styles and descriptions you can see', () => {
  const local = createLocalProvider();

  it('a blend starts from its pictures averaged; different pictures give different blends', async () => {
    const redBlue = await Promise.all(['#ff0000', '#0000ff'].map((c) => solid(c)));
    const greens = await Promise.all(['#00ff00', '#008800'].map((c) => solid(c)));
    const [mixed] = await local.generate(request({ kind: 'img2img', init: redBlue[0], blend: redBlue, strength: 0.5 }));
    const [green] = await local.generate(request({ kind: 'img2img', init: greens[0], blend: greens, strength: 0.5 }));
    const [r, g, b] = await mean(mixed!.data);
    // Half of every pixel is the average (128, 0, 128).
    expect(r).toBeGreaterThanOrEqual(63);
    expect(b).toBeGreaterThanOrEqual(63);
    expect(g).toBeLessThan(r);
    expect((await mean(green!.data))[1]).toBeGreaterThan(g + 40);
    expect(await blendComposite(redBlue, 4, 4)).toEqual(await blendComposite(redBlue, 4, 4));
  });

  it('--sw moves the colours toward the style picture: 0 not at all, 1000 the whole way', async () => {
    const style = await solid('#20c060');
    const target = await mean(style);
    const distance = async (weight?: number) => {
      const [image] = await local.generate(request(weight === undefined ? {} : { style: { image: style, weight } }));
      const m = await mean(image!.data);
      return { bytes: image!.data, d: Math.hypot(m[0] - target[0], m[1] - target[1], m[2] - target[2]) };
    };
    const plain = await distance();
    const none = await distance(0);
    const usual = await distance(100);
    const full = await distance(1000);
    expect(none.bytes).toEqual(plain.bytes);
    expect(usual.d).toBeLessThan(plain.d);
    expect(full.d).toBeLessThan(usual.d);
    expect(full.d).toBeLessThan(3);
  });

  it('describes a picture from its colours and composition, the same way every time', async () => {
    const wideRed = await solid('#d7263d', 300, 100);
    const tallBlue = await solid('#1d4ed8', 100, 300);
    const signal = new AbortController().signal;
    const red = await local.describe!({ image: wideRed, signal });
    expect(red).toHaveLength(4);
    expect(red.join(' ')).toMatch(/\bred\b/);
    expect(red[0]).toContain('wide panorama');
    expect(await local.describe!({ image: wideRed, signal })).toEqual(red);
    const blue = await local.describe!({ image: tallBlue, signal });
    expect(blue.join(' ')).toMatch(/\bblue\b/);
    expect(blue[0]).toContain('tall portrait');
  });
});
