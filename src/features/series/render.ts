import sharp, { type OverlayOptions } from 'sharp';
import { imageSize } from '../../images/meta.js';

export interface SeriesPanelImage {
  image: Buffer;
  number: number;
  /** Shown under the panel (the contributor's name). */
  caption: string;
}

export interface PanelLayoutOptions {
  /** Panels per row: 1 makes a tall strip, the panel count a wide one. Default: a near-square grid. */
  columns?: number;
  /** Long side of one panel, in pixels. Default 512. */
  panelSize?: number;
  /** Pixels between panels. Default 12. */
  gap?: number;
  background?: string;
}

/** A grid as square as the panel count allows: 4 → 2×2, 8 → 3×3, 24 → 5×5. */
export function gridColumns(count: number): number {
  return Math.max(1, Math.ceil(Math.sqrt(count)));
}

/** Height of the caption band under each panel, for a given panel width. */
export function captionHeight(panelWidth: number): number {
  return Math.max(24, Math.round(panelWidth * 0.09));
}

/**
 * Lays a series out as one picture: panels in reading order (left to right, top to bottom), each
 * with its number in a badge and its caption in a band underneath. Every panel takes the first
 * panel's aspect ratio; others are fitted inside their cell. PNG out.
 */
export async function composeSeries(panels: SeriesPanelImage[], options: PanelLayoutOptions = {}): Promise<Buffer> {
  const first = panels[0];
  if (!first) throw new RangeError('composeSeries needs at least one panel');
  const background = options.background ?? '#101014';
  const gap = Math.max(0, Math.round(options.gap ?? 12));
  const columns = Math.min(panels.length, Math.max(1, Math.round(options.columns ?? gridColumns(panels.length))));
  const rows = Math.ceil(panels.length / columns);
  const { width: cellWidth, height: cellHeight } = await panelCell(first.image, options.panelSize ?? 512);
  const band = captionHeight(cellWidth);
  const width = columns * cellWidth + (columns - 1) * gap;
  const height = rows * (cellHeight + band) + (rows - 1) * gap;

  const cells = await Promise.all(panels.map((panel) => fitPanel(panel.image, cellWidth, cellHeight, background)));
  const layers: OverlayOptions[] = cells.map(({ data, info }, i) => ({
    input: data,
    raw: { width: info.width, height: info.height, channels: info.channels },
    left: (i % columns) * (cellWidth + gap),
    top: Math.floor(i / columns) * (cellHeight + band + gap),
  }));
  const overlay = panels.map((panel, i) =>
    panelDecorations(panel, (i % columns) * (cellWidth + gap), Math.floor(i / columns) * (cellHeight + band + gap), cellWidth, cellHeight, band),
  );
  layers.push({ input: Buffer.from(svg(width, height, overlay.join(''))), left: 0, top: 0 });

  return sharp({ create: { width, height, channels: 4, background } })
    .composite(layers)
    .png({ compressionLevel: 6, adaptiveFiltering: true })
    .toBuffer();
}

/**
 * An animated slideshow, one panel per frame (with its number and caption), looping forever.
 * `sharp(frames, { join: { animated: true } })` stacks equally sized frames into one animation.
 */
export async function composeSlideshow(
  panels: SeriesPanelImage[],
  format: 'gif' | 'webp',
  options: { panelSize?: number; delayMs?: number; background?: string } = {},
): Promise<Buffer> {
  const first = panels[0];
  if (!first) throw new RangeError('composeSlideshow needs at least one panel');
  const background = options.background ?? '#101014';
  const { width, height } = await panelCell(first.image, options.panelSize ?? 480);
  const band = captionHeight(width);
  const frames = await Promise.all(
    panels.map(async (panel) => {
      const { data, info } = await fitPanel(panel.image, width, height, background);
      return sharp({ create: { width, height: height + band, channels: 4, background } })
        .composite([
          { input: data, raw: { width: info.width, height: info.height, channels: info.channels }, left: 0, top: 0 },
          { input: Buffer.from(svg(width, height + band, panelDecorations(panel, 0, 0, width, height, band))), left: 0, top: 0 },
        ])
        .png()
        .toBuffer();
    }),
  );
  // A series of one panel so far is a still picture in the same format (sharp joins two or more).
  if (frames.length === 1)
    return format === 'gif' ? sharp(frames[0]).gif({ effort: 7 }).toBuffer() : sharp(frames[0]).webp({ quality: 85 }).toBuffer();
  const delay = panels.map(() => options.delayMs ?? 1500);
  const animation = sharp(frames, { join: { animated: true } });
  return format === 'gif' ? animation.gif({ loop: 0, delay, effort: 7 }).toBuffer() : animation.webp({ loop: 0, delay, quality: 85 }).toBuffer();
}

/** The size of one panel cell: the first panel's shape, its long side at most `longSide`. */
async function panelCell(image: Buffer, longSide: number): Promise<{ width: number; height: number }> {
  const size = await imageSize(image);
  const scale = Math.min(1, longSide / Math.max(size.width, size.height));
  return { width: Math.max(16, Math.round(size.width * scale)), height: Math.max(16, Math.round(size.height * scale)) };
}

