import { describe, it, expect } from 'vitest';
import sharp from 'sharp';
import { createLocalProvider } from '../../src/worker/providers/local.js';
import { GenerationCancelledError, type GenerationRequest } from '../../src/worker/providers/types.js';

const provider = createLocalProvider();

function request(overrides: Partial<GenerationRequest> = {}): GenerationRequest {
  return {
    kind: 'txt2img',
    prompt: 'a lighthouse on a cliff at sunset',
    negative: '',
    width: 512,
    height: 512,
    seed: 1234,
    count: 1,
    model: 'painterly',
    signal: new AbortController().signal,
    onProgress: () => {},
    ...overrides,
  };
}

async function generateOne(overrides: Partial<GenerationRequest> = {}): Promise<Buffer> {
  const images = await provider.generate(request(overrides));
  expect(images).toHaveLength(1);
  return images[0]!.data;
}

async function channelMeans(png: Buffer): Promise<{ r: number; g: number; b: number }> {
  const { channels } = await sharp(png).stats();
  return { r: channels[0]!.mean, g: channels[1]!.mean, b: channels[2]!.mean };
}

/** Mean absolute per-channel difference, 0–255, of two images of the same size. */
async function meanAbsDiff(a: Buffer, b: Buffer): Promise<number> {
  const [pa, pb] = await Promise.all([a, b].map((img) => sharp(img).removeAlpha().raw().toBuffer()));
  expect(pa!.length).toBe(pb!.length);
  let sum = 0;
  for (let i = 0; i < pa!.length; i++) sum += Math.abs(pa![i]! - pb![i]!);
  return sum / pa!.length;
}

