import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/logger.js';
import { createMetrics } from '../../src/metrics.js';
import { MEMBERSHIP_MAX_AGE_MS, WebLogin } from '../../src/web/auth/login.js';
import { createWebServer } from '../../src/web/server.js';
import { useBrowser } from '../support/browser.js';
import { approveOnDiscord, logIn, Visitor } from '../support/web-visitor.js';
import { useStack, type Stack } from '../support/stack.js';

const start = useStack();
const openBrowser = useBrowser();
const SESSION_SECRET = 'a-test-session-secret-that-is-long-enough-0123456789';
const LISTED_ADMIN = '712345678901234567';

interface Site {
  s: Stack;
  base: string;
  login: WebLogin;
  /** Every log line the web server wrote, at trace level. */
  logs: string[];
  clock: { offsetMs: number };
  /** The application's owner (the fake's first server owner) and an ordinary member. */
  owner: string;
  member: string;
}

let running: { server: Server; web: FastifyInstance } | undefined;
afterEach(async () => {
  const current = running;
  running = undefined;
  if (!current) return;
  await current.web.close();
  current.server.closeAllConnections();
  await new Promise((resolve) => current.server.close(resolve));
});

/**
 * The bot against the fake Discord, and its web server with login and dashboard on, as `npm start`
 * serves it. The port is taken first: the public URL (and so the redirect URL) must name it.
 */
async function startSite(options: { scheme?: 'http' | 'https'; adminUserIds?: string[] } = {}): Promise<Site> {
  const s = await start({ noWorker: true });
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const publicUrl = `${options.scheme ?? 'http'}://127.0.0.1:${port}`;
  s.discord.oauth2.redirectUris.add(`${publicUrl}/auth/callback`);

  const logs: string[] = [];
  const logger = createLogger('trace', new Writable({ write: (chunk, _encoding, done) => void (logs.push(String(chunk)), done()) }));
  const clock = { offsetMs: 0 };
  const login = new WebLogin({
    apiUrl: s.discord.apiUrl,
    authorizeUrl: `${s.discord.apiUrl}/oauth2/authorize`,
    clientId: s.discord.applicationId,
    clientSecret: s.discord.oauth2.clientSecret,
    publicUrl,
    sessionSecret: SESSION_SECRET,
    botToken: s.discord.token,
    adminUserIds: options.adminUserIds ?? [],
    redis: s.ctx.redis,
    prefix: s.prefix,
    logger,
    now: () => Date.now() + clock.offsetMs,
  });
  const web = await createWebServer({
    logger,
    metrics: createMetrics(),
    readiness: [],
    login,
    queues: [s.ctx.generateQueue, s.ctx.deliverQueue, s.ctx.challengeQueue],
  });
  await web.ready();
  server.on('request', web.routing);
  running = { server, web };
  const member = s.discord.user({ username: 'grace' }).id;
  s.discord.member(member);
  return { s, base: `http://127.0.0.1:${port}`, login, logs, clock, owner: s.discord.guild(s.discord.defaultGuildId).ownerId, member };
}

describe('login with Discord and the queue dashboard in a browser', () => {
  it('sends a logged-out admin to Discord, and after "Authorize" shows the generate, deliver and challenge queues', async () => {
    const site = await startSite();
    site.s.discord.oauth2.signIn(site.owner);
    const browser = await openBrowser();
    const page = await browser.newPage();

    await page.goto(`${site.base}/admin/queues`);
    // The fake Discord's consent page, reached through /auth/login.
    expect(new URL(page.url()).origin).toBe(site.s.discord.baseUrl);
    await page.getByRole('button', { name: 'Authorize' }).click();

    await page.waitForURL(`${site.base}/admin/queues`);
    for (const queue of ['generate', 'deliver', 'challenge']) {
      await page.getByText(queue, { exact: true }).first().waitFor();
    }
    // Its data came through the guarded JSON API with the browser's session.
    const api = await page.evaluate(async () => (await fetch('/admin/queues/api/queues')).status);
    expect(api).toBe(200);
  });

  it('answers 404 on /admin/queues to a logged-in member who is neither the owner nor listed', async () => {
    const site = await startSite();
    site.s.discord.oauth2.signIn(site.member);
    const browser = await openBrowser();
    const page = await browser.newPage();

    await page.goto(`${site.base}/auth/login`);
    await page.getByRole('button', { name: 'Authorize' }).click();
    await page.waitForURL(`${site.base}/auth/account`);
    await page.getByText('Logged in as').waitFor();

    const response = await page.goto(`${site.base}/admin/queues`);
    expect(response?.status()).toBe(404);
    expect(await page.content()).not.toContain('generate');

    // Log out with the page's own form (it carries the CSRF token).
    await page.goto(`${site.base}/auth/account`);
    await page.getByRole('button', { name: 'Log out' }).click();
    await page.getByText('Not logged in').waitFor();
  });
});

