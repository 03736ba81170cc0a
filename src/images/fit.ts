import sharp from 'sharp';
import { imageSize } from './meta.js';

/** Thrown when not even the smallest acceptable re-encode fits the upload limit. */
export class ImageTooLargeError extends Error {
  override name = 'ImageTooLargeError';
  constructor(
    /** Size of the smallest encoding we managed. */
    readonly smallestBytes: number,
    readonly limitBytes: number,
  ) {
    super(
      `This image is too large to upload here: even compressed and shrunk it is ` +
        `${formatBytes(smallestBytes)}, and this server accepts files up to ${formatBytes(limitBytes)}.`,
    );
  }
}

export interface FittedImage {
  data: Buffer;
  contentType: string;
  filename: string;
}

/** Below this the picture stops being worth posting, so we give up instead. */
const FLOOR_LONG_SIDE = 256;
const DOWNSCALE_STEP = 0.75;

type Encoding = { format: 'webp' | 'jpeg'; quality: number };

/**
 * Lossy encodings tried in order, best looking first. WebP beats JPEG at equal quality on
 * generated art, but JPEG degrades more gracefully at low sizes, so both get a turn.
 */
const LADDER: Encoding[] = [
  { format: 'webp', quality: 90 },
  { format: 'webp', quality: 80 },
  { format: 'webp', quality: 70 },
  { format: 'jpeg', quality: 85 },
  { format: 'jpeg', quality: 75 },
  { format: 'jpeg', quality: 60 },
];

const CONTENT_TYPES: Record<string, { contentType: string; ext: string }> = {
  png: { contentType: 'image/png', ext: 'png' },
  jpeg: { contentType: 'image/jpeg', ext: 'jpg' },
  webp: { contentType: 'image/webp', ext: 'webp' },
  gif: { contentType: 'image/gif', ext: 'gif' },
};

/** The format a file's first bytes announce (PNG, JPEG, WebP, GIF), or undefined. */
export function signatureFormat(image: Buffer): 'png' | 'jpeg' | 'webp' | 'gif' | undefined {
  if (image.length >= 8 && image.readUInt32BE(0) === 0x89504e47 && image.readUInt32BE(4) === 0x0d0a1a0a) return 'png';
  if (image.length >= 3 && image[0] === 0xff && image[1] === 0xd8 && image[2] === 0xff) return 'jpeg';
  if (image.length >= 12 && image.toString('latin1', 0, 4) === 'RIFF' && image.toString('latin1', 8, 12) === 'WEBP') return 'webp';
  if (image.length >= 6 && /^GIF8[79]a$/.test(image.toString('latin1', 0, 6))) return 'gif';
  return undefined;
}

/**
 * Makes an image small enough for a Discord attachment (the guild's attachment_size_limit).
 * Returns the original bytes when they already fit; otherwise the first encoding from
 * LADDER that fits, then JPEG at shrinking sizes down to FLOOR_LONG_SIDE.
 */
export async function fitToSize(image: Buffer, limitBytes: number, baseName: string): Promise<FittedImage> {
  // Every result passes here and nearly all fit as they are: their signature says what they are,
  // without asking libvips. Anything else (too large, or not recognised) goes the long way.
  const signed = image.length <= limitBytes ? CONTENT_TYPES[signatureFormat(image) ?? ''] : undefined;
  if (signed) return { data: image, contentType: signed.contentType, filename: `${baseName}.${signed.ext}` };
  const meta = await sharp(image).metadata();
  const original = CONTENT_TYPES[meta.format ?? ''];
  if (image.length <= limitBytes && original) {
    return { data: image, contentType: original.contentType, filename: `${baseName}.${original.ext}` };
  }

  // Decode once (auto-oriented, alpha flattened: JPEG has none and Discord shows a dark
  // background anyway) and re-encode from the raw pixels for every attempt.
  const { data: pixels, info } = await sharp(image).rotate().flatten({ background: '#000000' }).raw().toBuffer({ resolveWithObject: true });
  const raw = { raw: { width: info.width, height: info.height, channels: info.channels } } as const;

  let smallest = image.length;
  const attempt = async (encoding: Encoding, resize?: { width: number; height: number }) => {
    let pipeline = sharp(pixels, raw);
    if (resize) pipeline = pipeline.resize(resize.width, resize.height, { kernel: 'lanczos3' });
    const data =
      encoding.format === 'webp'
        ? await pipeline.webp({ quality: encoding.quality, effort: 4 }).toBuffer()
        : await pipeline.jpeg({ quality: encoding.quality, mozjpeg: true }).toBuffer();
    smallest = Math.min(smallest, data.length);
    if (data.length > limitBytes) return undefined;
    const type = CONTENT_TYPES[encoding.format]!;
    return { data, contentType: type.contentType, filename: `${baseName}.${type.ext}` };
  };

  for (const encoding of LADDER) {
    const fitted = await attempt(encoding);
    if (fitted) return fitted;
  }

  // Still too big at full size: shrink by 0.75 per step (JPEG 80), clamping the last step
  // to the floor so a picture just above it still gets a try at exactly the floor.
  const longSide = Math.max(info.width, info.height);
  let target = longSide;
  while (target > FLOOR_LONG_SIDE) {
    target = Math.max(FLOOR_LONG_SIDE, Math.round(target * DOWNSCALE_STEP));
    const scale = target / longSide;
    const size = {
      width: Math.max(1, Math.round(info.width * scale)),
      height: Math.max(1, Math.round(info.height * scale)),
    };
    const fitted = await attempt({ format: 'jpeg', quality: 80 }, size);
    if (fitted) return fitted;
  }

  throw new ImageTooLargeError(smallest, limitBytes);
}

/**
 * Enlarges an image by `factor` with lanczos3 plus a light sharpen (resampling softens edges).
 * PNG out. Used by the local provider's upscale; kept here so every path upscales alike.
 */
export async function upscaleImage(image: Buffer, factor = 2): Promise<Buffer> {
  if (!(factor > 0)) throw new RangeError(`upscale factor must be positive, got ${factor}`);
  const { width, height } = await imageSize(image);
  return sharp(image)
    .rotate()
    .resize(Math.round(width * factor), Math.round(height * factor), { kernel: 'lanczos3' })
    .sharpen({ sigma: 0.6, m1: 0.5, m2: 1.5 })
    .png()
    .toBuffer();
}

function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} bytes`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  return `${(bytes / (1024 * 1024)).toFixed(1)} MB`;
}
