import type {
  ChallengeEntry,
  ChallengeSummary,
  FamilyNode,
  Picture,
  PictureCard,
  Profile,
  SeriesPanel,
  SeriesSummary,
  SortOrder,
  TopPeriod,
} from '../../features/gallery/store.js';
import { clip, esc, isoDate, query } from './html.js';

/** How a picture's author is named: one who deleted their data is "a former member", never named. */
export function authorLabel(userId: string | null, name: string | null): string {
  if (userId === null) return 'a former member';
  return name ?? 'a member';
}

/** Links to a member's profile, except for a former member (they have none). */
function author(guildId: string, userId: string | null, name: string | null): string {
  const label = esc(authorLabel(userId, name));
  return userId === null ? label : `<a href="/g/${esc(guildId)}/u/${esc(userId)}">${label}</a>`;
}

const thumb = (guildId: string, imageId: string) => `/g/${esc(guildId)}/t/${encodeURIComponent(imageId)}.webp`;
const pictureUrl = (guildId: string, imageId: string) => `/g/${esc(guildId)}/p/${encodeURIComponent(imageId)}`;
const votesLabel = (n: number) => `${n} ${n === 1 ? 'vote' : 'votes'}`;

export function cards(guildId: string, list: PictureCard[]): string {
  if (list.length === 0) return '<p class="muted">No pictures here yet.</p>';
  const items = list.map(
    (card) =>
      `<li class="card"><a class="pic" href="${pictureUrl(guildId, card.id)}"><img src="${thumb(guildId, card.id)}" alt="${esc(clip(card.prompt, 120))}" width="${card.width}" height="${card.height}" loading="lazy"></a>` +
      `<div class="meta"><p>${author(guildId, card.userId, card.authorName)}</p><p class="muted">👍 ${votesLabel(card.votes)}</p></div></li>`,
  );
  return `<ul class="grid">${items.join('')}</ul>`;
}

export function homePage(servers: Array<{ guildId: string; pictures: number }>): string {
  if (servers.length === 0) return '<p>None of your servers has used Atelier yet.</p>';
  const items = servers.map(
    (s) => `<li><a href="/g/${esc(s.guildId)}">Server ${esc(s.guildId)}</a> <span class="muted">(${s.pictures} pictures)</span></li>`,
  );
  return `<p>Your servers that have Atelier:</p><ul>${items.join('')}</ul>`;
}

export interface GalleryView {
  guildId: string;
  sort: SortOrder;
  period: TopPeriod;
  memberId?: string;
  model?: string;
  search?: string;
  models: string[];
  members: Array<{ id: string; name: string | null }>;
  cards: PictureCard[];
  nextCursor?: string;
}

export function galleryPage(view: GalleryView): string {
  const option = (value: string, label: string, selected: boolean) =>
    `<option value="${esc(value)}"${selected ? ' selected' : ''}>${esc(label)}</option>`;
  const form =
    `<form class="filters" method="get" action="/g/${esc(view.guildId)}" role="search">` +
    `<label for="q">Search prompts<input id="q" type="search" name="q" maxlength="200" value="${esc(view.search ?? '')}"></label>` +
    `<label for="sort">Order<select id="sort" name="sort">${option('new', 'Newest', view.sort === 'new')}${option('top', 'Top voted', view.sort === 'top')}</select></label>` +
    `<label for="period">Top of<select id="period" name="period">${(['day', 'week', 'month', 'all'] as const)
      .map((p) => option(p, p === 'all' ? 'all time' : `the ${p}`, view.period === p))
      .join('')}</select></label>` +
    `<label for="member">Member<select id="member" name="member">${option('', 'Everyone', !view.memberId)}${view.members
      .map((m) => option(m.id, authorLabel(m.id, m.name), m.id === view.memberId))
      .join('')}</select></label>` +
    `<label for="model">Model<select id="model" name="model">${option('', 'Any model', !view.model)}${view.models
      .map((m) => option(m, m, m === view.model))
      .join('')}</select></label>` +
    `<button type="submit">Show</button></form>`;
  const next = view.nextCursor
    ? `<p class="pager"><a rel="next" href="/g/${esc(view.guildId)}${esc(
        query({
          q: view.search,
          sort: view.sort,
          period: view.sort === 'top' ? view.period : undefined,
          member: view.memberId,
          model: view.model,
          cursor: view.nextCursor,
        }),
      )}">Older pictures →</a></p>`
    : '';
  return `${form}${cards(view.guildId, view.cards)}${next}`;
}

export interface PictureView {
  picture: Picture;
  tree: string;
  series: SeriesSummary[];
  challenges: ChallengeSummary[];
  /** The vote form, when the visitor may vote (a logged-in member). */
  vote?: { csrf: string; voted: boolean; own: boolean; selfVoteAllowed: boolean };
  /** A message after a vote ("Your vote counts."). */
  notice?: string;
}

