import type { Database } from '../../db/connection.js';

/**
 * A member's personal defaults (/settings). Every field is optional: absent means "no default",
 * and the server's (or the bot's) usual applies.
 */
export interface Preferences {
  model?: string;
  aspect?: string;
  count?: number;
  /** A style code, handed to style references as their default. */
  styleCode?: string;
  /** V1–V4, Reroll and Vary open a form to edit the prompt first. */
  remix: boolean;
}

export const NO_PREFERENCES: Preferences = { remix: false };

/** What /settings may change: one field at a time, null to clear it. */
export type PreferenceChange =
  { field: 'model' | 'aspect' | 'styleCode'; value: string | null } | { field: 'count'; value: number | null } | { field: 'remix'; value: boolean };

const columns = { model: 'model', aspect: 'aspect', count: 'image_count', styleCode: 'style_code', remix: 'remix' } as const;

export async function readPreferences(db: Database, userId: string): Promise<Preferences> {
  const row = await db.selectFrom('member_preferences').selectAll().where('user_id', '=', userId).executeTakeFirst();
  if (!row) return NO_PREFERENCES;
  return {
    model: row.model ?? undefined,
    aspect: row.aspect ?? undefined,
    count: row.image_count ?? undefined,
    styleCode: row.style_code ?? undefined,
    remix: row.remix,
  };
}

/** Sets one field, creating the member's row on the first change. */
export async function writePreference(db: Database, userId: string, change: PreferenceChange): Promise<void> {
  const column = columns[change.field];
  const values = { [column]: change.value, updated_at: new Date() };
  await db
    .insertInto('member_preferences')
    .values({ user_id: userId, ...values })
    .onConflict((conflict) => conflict.column('user_id').doUpdateSet(values))
    .execute();
}

/** Whether a member turned remix mode on (read on every reroll and variation click). */
export async function remixModeOn(db: Database, userId: string): Promise<boolean> {
  const row = await db.selectFrom('member_preferences').select('remix').where('user_id', '=', userId).executeTakeFirst();
  return row?.remix ?? false;
}

/** /privacy delete-my-data: the member's defaults go. Returns how many rows went (0 or 1). */
export async function deletePreferences(db: Database, userId: string): Promise<number> {
  const result = await db.deleteFrom('member_preferences').where('user_id', '=', userId).executeTakeFirst();
  return Number(result.numDeletedRows);
}
