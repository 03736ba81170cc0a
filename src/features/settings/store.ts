import type { Database } from '../../db/connection.js';
import type { SettingsDocument } from '../../db/schema.js';
import { guildSettingsSchema, type GuildSettings } from './schema.js';

/**
 * Server settings in PostgreSQL: one JSON document per server with a version. A change names the
 * version it was made from; when someone else changed the settings in between, nothing is
 * written and the caller reads again (compare-and-set), so two moderators cannot undo each other.
 */
export interface StoredSettings {
  settings: SettingsDocument;
  /** 0 when the server never changed a setting. */
  version: number;
}

export async function readSettings(db: Database, guildId: string): Promise<StoredSettings> {
  const row = await db.selectFrom('guild_settings').select(['settings', 'version']).where('guild_id', '=', guildId).executeTakeFirst();
  return row ? { settings: row.settings, version: row.version } : { settings: {}, version: 0 };
}

/** Writes `settings` if the stored version is still `expectedVersion`; returns the new version, or undefined. */
export async function writeSettings(
  db: Database,
  guildId: string,
  expectedVersion: number,
  settings: SettingsDocument,
  updatedBy: string | null,
): Promise<number | undefined> {
  const document = JSON.stringify(settings);
  if (expectedVersion === 0) {
    const created = await db
      .insertInto('guild_settings')
      .values({ guild_id: guildId, settings: document, version: 1, updated_by: updatedBy })
      .onConflict((conflict) => conflict.column('guild_id').doNothing())
      .returning('version')
      .executeTakeFirst();
    return created?.version;
  }
  const updated = await db
    .updateTable('guild_settings')
    .set((eb) => ({ settings: document, version: eb('version', '+', 1), updated_by: updatedBy, updated_at: new Date() }))
    .where('guild_id', '=', guildId)
    .where('version', '=', expectedVersion)
    .returning('version')
    .executeTakeFirst();
  return updated?.version;
}

/** How long a process trusts the settings it read: they are read on every click, and change rarely. */
const CACHE_MS = 30_000;
/**
 * Servers whose settings a process keeps at once. The web gallery reads the settings of any server
 * id a visitor types, so the cache must not grow with them: the least recently read go first.
 */
const CACHE_SERVERS = 10_000;

/**
 * A server's settings as the bot uses them: validated (defaults where unset), cached briefly per
 * process, and changed by compare-and-set on the stored version.
 */
export class SettingsStore {
  private readonly cache = new Map<string, { value: GuildSettings; expires: number }>();

  constructor(
    private readonly db: Database,
    private readonly cacheServers = CACHE_SERVERS,
  ) {}

  /** The guild's settings (defaults where unset). Cached for 30 s: settings are read on every click. */
  async get(guildId: string | undefined | null): Promise<GuildSettings> {
    if (!guildId) return guildSettingsSchema.parse({});
    const cached = this.cache.get(guildId);
    if (cached && cached.expires > Date.now()) {
      // Read again: to the back of the line (a Map keeps insertion order).
      this.cache.delete(guildId);
      this.cache.set(guildId, cached);
      return cached.value;
    }
    return this.fresh(guildId);
  }

  /** The settings as stored right now, bypassing the cache (for /config, which shows and edits them). */
  async fresh(guildId: string): Promise<GuildSettings> {
    const { settings } = await readSettings(this.db, guildId);
    return this.remember(guildId, guildSettingsSchema.parse(settings));
  }

  /**
   * Validates and saves a change; returns the new settings. The change is applied to what is
   * stored at that moment, compare-and-set on the version, so two admins (or two bot processes)
   * editing at once never lose each other's edits. Give a function when the change depends on the
   * current value (adding to a list). An invalid change throws and writes nothing.
   */
  async update(
    guildId: string,
    change: Partial<GuildSettings> | ((current: GuildSettings) => Partial<GuildSettings>),
    updatedBy: string | null = null,
  ): Promise<GuildSettings> {
    for (let attempt = 0; attempt < 50; attempt += 1) {
      const stored = await readSettings(this.db, guildId);
      const current = guildSettingsSchema.parse(stored.settings);
      const value = guildSettingsSchema.parse({ ...current, ...(typeof change === 'function' ? change(current) : change) });
      const saved = await writeSettings(this.db, guildId, stored.version, value, updatedBy);
      if (saved !== undefined) return this.remember(guildId, value);
    }
    throw new Error(`the settings of guild ${guildId} kept changing; giving up`);
  }

  private remember(guildId: string, value: GuildSettings): GuildSettings {
    this.cache.delete(guildId);
    this.cache.set(guildId, { value, expires: Date.now() + CACHE_MS });
    for (const oldest of this.cache.keys()) {
      if (this.cache.size <= this.cacheServers) break;
      this.cache.delete(oldest);
    }
    return value;
  }
}
