import sharp from 'sharp';

export interface ImageSize {
  width: number;
  height: number;
}

/**
 * Pixel size of an encoded image (PNG, JPEG, WebP, …), honouring EXIF orientation so the
 * answer matches what a viewer shows (and what `sharp().rotate()` produces).
 */
export async function imageSize(image: Buffer): Promise<ImageSize> {
  const meta = await sharp(image).metadata();
  if (!meta.width || !meta.height) throw new Error('not a decodable image');
  // Orientations 5–8 are rotated by 90°, so width and height swap.
  const swapped = (meta.orientation ?? 1) >= 5;
  return swapped ? { width: meta.height, height: meta.width } : { width: meta.width, height: meta.height };
}
