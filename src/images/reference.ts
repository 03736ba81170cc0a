import sharp from 'sharp';

/** A reference image may describe at most this many pixels (a small file claiming more is refused unread). */
export const MAX_REFERENCE_PIXELS = 4096 * 4096;

export class UnreadableReferenceError extends Error {
  override name = 'UnreadableReferenceError';
}

/**
 * Mixes a reference picture into a remix's source: the reference, cropped to the source's frame,
 * is laid over it at `weight` (0–1). Every provider then works from the mixed picture with its
 * ordinary img2img, so the reference guides colours and composition everywhere alike.
 */
export async function mixReference(source: Buffer, reference: Buffer, weight = 0.5): Promise<Buffer> {
  const base = sharp(source, { limitInputPixels: MAX_REFERENCE_PIXELS }).rotate().flatten({ background: '#000000' }).removeAlpha();
  const { data: pixels, info } = await base.raw().toBuffer({ resolveWithObject: true });
  let overlay: Buffer;
  try {
    overlay = await sharp(reference, { limitInputPixels: MAX_REFERENCE_PIXELS })
      .rotate()
      .resize(info.width, info.height, { fit: 'cover', position: 'centre' })
      .flatten({ background: '#000000' })
      .removeAlpha()
      .raw()
      .toBuffer();
  } catch (error) {
    throw new UnreadableReferenceError(`the reference image could not be read: ${error instanceof Error ? error.message : String(error)}`);
  }
  for (let i = 0; i < pixels.length; i++) pixels[i] = pixels[i]! * (1 - weight) + overlay[i]! * weight + 0.5;
  return sharp(pixels, { raw: { width: info.width, height: info.height, channels: 3 } })
    .png()
    .toBuffer();
}
