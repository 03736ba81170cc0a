import type { Database } from '../../db/connection.js';
import type { SettingsDocument } from '../../db/schema.js';

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
  updatedBy: string,
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
