import { randomBytes, timingSafeEqual } from 'node:crypto';
import fastifyCookie from '@fastify/cookie';
import fastifyCsrf from '@fastify/csrf-protection';
import fastifyFormbody from '@fastify/formbody';
import type { FastifyInstance, FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { DiscordAuthError, DiscordOAuth, pkcePair } from './discord.js';
import { DEFAULT_NEXT, safeNextPath } from './next-path.js';
import { SESSION_TTL_S, SessionStore, type WebSession } from './sessions.js';

/** Membership (`/users/@me/guilds`) is asked again when the last answer is older than this. */
export const MEMBERSHIP_MAX_AGE_MS = 10 * 60_000;
/** The application's owner and team are read again after this long. */
const ADMINS_MAX_AGE_MS = 5 * 60_000;
/** A login started must come back from Discord within this long. */
const LOGIN_TTL_S = 10 * 60;

const SESSION_COOKIE = 'atelier_session';
const LOGIN_COOKIE = 'atelier_login';

export interface WebLoginOptions {
  /** DISCORD_API_URL. */
  apiUrl: string;
  /** DISCORD_AUTHORIZE_URL (default: Discord's own page). */
  authorizeUrl?: string;
  /** DISCORD_APPLICATION_ID. */
  clientId: string;
  clientSecret: string;
  /** WEB_PUBLIC_URL without a trailing slash. */
  publicUrl: string;
  sessionSecret: string;
  botToken: string;
  /** ADMIN_USER_IDS: may open the queue dashboard besides the application's owner or team. */
  adminUserIds: readonly string[];
  redis: Redis;
  prefix: string;
  logger: Logger;
  now?: () => number;
}

/**
 * "Login with Discord" (OAuth2 authorization code with `state` and PKCE) and the sessions it
 * opens. Web areas that need a logged-in member ask `sessionOf`; the queue dashboard asks `isAdmin`.
 */
export class WebLogin {
  readonly discord: DiscordOAuth;
  readonly sessions: SessionStore;
  /** Cookies get the Secure flag when people reach the site over https. */
  readonly secure: boolean;
  readonly publicOrigin: string;
  readonly now: () => number;
  private readonly rechecks = new Map<string, Promise<{ fresh?: WebSession; ended: boolean }>>();
  private admins: { ids: string[]; at: number } | undefined;

  constructor(readonly options: WebLoginOptions) {
    this.now = options.now ?? Date.now;
    this.discord = new DiscordOAuth({
      apiUrl: options.apiUrl,
      authorizeUrl: options.authorizeUrl,
      clientId: options.clientId,
      clientSecret: options.clientSecret,
      redirectUri: `${options.publicUrl}/auth/callback`,
      botToken: options.botToken,
      now: this.now,
    });
    this.sessions = new SessionStore(options.redis, options.prefix);
    this.secure = options.publicUrl.startsWith('https:');
    this.publicOrigin = new URL(options.publicUrl).origin;
  }

  /**
   * The request's session, with its membership re-checked when older than 10 minutes. A session
   * Discord no longer accepts (revoked, refresh refused) ends here and its cookie is cleared.
   */
  async sessionOf(request: FastifyRequest, reply: FastifyReply): Promise<WebSession | undefined> {
    const id = this.sessionId(request);
    if (!id) return undefined;
    const session = await this.sessions.get(id);
    if (!session) {
      reply.clearCookie(SESSION_COOKIE, this.cookieOptions(0));
      return undefined;
    }
    if (this.now() - session.guildsCheckedAt < MEMBERSHIP_MAX_AGE_MS) return session;
    // One re-check per session at a time: Discord rotates refresh tokens, a second refresh would fail.
    let recheck = this.rechecks.get(id);
    if (!recheck) {
      recheck = this.recheck(id, session).finally(() => this.rechecks.delete(id));
      this.rechecks.set(id, recheck);
    }
    const { fresh, ended } = await recheck;
    if (ended) reply.clearCookie(SESSION_COOKIE, this.cookieOptions(0));
    return fresh;
  }

  /**
   * The session with its servers asked of Discord again. `ended`: Discord refused the login, and
   * the session is gone; no `fresh` without `ended`: Discord could not be asked right now.
   */
  private async recheck(id: string, session: WebSession): Promise<{ fresh?: WebSession; ended: boolean }> {
    const { logger } = this.options;
    try {
      let current = session;
      if (current.accessExpiresAt <= this.now() + 60_000) current = await this.refreshed(current);
      let guildIds: string[];
      try {
        guildIds = await this.discord.guildIds(current.accessToken);
      } catch (error) {
        if (!(error instanceof DiscordAuthError) || error.status !== 401 || current !== session) throw error;
        current = await this.refreshed(current);
        guildIds = await this.discord.guildIds(current.accessToken);
      }
      const fresh = { ...current, guildIds, guildsCheckedAt: this.now() };
      await this.sessions.update(id, fresh);
      return { fresh, ended: false };
    } catch (error) {
      if (error instanceof DiscordAuthError && (error.status === 400 || error.status === 401)) {
        logger.info({ userId: session.userId, reason: error.message }, 'Discord no longer accepts a login session; it ends');
        await this.sessions.destroy(id);
        return { ended: true };
      }
      // Discord unreachable or failing: the membership cannot be vouched for, so this request is
      // treated as logged out; the session (and its cookie) stays and the next request tries again.
      logger.warn({ err: error, userId: session.userId }, 'could not re-check a member’s servers with Discord');
      return { ended: false };
    }
  }

  private async refreshed(session: WebSession): Promise<WebSession> {
    const tokens = await this.discord.refresh(session.refreshToken);
    return { ...session, accessToken: tokens.accessToken, refreshToken: tokens.refreshToken, accessExpiresAt: tokens.expiresAt };
  }

  /** ADMIN_USER_IDS, or the application's owner (or team admins and developers) as Discord says. */
  async isAdmin(userId: string): Promise<boolean> {
    if (this.options.adminUserIds.includes(userId)) return true;
    if (!this.admins || this.now() - this.admins.at >= ADMINS_MAX_AGE_MS) {
      try {
        this.admins = { ids: await this.discord.applicationAdmins(), at: this.now() };
      } catch (error) {
        // Fails closed: only ADMIN_USER_IDS count until Discord answers again.
        this.options.logger.warn({ err: error }, 'could not read the application’s owner from Discord');
        return false;
      }
    }
    return this.admins.ids.includes(userId);
  }

  private sessionId(request: FastifyRequest): string | undefined {
    const raw = request.cookies[SESSION_COOKIE];
    if (!raw) return undefined;
    const unsigned = request.unsignCookie(raw);
    return unsigned.valid && unsigned.value ? unsigned.value : undefined;
  }

  cookieOptions(maxAge: number, path = '/') {
    return { path, httpOnly: true, sameSite: 'lax' as const, secure: this.secure, signed: true, maxAge };
  }

  async startSession(reply: FastifyReply, session: WebSession): Promise<void> {
    const id = await this.sessions.create(session);
    reply.setCookie(SESSION_COOKIE, id, this.cookieOptions(SESSION_TTL_S));
  }

  async endSession(request: FastifyRequest, reply: FastifyReply): Promise<void> {
    const id = this.sessionId(request);
    if (id) await this.sessions.destroy(id);
    reply.clearCookie(SESSION_COOKIE, this.cookieOptions(0));
  }

  /** Only this much of the session goes to pages and the browser. */
  static publicView(session: WebSession) {
    return {
      id: session.userId,
      username: session.username,
      globalName: session.globalName,
      avatar: session.avatar,
      guildIds: session.guildIds,
      guildsCheckedAt: new Date(session.guildsCheckedAt).toISOString(),
    };
  }
}

const escapeHtml = (text: string) => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function page(reply: FastifyReply, status: number, title: string, body: string): FastifyReply {
  return reply
    .code(status)
    .type('text/html; charset=utf-8')
    .header('cache-control', 'no-store')
    .send(
      `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)} · Atelier</title></head><body><h1>${escapeHtml(title)}</h1>${body}</body></html>`,
    );
}

interface PendingLogin {
  state: string;
  verifier: string;
  next: string;
}

function readPending(request: FastifyRequest): PendingLogin | undefined {
  const raw = request.cookies[LOGIN_COOKIE];
  if (!raw) return undefined;
  const unsigned = request.unsignCookie(raw);
  if (!unsigned.valid || !unsigned.value) return undefined;
  try {
    const pending = JSON.parse(Buffer.from(unsigned.value, 'base64url').toString('utf8')) as PendingLogin;
    return typeof pending.state === 'string' && typeof pending.verifier === 'string' ? pending : undefined;
  } catch {
    return undefined;
  }
}

function sameText(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}

/**
 * Cookies (signed with SESSION_SECRET), form bodies, CSRF tokens, and the login routes:
 * `/auth/login?next=`, `/auth/callback`, `/auth/account` (who is logged in, log out),
 * `/auth/session` (the same as JSON) and `POST /auth/logout`.
 * Areas that need a login register inside `protectedAreas`, so they share the cookies.
 */
export const loginRoutes =
  (login: WebLogin, protectedAreas: Array<(app: FastifyInstance) => Promise<void>> = []): FastifyPluginAsync =>
  async (app) => {
    const { logger } = login.options;
    await app.register(fastifyCookie, { secret: login.options.sessionSecret });
    await app.register(fastifyFormbody);
    // Double-submit: the secret sits in a signed HttpOnly cookie, the token in the form.
    await app.register(fastifyCsrf, { sessionPlugin: '@fastify/cookie', cookieOpts: login.cookieOptions(SESSION_TTL_S) });

    app.get<{ Querystring: { next?: string } }>('/auth/login', async (request, reply) => {
      const { verifier, challenge } = pkcePair();
      const state = randomBytes(24).toString('base64url');
      const next = safeNextPath(request.query.next) ?? DEFAULT_NEXT;
      const pending = Buffer.from(JSON.stringify({ state, verifier, next } satisfies PendingLogin)).toString('base64url');
      reply.setCookie(LOGIN_COOKIE, pending, login.cookieOptions(LOGIN_TTL_S, '/auth/callback'));
      return reply.header('cache-control', 'no-store').redirect(login.discord.authorizeUrl(state, challenge));
    });

    app.get<{ Querystring: { code?: string; state?: string; error?: string } }>('/auth/callback', async (request, reply) => {
      const pending = readPending(request);
      const { code, state, error } = request.query;
      if (!pending || typeof state !== 'string' || !sameText(state, pending.state)) {
        return page(
          reply,
          400,
          'Login failed',
          '<p>This login link was not started in this browser or has expired. <a href="/auth/login">Log in again</a>.</p>',
        );
      }
      reply.clearCookie(LOGIN_COOKIE, login.cookieOptions(0, '/auth/callback'));
      if (error || typeof code !== 'string' || code.length === 0) {
        return page(reply, 400, 'Login cancelled', '<p>Discord did not approve the login. <a href="/auth/login">Try again</a>.</p>');
      }
      try {
        const tokens = await login.discord.exchangeCode(code, pending.verifier);
        const [user, guildIds] = await Promise.all([login.discord.user(tokens.accessToken), login.discord.guildIds(tokens.accessToken)]);
        // A fresh id at every login: a session id planted before the login is worth nothing.
        await login.endSession(request, reply);
        await login.startSession(reply, {
          userId: user.id,
          username: user.username,
          globalName: user.globalName,
          avatar: user.avatar,
          guildIds,
          guildsCheckedAt: login.now(),
          accessToken: tokens.accessToken,
          refreshToken: tokens.refreshToken,
          accessExpiresAt: tokens.expiresAt,
        });
        logger.info({ userId: user.id }, 'member logged in');
        return reply.redirect(safeNextPath(pending.next) ?? DEFAULT_NEXT);
      } catch (failure) {
        logger.warn({ err: failure }, 'login with Discord failed');
        return page(reply, 502, 'Login failed', '<p>Discord did not confirm the login. <a href="/auth/login">Try again</a>.</p>');
      }
    });

    app.get('/auth/account', async (request, reply) => {
      const session = await login.sessionOf(request, reply);
      if (!session) return page(reply, 200, 'Not logged in', '<p><a href="/auth/login">Log in with Discord</a></p>');
      const token = reply.generateCsrf();
      const name = session.globalName ?? session.username;
      return page(
        reply,
        200,
        'Logged in',
        `<p>Logged in as <strong>${escapeHtml(name)}</strong> (${escapeHtml(session.username)}).</p>` +
          `<form method="post" action="/auth/logout"><input type="hidden" name="_csrf" value="${escapeHtml(token)}"><button type="submit">Log out</button></form>`,
      );
    });

    app.get('/auth/session', async (request, reply) => {
      const session = await login.sessionOf(request, reply);
      reply.header('cache-control', 'no-store');
      if (!session) return reply.code(401).send({ error: 'not logged in' });
      return { user: WebLogin.publicView(session), csrfToken: reply.generateCsrf() };
    });

    app.post('/auth/logout', { preHandler: app.csrfProtection }, async (request, reply) => {
      await login.endSession(request, reply);
      return reply.redirect('/auth/account', 303);
    });

    for (const area of protectedAreas) await app.register(area);
  };
