import { createHash } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { strToU8, zipSync } from 'fflate';
import { z } from 'zod';
import type { Database } from '../../db/connection.js';
import {
  challengeEntryPicture,
  challengesOfPicture,
  family,
  galleryFilters,
  getChallenge,
  getPicture,
  getSeries,
  leaderboard,
  listChallenges,
  listPictures,
  listSeries,
  profile,
  seasons,
  seriesOfPicture,
  serversWithAtelier,
  sortOrders,
  topPeriods,
  type GalleryCursor,
} from '../../features/gallery/store.js';
import { Thumbnails } from '../../features/gallery/thumbnails.js';
import type { SettingsStore } from '../../features/settings/store.js';
import { BanList } from '../../features/moderation/store.js';
import { toggleVote } from '../../features/votes/store.js';
import { composeSeries, composeSlideshow } from '../../features/series/render.js';
import type { ImageStorage } from '../../storage/storage.js';
import type { WebLogin } from '../auth/login.js';
import type { WebSession } from '../auth/sessions.js';
import { layout } from './html.js';
import {
  authorLabel,
  challengePage,
  challengesPage,
  familyTree,
  galleryPage,
  homePage,
  leaderboardPage,
  picturePage,
  profilePage,
  seriesListPage,
  seriesPage,
} from './pages.js';

/** What the gallery needs; passed in by whoever serves the web (npm start, npm run web). */
export interface GalleryContext {
  db: Database;
  storage: ImageStorage;
  settings: SettingsStore;
  /** Brings the Discord message's vote label in line after a web vote (a job the bot runs). */
  refreshVoteLabel?: (requestId: string) => Promise<void>;
  now?: () => Date;
  /** Series downloads (strip, animation, zip) built at once by this process; more get a 503 (default 2). */
  downloadsAtOnce?: number;
}

export const PAGE_SIZE = 48;
const SEARCH_MAX = 200;
const FILTERS_CACHE_MS = 60_000;

const snowflake = /^\d{1,20}$/;
const recordId = /^[A-Za-z0-9_-]{1,64}$/;
/** Text a visitor types (a search, a model name): no control characters, which no prompt or name holds. */
const typed = (max: number) =>
  z
    .string()
    .max(max)
    .refine((text) => !/\p{Cc}/u.test(text));

/**
 * The query string of the gallery page. Anything unexpected (a repeated parameter, a value too
 * long, an unknown order) is a 400: a crafted link gets a clear answer, never a surprise query.
 */
const galleryQuery = z
  .object({
    q: typed(SEARCH_MAX).optional(),
    sort: z.enum(sortOrders).optional(),
    period: z.enum(topPeriods).optional(),
    member: z.union([z.literal(''), z.string().regex(snowflake)]).optional(),
    model: typed(50).optional(),
    cursor: z.string().max(200).optional(),
  })
  .strict();

const cursorSchema = z.object({ id: z.string().regex(recordId), votes: z.number().int().min(0).max(1e9).optional() }).strict();

export function encodeCursor(cursor: GalleryCursor): string {
  return Buffer.from(JSON.stringify(cursor)).toString('base64url');
}

