import sharp from 'sharp';
import type { GeneratedImage, GenerationRequest, ImageProvider } from '../src/worker/providers/types.js';

export interface FixedDelayOptions {
  /** How long one image takes (0: answers at once). */
  delayMs: number;
  /** How many requests the "GPU" serves at once; more wait their turn (Infinity: no limit). */
  capacity: number;
  /** Side of the square PNG it returns. */
  size: number;
}

/**
 * A provider with known timing, so that whatever else a benchmark measures is Atelier's own
 * cost. The picture is rendered once at start-up and returned as is.
 */
/** The one picture the benchmark provider returns (and the naive baseline too). */
export function benchPng(size: number): Promise<Buffer> {
  return sharp({ create: { width: size, height: size, channels: 3, background: '#3a6ea5' } })
    .composite([
      {
        input: Buffer.from(`<svg width="${size}" height="${size}"><circle cx="${size / 2}" cy="${size / 2}" r="${size / 3}" fill="#f4d35e"/></svg>`),
      },
    ])
    .png()
    .toBuffer();
}

export async function createFixedDelayProvider(options: FixedDelayOptions): Promise<ImageProvider> {
  const { size } = options;
  const png = await benchPng(size);
  const image: GeneratedImage = { data: png, contentType: 'image/png', width: size, height: size };
  let busy = 0;
  const waiting: Array<() => void> = [];
  const acquire = async () => {
    if (busy < options.capacity) {
      busy += 1;
      return;
    }
    await new Promise<void>((resolve) => waiting.push(resolve));
  };
  const release = () => {
    const next = waiting.shift();
    if (next) next();
    else busy -= 1;
  };
  return {
    name: 'bench',
    async generate(request: GenerationRequest): Promise<GeneratedImage[]> {
      const count = request.kind === 'upscale' ? 1 : request.count;
      await acquire();
      try {
        request.onProgress(0);
        if (options.delayMs > 0) await new Promise((resolve) => setTimeout(resolve, options.delayMs * count));
        return Array.from({ length: count }, () => image);
      } finally {
        release();
      }
    },
  };
}
