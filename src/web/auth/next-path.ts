/** Where a login returns to when no (acceptable) `next` was given. */
export const DEFAULT_NEXT = '/auth/account';

/**
 * The `next` parameter of /auth/login, kept only when it is a path on this site. Anything a
 * browser could read as another host is refused: `//host`, `/\host` (browsers treat `\` as `/`),
 * absolute URLs, and the same once percent-decoded (some proxies decode before forwarding).
 */
export function safeNextPath(raw: unknown): string | undefined {
  if (typeof raw !== 'string' || raw.length === 0 || raw.length > 512) return undefined;
  let decoded: string;
  try {
    // Twice: `%252F%252F` becomes `//` after two rounds of decoding.
    decoded = decodeURIComponent(decodeURIComponent(raw));
  } catch {
    return undefined;
  }
  for (const candidate of [raw, decoded]) {
    if (!candidate.startsWith('/') || candidate.startsWith('//')) return undefined;
    // Backslashes and control characters (tabs and newlines are dropped by URL parsers).
    if (candidate.includes('\\') || [...candidate].some((c) => c.charCodeAt(0) < 0x20 || c.charCodeAt(0) === 0x7f)) return undefined;
  }
  const base = 'http://atelier.invalid';
  const url = new URL(raw, base);
  if (url.origin !== base) return undefined;
  return `${url.pathname}${url.search}`;
}