export function decodeCursor(raw: string): GalleryCursor | undefined {
  if (!/^[A-Za-z0-9_-]{1,200}$/.test(raw)) return undefined;
  try {
    const parsed = cursorSchema.safeParse(JSON.parse(Buffer.from(raw, 'base64url').toString('utf8')));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

/** Who is looking at a server's pages, once access is granted. */
interface Viewer {
  guildId: string;
  session: WebSession | undefined;
  /** A logged-in member of the server (may vote); false for a visitor of a public gallery. */
  member: boolean;
  /** Whether "Log in" makes sense. */
  canLogIn: boolean;
}

const CSP = "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

function html(reply: FastifyReply, status: number, page: string): FastifyReply {
  return reply
    .code(status)
    .type('text/html; charset=utf-8')
    .header('cache-control', 'private, no-store')
    .header('content-security-policy', CSP)
    .header('x-content-type-options', 'nosniff')
    .header('referrer-policy', 'same-origin')
    .send(page);
}

/**
 * The gallery's routes. Every route under /g/:guildId first decides access: a logged-in member
 * of the server (membership as Discord last said, re-checked every 10 minutes by the login), or
 * anyone when the server made its gallery public. Everybody else gets the same 404 as for a
 * server or picture that does not exist, for pages and images alike.
 */
export const galleryRoutes =
  (ctx: GalleryContext, login?: WebLogin) =>
  async (app: FastifyInstance): Promise<void> => {
    const thumbnails = new Thumbnails(ctx.storage);
    const downloadsAtOnce = ctx.downloadsAtOnce ?? 2;
    let building = 0;
    const bans = new BanList(ctx.db);
    // The filter menus (models and members of a server) change slowly and cost a hundred index
    // probes each: they are read once a minute per server, not on every page.
    const filterCache = new Map<string, { value: Promise<Awaited<ReturnType<typeof galleryFilters>>>; expires: number }>();
    const filtersOf = (guildId: string) => {
      const cached = filterCache.get(guildId);
      if (cached && cached.expires > Date.now()) return cached.value;
      if (filterCache.size >= 1000) filterCache.clear();
      const value = galleryFilters(ctx.db, guildId);
      filterCache.set(guildId, { value, expires: Date.now() + FILTERS_CACHE_MS });
      value.catch(() => filterCache.delete(guildId));
      return value;
    };
    const now = ctx.now ?? (() => new Date());
    const displayName = (session: WebSession | undefined) => (session ? (session.globalName ?? session.username) : undefined);

    const notFound = (request: FastifyRequest, reply: FastifyReply, session?: WebSession) =>
      html(
        reply,
        404,
        layout(
          { title: 'Not found', user: displayName(session), path: request.url, canLogIn: !!login },
          `<p>There is nothing here, or it is not yours to see.${
            !session && login ? ' If you are a member of this server, <a href="/auth/login">log in with Discord</a>.' : ''
          }</p>`,
        ),
      );
    const badRequest = (reply: FastifyReply, message: string, session?: WebSession) =>
      html(reply, 400, layout({ title: 'Bad request', user: displayName(session), canLogIn: !!login }, `<p>${message}</p>`));

    const sessionOf = async (request: FastifyRequest, reply: FastifyReply) => (login ? login.sessionOf(request, reply) : undefined);

    async function viewer(request: FastifyRequest, reply: FastifyReply, guildId: string): Promise<Viewer | undefined> {
      const session = await sessionOf(request, reply);
      if (!snowflake.test(guildId)) return void notFound(request, reply, session);
      const member = !!session?.guildIds.includes(guildId);
      if (!member && !(await ctx.settings.get(guildId)).galleryPublic) return void notFound(request, reply, session);
      return { guildId, session, member, canLogIn: !!login };
    }

    const chrome = (v: Viewer, title: string, request: FastifyRequest) => ({
      title,
      guildId: v.guildId,
      user: displayName(v.session),
      path: request.url,
      canLogIn: v.canLogIn,
    });

    app.get('/', async (request, reply) => {
      const session = await sessionOf(request, reply);
      if (!session) {
        const body = login
          ? '<p>Atelier’s galleries are for the members of each server. <a href="/auth/login?next=%2F">Log in with Discord</a> to see yours.</p>'
          : '<p>Login with Discord is not set up on this site; public galleries are reached by their link.</p>';
        return html(reply, 200, layout({ title: 'Atelier galleries', canLogIn: !!login, path: '/' }, body));
      }
      const servers = await serversWithAtelier(ctx.db, session.guildIds);
      return html(reply, 200, layout({ title: 'Your galleries', user: displayName(session), canLogIn: true }, homePage(servers)));
    });

    app.get<{ Params: { guildId: string }; Querystring: unknown }>('/g/:guildId', async (request, reply) => {
      const v = await viewer(request, reply, request.params.guildId);
      if (!v) return reply;
      const parsed = galleryQuery.safeParse(request.query);
      if (!parsed.success) return badRequest(reply, 'That gallery link is not valid (a filter is unknown, repeated or too long).', v.session);
      const { q, sort = 'new', period = 'week', member, model, cursor: rawCursor } = parsed.data;
      const cursor = rawCursor ? decodeCursor(rawCursor) : undefined;
      if (rawCursor && !cursor) return badRequest(reply, 'That page link is not valid. <a href="?">Start from the newest pictures</a>.', v.session);
      const search = q?.trim() || undefined;
      const [page, filters] = await Promise.all([
        listPictures(ctx.db, {
          guildId: v.guildId,
          sort,
          period,
          memberId: member || undefined,
          model: model || undefined,
          search,
          cursor,
          limit: PAGE_SIZE,
          now: now(),
        }),
        filtersOf(v.guildId),
      ]);
      if (!page) return badRequest(reply, 'That page link is not valid. <a href="?">Start from the newest pictures</a>.', v.session);
      const body = galleryPage({
        guildId: v.guildId,
        sort,
        period,
        memberId: member || undefined,
        model: model || undefined,
        search,
        models: filters.models,
        members: filters.members,
        cards: page.cards,
        nextCursor: page.next ? encodeCursor(page.next) : undefined,
      });
      return html(reply, 200, layout(chrome(v, 'Gallery', request), body));
    });

    async function renderPicture(request: FastifyRequest, reply: FastifyReply, v: Viewer, imageId: string, notice?: string, status = 200) {
      const picture = recordId.test(imageId) ? await getPicture(ctx.db, v.guildId, imageId) : undefined;
      if (!picture) return notFound(request, reply, v.session);
      const [nodes, series, challenges, settings] = await Promise.all([
        family(ctx.db, v.guildId, picture.id),
        seriesOfPicture(ctx.db, v.guildId, picture.id),
        challengesOfPicture(ctx.db, v.guildId, picture.id),
        ctx.settings.get(v.guildId),
      ]);
      let vote: Parameters<typeof picturePage>[0]['vote'];
      if (v.member && v.session && picture.requestId) {
        const voted = await ctx.db
          .selectFrom('votes')
          .select('user_id')
          .where('request_id', '=', picture.requestId)
          .where('user_id', '=', v.session.userId)
          .executeTakeFirst();
        vote = { csrf: reply.generateCsrf(), voted: !!voted, own: picture.userId === v.session.userId, selfVoteAllowed: settings.allowSelfVote };
      }
      const title = `Picture by ${authorLabel(picture.userId, picture.authorName)}`;
      const body = picturePage({ picture, tree: familyTree(v.guildId, nodes, picture.id), series, challenges, vote, notice });
      return html(reply, status, layout(chrome(v, title, request), body));
    }

    app.get<{ Params: { guildId: string; imageId: string }; Querystring: { voted?: unknown; unvoted?: unknown } }>(
      '/g/:guildId/p/:imageId',
      async (request, reply) => {
        const v = await viewer(request, reply, request.params.guildId);
        if (!v) return reply;
        const notice = request.query.voted ? 'Your vote counts.' : request.query.unvoted ? 'Your vote was taken back.' : undefined;
        return renderPicture(request, reply, v, request.params.imageId, notice);
      },
    );

    if (login) {
      // The same vote as Discord's 👍 button: one row per (result, member) in `votes`.
      app.post<{ Params: { guildId: string; imageId: string } }>(
        '/g/:guildId/p/:imageId/vote',
        { preHandler: app.csrfProtection },
        async (request, reply) => {
          const v = await viewer(request, reply, request.params.guildId);
          if (!v) return reply;
          const picture = recordId.test(request.params.imageId) ? await getPicture(ctx.db, v.guildId, request.params.imageId) : undefined;
          if (!picture) return notFound(request, reply, v.session);
          if (!v.member || !v.session) return renderPicture(request, reply, v, picture.id, 'Only members of this server can vote.', 403);
          if (await bans.isBanned(v.guildId, v.session.userId)) {
            return renderPicture(request, reply, v, picture.id, 'A moderator has stopped you from using Atelier on this server.', 403);
          }
          if (!picture.requestId) return renderPicture(request, reply, v, picture.id, 'Uploads cannot be voted for.', 400);
          if (picture.userId === v.session.userId && !(await ctx.settings.get(v.guildId)).allowSelfVote) {
            return renderPicture(request, reply, v, picture.id, 'You cannot vote for your own pictures in this server.', 403);
          }
          const { outcome } = await toggleVote(ctx.db, picture.requestId, v.session.userId);
          // The vote is stored; a label left behind is redrawn by the job's retries, not by this request.
          await ctx
            .refreshVoteLabel?.(picture.requestId)
            .catch((error) => request.log.warn({ err: error, requestId: picture.requestId }, 'could not ask for the vote label to be redrawn'));
          const done = outcome === 'added' ? 'voted' : 'unvoted';
          return reply.redirect(`/g/${v.guildId}/p/${encodeURIComponent(picture.id)}?${done}=1`, 303);
        },
      );
    }

    const etagOf = (key: string, variant: string) => `"${createHash('sha256').update(`${variant}:${key}`).digest('base64url').slice(0, 27)}"`;

    /** Image bytes never change under a key, so the ETag is the key's hash: a 304 needs no read. */
    async function sendImage(
      request: FastifyRequest,
      reply: FastifyReply,
      etag: string,
      load: () => Promise<{ body: Buffer; contentType: string } | undefined>,
    ) {
      reply.header('etag', etag).header('cache-control', 'private, max-age=86400').header('x-content-type-options', 'nosniff');
      const match = request.headers['if-none-match'];
      if (match && match.split(',').some((tag) => tag.trim().replace(/^W\//, '') === etag)) return reply.code(304).send();
      const image = await load();
      if (!image) return notFound(request, reply);
      return reply.code(200).type(image.contentType).send(image.body);
    }

    app.get<{ Params: { guildId: string; imageId: string } }>('/g/:guildId/i/:imageId', async (request, reply) => {
      const v = await viewer(request, reply, request.params.guildId);
      if (!v) return reply;
      const picture = recordId.test(request.params.imageId) ? await getPicture(ctx.db, v.guildId, request.params.imageId) : undefined;
      if (!picture) return notFound(request, reply, v.session);
      return sendImage(request, reply, etagOf(picture.storageKey, 'full'), async () => {
        const stored = await ctx.storage.get(picture.storageKey);
        return stored && { body: stored.body, contentType: picture.contentType };
      });
    });

    app.get<{ Params: { guildId: string; file: string } }>('/g/:guildId/t/:file', async (request, reply) => {
      const v = await viewer(request, reply, request.params.guildId);
      if (!v) return reply;
      const imageId = request.params.file.endsWith('.webp') ? request.params.file.slice(0, -5) : '';
      const picture = recordId.test(imageId) ? await getPicture(ctx.db, v.guildId, imageId) : undefined;
      if (!picture) return notFound(request, reply, v.session);
      return sendImage(request, reply, etagOf(picture.storageKey, 'thumb'), async () => {
        const body = await thumbnails.get(picture.storageKey);
        return body && { body, contentType: 'image/webp' };
      });
    });

    app.get<{ Params: { guildId: string } }>('/g/:guildId/series', async (request, reply) => {
      const v = await viewer(request, reply, request.params.guildId);
      if (!v) return reply;
      return html(reply, 200, layout(chrome(v, 'Series', request), seriesListPage(v.guildId, await listSeries(ctx.db, v.guildId))));
    });

    app.get<{ Params: { guildId: string; seriesId: string } }>('/g/:guildId/series/:seriesId', async (request, reply) => {
      const v = await viewer(request, reply, request.params.guildId);
      if (!v) return reply;
      const found = recordId.test(request.params.seriesId) ? await getSeries(ctx.db, v.guildId, request.params.seriesId) : undefined;
      if (!found) return notFound(request, reply, v.session);
      return html(reply, 200, layout(chrome(v, `Series: ${found.series.title}`, request), seriesPage(v.guildId, found.series, found.panels)));
    });

    const downloads = {
      'strip.png': 'image/png',
      'animation.gif': 'image/gif',
      'panels.zip': 'application/zip',
    } as const;
    app.get<{ Params: { guildId: string; seriesId: string; file: string } }>('/g/:guildId/series/:seriesId/:file', async (request, reply) => {
      const v = await viewer(request, reply, request.params.guildId);
      if (!v) return reply;
      const file = request.params.file as keyof typeof downloads;
      const found =
        recordId.test(request.params.seriesId) && file in downloads ? await getSeries(ctx.db, v.guildId, request.params.seriesId) : undefined;
      if (!found) return notFound(request, reply, v.session);
      // Each download is built from every panel (seconds of CPU for a long animation): a few at a
      // time, so that a crowd (or a script) asking for them cannot starve every other page.
      if (building >= downloadsAtOnce) {
        reply.header('retry-after', '10');
        return html(reply, 503, layout(chrome(v, 'Busy', request), '<p>Other downloads are being made right now. Try again in a few seconds.</p>'));
      }
      building += 1;
      try {
        // No panel drawn yet (or none that may be shown): nothing to download.
        return (await sendDownload(reply, file, found)) ?? notFound(request, reply, v.session);
      } finally {
        building -= 1;
      }
    });

    async function sendDownload(reply: FastifyReply, file: keyof typeof downloads, found: NonNullable<Awaited<ReturnType<typeof getSeries>>>) {
      const panels = (
        await Promise.all(
          found.panels.map(async (panel) => {
            const stored = panel.image ? await ctx.storage.get(panel.image.storageKey) : undefined;
            return stored ? { image: stored.body, number: panel.number, caption: authorLabel(panel.userId, panel.authorName) } : undefined;
          }),
        )
      ).filter((panel) => panel !== undefined);
      if (panels.length === 0) return undefined;
      let body: Buffer;
      if (file === 'strip.png') body = await composeSeries(panels, { columns: panels.length, panelSize: 384 });
      else if (file === 'animation.gif') body = await composeSlideshow(panels, 'gif');
      else {
        const entries: Record<string, Uint8Array> = {};
        for (const panel of panels) entries[`panel-${String(panel.number).padStart(2, '0')}.png`] = panel.image;
        entries['README.txt'] = strToU8(`${found.series.title}\n\n${panels.map((p) => `Panel ${p.number}: ${p.caption}`).join('\n')}\n`);
        body = Buffer.from(zipSync(entries, { level: 0 }));
      }
      const name = `series-${found.series.id}-${file}`;
      return reply
        .header('cache-control', 'private, no-store')
        .header('content-disposition', `attachment; filename="${name}"`)
        .type(downloads[file])
        .send(body);
    }

    app.get<{ Params: { guildId: string } }>('/g/:guildId/challenges', async (request, reply) => {
      const v = await viewer(request, reply, request.params.guildId);
      if (!v) return reply;
      return html(reply, 200, layout(chrome(v, 'Challenges', request), challengesPage(v.guildId, await listChallenges(ctx.db, v.guildId))));
    });

    app.get<{ Params: { guildId: string; challengeId: string } }>('/g/:guildId/challenges/:challengeId', async (request, reply) => {
      const v = await viewer(request, reply, request.params.guildId);
      if (!v) return reply;
      const found = recordId.test(request.params.challengeId) ? await getChallenge(ctx.db, v.guildId, request.params.challengeId) : undefined;
      if (!found) return notFound(request, reply, v.session);
      return html(
        reply,
        200,
        layout(chrome(v, `Challenge: ${found.challenge.theme}`, request), challengePage(v.guildId, found.challenge, found.entries)),
      );
    });

    // An entry's picture by its number, for a challenge whose results are not in yet (see challengePage).
    app.get<{ Params: { guildId: string; challengeId: string; file: string } }>(
      '/g/:guildId/challenges/:challengeId/e/:file',
      async (request, reply) => {
        const v = await viewer(request, reply, request.params.guildId);
        if (!v) return reply;
        const number = /^([1-9]\d{0,5})\.webp$/.exec(request.params.file)?.[1];
        const entry =
          number && recordId.test(request.params.challengeId)
            ? await challengeEntryPicture(ctx.db, v.guildId, request.params.challengeId, Number(number))
            : undefined;
        if (!entry) return notFound(request, reply, v.session);
        // An ETag of its own: the picture's thumbnail ETag would tell which picture (and author) it is.
        return sendImage(request, reply, etagOf(`${request.params.challengeId}:${number}:${entry.storageKey}`, 'entry'), async () => {
          const body = await thumbnails.get(entry.storageKey);
          return body && { body, contentType: 'image/webp' };
        });
      },
    );

    app.get<{ Params: { guildId: string }; Querystring: { season?: unknown } }>('/g/:guildId/leaderboard', async (request, reply) => {
      const v = await viewer(request, reply, request.params.guildId);
      if (!v) return reply;
      const list = await seasons(ctx.db, v.guildId);
      const asked = request.query.season;
      if (asked !== undefined && (typeof asked !== 'string' || !list.includes(asked))) return notFound(request, reply, v.session);
      const season = (asked as string | undefined) ?? list[0];
      const rows = season ? await leaderboard(ctx.db, v.guildId, season) : [];
      return html(reply, 200, layout(chrome(v, 'Leaderboard', request), leaderboardPage(v.guildId, list, season, rows)));
    });

    app.get<{ Params: { guildId: string; userId: string } }>('/g/:guildId/u/:userId', async (request, reply) => {
      const v = await viewer(request, reply, request.params.guildId);
      if (!v) return reply;
      const found = snowflake.test(request.params.userId) ? await profile(ctx.db, v.guildId, request.params.userId) : undefined;
      if (!found) return notFound(request, reply, v.session);
      const recent = await listPictures(ctx.db, { guildId: v.guildId, sort: 'new', period: 'all', memberId: found.userId, limit: 12, now: now() });
      return html(
        reply,
        200,
        layout(chrome(v, `Profile: ${authorLabel(found.userId, found.name)}`, request), profilePage(v.guildId, found, recent?.cards ?? [])),
      );
    });
  };
