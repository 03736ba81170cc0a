/**
 * Discord's OAuth2 authorization-code flow, as the fake Discord serves it (see fake-discord.ts):
 *
 * - `GET /api/oauth2/authorize`: the consent page a browser lands on, for the user the test chose
 *   with `signIn(userId)`. "Authorize" (a form POST) redirects to the redirect_uri with `code` and
 *   `state`, "Cancel" with `error=access_denied`.
 * - `POST /api/v10/oauth2/token` (form-encoded): `authorization_code` and `refresh_token` grants.
 *   Like Discord, it checks the client (HTTP Basic or client_id/client_secret in the body), that
 *   the code is unused, unexpired and was issued to this client for this redirect_uri, and the
 *   PKCE code_verifier against the S256 challenge. Errors use RFC 6749's `{ error, error_description }`.
 * - `GET /api/v10/users/@me` and `/users/@me/guilds` with `Authorization: Bearer <access token>`.
 *
 * This file must not read anything outside the repository at runtime.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { APIUser } from 'discord-api-types/v10';

/** Discord: authorization codes live about 10 minutes; access tokens 7 days. */
const CODE_LIFETIME_MS = 10 * 60_000;
const ACCESS_TOKEN_LIFETIME_S = 7 * 24 * 3600;

export interface OAuth2Reply {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
  /** An HTML page instead of JSON. */
  html?: string;
}

/** What the OAuth2 part needs from the rest of the fake. */
export interface OAuth2Host {
  readonly applicationId: string;
  user(id: string): APIUser;
  /** Servers the user is a member of, as `/users/@me/guilds` lists them. */
  userGuilds(userId: string): Array<{ id: string; name: string; owner: boolean }>;
}

interface Grant {
  userId: string;
  scopes: string[];
  redirectUri: string;
  challenge: string;
  expiresAt: number;
}

interface TokenGrant {
  userId: string;
  scopes: string[];
  expiresAt: number;
}

const html = (status: number, body: string, headers?: Record<string, string>): OAuth2Reply => ({
  status,
  html: `<!doctype html><html><head><meta charset="utf-8"><title>Discord (fake)</title></head><body>${body}</body></html>`,
  headers,
});
const oauthError = (status: number, error: string, description: string): OAuth2Reply => ({ status, body: { error, error_description: description } });
const escape = (text: string) => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const token = () => randomBytes(24).toString('base64url');

export class FakeOAuth2 {
  /** The client secret the fake accepts (Discord shows it once in the developer portal). */
  readonly clientSecret = randomBytes(24).toString('base64url');
  /** Redirect URIs registered "in the developer portal"; authorize refuses any other. */
  readonly redirectUris = new Set<string>();
  /** Every token request: grant type and whether it succeeded (tests look at what was sent). */
  readonly tokenRequests: Array<{ grantType: string; status: number; body: Record<string, string> }> = [];

  private signedInUserId: string | undefined;
  private readonly codes = new Map<string, Grant>();
  private readonly accessTokens = new Map<string, TokenGrant>();
  private readonly refreshTokens = new Map<string, Omit<TokenGrant, 'expiresAt'>>();
  private readonly guildOverrides = new Map<string, Array<{ id: string; name: string; owner: boolean }>>();

  constructor(private readonly host: OAuth2Host) {}

  /** The Discord account the browser is logged in to on discord.com. */
  signIn(userId: string): void {
    this.host.user(userId);
    this.signedInUserId = userId;
  }

  /** Replaces the servers `/users/@me/guilds` lists for a user (e.g. after they left one). */
  setGuilds(userId: string, guilds: Array<{ id: string; name?: string; owner?: boolean }>): void {
    this.guildOverrides.set(
      userId,
      guilds.map((g) => ({ id: g.id, name: g.name ?? `Server ${g.id}`, owner: g.owner ?? false })),
    );
  }

  /** Every access token issued so far stops working (as when the user deauthorizes the app). */
  expireAccessTokens(): void {
    for (const grant of this.accessTokens.values()) grant.expiresAt = 0;
  }

  /** The consent page (GET) or the user's answer to it (POST). */
  authorize(method: string, query: URLSearchParams, form: Record<string, string> | undefined): OAuth2Reply {
    const params = method === 'POST' && form ? new URLSearchParams(form) : query;
    const clientId = params.get('client_id');
    const redirectUri = params.get('redirect_uri') ?? '';
    const scopes = (params.get('scope') ?? '').split(' ').filter(Boolean);
    if (clientId !== this.host.applicationId) return html(400, '<p>Unknown application (client_id).</p>');
    if (!this.redirectUris.has(redirectUri)) return html(400, '<p>Invalid OAuth2 redirect_uri.</p>');
    if (params.get('response_type') !== 'code') return html(400, '<p>Unsupported response_type.</p>');
    if (scopes.length === 0 || scopes.some((scope) => !['identify', 'guilds', 'email'].includes(scope))) return html(400, '<p>Invalid scope.</p>');
    const challenge = params.get('code_challenge') ?? '';
    if (params.get('code_challenge_method') !== 'S256' || !/^[\w-]{43}$/.test(challenge)) return html(400, '<p>Invalid code_challenge.</p>');
    const state = params.get('state');
    const back = (extra: Record<string, string>) => {
      const target = new URL(redirectUri);
      for (const [name, value] of Object.entries(extra)) target.searchParams.set(name, value);
      if (state !== null) target.searchParams.set('state', state);
      return { status: 302, headers: { location: target.toString() } };
    };
    const userId = this.signedInUserId;
    if (!userId) return html(401, '<p>Log in to Discord first.</p>');

    if (method === 'GET') {
      const user = this.host.user(userId);
      const hidden = [...params.entries()].map(([name, value]) => `<input type="hidden" name="${escape(name)}" value="${escape(value)}">`).join('');
      return html(
        200,
        `<h1>An external application wants to access your Discord account</h1><p>Signed in as ${escape(user.username)}</p>` +
          `<p>Scopes: ${scopes.map(escape).join(', ')}</p>` +
          `<form method="post">${hidden}<button name="decision" value="authorize">Authorize</button>` +
          `<button name="decision" value="cancel">Cancel</button></form>`,
      );
    }
    if (params.get('decision') !== 'authorize')
      return back({ error: 'access_denied', error_description: 'The resource owner or authorization server denied the request' });
    const code = token();
    this.codes.set(code, { userId, scopes, redirectUri, challenge, expiresAt: Date.now() + CODE_LIFETIME_MS });
    return back({ code });
  }