export function picturePage(view: PictureView): string {
  const p = view.picture;
  const g = p.guildId;
  const discordLink = p.messageId
    ? `<p><a href="https://discord.com/channels/${esc(g)}/${esc(p.channelId)}/${esc(p.messageId)}">Open the message in Discord</a></p>`
    : '';
  let vote = '';
  if (view.vote && p.requestId) {
    vote =
      view.vote.own && !view.vote.selfVoteAllowed
        ? '<p class="muted">You cannot vote for your own pictures in this server.</p>'
        : `<form method="post" action="${pictureUrl(g, p.id)}/vote"><input type="hidden" name="_csrf" value="${esc(view.vote.csrf)}">` +
          `<button type="submit">${view.vote.voted ? '👍 Take back my vote' : '👍 Vote'}</button></form>`;
  }
  const facts = [
    ['Prompt', esc(p.prompt)],
    ['Negative', p.negative ? esc(p.negative) : '—'],
    ['Seed', p.seed === null ? '—' : esc(p.seed)],
    ['Model', esc(p.model ?? '—')],
    ['Aspect', esc(p.aspect ?? '—')],
    ['Author', author(g, p.userId, p.authorName)],
    ['Votes', `<span id="votes">${votesLabel(p.votes)}</span>`],
    ['Made', esc(isoDate(p.createdAt))],
  ]
    .map(([name, value]) => `<dt>${name}</dt><dd>${value}</dd>`)
    .join('');
  const memberships = [
    ...view.series.map((s) => `<li>Series: <a href="/g/${esc(g)}/series/${esc(s.id)}">${esc(s.title)}</a></li>`),
    ...view.challenges.map((c) => `<li>Challenge: <a href="/g/${esc(g)}/challenges/${esc(c.id)}">${esc(c.theme)}</a></li>`),
  ];
  return (
    (view.notice ? `<p role="status">${esc(view.notice)}</p>` : '') +
    `<div class="picture"><div><img class="full" src="/g/${esc(g)}/i/${encodeURIComponent(p.id)}" alt="${esc(clip(p.prompt, 200))}" width="${p.width}" height="${p.height}"></div>` +
    `<div><dl class="facts">${facts}</dl>${vote}${discordLink}` +
    (memberships.length ? `<h2>Part of</h2><ul>${memberships.join('')}</ul>` : '') +
    `</div></div><h2>Family</h2><div class="tree">${view.tree}</div>`
  );
}

const NODE = 96;
const GAP_X = 24;
const ROW = NODE + 56;
const PAD = 12;

/**
 * The family tree as SVG: parents centred above their children, leaves one column each. Every
 * shown picture is a link to its page; pictures that cannot be shown (deleted, age-restricted,
 * another server's) are plain boxes without a link or a thumbnail.
 */
export function familyTree(guildId: string, nodes: FamilyNode[], focusId: string): string {
  if (nodes.length === 0) return '';
  const byId = new Map(nodes.map((n) => [n.id, n]));
  const children = new Map<string, FamilyNode[]>();
  for (const node of nodes) {
    if (node.parentId && byId.has(node.parentId)) children.set(node.parentId, [...(children.get(node.parentId) ?? []), node]);
  }
  const root = nodes.find((n) => !n.parentId || !byId.has(n.parentId)) ?? nodes[0]!;
  const place = new Map<string, { x: number; y: number }>();
  let column = 0;
  let depthMax = 0;
  const visit = (node: FamilyNode, depth: number, seen: Set<string>): number => {
    depthMax = Math.max(depthMax, depth);
    const kids = (children.get(node.id) ?? []).filter((kid) => !seen.has(kid.id));
    let x: number;
    if (kids.length === 0) x = column++;
    else {
      const xs = kids.map((kid) => visit(kid, depth + 1, new Set([...seen, kid.id])));
      x = (xs[0]! + xs.at(-1)!) / 2;
    }
    place.set(node.id, { x, y: depth });
    return x;
  };
  visit(root, 0, new Set([root.id]));
  const px = (x: number) => PAD + x * (NODE + GAP_X);
  const py = (y: number) => PAD + y * ROW;
  const width = PAD * 2 + Math.max(1, column) * (NODE + GAP_X) - GAP_X;
  const height = PAD * 2 + (depthMax + 1) * ROW - (ROW - NODE) + 36;
  const lines: string[] = [];
  const boxes: string[] = [];
  for (const node of nodes) {
    const at = place.get(node.id);
    if (!at) continue;
    const parent = node.parentId ? place.get(node.parentId) : undefined;
    if (parent) {
      const x1 = px(parent.x) + NODE / 2;
      const y1 = py(parent.y) + NODE + 30;
      const x2 = px(at.x) + NODE / 2;
      const y2 = py(at.y);
      lines.push(`<path d="M${x1} ${y1}V${(y1 + y2) / 2}H${x2}V${y2}" fill="none" stroke="#8a8aa0" stroke-width="2"/>`);
    }
    const x = px(at.x);
    const y = py(at.y);
    const focus =
      node.id === focusId
        ? `<rect x="${x - 3}" y="${y - 3}" width="${NODE + 6}" height="${NODE + 6}" fill="none" stroke="#f5c542" stroke-width="3"/>`
        : '';
    const name = clip(authorLabel(node.userId, node.authorName), 16);
    if (node.state === 'shown') {
      // The accessible name starts with the visible label (the author), as WCAG 2.5.3 asks.
      const label = `${name}: ${node.id === focusId ? 'this picture' : 'picture'}, ${votesLabel(node.votes)}`;
      boxes.push(
        `<a href="${pictureUrl(guildId, node.id)}" aria-label="${esc(label)}"><title>${esc(label)}</title>${focus}` +
          `<image href="${thumb(guildId, node.id)}" x="${x}" y="${y}" width="${NODE}" height="${NODE}" preserveAspectRatio="xMidYMid slice"/>` +
          `<text x="${x + NODE / 2}" y="${y + NODE + 18}" text-anchor="middle" fill="#ececf1" font-size="13">${esc(name)}</text></a>`,
      );
    } else {
      boxes.push(
        `<g>${focus}<rect x="${x}" y="${y}" width="${NODE}" height="${NODE}" fill="#2a2a33"/>` +
          `<text x="${x + NODE / 2}" y="${y + NODE / 2 + 5}" text-anchor="middle" fill="#ececf1" font-size="13">not shown</text></g>`,
      );
    }
  }
  return `<svg xmlns="http://www.w3.org/2000/svg" role="group" aria-label="Family tree" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">${lines.join('')}${boxes.join('')}</svg>`;
}

