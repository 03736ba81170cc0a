import sharp, { type OverlayOptions } from 'sharp';

export interface PodiumOptions {
  /** Side of each picture's square, in pixels. Default 512. */
  cell?: number;
  background?: string;
}

/** Gold, silver, bronze; the steps rise in the middle like a real podium. */
const STEPS = [
  { colour: '#d4af37', height: 0.34 },
  { colour: '#b8bec6', height: 0.24 },
  { colour: '#b87333', height: 0.16 },
] as const;

/** Left to right: 2nd, 1st, 3rd. */
const COLUMN_OF_PLACE = [1, 0, 2] as const;

/**
 * The results picture of a challenge: the top 1–3 images, best first, standing on a podium.
 * Each picture is fitted into a square (letterboxed, never cropped: it is someone's entry). PNG out.
 */
export async function composePodium(images: Buffer[], options: PodiumOptions = {}): Promise<Buffer> {
  if (images.length < 1 || images.length > 3) throw new RangeError(`composePodium takes 1–3 images, got ${images.length}`);
  const cell = Math.max(32, Math.round(options.cell ?? 512));
  const background = options.background ?? '#101014';
  const gap = Math.round(cell * 0.08);
  const stepHeights = STEPS.map((step) => Math.round(cell * step.height));
  const tallest = Math.max(...stepHeights);
  const width = 3 * cell + 4 * gap;
  const height = gap + cell + gap + tallest;
  const floor = height;

  const layers: OverlayOptions[] = [];
  const steps: string[] = [];
  for (const [place, image] of images.entries()) {
    const left = gap + COLUMN_OF_PLACE[place]! * (cell + gap);
    const stepTop = floor - stepHeights[place]!;
    const picture = await sharp(image).rotate().resize(cell, cell, { fit: 'contain', background, kernel: 'lanczos3' }).png().toBuffer();
    layers.push({ input: picture, left, top: stepTop - gap - cell });
    steps.push(
      `<rect x="${left}" y="${stepTop}" width="${cell}" height="${stepHeights[place]}" rx="${Math.round(gap / 2)}" fill="${STEPS[place]!.colour}"/>`,
    );
  }
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">${steps.join('')}</svg>`;
  return sharp({ create: { width, height, channels: 4, background } })
    .composite([{ input: Buffer.from(svg), left: 0, top: 0 }, ...layers])
    .png({ compressionLevel: 6 })
    .toBuffer();
}
