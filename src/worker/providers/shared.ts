/** Small helpers the remote providers (Replicate, ComfyUI) share. */
import sharp, { type Metadata } from 'sharp';

/** "fetch failed" alone says little; undici puts the socket error (ECONNREFUSED, ETIMEDOUT…) in `cause`. */
export function describe(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = error.cause as { code?: unknown; message?: unknown } | undefined;
  const detail = cause?.code ?? cause?.message;
  return typeof detail === 'string' ? `${error.message} (${detail})` : error.message;
}

/** Resolves after `ms`, or as soon as the signal (if any) aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}

/** Parses Retry-After (delta-seconds or an HTTP date). */
export function retryAfterMs(header: string | null | undefined): number | undefined {
  if (!header) return undefined;
  const seconds = Number(header);
  if (Number.isFinite(seconds) && seconds >= 0) return Math.ceil(seconds * 1000);
  const date = Date.parse(header);
  return Number.isNaN(date) ? undefined : Math.max(0, date - Date.now());
}

export function clamp(value: number, min: number, max: number): number {
  return Math.min(max, Math.max(min, value));
}

/** The image type from its first bytes (PNG, JPEG, WebP), or undefined. */
export function sniffContentType(bytes: Buffer): string | undefined {
  if (bytes.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))) return 'image/png';
  if (bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return 'image/jpeg';
  if (bytes.toString('latin1', 0, 4) === 'RIFF' && bytes.toString('latin1', 8, 12) === 'WEBP') return 'image/webp';
  return undefined;
}

/** The content type for a format sharp reports. */
export function contentTypeFor(format: string): string {
  if (format === 'jpeg' || format === 'jpg') return 'image/jpeg';
  if (format === 'webp') return 'image/webp';
  return 'image/png';
}

/** What a provider may download: from which hosts, how much, for how long. */
export interface DownloadLimits {
  /** Host names (a subdomain matches too), or host:port for non-default ports. */
  hosts: string[];
  maxBytes: number;
  timeoutMs: number;
}

/** Outputs larger than this are not images anyone asked for (an 8192² PNG is about 100 MB at worst). */
export const MAX_DOWNLOAD_BYTES = 128 * 1024 * 1024;
/** Source images are decoded only up to this many pixels (4096 × 4096); a larger claim is refused unread. */
export const MAX_INPUT_PIXELS = 4096 * 4096;
/** Provider outputs may be one upscale larger than the largest source. */
export const MAX_OUTPUT_PIXELS = 4 * MAX_INPUT_PIXELS;

export function hostAllowed(url: URL, hosts: string[]): boolean {
  const host = url.host.toLowerCase();
  const name = url.hostname.toLowerCase();
  return hosts.some((allowed) => {
    const entry = allowed.toLowerCase();
    return host === entry || name === entry || name.endsWith(`.${entry}`);
  });
}

/**
 * Downloads a provider's output without trusting it: only from the provider's own hosts (each
 * redirect is checked too), never more than `maxBytes` (a larger Content-Length is refused before
 * reading, a longer stream is cut off), and within a time limit.
 */
export async function boundedDownload(
  url: string,
  fetchImpl: typeof fetch,
  limits: DownloadLimits,
  signal: AbortSignal,
  init: RequestInit = {},
): Promise<Buffer> {
  let current = new URL(url);
  const deadline = AbortSignal.any([signal, AbortSignal.timeout(limits.timeoutMs)]);
  for (let hop = 0; ; hop++) {
    // data: URIs (some models answer inline) hold their bytes already; the size cap still applies.
    if (current.protocol !== 'data:' && !hostAllowed(current, limits.hosts))
      throw new Error(`refused to download from ${current.host}, which is not the provider's`);
    const response = await fetchImpl(current, { ...init, redirect: 'manual', signal: deadline });
    if (response.status >= 300 && response.status < 400) {
      await response.body?.cancel().catch(() => undefined);
      const location = response.headers.get('location');
      if (!location || hop >= 3) throw new Error(`HTTP ${response.status} without a usable redirect`);
      current = new URL(location, current);
      continue;
    }
    if (!response.ok) {
      await response.body?.cancel().catch(() => undefined);
      throw new Error(`HTTP ${response.status}`);
    }
    const claimed = Number(response.headers.get('content-length') ?? NaN);
    if (claimed > limits.maxBytes) {
      await response.body?.cancel().catch(() => undefined);
      throw new Error(`it claims ${claimed} bytes, more than the ${limits.maxBytes} allowed`);
    }
    return readCapped(response, limits.maxBytes);
  }
}

async function readCapped(response: Response, maxBytes: number): Promise<Buffer> {
  if (!response.body) return Buffer.alloc(0);
  const chunks: Buffer[] = [];
  let total = 0;
  const reader = response.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > maxBytes) {
      await reader.cancel().catch(() => undefined);
      throw new Error(`it is larger than the ${maxBytes} bytes allowed`);
    }
    chunks.push(Buffer.from(value));
  }
  return Buffer.concat(chunks);
}

/**
 * Width, height and type of an image, read from its header with a pixel limit, so that a small
 * file claiming a huge picture (a decompression bomb) is refused before anything decodes it.
 */
export async function imageInfo(bytes: Buffer, maxPixels: number): Promise<{ width: number; height: number; format: string } | undefined> {
  let meta: Metadata;
  try {
    meta = await sharp(bytes, { limitInputPixels: maxPixels }).metadata();
  } catch (error) {
    if (/pixel limit/i.test(String(error))) throw new TooManyPixelsError(maxPixels);
    return undefined;
  }
  if (!meta.width || !meta.height || !meta.format) return undefined;
  if (meta.width * meta.height > maxPixels) throw new TooManyPixelsError(maxPixels);
  return { width: meta.width, height: meta.height, format: meta.format };
}

export class TooManyPixelsError extends Error {
  override name = 'TooManyPixelsError';
  constructor(readonly maxPixels: number) {
    super(`the image has more than the ${maxPixels} pixels allowed`);
  }
}

/**
 * Guidance (CFG) for a request's --stylize and --chaos, from the model's usual value. Lower
 * guidance lets a model follow its own taste more and the prompt less, and spreads a batch wider:
 * stylize 100 (the usual) keeps `base`, 0 raises it by 30%, 1000 lowers it to 40%; chaos lowers it
 * by up to 40% more. Rounded to hundredths so requests stay reproducible.
 */
export function guidanceFor(base: number, stylize: number | undefined, chaos: number | undefined): number {
  const style = stylize === undefined ? 1 : stylize <= 100 ? 1.3 - 0.3 * (stylize / 100) : 1 - 0.6 * ((stylize - 100) / 900);
  const spread = chaos === undefined ? 1 : 1 - 0.4 * (chaos / 100);
  return Math.round(base * style * spread * 100) / 100;
}