describe('local provider', () => {
  it('is called local', () => {
    expect(provider.name).toBe('local');
  });

  it.each(['painterly', 'geometric'])('is deterministic for the same request (%s)', async (model) => {
    const a = await generateOne({ model });
    const b = await generateOne({ model });
    expect(a.equals(b)).toBe(true);
  });

  it.each(['painterly', 'geometric'])('gives visibly different images for different seeds (%s)', async (model) => {
    const a = await generateOne({ model, seed: 1 });
    const b = await generateOne({ model, seed: 2 });
    expect(a.equals(b)).toBe(false);
    expect(await meanAbsDiff(a, b)).toBeGreaterThan(8);
  });

  it('makes different pictures for the two models', async () => {
    const a = await generateOne({ model: 'painterly' });
    const b = await generateOne({ model: 'geometric' });
    expect(await meanAbsDiff(a, b)).toBeGreaterThan(8);
  });

  it('renders an unknown model name exactly as painterly', async () => {
    const unknown = await generateOne({ model: 'no-such-model' });
    const painterly = await generateOne({ model: 'painterly' });
    expect(unknown.equals(painterly)).toBe(true);
  });

  it('honours the requested width and height exactly', async () => {
    const images = await provider.generate(request({ width: 1344, height: 768 }));
    expect(images[0]).toMatchObject({ contentType: 'image/png', width: 1344, height: 768 });
    const meta = await sharp(images[0]!.data).metadata();
    expect([meta.format, meta.width, meta.height]).toEqual(['png', 1344, 768]);

    const portrait = await generateOne({ width: 768, height: 1344, model: 'geometric' });
    const pmeta = await sharp(portrait).metadata();
    expect([pmeta.width, pmeta.height]).toEqual([768, 1344]);
  });

  it.each(['painterly', 'geometric'])('paints structure, not a flat colour (%s)', async (model) => {
    for (const seed of [1, 2, 3]) {
      const { channels } = await sharp(await generateOne({ model, seed })).stats();
      for (const channel of channels.slice(0, 3)) expect(channel.stdev).toBeGreaterThan(10);
    }
  });

  it.each(['painterly', 'geometric'])('takes its palette from the words of the prompt (%s)', async (model) => {
    for (const seed of [1, 2, 3]) {
      const warm = await channelMeans(await generateOne({ model, seed, prompt: 'crimson fire' }));
      expect(warm.r).toBeGreaterThan(warm.b + 20);
      const cool = await channelMeans(await generateOne({ model, seed, prompt: 'deep ocean teal' }));
      expect(cool.b).toBeGreaterThan(cool.r + 20);
    }
  });

  it('lets the negative prompt remove colours it names', async () => {
    const prompt = 'crimson fire over a teal ocean';
    const plain = await channelMeans(await generateOne({ prompt }));
    const noRed = await channelMeans(await generateOne({ prompt, negative: 'red, crimson, fire' }));
    // Without the reds only the teal/blue words are left.
    expect(noRed.b - noRed.r).toBeGreaterThan(plain.b - plain.r + 20);
    expect(noRed.b).toBeGreaterThan(noRed.r);
  });

  it('makes count distinct images from consecutive seeds', async () => {
    const images = await provider.generate(request({ count: 4, width: 256, height: 256 }));
    expect(images).toHaveLength(4);
    const distinct = new Set(images.map((image) => image.data.toString('base64')));
    expect(distinct.size).toBe(4);
    // Image i is the one a single request with seed + i would give, so a member can re-roll one.
    const third = await generateOne({ seed: 1234 + 2, width: 256, height: 256 });
    expect(images[2]!.data.equals(third)).toBe(true);
  });

  it('img2img: low strength stays close to the parent, high strength moves away', async () => {
    const parent = await generateOne({ prompt: 'crimson fire', model: 'geometric', seed: 5 });
    const img2img = (strength: number) => generateOne({ kind: 'img2img', prompt: 'deep ocean teal night', init: parent, strength, seed: 99 });
    const near = await meanAbsDiff(parent, await img2img(0.1));
    const far = await meanAbsDiff(parent, await img2img(0.9));
    expect(near).toBeLessThan(far);
    expect(near).toBeLessThan(far / 3);
  });

  it('img2img fits a parent of another size and aspect to the requested size', async () => {
    const parent = await generateOne({ width: 640, height: 384 });
    const images = await provider.generate(request({ kind: 'img2img', init: parent, width: 320, height: 320, count: 2, strength: 0.5 }));
    expect(images).toHaveLength(2);
    for (const image of images) {
      const meta = await sharp(image.data).metadata();
      expect([meta.width, meta.height]).toEqual([320, 320]);
    }
  });

  it('variation stays closer to the parent than a fresh image', async () => {
    const parent = await generateOne({ seed: 1 });
    const variation = await generateOne({ kind: 'variation', init: parent, seed: 2 });
    const fresh = await generateOne({ seed: 2 });
    expect(await meanAbsDiff(parent, variation)).toBeLessThan(await meanAbsDiff(parent, fresh));
  });

  it('upscale returns one image at twice the size', async () => {
    const parent = await generateOne({ width: 320, height: 192 });
    const images = await provider.generate(request({ kind: 'upscale', init: parent, count: 4 }));
    expect(images).toHaveLength(1);
    expect(images[0]).toMatchObject({ width: 640, height: 384, contentType: 'image/png' });
    const meta = await sharp(images[0]!.data).metadata();
    expect([meta.format, meta.width, meta.height]).toEqual(['png', 640, 384]);
  });

  it('refuses img2img without a source image', async () => {
    await expect(provider.generate(request({ kind: 'img2img' }))).rejects.toMatchObject({
      name: 'ProviderRefusedError',
      reason: 'invalid_input',
    });
  });

  it('refuses a source image it cannot decode', async () => {
    for (const kind of ['img2img', 'upscale'] as const) {
      await expect(provider.generate(request({ kind, init: Buffer.from('not an image') }))).rejects.toMatchObject({
        name: 'ProviderRefusedError',
        reason: 'invalid_input',
      });
    }
  });

  it('throws GenerationCancelledError when the signal is already aborted', async () => {
    const controller = new AbortController();
    controller.abort();
    await expect(provider.generate(request({ signal: controller.signal }))).rejects.toBeInstanceOf(GenerationCancelledError);
  });

  it('stops between steps when aborted mid-way', async () => {
    const controller = new AbortController();
    const seen: number[] = [];
    const run = provider.generate(
      request({
        count: 4,
        signal: controller.signal,
        onProgress: (fraction) => {
          seen.push(fraction);
          if (fraction > 0) controller.abort();
        },
      }),
    );
    await expect(run).rejects.toBeInstanceOf(GenerationCancelledError);
    expect(Math.max(...seen)).toBeLessThan(0.5);
  });

  it('reports progress that only goes up and ends at 1', async () => {
    const seen: number[] = [];
    await provider.generate(request({ count: 2, onProgress: (fraction) => seen.push(fraction) }));
    expect(seen.length).toBeGreaterThanOrEqual(4);
    for (let i = 1; i < seen.length; i++) expect(seen[i]!).toBeGreaterThanOrEqual(seen[i - 1]!);
    expect(seen[0]).toBeGreaterThanOrEqual(0);
    expect(seen.at(-1)).toBe(1);
  });
});
