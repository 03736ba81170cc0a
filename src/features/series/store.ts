import { sql } from 'kysely';
import type { Database } from '../../db/connection.js';
import type { NewRow, Row } from '../../db/schema.js';

/**
 * Series panels in PostgreSQL. Panels are numbered 1..N without gaps: every change locks the
 * series row first (SELECT … FOR UPDATE), so concurrent adds queue behind each other and each
 * takes panel_count + 1. The unique key (series_id, number) is the safety net should a writer
 * ever forget the lock.
 */
export type PanelRefusal = 'missing' | 'closed' | 'full';
export type AddPanelResult = { ok: true; panel: Row<'series_panels'> } | { ok: false; reason: PanelRefusal };

export type NewPanel = Omit<NewRow<'series_panels'>, 'series_id' | 'number'>;

export async function createSeries(db: Database, series: NewRow<'series'>): Promise<Row<'series'>> {
  return db.insertInto('series').values(series).returningAll().executeTakeFirstOrThrow();
}

/** Gives the panel the next number, or says why the series takes nothing more. */
export async function addPanel(db: Database, seriesId: string, panel: NewPanel): Promise<AddPanelResult> {
  return db.transaction().execute(async (trx) => {
    const series = await trx
      .selectFrom('series')
      .select(['status', 'panel_count', 'max_panels'])
      .where('id', '=', seriesId)
      .forUpdate()
      .executeTakeFirst();
    if (!series) return { ok: false, reason: 'missing' } as const;
    if (series.status !== 'open') return { ok: false, reason: 'closed' } as const;
    if (series.panel_count >= series.max_panels) return { ok: false, reason: 'full' } as const;
    const number = series.panel_count + 1;
    await trx
      .updateTable('series')
      .set({ panel_count: number, last_user_id: panel.user_id ?? null })
      .where('id', '=', seriesId)
      .execute();
    const row = await trx
      .insertInto('series_panels')
      .values({ ...panel, series_id: seriesId, number })
      .returningAll()
      .executeTakeFirstOrThrow();
    return { ok: true, panel: row } as const;
  });
}

/**
 * Removes a panel and shifts the later ones down one, keeping 1..N (a failed generation frees its
 * number; a moderator removes a panel). The unique key is checked at commit for this shift.
 */
export async function removePanel(db: Database, seriesId: string, number: number): Promise<boolean> {
  return db.transaction().execute(async (trx) => {
    const series = await trx.selectFrom('series').select('panel_count').where('id', '=', seriesId).forUpdate().executeTakeFirst();
    if (!series) return false;
    const removed = await trx.deleteFrom('series_panels').where('series_id', '=', seriesId).where('number', '=', number).executeTakeFirst();
    if (removed.numDeletedRows === 0n) return false;
    await sql`set constraints series_panels_number_key deferred`.execute(trx);
    await trx
      .updateTable('series_panels')
      .set((eb) => ({ number: eb('number', '-', 1) }))
      .where('series_id', '=', seriesId)
      .where('number', '>', number)
      .execute();
    await trx
      .updateTable('series')
      .set({ panel_count: series.panel_count - 1 })
      .where('id', '=', seriesId)
      .execute();
    return true;
  });
}

export async function panels(db: Database, seriesId: string): Promise<Row<'series_panels'>[]> {
  return db.selectFrom('series_panels').selectAll().where('series_id', '=', seriesId).orderBy('number').execute();
}