export function seriesListPage(guildId: string, list: SeriesSummary[]): string {
  if (list.length === 0) return '<p class="muted">No series yet.</p>';
  return `<ul>${list
    .map(
      (s) =>
        `<li><a href="/g/${esc(guildId)}/series/${esc(s.id)}">${esc(s.title)}</a> <span class="muted">${s.panelCount} panels · ${esc(s.mode)} · ${esc(s.status)} · ${esc(isoDate(s.createdAt))}</span></li>`,
    )
    .join('')}</ul>`;
}

export function seriesPage(guildId: string, series: SeriesSummary, panels: SeriesPanel[]): string {
  const base = `/g/${esc(guildId)}/series/${esc(series.id)}`;
  const downloads = panels.some((p) => p.image)
    ? `<p>Download: <a href="${base}/strip.png" download>strip (PNG)</a> · <a href="${base}/animation.gif" download>animation (GIF)</a> · <a href="${base}/panels.zip" download>panels (zip)</a></p>`
    : '';
  const items = panels.map((panel) => {
    const picture = panel.image
      ? `<a class="pic" href="${pictureUrl(guildId, panel.image.id)}"><img src="${thumb(guildId, panel.image.id)}" alt="Panel ${panel.number}: ${esc(clip(panel.prompt ?? '', 120))}" width="${panel.image.width}" height="${panel.image.height}" loading="lazy"></a>`
      : '<div class="pic" role="img" aria-label="Panel not shown"></div>';
    return `<li class="card">${picture}<div class="meta"><p>Panel ${panel.number}</p><p>${author(guildId, panel.userId, panel.authorName)}</p></div></li>`;
  });
  const sealed =
    series.mode === 'corpse' && series.status === 'open' ? '<p>An exquisite corpse: its panels are revealed when the last one is in.</p>' : '';
  return `<p class="muted">${esc(series.mode)} · ${esc(series.status)} · started ${esc(isoDate(series.createdAt))}</p>${sealed}${downloads}<ol class="grid">${items.join('')}</ol>`;
}

const phaseLabels: Record<string, string> = {
  announce: 'announced',
  submissions: 'taking entries',
  voting: 'voting',
  results: 'finished',
  cancelled: 'cancelled',
};

export function challengesPage(guildId: string, list: ChallengeSummary[]): string {
  if (list.length === 0) return '<p class="muted">No challenges yet.</p>';
  const rows = list.map(
    (c) =>
      `<tr><td><a href="/g/${esc(guildId)}/challenges/${esc(c.id)}">${esc(c.theme)}</a></td><td>${esc(phaseLabels[c.phase] ?? c.phase)}</td><td>${esc(isoDate(c.announcedAt ?? c.createdAt))}</td><td>${c.entries}</td><td>${esc(c.season ?? '—')}</td></tr>`,
  );
  return `<div class="scroll" tabindex="0" role="region" aria-label="Challenges"><table><caption class="muted">Challenges, newest first</caption><thead><tr><th scope="col">Theme</th><th scope="col">State</th><th scope="col">Started</th><th scope="col">Entries</th><th scope="col">Season</th></tr></thead><tbody>${rows.join('')}</tbody></table></div>`;
}

