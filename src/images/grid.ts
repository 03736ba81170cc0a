import sharp, { type OverlayOptions } from 'sharp';
import { imageSize } from './meta.js';

export interface GridOptions {
  /** Pixels between cells (not around the edge: Discord frames attachments itself). Default 8. */
  gap?: number;
  /** Colour of the gaps and of empty/letterboxed cells. Default a near-black. */
  background?: string;
  /** Longest side of the result, in pixels. Default 2048. */
  maxSize?: number;
  /** Number the cells 1..4 so members can match them with the U1/V1 buttons. Default false. */
  labels?: boolean;
}

/**
 * Lays 1–4 images out for one Discord message: 1 alone, 2 side by side, 3–4 in a 2×2 grid
 * (the 4th cell stays empty for 3). Cells take the first image's aspect ratio; other images
 * are fitted inside their cell. PNG out, no larger than maxSize on its long side.
 */
export async function composeGrid(images: Buffer[], options: GridOptions = {}): Promise<Buffer> {
  const gap = Math.max(0, Math.round(options.gap ?? 8));
  const background = options.background ?? '#101014';
  const maxSize = Math.max(16, Math.round(options.maxSize ?? 2048));
  const first = images[0];
  if (!first || images.length > 4) throw new RangeError(`composeGrid takes 1–4 images, got ${images.length}`);

  if (images.length === 1) {
    return sharp(first)
      .rotate()
      .resize(maxSize, maxSize, { fit: 'inside', withoutEnlargement: true })
      .png({ compressionLevel: 3, adaptiveFiltering: true })
      .toBuffer();
  }

  const cols = 2;
  const rows = images.length === 2 ? 1 : 2;
  const size = await imageSize(first);
  // Largest cell, at most the source's own size, such that the whole grid fits in maxSize.
  const scale = Math.min(1, (maxSize - (cols - 1) * gap) / (cols * size.width), (maxSize - (rows - 1) * gap) / (rows * size.height));
  const cellWidth = Math.max(1, Math.floor(size.width * scale));
  const cellHeight = Math.max(1, Math.floor(size.height * scale));
  const width = cols * cellWidth + (cols - 1) * gap;
  const height = rows * cellHeight + (rows - 1) * gap;

  // Cells stay raw pixels: encoding them only to decode them again would cost more than
  // the resize itself.
  const cells = await Promise.all(
    images.map((image) =>
      sharp(image)
        .rotate()
        .resize(cellWidth, cellHeight, { fit: 'contain', background, kernel: 'lanczos3' })
        .raw()
        .toBuffer({ resolveWithObject: true }),
    ),
  );
  const layers: OverlayOptions[] = cells.map(({ data, info }, i) => ({
    input: data,
    raw: { width: info.width, height: info.height, channels: info.channels },
    left: (i % cols) * (cellWidth + gap),
    top: Math.floor(i / cols) * (cellHeight + gap),
  }));
  if (options.labels) {
    layers.push({ input: Buffer.from(labelsSvg(images.length, cols, cellWidth, cellHeight, gap, width, height)), left: 0, top: 0 });
  }

  return (
    sharp({ create: { width, height, channels: 4, background } })
      .composite(layers)
      // Same trade-off as the local renderer: grainy art compresses best with adaptive
      // filtering, and deflate levels above 3 cost time for almost no bytes.
      .png({ compressionLevel: 3, adaptiveFiltering: true })
      .toBuffer()
  );
}

/**
 * Digits drawn as strokes in a 10×14 box. Paths rather than <text> so the labels do not
 * depend on whatever fonts the host has installed (slim containers often have none).
 */
const DIGIT_PATHS: Record<number, string> = {
  1: 'M3 3.5 L5.5 1.5 L5.5 12.5 M3 12.5 L8 12.5',
  2: 'M2 4.5 C2 0.5 8.5 0.5 8.5 4.5 C8.5 7.5 2 9 2 12.5 L8.5 12.5',
  3: 'M2 1.5 L8 1.5 L4.5 6 C9.5 5.5 9.5 12.5 5 12.5 C3.5 12.5 2.5 12 1.8 11',
  4: 'M7 12.5 L7 1.5 L1.5 9.5 L9 9.5',
};

/** One transparent SVG the size of the grid with a dark rounded badge per cell. */
function labelsSvg(count: number, cols: number, cellWidth: number, cellHeight: number, gap: number, width: number, height: number): string {
  // Badge scales with the cell but stays readable on small previews.
  const badge = Math.max(18, Math.round(Math.min(cellWidth, cellHeight) * 0.07));
  const margin = Math.round(badge * 0.35);
  const glyphScale = (badge * 0.62) / 14;
  const parts: string[] = [];
  for (let i = 0; i < count; i++) {
    const x = (i % cols) * (cellWidth + gap) + margin;
    const y = Math.floor(i / cols) * (cellHeight + gap) + margin;
    const gx = x + (badge - 10 * glyphScale) / 2;
    const gy = y + (badge - 14 * glyphScale) / 2;
    parts.push(
      `<rect x="${x}" y="${y}" width="${badge}" height="${badge}" rx="${(badge * 0.3).toFixed(1)}" ` +
        `fill="#000" fill-opacity="0.62" stroke="#fff" stroke-opacity="0.25" stroke-width="1"/>`,
      `<path d="${DIGIT_PATHS[i + 1]}" transform="translate(${gx.toFixed(2)} ${gy.toFixed(2)}) scale(${glyphScale.toFixed(4)})" ` +
        `fill="none" stroke="#fff" stroke-width="1.9" stroke-linecap="round" stroke-linejoin="round"/>`,
    );
  }
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">${parts.join('')}</svg>`;
}