describe('login over HTTP', () => {
  it('redirects a logged-out visit of the dashboard to the login, coming back to /admin/queues', async () => {
    const site = await startSite();
    const visitor = new Visitor(site.base);
    const visit = await visitor.request('/admin/queues');
    expect(visit.status).toBe(302);
    expect(visit.headers.get('location')).toBe('/auth/login?next=%2Fadmin%2Fqueues');

    const back = await logIn(site.s.discord, visitor, site.owner, '/admin/queues');
    expect(back.status).toBe(302);
    expect(back.headers.get('location')).toBe('/admin/queues');
    expect((await visitor.request('/admin/queues')).status).toBe(200);
  });

  it('asks Discord for identify and guilds with state and an S256 PKCE challenge, to the registered redirect URL', async () => {
    const site = await startSite();
    const started = await new Visitor(site.base).request('/auth/login');
    const authorize = new URL(started.headers.get('location')!);
    expect(`${authorize.origin}${authorize.pathname}`).toBe(`${site.s.discord.apiUrl}/oauth2/authorize`);
    const query = Object.fromEntries(authorize.searchParams);
    expect(query).toMatchObject({
      response_type: 'code',
      client_id: site.s.discord.applicationId,
      scope: 'identify guilds',
      redirect_uri: `${site.base}/auth/callback`,
      code_challenge_method: 'S256',
    });
    expect(query.state).toMatch(/^[\w-]{32,}$/);
    expect(query.code_challenge).toMatch(/^[\w-]{43}$/);
  });

  it('refuses a callback whose state is missing, differs, or comes to a browser that did not start the login, and keeps no session', async () => {
    const site = await startSite();
    const visitor = new Visitor(site.base);
    const back = await approveOnDiscord(site.s.discord, visitor, site.owner);
    const code = back.searchParams.get('code')!;

    expect((await visitor.request(`/auth/callback?code=${code}`)).status).toBe(400);
    expect((await visitor.request(`/auth/callback?code=${code}&state=forged-state-value`)).status).toBe(400);
    // The right state, but in another browser (no login cookie): a login forced on someone else.
    const stranger = new Visitor(site.base);
    expect((await stranger.request(`${back.pathname}${back.search}`)).status).toBe(400);
    expect(stranger.cookies.has('atelier_session')).toBe(false);
    expect(visitor.cookies.has('atelier_session')).toBe(false);
    // No code was spent on the refused callbacks.
    expect(site.s.discord.oauth2.tokenRequests).toEqual([]);
  });

  it('exchanges the code with the PKCE verifier and the client secret; a replayed code is refused by Discord and logs no one in', async () => {
    const site = await startSite();
    const visitor = new Visitor(site.base);
    const back = await approveOnDiscord(site.s.discord, visitor, site.owner);
    const loginCookie = visitor.cookies.get('atelier_login')!;
    expect((await visitor.request(`${back.pathname}${back.search}`)).status).toBe(302);
    expect(site.s.discord.oauth2.tokenRequests.map((r) => [r.grantType, r.status])).toEqual([['authorization_code', 200]]);
    expect(site.s.discord.oauth2.tokenRequests[0]!.body.code_verifier).toMatch(/^[\w-]{43}$/);

    const replay = new Visitor(site.base);
    replay.cookies.set('atelier_login', loginCookie);
    const again = await replay.request(`${back.pathname}${back.search}`);
    expect(again.status).toBe(502);
    expect(replay.cookies.has('atelier_session')).toBe(false);
  });

  it('sets session cookies signed, HttpOnly and SameSite=Lax, without Secure on an http site', async () => {
    const site = await startSite();
    const visitor = new Visitor(site.base);
    await logIn(site.s.discord, visitor, site.member);
    for (const name of ['atelier_login', 'atelier_session']) {
      const line = visitor.setCookie(name)!;
      expect(line, name).toMatch(/; HttpOnly/);
      expect(line, name).toMatch(/; SameSite=Lax/);
      expect(line, name).not.toMatch(/; Secure/);
    }
    // Signed: a session id with a forged signature (or none) is nobody.
    const [id] = visitor.cookies.get('atelier_session')!.split('.');
    const forged = new Visitor(site.base);
    forged.cookies.set('atelier_session', `${id}.forged`);
    expect((await forged.request('/auth/session')).status).toBe(401);
    forged.cookies.set('atelier_session', id!);
    expect((await forged.request('/auth/session')).status).toBe(401);
    expect((await visitor.request('/auth/session')).status).toBe(200);
  });

  it('marks every cookie Secure when WEB_PUBLIC_URL is https', async () => {
    const site = await startSite({ scheme: 'https' });
    const visitor = new Visitor(site.base);
    await logIn(site.s.discord, visitor, site.member);
    await visitor.request('/auth/account');
    for (const name of ['atelier_login', 'atelier_session', '_csrf']) {
      expect(visitor.setCookie(name), name).toMatch(/; Secure/);
    }
  });

  it('refuses a logout POST without the CSRF token, or with a token from another session, and logs out with it', async () => {
    const site = await startSite();
    const visitor = new Visitor(site.base);
    await logIn(site.s.discord, visitor, site.member);
    const { csrfToken } = (await (await visitor.request('/auth/session')).json()) as { csrfToken: string };

    const form = (fields: Record<string, string>) => ({
      method: 'POST',
      body: new URLSearchParams(fields),
      headers: { origin: 'https://evil.example' },
    });
    expect((await visitor.request('/auth/logout', form({}))).status).toBe(403);
    expect((await visitor.request('/auth/logout', form({ _csrf: 'not-the-token' }))).status).toBe(403);
    // Another visitor's valid token does not match this browser's secret.
    const other = new Visitor(site.base);
    await logIn(site.s.discord, other, site.owner);
    const { csrfToken: othersToken } = (await (await other.request('/auth/session')).json()) as { csrfToken: string };
    expect((await visitor.request('/auth/logout', form({ _csrf: othersToken }))).status).toBe(403);
    expect((await visitor.request('/auth/session')).status).toBe(200);

    const out = await visitor.request('/auth/logout', { method: 'POST', body: new URLSearchParams({ _csrf: csrfToken }) });
    expect(out.status).toBe(303);
    expect(visitor.cookies.has('atelier_session')).toBe(false);
    expect((await visitor.request('/auth/session')).status).toBe(401);
  });

  it('returns only to a local path: other hosts, backslashes and encoded variants land on the account page', async () => {
    const site = await startSite();
    const hostile = [
      '//evil.example',
      'https://evil.example',
      '/\\evil.example',
      '\\\\evil.example',
      '/%2Fevil.example',
      '%2F%2Fevil.example',
      '/%5Cevil.example',
      '/%252F%252Fevil.example',
      '/\t/evil.example',
      'javascript:alert(1)',
      '///evil.example',
    ];
    for (const next of hostile) {
      const visitor = new Visitor(site.base);
      const back = await logIn(site.s.discord, visitor, site.member, next);
      expect(back.headers.get('location'), next).toBe('/auth/account');
    }
    const visitor = new Visitor(site.base);
    const back = await logIn(site.s.discord, visitor, site.member, '/admin/queues?status=failed');
    expect(back.headers.get('location')).toBe('/admin/queues?status=failed');
  });

  it('keeps the dashboard pages, JSON API and scripts behind the admin check', async () => {
    const site = await startSite({ adminUserIds: [LISTED_ADMIN] });
    const guarded = ['/admin/queues/api/queues', '/admin/queues/api/redis/stats', '/admin/queues/static/favicon-32x32.png'];
    const nobody = new Visitor(site.base);
    for (const path of guarded) expect((await nobody.request(path)).status, path).toBe(404);
    expect((await nobody.request('/admin/queues/api/queues/generate/retry/failed', { method: 'PUT' })).status).toBe(404);

    const member = new Visitor(site.base);
    await logIn(site.s.discord, member, site.member);
    for (const path of [...guarded, '/admin/queues', '/admin/queues/queue/generate']) expect((await member.request(path)).status, path).toBe(404);
    expect((await member.request('/admin/queues/api/queues/generate/pause', { method: 'PUT', headers: { origin: site.base } })).status).toBe(404);
    expect(await site.s.ctx.generateQueue.isPaused()).toBe(false);

    // A user listed in ADMIN_USER_IDS gets in, as the application's owner does.
    for (const userId of [LISTED_ADMIN, site.owner]) {
      const admin = new Visitor(site.base);
      await logIn(site.s.discord, admin, userId);
      const queues = await admin.request('/admin/queues/api/queues');
      expect(queues.status, userId).toBe(200);
      const names = ((await queues.json()) as { queues: Array<{ name: string }> }).queues.map((q) => q.name);
      expect(names.sort()).toEqual(['challenge', 'deliver', 'generate']);
    }
    // Acting on a queue from another site is refused even for an admin.
    const admin = new Visitor(site.base);
    await logIn(site.s.discord, admin, site.owner);
    expect(
      (await admin.request('/admin/queues/api/queues/generate/pause', { method: 'PUT', headers: { origin: 'https://evil.example' } })).status,
    ).toBe(403);
    expect(await site.s.ctx.generateQueue.isPaused()).toBe(false);
  });

  it('re-checks the servers of a member after 10 minutes, with a refreshed token once the old one stopped working', async () => {
    const site = await startSite();
    const visitor = new Visitor(site.base);
    await logIn(site.s.discord, visitor, site.member);
    const guildsOf = async () => ((await (await visitor.request('/auth/session')).json()) as { user: { guildIds: string[] } }).user.guildIds;
    expect(await guildsOf()).toEqual([site.s.discord.defaultGuildId]);

    site.s.discord.oauth2.setGuilds(site.member, []);
    site.clock.offsetMs = MEMBERSHIP_MAX_AGE_MS - 60_000;
    expect(await guildsOf()).toEqual([site.s.discord.defaultGuildId]);

    site.s.discord.oauth2.expireAccessTokens();
    site.clock.offsetMs = MEMBERSHIP_MAX_AGE_MS + 1;
    expect(await guildsOf()).toEqual([]);
    expect(site.s.discord.oauth2.tokenRequests.map((r) => r.grantType)).toEqual(['authorization_code', 'refresh_token']);
  });

  it('keeps the session (and its cookie) when Discord fails for a moment at the re-check, and vouches for it again after', async () => {
    const site = await startSite();
    const visitor = new Visitor(site.base);
    await logIn(site.s.discord, visitor, site.member);
    const session = () => visitor.request('/auth/session');
    site.clock.offsetMs = MEMBERSHIP_MAX_AGE_MS + 1;
    site.s.discord.failNext({ method: 'GET', path: /^\/users\/@me\/guilds$/, status: 502, body: { message: 'Bad Gateway', code: 0 } });
    // This request cannot be vouched for: it is answered as logged out, but the member is not logged out.
    expect((await session()).status).not.toBe(200);
    expect(visitor.cookies.has('atelier_session')).toBe(true);
    const back = await session();
    expect(back.status).toBe(200);
    expect(((await back.json()) as { user: { guildIds: string[] } }).user.guildIds).toEqual([site.s.discord.defaultGuildId]);
  });

  it('ends the session when Discord refuses both the access and the refresh token', async () => {
    const site = await startSite();
    const visitor = new Visitor(site.base);
    await logIn(site.s.discord, visitor, site.owner);
    expect((await visitor.request('/admin/queues/api/queues')).status).toBe(200);
    site.s.discord.oauth2.expireAccessTokens();
    // The refresh token was spent elsewhere (Discord rotates them).
    site.s.discord.oauth2.setGuilds(site.owner, []);
    site.clock.offsetMs = MEMBERSHIP_MAX_AGE_MS + 1;
    const stored = (await site.login.sessions.get(decodeURIComponent(visitor.cookies.get('atelier_session')!).split('.')[0]!))!;
    await fetch(`${site.s.discord.apiUrl}/v10/oauth2/token`, {
      method: 'POST',
      body: new URLSearchParams({
        grant_type: 'refresh_token',
        refresh_token: stored.refreshToken,
        client_id: site.s.discord.applicationId,
        client_secret: site.s.discord.oauth2.clientSecret,
      }),
    });
    expect((await visitor.request('/admin/queues/api/queues')).status).toBe(404);
    expect(visitor.cookies.has('atelier_session')).toBe(false);
  });

  it('writes no token, code, verifier or secret to the logs', async () => {
    const site = await startSite();
    const visitor = new Visitor(site.base);
    await logIn(site.s.discord, visitor, site.owner);
    site.s.discord.oauth2.expireAccessTokens();
    site.clock.offsetMs = MEMBERSHIP_MAX_AGE_MS + 1;
    expect((await visitor.request('/auth/session')).status).toBe(200);
    // A failing exchange is logged too.
    const back = await approveOnDiscord(site.s.discord, visitor, site.owner);
    await visitor.request(`${back.pathname}${back.search}`.replace(/code=[^&]+/, 'code=bogus'));

    const log = site.logs.join('');
    expect(log).toContain('member logged in');
    expect(log).toContain('login with Discord failed');
    const secrets = [site.s.discord.oauth2.clientSecret, SESSION_SECRET, site.s.discord.token];
    for (const request of site.s.discord.oauth2.tokenRequests) {
      for (const field of ['code', 'code_verifier', 'refresh_token'])
        if (request.body[field] && request.body[field] !== 'bogus') secrets.push(request.body[field]!);
    }
    for (const request of site.s.discord.requests.filter((r) => r.path === '/oauth2/token' && r.status === 200)) {
      const body = request.response as { access_token: string; refresh_token: string };
      secrets.push(body.access_token, body.refresh_token);
    }
    for (const cookie of visitor.cookies.values()) secrets.push(decodeURIComponent(cookie).split('.')[0]!);
    expect(secrets.length).toBeGreaterThan(8);
    for (const secret of secrets) expect(log).not.toContain(secret);
  });
});