export function challengePage(guildId: string, challenge: ChallengeSummary, entries: ChallengeEntry[]): string {
  const dates =
    `<dl class="facts"><dt>State</dt><dd>${esc(phaseLabels[challenge.phase] ?? challenge.phase)}</dd>` +
    `<dt>Started</dt><dd>${esc(isoDate(challenge.announcedAt ?? challenge.createdAt))}</dd>` +
    `<dt>Entries closed</dt><dd>${esc(isoDate(challenge.submissionsEndAt))}</dd>` +
    `<dt>Voting closed</dt><dd>${esc(isoDate(challenge.votingEndAt))}</dd>` +
    `<dt>Season</dt><dd>${esc(challenge.season ?? '—')}</dd></dl>`;
  const podium = entries.filter((e) => e.place !== null && e.place <= 3);
  const podiumHtml = podium.length
    ? `<h2>Podium</h2><ol>${podium
        .map(
          (e) =>
            `<li>${e.image ? `<a href="${pictureUrl(guildId, e.image.id)}">Entry ${e.number}</a>` : `Entry ${e.number}`} by ${author(guildId, e.userId, e.authorName)} · ${votesLabel(e.votes ?? 0)}</li>`,
        )
        .join('')}</ol>`
    : '';
  // Until the results, entries are anonymous, as on Discord: a picture by its entry number, with
  // no author and no link to its picture page (which names the author).
  const anonymous = challenge.phase !== 'results';
  const items = entries.map((e) => {
    let picture = '<div class="pic" role="img" aria-label="Entry not shown"></div>';
    if (e.image && anonymous) {
      picture = `<div class="pic"><img src="/g/${esc(guildId)}/challenges/${esc(challenge.id)}/e/${e.number}.webp" alt="Entry ${e.number}" width="${e.image.width}" height="${e.image.height}" loading="lazy"></div>`;
    } else if (e.image) {
      picture = `<a class="pic" href="${pictureUrl(guildId, e.image.id)}"><img src="${thumb(guildId, e.image.id)}" alt="Entry ${e.number}: ${esc(clip(e.image.prompt, 120))}" width="${e.image.width}" height="${e.image.height}" loading="lazy"></a>`;
    }
    const result = e.votes === null ? '' : `<p class="muted">${e.place ? `#${e.place} · ` : ''}${votesLabel(e.votes)}</p>`;
    const by = anonymous ? '' : ` by ${author(guildId, e.userId, e.authorName)}`;
    return `<li class="card">${picture}<div class="meta"><p>Entry ${e.number}${by}</p>${result}</div></li>`;
  });
  const note = anonymous && entries.length > 0 ? '<p class="muted">Entries stay anonymous until the results.</p>' : '';
  return `${dates}${podiumHtml}<h2>Entries</h2>${note}${items.length ? `<ul class="grid">${items.join('')}</ul>` : '<p class="muted">No entries.</p>'}`;
}

export function leaderboardPage(
  guildId: string,
  seasonList: string[],
  season: string | undefined,
  rows: Array<{ userId: string; authorName: string | null; points: number }>,
): string {
  if (!season) return '<p class="muted">No season points yet.</p>';
  const picker = `<nav aria-label="Seasons"><p>Seasons: ${seasonList
    .map((s) => (s === season ? `<strong>${esc(s)}</strong>` : `<a href="/g/${esc(guildId)}/leaderboard?season=${esc(s)}">${esc(s)}</a>`))
    .join(' · ')}</p></nav>`;
  const body = rows.map((r, i) => `<tr><td>${i + 1}</td><td>${author(guildId, r.userId, r.authorName)}</td><td>${r.points}</td></tr>`);
  return `${picker}<div class="scroll" tabindex="0" role="region" aria-label="Leaderboard"><table><caption>Season ${esc(season)}</caption><thead><tr><th scope="col">Rank</th><th scope="col">Member</th><th scope="col">Points</th></tr></thead><tbody>${body.join('')}</tbody></table></div>`;
}

export function profilePage(guildId: string, p: Profile, recent: PictureCard[]): string {
  const best = p.best ? `<h2>Best picture</h2>${cards(guildId, [p.best])}` : '';
  return (
    `<dl class="facts"><dt>Pictures made</dt><dd>${p.pictures}</dd><dt>Votes received</dt><dd>${p.votesReceived}</dd><dt>Remixes of their work</dt><dd>${p.remixesByOthers}</dd></dl>` +
    `${best}<h2>Recent pictures</h2>${cards(guildId, recent)}<p><a href="/g/${esc(guildId)}?member=${esc(p.userId)}">All their pictures</a></p>`
  );
}
