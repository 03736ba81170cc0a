import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import { afterEach } from 'vitest';
import { SettingsStore } from '../../src/features/settings/store.js';
import { requestVoteLabelRefresh, voteLabelQueue, type VoteLabelQueue } from '../../src/features/votes/jobs.js';
import { createMetrics } from '../../src/metrics.js';
import { FsImageStorage } from '../../src/storage/fs.js';
import { WebLogin } from '../../src/web/auth/login.js';
import { createWebServer } from '../../src/web/server.js';
import { quietLogger } from './context.js';
import { FakeDiscord } from './fake-discord.js';
import { GallerySeed } from './gallery-seed.js';
import { closeNow, listenOnLoopback } from './loopback.js';
import { createTestDatabase, type TestDatabase } from './postgres.js';
import { connect, dropPrefix, uniquePrefix } from './redis.js';

const SESSION_SECRET = 'a-gallery-test-session-secret-long-enough-0123456789';

/** Image storage in a folder, whose next read of one key can be held: a request kept in flight. */
export class HoldableStorage extends FsImageStorage {
  private held?: { key: string; reached: () => void; released: Promise<void> };

  hold(key: string): { reached: Promise<void>; release: () => void } {
    let reached!: () => void;
    let release!: () => void;
    const reachedPromise = new Promise<void>((resolve) => (reached = resolve));
    const released = new Promise<void>((resolve) => (release = resolve));
    this.held = { key, reached, released };
    return { reached: reachedPromise, release };
  }

  override async get(key: string) {
    const held = this.held;
    if (held?.key === key) {
      this.held = undefined;
      held.reached();
      await held.released;
    }
    return super.get(key);
  }
}

/**
 * The web gallery alone, as `npm run web` serves it: a fresh migrated database, image storage in a
 * temporary folder, sessions in Redis, "Login with Discord" against the fake Discord, and the
 * vote-label queue the bot would consume. No bot and no worker: tests seed the archive directly.
 */
export interface GallerySite {
  base: string;
  discord: FakeDiscord;
  database: TestDatabase;
  seed: GallerySeed;
  settings: SettingsStore;
  storage: HoldableStorage;
  voteLabels: VoteLabelQueue;
  /** A user of the fake Discord who is a member of exactly `guildIds`. */
  user(name: string, guildIds: string[]): string;
}

export function useGallerySite(): (options?: { downloadsAtOnce?: number }) => Promise<GallerySite> {
  const cleanups: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });
  return async (options = {}) => {
    const discord = new FakeDiscord();
    await discord.start();
    cleanups.push(() => discord.close());
    const database = await createTestDatabase({ migrated: true, maxConnections: 10 });
    cleanups.push(() => database.drop());
    const dir = mkdtempSync(join(tmpdir(), 'atelier-gallery-'));
    cleanups.push(async () => rmSync(dir, { recursive: true, force: true }));
    const redis: Redis = connect();
    const prefix = uniquePrefix();
    cleanups.push(async () => {
      await dropPrefix(redis, prefix);
      await redis.quit();
    });
    const queueConnection = connect();
    const voteLabels = voteLabelQueue(queueConnection, prefix);
    cleanups.push(async () => {
      await voteLabels.close();
      await queueConnection.quit();
    });

    const server = createServer();
    const base = await listenOnLoopback(server);
    discord.oauth2.redirectUris.add(`${base}/auth/callback`);
    const storage = new HoldableStorage(dir);
    const settings = new SettingsStore(database.db);
    const logger = quietLogger();
    const login = new WebLogin({
      apiUrl: discord.apiUrl,
      authorizeUrl: `${discord.apiUrl}/oauth2/authorize`,
      clientId: discord.applicationId,
      clientSecret: discord.oauth2.clientSecret,
      publicUrl: base,
      sessionSecret: SESSION_SECRET,
      botToken: discord.token,
      adminUserIds: [],
      redis,
      prefix,
      logger,
    });
    const web = await createWebServer({
      logger,
      metrics: createMetrics(),
      readiness: [],
      login,
      gallery: {
        db: database.db,
        storage,
        settings,
        refreshVoteLabel: (requestId) => requestVoteLabelRefresh(voteLabels, requestId),
        downloadsAtOnce: options.downloadsAtOnce,
      },
    });
    await web.ready();
    server.on('request', web.routing);
    cleanups.push(async () => {
      await web.close();
      await closeNow(server);
    });
    return {
      base,
      discord,
      database,
      seed: new GallerySeed(database.db, storage),
      settings,
      storage,
      voteLabels,
      user(name, guildIds) {
        const id = discord.user({ username: name }).id;
        discord.oauth2.setGuilds(
          id,
          guildIds.map((guildId) => ({ id: guildId })),
        );
        return id;
      },
    };
  };
}
