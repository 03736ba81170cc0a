import sharp from 'sharp';
import type { EditArea } from '../../queues.js';

/**
 * The pictures behind pan, zoom out, make square and Vary (Region): the canvas a provider paints
 * on, the mask saying where, and the step afterwards that puts the kept pixels back exactly, so
 * that "the original is kept pixel for pixel" holds whatever a provider returns.
 */

export interface PreparedEdit {
  /** The source on its new canvas (PNG); new surroundings are neutral grey until painted. */
  canvas: Buffer;
  /** Greyscale PNG of the canvas size: white where the provider draws, black where the picture stays. */
  mask: Buffer;
  width: number;
  height: number;
  /** The canvas as raw RGB, and the mask as one byte a pixel (255: drawn), for keepOriginal. */
  canvasPixels: Buffer;
  maskPixels: Buffer;
}

/** Grey tells a model "nothing here yet" without suggesting a colour. */
const FILL = { r: 128, g: 128, b: 128 };

/**
 * Outpaint: the source, scaled to area.w × area.h, at area.x, area.y on a width × height canvas;
 * everything else is drawn. Inpaint: the source at its own size (width × height); only the area is drawn.
 */
export async function prepareEdit(
  kind: 'outpaint' | 'inpaint',
  source: Buffer,
  width: number,
  height: number,
  area: EditArea,
): Promise<PreparedEdit> {
  // Orientation applied and transparency flattened: what members saw is what is kept.
  const base = sharp(source).rotate().flatten({ background: FILL });
  let canvasPixels: Buffer;
  if (kind === 'outpaint') {
    const placed = await base.resize(area.w, area.h, { fit: 'fill' }).removeAlpha().raw().toBuffer();
    canvasPixels = await sharp({ create: { width, height, channels: 3, background: FILL } })
      .composite([{ input: placed, raw: { width: area.w, height: area.h, channels: 3 }, left: area.x, top: area.y }])
      // Compositing adds an alpha channel; the canvas stays RGB.
      .removeAlpha()
      .raw()
      .toBuffer();
  } else {
    canvasPixels = await base.resize(width, height, { fit: 'fill' }).removeAlpha().raw().toBuffer();
  }

  // Outpaint draws outside the area, inpaint inside it.
  const maskPixels = Buffer.alloc(width * height, kind === 'outpaint' ? 255 : 0);
  const inside = kind === 'outpaint' ? 0 : 255;
  for (let y = area.y; y < area.y + area.h; y++) maskPixels.fill(inside, y * width + area.x, y * width + area.x + area.w);

  const [canvas, mask] = await Promise.all([
    sharp(canvasPixels, { raw: { width, height, channels: 3 } })
      .png()
      .toBuffer(),
    sharp(maskPixels, { raw: { width, height, channels: 1 } })
      .png()
      .toBuffer(),
  ]);
  return { canvas, mask, width, height, canvasPixels, maskPixels };
}

/**
 * A provider's picture, fitted to the canvas, with every pixel outside the mask put back from the
 * canvas: models re-encode (and slightly change) what they were told to keep, and some return
 * another size. Always a PNG, so nothing kept is lost to compression.
 */
export async function keepOriginal(image: Buffer, edit: PreparedEdit): Promise<{ data: Buffer; width: number; height: number }> {
  const { width, height } = edit;
  const drawn = await sharp(image).rotate().flatten({ background: FILL }).resize(width, height, { fit: 'fill' }).removeAlpha().raw().toBuffer();
  const mask = edit.maskPixels;
  const kept = edit.canvasPixels;
  for (let i = 0; i < mask.length; i++) {
    if (mask[i] !== 0) continue;
    const p = i * 3;
    drawn[p] = kept[p]!;
    drawn[p + 1] = kept[p + 1]!;
    drawn[p + 2] = kept[p + 2]!;
  }
  const data = await sharp(drawn, { raw: { width, height, channels: 3 } })
    .png({ compressionLevel: 3, adaptiveFiltering: true })
    .toBuffer();
  return { data, width, height };
}