  /** `POST /oauth2/token`, form-encoded. */
  tokenEndpoint(contentType: string, body: Record<string, string> | undefined, authorization: string | undefined): OAuth2Reply {
    const form = body ?? {};
    const reply = this.grant(contentType, form, authorization);
    // The recorded body never keeps secrets around longer than the test needs them.
    this.tokenRequests.push({ grantType: form.grant_type ?? '', status: reply.status, body: { ...form } });
    return reply;
  }

  private grant(contentType: string, form: Record<string, string>, authorization: string | undefined): OAuth2Reply {
    if (!contentType.startsWith('application/x-www-form-urlencoded')) {
      return oauthError(400, 'invalid_request', 'The token endpoint takes application/x-www-form-urlencoded bodies.');
    }
    let clientId = form.client_id;
    let secret = form.client_secret;
    if (authorization?.startsWith('Basic ')) {
      const decoded = Buffer.from(authorization.slice(6), 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      clientId = decodeURIComponent(decoded.slice(0, colon));
      secret = decodeURIComponent(decoded.slice(colon + 1));
    }
    if (clientId !== this.host.applicationId || secret !== this.clientSecret) return oauthError(401, 'invalid_client', 'Invalid client');

    if (form.grant_type === 'authorization_code') {
      const grant = form.code ? this.codes.get(form.code) : undefined;
      if (form.code) this.codes.delete(form.code); // single use, even when the rest is wrong
      if (!grant || grant.expiresAt < Date.now()) return oauthError(400, 'invalid_grant', 'Invalid "code" in request.');
      if (form.redirect_uri !== grant.redirectUri) return oauthError(400, 'invalid_grant', 'Invalid "redirect_uri" in request.');
      const verifier = form.code_verifier ?? '';
      const expected = createHash('sha256').update(verifier).digest('base64url');
      if (!/^[\w.~-]{43,128}$/.test(verifier) || expected !== grant.challenge)
        return oauthError(400, 'invalid_grant', 'Invalid "code_verifier" in request.');
      return this.issue(grant.userId, grant.scopes);
    }
    if (form.grant_type === 'refresh_token') {
      const grant = form.refresh_token ? this.refreshTokens.get(form.refresh_token) : undefined;
      if (!grant) return oauthError(400, 'invalid_grant', 'Invalid "refresh_token" in request.');
      this.refreshTokens.delete(form.refresh_token!); // Discord rotates refresh tokens
      return this.issue(grant.userId, grant.scopes);
    }
    return oauthError(400, 'unsupported_grant_type', 'Unsupported grant type');
  }

  private issue(userId: string, scopes: string[]): OAuth2Reply {
    const access = token();
    const refresh = token();
    this.accessTokens.set(access, { userId, scopes, expiresAt: Date.now() + ACCESS_TOKEN_LIFETIME_S * 1000 });
    this.refreshTokens.set(refresh, { userId, scopes });
    return {
      status: 200,
      body: { access_token: access, token_type: 'Bearer', expires_in: ACCESS_TOKEN_LIFETIME_S, refresh_token: refresh, scope: scopes.join(' ') },
    };
  }

  /** A REST call made with a user's bearer token. */
  bearer(method: string, path: string, authorization: string): OAuth2Reply {
    const grant = this.accessTokens.get(authorization.slice('Bearer '.length));
    if (!grant || grant.expiresAt < Date.now()) return { status: 401, body: { message: '401: Unauthorized', code: 0 } };
    const needs = (scope: string): OAuth2Reply | undefined =>
      grant.scopes.includes(scope) ? undefined : { status: 403, body: { message: 'Missing Access', code: 50001 } };
    if (method === 'GET' && path === '/users/@me') return needs('identify') ?? { status: 200, body: this.host.user(grant.userId) };
    if (method === 'GET' && path === '/users/@me/guilds') {
      const guilds = this.guildOverrides.get(grant.userId) ?? this.host.userGuilds(grant.userId);
      return (
        needs('guilds') ?? {
          status: 200,
          body: guilds.map((g) => ({ id: g.id, name: g.name, icon: null, banner: null, owner: g.owner, permissions: '0', features: [] })),
        }
      );
    }
    return { status: 401, body: { message: '401: Unauthorized', code: 0 } };
  }
}
