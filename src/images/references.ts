import sharp from 'sharp';

/**
 * Pixel work on reference pictures (blend sources, --sref styles), shared by the providers that
 * have no model of their own for them. Deterministic: the same pictures give the same bytes.
 */

/** Each picture cropped to the frame, as raw RGB. */
async function framed(image: Buffer, width: number, height: number): Promise<Buffer> {
  return sharp(image, { limitInputPixels: 4096 * 4096 })
    .rotate()
    .resize(width, height, { fit: 'cover', position: 'centre' })
    .flatten({ background: '#000000' })
    .removeAlpha()
    .raw()
    .toBuffer();
}

/**
 * The pictures of a blend, each cropped to the frame and averaged pixel by pixel: the init image
 * of a blend for providers without multi-image conditioning (PNG).
 */
export async function blendComposite(images: readonly Buffer[], width: number, height: number): Promise<Buffer> {
  if (images.length === 0) throw new Error('a blend needs pictures');
  const layers = await Promise.all(images.map((image) => framed(image, width, height)));
  const out = Buffer.alloc(width * height * 3);
  for (let i = 0; i < out.length; i++) {
    let sum = 0;
    for (const layer of layers) sum += layer[i]!;
    out[i] = Math.round(sum / layers.length);
  }
  return sharp(out, { raw: { width, height, channels: 3 } })
    .png({ compressionLevel: 3 })
    .toBuffer();
}

/** How strongly a --sw weight (0–1000, 100 the usual) pulls a picture toward a style, as 0–1. */
export function styleAmount(weight: number): number {
  // The square root makes the usual weights visible (100 → 0.32) while 1000 is the whole way.
  return Math.sqrt(Math.min(1000, Math.max(0, weight)) / 1000);
}

interface ChannelStats {
  mean: [number, number, number];
  deviation: [number, number, number];
}

function statsOf(pixels: Buffer): ChannelStats {
  const sums = [0, 0, 0];
  const squares = [0, 0, 0];
  const count = pixels.length / 3;
  for (let i = 0; i < pixels.length; i += 3) {
    for (let c = 0; c < 3; c++) {
      const v = pixels[i + c]!;
      sums[c]! += v;
      squares[c]! += v * v;
    }
  }
  const mean = sums.map((s) => s / count) as ChannelStats['mean'];
  const deviation = squares.map((s, c) => Math.sqrt(Math.max(0, s / count - mean[c]! ** 2))) as ChannelStats['deviation'];
  return { mean, deviation };
}

/**
 * Moves raw RGB pixels toward a style picture's colours (mean and contrast per channel), by
 * `amount` in 0–1: the offline stand-in for a style reference. Changes `pixels` in place.
 */
export async function applyStyleColours(pixels: Buffer, style: Buffer, amount: number): Promise<void> {
  if (amount <= 0) return;
  // A small copy is enough to measure colours.
  const sample = await framed(style, 64, 64);
  const target = statsOf(sample);
  const source = statsOf(pixels);
  for (let i = 0; i < pixels.length; i += 3) {
    for (let c = 0; c < 3; c++) {
      const v = pixels[i + c]!;
      const spread = source.deviation[c]! > 1 ? target.deviation[c]! / source.deviation[c]! : 1;
      const styled = (v - source.mean[c]!) * spread + target.mean[c]!;
      pixels[i + c] = Math.min(255, Math.max(0, Math.round(v + (styled - v) * amount)));
    }
  }
}
