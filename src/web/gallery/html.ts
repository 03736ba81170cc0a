/**
 * The smallest possible templating: strings in, escaped strings out. Every value that comes from
 * a member (prompts, names, titles) or from the URL goes through `esc` (text and attribute values
 * alike); markup is only ever built from literals here and in pages.ts.
 */
export const esc = (value: unknown): string => String(value ?? '').replace(/[&<>"'`]/g, (c) => `&#${c.charCodeAt(0)};`);

/** A query string from the given values (undefined and empty values left out). */
export function query(values: Record<string, string | number | undefined>): string {
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(values)) if (value !== undefined && value !== '') params.set(name, String(value));
  const text = params.toString();
  return text ? `?${text}` : '';
}

export function clip(text: string, max: number): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length <= max ? flat : `${flat.slice(0, max - 1)}…`;
}

export const isoDate = (date: Date | null | undefined): string => (date ? date.toISOString().slice(0, 10) : '—');

const STYLE = `
:root{color-scheme:dark;--bg:#111116;--panel:#1c1c24;--text:#ececf1;--muted:#b4b4c2;--link:#9ecbff;--accent:#f5c542}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--text);font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif}
a{color:var(--link)}
a:focus-visible,button:focus-visible,input:focus-visible,select:focus-visible{outline:3px solid var(--accent);outline-offset:2px}
header.top{display:flex;flex-wrap:wrap;gap:.5rem 1.25rem;align-items:center;padding:.75rem 1rem;background:var(--panel)}
header.top .brand{font-weight:700;color:var(--text);text-decoration:none}
header.top nav ul{display:flex;flex-wrap:wrap;gap:.25rem 1rem;list-style:none;margin:0;padding:0}
header.top .who{margin-left:auto;color:var(--muted)}
main{max-width:1400px;margin:0 auto;padding:1rem}
h1{font-size:1.6rem;margin:.5rem 0 1rem}
.muted{color:var(--muted)}
.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(160px,1fr));gap:12px;list-style:none;margin:0;padding:0}
.card{background:var(--panel);border-radius:8px;overflow:hidden}
.card a.pic{display:block;aspect-ratio:1/1;background:#000}
.card img{width:100%;height:100%;object-fit:cover;display:block}
.card .meta{padding:.4rem .6rem;font-size:.9rem}
.card .meta p{margin:0;overflow-wrap:anywhere}
form.filters{display:flex;flex-wrap:wrap;gap:.75rem;align-items:end;margin-bottom:1rem}
form.filters label{display:flex;flex-direction:column;font-size:.9rem;color:var(--muted)}
input,select,button{font:inherit;color:var(--text);background:#26262f;border:1px solid #5a5a6a;border-radius:6px;padding:.35rem .5rem;min-height:2.25rem}
button{cursor:pointer}
.picture{display:grid;grid-template-columns:minmax(0,3fr) minmax(260px,2fr);gap:1.5rem}
.picture img.full{max-width:100%;height:auto;display:block;border-radius:8px}
dl.facts{display:grid;grid-template-columns:max-content 1fr;gap:.25rem 1rem;margin:0}
dl.facts dt{color:var(--muted)}
dl.facts dd{margin:0;overflow-wrap:anywhere}
.scroll{overflow-x:auto;max-width:100%}
td{overflow-wrap:anywhere}
.tree{overflow-x:auto;background:var(--panel);border-radius:8px;padding:.5rem}
.pager{margin:1rem 0}
table{border-collapse:collapse;width:100%;max-width:40rem}
th,td{text-align:left;padding:.35rem .5rem;border-bottom:1px solid #33333f}
@media (max-width:760px){.picture{grid-template-columns:1fr}.grid{grid-template-columns:repeat(auto-fill,minmax(140px,1fr))}header.top .who{margin-left:0}}
`;

export interface Chrome {
  title: string;
  /** The server the page is about: its navigation is shown. */
  guildId?: string;
  /** Who is logged in (a display name), or undefined. */
  user?: string;
  /** Where "Log in" comes back to. */
  path?: string;
  /** Whether login is available at all. */
  canLogIn: boolean;
}

/** The page around every gallery view: header with navigation, one h1, the content in main. */
export function layout(chrome: Chrome, body: string): string {
  const g = chrome.guildId ? `/g/${esc(chrome.guildId)}` : undefined;
  const nav = g
    ? `<nav aria-label="Server"><ul><li><a href="${g}">Gallery</a></li><li><a href="${g}/series">Series</a></li><li><a href="${g}/challenges">Challenges</a></li><li><a href="${g}/leaderboard">Leaderboard</a></li></ul></nav>`
    : '';
  const who = chrome.user
    ? `<span class="who">Logged in as ${esc(chrome.user)} · <a href="/auth/account">Account</a></span>`
    : chrome.canLogIn
      ? `<span class="who"><a href="/auth/login${query({ next: chrome.path })}">Log in with Discord</a></span>`
      : '';
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>${esc(chrome.title)} · Atelier</title><style>${STYLE}</style></head><body><header class="top"><a class="brand" href="/">Atelier</a>${nav}${who}</header><main><h1>${esc(chrome.title)}</h1>${body}</main></body></html>`;
}
