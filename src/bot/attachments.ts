/**
 * Downloads of images members point at. Only Discord's own attachment CDN is fetched (plus the
 * configured DISCORD_CDN_URL): the bot must never be a way to make requests to arbitrary hosts.
 */
export const DISCORD_CDN_HOSTS = ['cdn.discordapp.com', 'media.discordapp.net'];
export const MAX_DOWNLOAD_BYTES = 25 * 1024 * 1024;

export class AttachmentRefusedError extends Error {
  override name = 'AttachmentRefusedError';
}

export function cdnHostsFor(cdnUrl: string): string[] {
  return [...new Set([...DISCORD_CDN_HOSTS, new URL(cdnUrl).host])];
}

const IMAGE_TYPES = /^image\/(png|jpeg|webp|gif)\b/;

/**
 * Refuses, before anything is fetched, a link downloadImage would refuse: another host, or an
 * attachment Discord already says is not a supported image or is too large.
 */
export function assertDownloadableImage(
  url: string,
  allowedHosts: readonly string[],
  declared: { contentType?: string | null; size?: number } = {},
  maxBytes = MAX_DOWNLOAD_BYTES,
): URL {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new AttachmentRefusedError('That is not a valid image link.');
  }
  if (!['https:', 'http:'].includes(parsed.protocol) || !allowedHosts.includes(parsed.host)) {
    throw new AttachmentRefusedError("I only fetch images from Discord's own attachment CDN.");
  }
  if (declared.contentType && !IMAGE_TYPES.test(declared.contentType)) {
    throw new AttachmentRefusedError('That attachment is not a PNG, JPEG, WebP or GIF image.');
  }
  if ((declared.size ?? 0) > maxBytes) throw new AttachmentRefusedError('That image is too large for me to work from.');
  return parsed;
}

export async function downloadImage(url: string, allowedHosts: readonly string[], maxBytes = MAX_DOWNLOAD_BYTES): Promise<Buffer> {
  const parsed = assertDownloadableImage(url, allowedHosts, {}, maxBytes);
  const response = await fetch(parsed, { redirect: 'error', signal: AbortSignal.timeout(20_000) });
  if (!response.ok) throw new AttachmentRefusedError(`Discord's CDN answered ${response.status} for that image.`);
  const type = response.headers.get('content-type') ?? '';
  if (!IMAGE_TYPES.test(type)) throw new AttachmentRefusedError('That attachment is not a PNG, JPEG, WebP or GIF image.');
  const declared = Number(response.headers.get('content-length') ?? 0);
  if (declared > maxBytes) throw new AttachmentRefusedError('That image is too large for me to work from.');
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of response.body as AsyncIterable<Uint8Array>) {
    size += chunk.byteLength;
    if (size > maxBytes) throw new AttachmentRefusedError('That image is too large for me to work from.');
    chunks.push(Buffer.from(chunk));
  }
  return Buffer.concat(chunks);
}