function fitPanel(image: Buffer, width: number, height: number, background: string) {
  return sharp(image)
    .rotate()
    .resize(width, height, { fit: 'contain', background, kernel: 'lanczos3' })
    .ensureAlpha()
    .raw()
    .toBuffer({ resolveWithObject: true });
}

function svg(width: number, height: number, body: string): string {
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">${body}</svg>`;
}

function escapeXml(text: string): string {
  return text.replace(/[<>&"']/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[c]!);
}

/** Number badge on the panel and the caption band under it, as SVG fragments. */
function panelDecorations(panel: SeriesPanelImage, left: number, top: number, width: number, height: number, band: number): string {
  const badge = Math.max(20, Math.round(Math.min(width, height) * 0.09));
  const margin = Math.round(badge * 0.3);
  const digits = String(panel.number);
  const badgeWidth = Math.round(badge * (0.55 + 0.35 * digits.length));
  const fontSize = Math.round(band * 0.5);
  // Captions are cut rather than wrapped: the band has room for one line.
  const maxChars = Math.max(4, Math.floor(width / (fontSize * 0.6)));
  const caption = panel.caption.length > maxChars ? `${panel.caption.slice(0, maxChars - 1)}…` : panel.caption;
  return (
    `<rect x="${left + margin}" y="${top + margin}" width="${badgeWidth}" height="${badge}" rx="${Math.round(badge * 0.3)}" ` +
    `fill="#000" fill-opacity="0.65" stroke="#fff" stroke-opacity="0.3"/>` +
    digitStrokes(digits, left + margin, top + margin, badgeWidth, badge) +
    `<text x="${left + width / 2}" y="${top + height + band * 0.68}" font-family="DejaVu Sans, Verdana, sans-serif" ` +
    `font-size="${fontSize}" fill="#e8e8ee" text-anchor="middle">${escapeXml(caption)}</text>`
  );
}

/**
 * Digits drawn as strokes in a 10×14 box: panel numbers must be readable even on hosts without
 * fonts (slim containers often have none), where <text> would render nothing.
 */
const DIGIT_PATHS: Record<string, string> = {
  '0': 'M5 1.5 C1 1.5 1 12.5 5 12.5 C9 12.5 9 1.5 5 1.5 Z',
  '1': 'M3 3.5 L5.5 1.5 L5.5 12.5 M3 12.5 L8 12.5',
  '2': 'M2 4.5 C2 0.5 8.5 0.5 8.5 4.5 C8.5 7.5 2 9 2 12.5 L8.5 12.5',
  '3': 'M2 1.5 L8 1.5 L4.5 6 C9.5 5.5 9.5 12.5 5 12.5 C3.5 12.5 2.5 12 1.8 11',
  '4': 'M7 12.5 L7 1.5 L1.5 9.5 L9 9.5',
  '5': 'M8 1.5 L2.5 1.5 L2 6.5 C6 4.5 9 6.5 8.5 9.5 C8 12.5 4 13.5 1.8 11.5',
  '6': 'M7.5 1.8 C2 2 1 8 2 10.5 C3 13.5 8.5 13.5 8.5 9.5 C8.5 6 3 6 2 9',
  '7': 'M1.5 1.5 L8.5 1.5 L4 12.5',
  '8': 'M5 6.8 C1 6.5 1.5 1.5 5 1.5 C8.5 1.5 9 6.5 5 6.8 C0.5 7 1 12.5 5 12.5 C9 12.5 9.5 7 5 6.8 Z',
  '9': 'M8.3 5 C7.5 8 2 8 2 4.5 C2 0.5 8.5 0.5 8.3 5 C8 10 6 12.5 2.5 12.2',
};

/** The digits centred in a badge of `width` × `height` at (x, y). */
function digitStrokes(digits: string, x: number, y: number, width: number, height: number): string {
  const scale = (height * 0.6) / 14;
  const advance = 10.8 * scale;
  const left = x + (width - (advance * (digits.length - 1) + 10 * scale)) / 2;
  const top = y + height * 0.2;
  return [...digits]
    .map(
      (digit, i) =>
        `<path d="${DIGIT_PATHS[digit] ?? ''}" transform="translate(${(left + i * advance).toFixed(2)} ${top.toFixed(2)}) scale(${scale.toFixed(4)})" ` +
        `fill="none" stroke="#fff" stroke-width="1.9" stroke-linecap="round" stroke-linejoin="round"/>`,
    )
    .join('');
}

/** A dark tile crossed out: where a deleted (or hidden) panel stood. */
export async function deletedPanelTile(width: number, height: number): Promise<Buffer> {
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}"><rect width="100%" height="100%" fill="#2b2b30"/><path d="M0 0L${width} ${height}M${width} 0L0 ${height}" stroke="#55555c" stroke-width="${Math.max(2, Math.round(width / 128))}"/></svg>`;
  return sharp(Buffer.from(svg)).png().toBuffer();
}
