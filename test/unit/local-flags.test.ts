import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { createLocalProvider } from '../../src/worker/providers/local.js';
import type { GenerationRequest } from '../../src/worker/providers/types.js';

const provider = createLocalProvider();

function request(overrides: Partial<GenerationRequest> = {}): GenerationRequest {
  return {
    kind: 'txt2img',
    prompt: 'orange koi in a teal pond',
    width: 256,
    height: 192,
    seed: 99,
    count: 1,
    model: 'painterly',
    signal: new AbortController().signal,
    onProgress: () => {},
    ...overrides,
  };
}

interface Raw {
  data: Buffer;
  width: number;
  height: number;
}

async function raw(png: Buffer): Promise<Raw> {
  const { data, info } = await sharp(png).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height };
}

/** Mean absolute per-channel difference between column a and column b (or rows). */
function lineDiff(image: Raw, axis: 'column' | 'row', a: number, b: number): number {
  const { data, width, height } = image;
  const length = axis === 'column' ? height : width;
  let sum = 0;
  for (let i = 0; i < length; i++) {
    const pa = axis === 'column' ? (i * width + a) * 3 : (a * width + i) * 3;
    const pb = axis === 'column' ? (i * width + b) * 3 : (b * width + i) * 3;
    for (let c = 0; c < 3; c++) sum += Math.abs(data[pa + c]! - data[pb + c]!);
  }
  return sum / (length * 3);
}

/** How different two neighbouring lines typically are inside the picture (grain included). */
function neighbourDiff(image: Raw, axis: 'column' | 'row'): number {
  const lines = axis === 'column' ? image.width : image.height;
  let sum = 0;
  for (let i = 0; i + 1 < lines; i++) sum += lineDiff(image, axis, i, i + 1);
  return sum / (lines - 1);
}

function pixelDistance(a: Raw, b: Raw): number {
  let sum = 0;
  for (let i = 0; i < a.data.length; i++) sum += Math.abs(a.data[i]! - b.data[i]!);
  return sum / a.data.length;
}

/** Mean pixel distance of pictures 2–4 from picture 1. */
async function spread(overrides: Partial<GenerationRequest>): Promise<number> {
  const images = await Promise.all((await provider.generate(request({ count: 4, ...overrides }))).map((image) => raw(image.data)));
  expect(images).toHaveLength(4);
  const distances = images.slice(1).map((image) => pixelDistance(images[0]!, image));
  return distances.reduce((sum, d) => sum + d, 0) / distances.length;
}

describe('local provider: --tile, --chaos, --stylize', () => {
  it('--tile: the left edge continues the right and the top continues the bottom', async () => {
    for (const model of ['painterly', 'geometric']) {
      const [tiled] = await provider.generate(request({ tile: true, model }));
      const image = await raw(tiled!.data);
      expect([image.width, image.height]).toEqual([256, 192]);
      // Across the wrap-around the picture changes no more than between any two neighbouring lines.
      expect(lineDiff(image, 'column', 0, image.width - 1)).toBeLessThanOrEqual(neighbourDiff(image, 'column') * 1.5);
      expect(lineDiff(image, 'row', 0, image.height - 1)).toBeLessThanOrEqual(neighbourDiff(image, 'row') * 1.5);

      // Without --tile, the same picture's edges do not meet.
      const [plain] = await provider.generate(request({ model }));
      const untiled = await raw(plain!.data);
      expect(lineDiff(untiled, 'column', 0, untiled.width - 1)).toBeGreaterThan(neighbourDiff(untiled, 'column') * 2);
    }
  });

  it('--chaos 0 gives 4 similar pictures, 100 gives 4 different ones', async () => {
    const calm = await spread({ chaos: 0 });
    const wild = await spread({ chaos: 100 });
    const middle = await spread({ chaos: 50 });
    expect(calm).toBeLessThan(wild / 4);
    expect(middle).toBeGreaterThan(calm);
    expect(middle).toBeLessThan(wild);
    // 100 is what a request without --chaos does.
    expect(wild).toBeCloseTo(await spread({}), 5);
  });

  it('is deterministic with every flag', async () => {
    const flags = { chaos: 30, stylize: 700, tile: true, count: 2 };
    const [a, b] = await Promise.all([provider.generate(request(flags)), provider.generate(request(flags))]);
    expect(a.map((image) => image.data)).toEqual(b.map((image) => image.data));
  });

  it('--stylize: 100 is the usual picture, 0 washes the colours out and 1000 intensifies them', async () => {
    const saturation = async (stylize?: number) => {
      const image = await raw((await provider.generate(request({ stylize })))[0]!.data);
      let sum = 0;
      for (let i = 0; i < image.data.length; i += 3) {
        const channels = [image.data[i]!, image.data[i + 1]!, image.data[i + 2]!];
        sum += Math.max(...channels) - Math.min(...channels);
      }
      return sum / (image.data.length / 3);
    };
    const usual = await saturation();
    expect(await saturation(100)).toBe(usual);
    expect(await saturation(0)).toBeLessThan(usual * 0.6);
    expect(await saturation(1000)).toBeGreaterThan(usual * 1.2);
  });
});
