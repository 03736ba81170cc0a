import { createHash, randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';

/** What a login session keeps: who it is, their servers and when those were last checked. */
export interface WebSession {
  userId: string;
  username: string;
  globalName: string | null;
  avatar: string | null;
  guildIds: string[];
  /** Epoch ms of the last `/users/@me/guilds` answer. */
  guildsCheckedAt: number;
  /** Kept server-side only, to re-check membership; never sent to the browser. */
  accessToken: string;
  refreshToken: string;
  accessExpiresAt: number;
}

/** A login session ends after this long, or at logout. */
export const SESSION_TTL_S = 30 * 24 * 3600;

/**
 * Sessions live in Redis, the browser holds only a random id (in a signed cookie). Keys are the
 * id's hash, so whoever reads a Redis dump cannot take over a session with it.
 */
export class SessionStore {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {}

  private key(id: string): string {
    return `${this.prefix}:web:session:${createHash('sha256').update(id).digest('base64url')}`;
  }

  async create(session: WebSession): Promise<string> {
    const id = randomBytes(32).toString('base64url');
    await this.redis.set(this.key(id), JSON.stringify(session), 'EX', SESSION_TTL_S);
    return id;
  }

  async get(id: string): Promise<WebSession | undefined> {
    const raw = await this.redis.get(this.key(id));
    return raw ? (JSON.parse(raw) as WebSession) : undefined;
  }

  /** Saves a changed session, keeping its remaining lifetime. */
  async update(id: string, session: WebSession): Promise<void> {
    await this.redis.set(this.key(id), JSON.stringify(session), 'KEEPTTL', 'XX');
  }

  async destroy(id: string): Promise<void> {
    await this.redis.del(this.key(id));
  }
}
