import { createHash, randomBytes } from 'node:crypto';

/** What Discord's token endpoint answers (`expires_in` in seconds). */
export interface DiscordTokens {
  accessToken: string;
  refreshToken: string;
  /** Epoch ms after which the access token no longer works. */
  expiresAt: number;
}

export interface DiscordUser {
  id: string;
  username: string;
  globalName: string | null;
  avatar: string | null;
}

/** Discord answered an OAuth2 or REST call with an error; the message carries no token. */
export class DiscordAuthError extends Error {
  override name = 'DiscordAuthError';
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
  }
}

export interface DiscordOAuthOptions {
  /** DISCORD_API_URL, e.g. https://discord.com/api: the server's own calls (token, identity, servers) go there. */
  apiUrl: string;
  /**
   * DISCORD_AUTHORIZE_URL: the page the member's browser opens to approve a login. Always
   * Discord's own, even when the server's calls go through a REST proxy the browser cannot reach.
   */
  authorizeUrl?: string;
  clientId: string;
  clientSecret: string;
  redirectUri: string;
  /** The bot token, to read the application's owner and team. */
  botToken: string;
  now?: () => number;
}

/** Where a member approves a login on Discord. */
export const DISCORD_AUTHORIZE_URL = 'https://discord.com/oauth2/authorize';

/** A PKCE verifier (43 url-safe characters) and its S256 challenge. */
export function pkcePair(): { verifier: string; challenge: string } {
  const verifier = randomBytes(32).toString('base64url');
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') };
}

/**
 * The few Discord calls "Login with Discord" makes. Tokens travel only in request bodies and
 * Authorization headers, never in URLs or error messages, so nothing here can put one in a log.
 */
export class DiscordOAuth {
  private readonly now: () => number;

  constructor(private readonly options: DiscordOAuthOptions) {
    this.now = options.now ?? Date.now;
  }

  /** Where the browser goes to approve the login (scopes `identify guilds`). */
  authorizeUrl(state: string, challenge: string): string {
    const url = new URL(this.options.authorizeUrl ?? DISCORD_AUTHORIZE_URL);
    url.search = new URLSearchParams({
      response_type: 'code',
      client_id: this.options.clientId,
      scope: 'identify guilds',
      redirect_uri: this.options.redirectUri,
      state,
      code_challenge: challenge,
      code_challenge_method: 'S256',
    }).toString();
    return url.toString();
  }

  exchangeCode(code: string, verifier: string): Promise<DiscordTokens> {
    return this.token({ grant_type: 'authorization_code', code, redirect_uri: this.options.redirectUri, code_verifier: verifier });
  }

  refresh(refreshToken: string): Promise<DiscordTokens> {
    return this.token({ grant_type: 'refresh_token', refresh_token: refreshToken });
  }

  async user(accessToken: string): Promise<DiscordUser> {
    const body = (await this.get('/v10/users/@me', `Bearer ${accessToken}`)) as {
      id: string;
      username: string;
      global_name?: string | null;
      avatar?: string | null;
    };
    return { id: body.id, username: body.username, globalName: body.global_name ?? null, avatar: body.avatar ?? null };
  }

  async guildIds(accessToken: string): Promise<string[]> {
    const body = (await this.get('/v10/users/@me/guilds', `Bearer ${accessToken}`)) as Array<{ id: string }>;
    return body.map((guild) => guild.id);
  }

  /**
   * The application's owner, or its team's owner and members with the admin or developer role
   * who accepted the invitation (read-only members do not get to act on queues).
   */
  async applicationAdmins(): Promise<string[]> {
    const app = (await this.get('/v10/applications/@me', `Bot ${this.options.botToken}`)) as {
      owner?: { id: string };
      team?: { owner_user_id: string; members: Array<{ user: { id: string }; role: string; membership_state: number }> } | null;
    };
    if (app.team) {
      const members = app.team.members
        .filter((m) => m.membership_state === 2 && (m.role === 'admin' || m.role === 'developer'))
        .map((m) => m.user.id);
      return [app.team.owner_user_id, ...members];
    }
    return app.owner ? [app.owner.id] : [];
  }

  private async token(form: Record<string, string>): Promise<DiscordTokens> {
    const basic = Buffer.from(`${encodeURIComponent(this.options.clientId)}:${encodeURIComponent(this.options.clientSecret)}`).toString('base64');
    const response = await fetch(`${this.options.apiUrl}/v10/oauth2/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${basic}` },
      body: new URLSearchParams(form),
      signal: AbortSignal.timeout(10_000),
    });
    const body = (await response.json().catch(() => ({}))) as { access_token?: string; refresh_token?: string; expires_in?: number; error?: string };
    if (!response.ok || !body.access_token || !body.refresh_token) {
      // Only the RFC 6749 error code: the body of a success would hold the tokens.
      throw new DiscordAuthError(`token request (${form.grant_type}) refused: ${response.status} ${body.error ?? ''}`.trim(), response.status);
    }
    return { accessToken: body.access_token, refreshToken: body.refresh_token, expiresAt: this.now() + (body.expires_in ?? 0) * 1000 };
  }

  private async get(path: string, authorization: string): Promise<unknown> {
    const response = await fetch(`${this.options.apiUrl}${path}`, { headers: { authorization }, signal: AbortSignal.timeout(10_000) });
    if (!response.ok) throw new DiscordAuthError(`GET ${path} answered ${response.status}`, response.status);
    return response.json();
  }
}
