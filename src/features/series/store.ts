import { sql, type Transaction } from 'kysely';
import type { Database } from '../../db/connection.js';
import type { DB, Row, SeriesMode, SeriesStatus } from '../../db/schema.js';
import { DELETED_MEMBER } from '../former-member.js';

/**
 * Series in PostgreSQL: ordered sets of panels that several members make together.
 *
 * Panels are numbered 1..N without gaps. Every change to a series' panels, turns or status locks
 * the series row first (SELECT … FOR UPDATE), so concurrent adds queue behind each other and each
 * takes panel_count + 1; the unique key (series_id, number) is the safety net. The checks that
 * decide whether an add may land (open, not full, relay turn) run inside that same transaction:
 * checked anywhere else, two members could both pass them before either wrote.
 *
 * A panel drawn by `/series add` is reserved first (image_id NULL) under the id of the interaction,
 * which is also the id of the request that draws it; delivery fills it in (`fillPending`).
 */
export const seriesModes = ['open', 'relay', 'corpse'] as const satisfies readonly SeriesMode[];
export const seriesStatuses = ['open', 'complete', 'closed'] as const satisfies readonly SeriesStatus[];
export type { SeriesMode, SeriesStatus };

export const SERIES_PANELS_MIN = 2;
export const SERIES_PANELS_MAX = 24;
export const SERIES_STYLE_MAX = 300;
export const SERIES_TITLE_MAX = 80;

/** Stands for a member who deleted their data (memberMention reads it as "a former member"). */
export { DELETED_MEMBER };
export const FORMER_MEMBER_NAME = 'a former member';

export interface SeriesRecord {
  id: string;
  guildId: string;
  /** The text channel the series was started in; the completion is posted there. */
  channelId: string;
  threadId: string;
  title: string;
  mode: SeriesMode;
  /** How many panels the series is made of (when all are in, it is complete). */
  panelCount: number;
  /** Panels in it so far, those still being drawn included. */
  panelsAdded: number;
  style?: string;
  seed?: number;
  /** Absent once the creator deleted their data (moderators can still manage the series). */
  creatorId?: string;
  status: SeriesStatus;
  createdAt: number;
  completedAt?: number;
  /** Panels added so far (the relay turn counter; a released reservation gives its turn back). */
  turn: number;
  /** Reserved panels whose generation is not delivered yet. */
  pending: number;
  lastUserId?: string;
  /** Set with status "complete" and cleared once both completion posts are done (or given up). */
  completionOwed?: true;
  completionMessageId?: string;
  revealMessageId?: string;
}

export type NewSeries = Pick<SeriesRecord, 'id' | 'guildId' | 'channelId' | 'threadId' | 'title' | 'mode' | 'panelCount' | 'createdAt'> & {
  style?: string;
  seed?: number;
  creatorId: string;
};

export interface Panel {
  id: string;
  /** The member who added the panel (credited under it); DELETED_MEMBER after /privacy. */
  userId: string;
  userName: string;
  prompt: string;
  /** Missing while the panel's generation is still under way. */
  imageId?: string;
  /** The generation that makes (or made) this panel. */
  jobId?: string;
  seed?: number;
  createdAt: number;
}
export type NumberedPanel = Panel & { number: number };

/** Why an add was refused; each has a sentence for the member in the flow module. */
export type AddRefusal = 'missing' | 'closed' | 'complete' | 'full' | 'twice_in_a_row' | 'not_your_turn' | 'not_in_turn_order';

export type AddResult =
  { ok: true; number: number; completed: boolean; duplicate: boolean } | { ok: false; reason: AddRefusal; expectedUserId?: string };

type Executor = Database | Transaction<DB>;

function toRecord(row: Row<'series'> & { pending: number | string | null }): SeriesRecord {
  return {
    id: row.id,
    guildId: row.guild_id,
    channelId: row.channel_id,
    threadId: row.thread_id,
    title: row.title,
    mode: row.mode,
    panelCount: row.max_panels,
    panelsAdded: row.panel_count,
    style: row.style ?? undefined,
    seed: row.seed ?? undefined,
    creatorId: row.creator_id ?? undefined,
    status: row.status,
    createdAt: row.created_at.getTime(),
    completedAt: row.completed_at?.getTime(),
    turn: row.turn,
    pending: Number(row.pending ?? 0),
    lastUserId: row.last_user_id ?? undefined,
    completionOwed: row.completion_owed ? true : undefined,
    completionMessageId: row.completion_message_id ?? undefined,
    revealMessageId: row.reveal_message_id ?? undefined,
  };
}

function toPanel(row: Row<'series_panels'>): NumberedPanel {
  return {
    id: row.id,
    number: row.number,
    userId: row.user_id ?? DELETED_MEMBER,
    userName: row.user_id === null ? FORMER_MEMBER_NAME : (row.user_name ?? FORMER_MEMBER_NAME),
    prompt: row.prompt ?? '',
    imageId: row.image_id ?? undefined,
    // A reserved panel's id is its request's id until the request is linked.
    jobId: row.request_id ?? (row.image_id === null ? row.id : undefined),
    seed: row.seed ?? undefined,
    createdAt: row.created_at.getTime(),
  };
}

/**
 * The request's id if the archive has the request (every request admitted since the archive
 * exists), else NULL: a picture made before it still makes a panel.
 */
const requestRef = (requestId: string) => sql<string | null>`(SELECT id FROM requests WHERE id = ${requestId})`;

export class SeriesStore {
  constructor(
    private readonly db: Database,
    private readonly now: () => number = Date.now,
  ) {}

  private selectSeries(db: Executor = this.db) {
    return db
      .selectFrom('series')
      .selectAll('series')
      .select((eb) =>
        eb
          .selectFrom('series_panels')
          .select(eb.fn.countAll<number>().as('n'))
          .whereRef('series_panels.series_id', '=', 'series.id')
          .where('series_panels.image_id', 'is', null)
          .as('pending'),
      );
  }

  async create(series: NewSeries): Promise<SeriesRecord> {
    await this.db
      .insertInto('series')
      .values({
        id: series.id,
        guild_id: series.guildId,
        channel_id: series.channelId,
        thread_id: series.threadId,
        title: series.title,
        mode: series.mode,
        max_panels: series.panelCount,
        style: series.style ?? null,
        seed: series.seed ?? null,
        creator_id: series.creatorId,
        created_at: new Date(series.createdAt),
      })
      .execute();
    return (await this.get(series.id))!;
  }

  async get(id: string): Promise<SeriesRecord | undefined> {
    const row = await this.selectSeries().where('series.id', '=', id).executeTakeFirst();
    return row ? toRecord(row) : undefined;
  }

  async byThread(threadId: string): Promise<SeriesRecord | undefined> {
    const row = await this.selectSeries().where('series.thread_id', '=', threadId).executeTakeFirst();
    return row ? toRecord(row) : undefined;
  }

  /** The guild's series (or those with this status), newest first. */
  async ofGuild(guildId: string, limit = 50, status?: SeriesStatus): Promise<SeriesRecord[]> {
    let query = this.selectSeries().where('series.guild_id', '=', guildId);
    if (status) query = query.where('series.status', '=', status);
    const rows = await query.orderBy('series.created_at', 'desc').orderBy('series.id', 'desc').limit(limit).execute();
    return rows.map(toRecord);
  }

  /**
   * The guild's series with this title (case and surrounding spaces do not matter; or only those
   * with this status), newest first. Titles are not unique: a title may be used again once its
   * series is no longer open, and older data may hold several open ones.
   */
  async withTitle(guildId: string, title: string, options: { status?: SeriesStatus; limit?: number } = {}): Promise<SeriesRecord[]> {
    let query = this.selectSeries()
      .where('series.guild_id', '=', guildId)
      .where(sql<string>`lower(btrim(series.title))`, '=', sql<string>`lower(${title.trim()})`);
    if (options.status) query = query.where('series.status', '=', options.status);
    const rows = await query
      .orderBy('series.created_at', 'desc')
      .orderBy('series.id', 'desc')
      .limit(options.limit ?? 10)
      .execute();
    return rows.map(toRecord);
  }

  /** Series the member created, joined or added to (each found through its own index). */
  async idsOfMember(userId: string, limit = 100): Promise<Set<string>> {
    const rows = await this.db
      .selectFrom('series')
      .select('id')
      .where('creator_id', '=', userId)
      .union(this.db.selectFrom('series_members').select('series_id as id').where('user_id', '=', userId))
      .union(this.db.selectFrom('series_panels').select('series_id as id').where('user_id', '=', userId))
      .limit(limit)
      .execute();
    return new Set(rows.map((row) => row.id));
  }

  /** Panels in reading order, numbered. */
  async panels(id: string): Promise<NumberedPanel[]> {
    const rows = await this.db.selectFrom('series_panels').selectAll().where('series_id', '=', id).orderBy('number').execute();
    return rows.map(toPanel);
  }

  async turnOrder(id: string): Promise<string[]> {
    const rows = await this.db.selectFrom('series_members').select('user_id').where('series_id', '=', id).orderBy('turn_slot').execute();
    return rows.map((row) => row.user_id);
  }

  private lock(trx: Transaction<DB>, id: string) {
    return trx.selectFrom('series').selectAll().where('id', '=', id).forUpdate().executeTakeFirst();
  }

  private async pendingCount(trx: Transaction<DB>, id: string): Promise<number> {
    const row = await trx
      .selectFrom('series_panels')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('series_id', '=', id)
      .where('image_id', 'is', null)
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }

  /**
   * Adds a panel as the next one. A panel without `imageId` is reserved: its number is fixed now,
   * and `fillPending` gives it the picture once its generation is delivered. The same panel id
   * twice (a double-submitted interaction) is one add: the second answers `duplicate`.
   */
  async addPanel(seriesId: string, panel: Panel): Promise<AddResult> {
    return this.db.transaction().execute(async (trx): Promise<AddResult> => {
      const series = await this.lock(trx, seriesId);
      if (!series) return { ok: false, reason: 'missing' };
      const existing = await trx.selectFrom('series_panels').select(['series_id', 'number']).where('id', '=', panel.id).executeTakeFirst();
      if (existing) {
        return { ok: true, number: existing.series_id === seriesId ? existing.number : 0, completed: false, duplicate: true };
      }
      if (series.status !== 'open') return { ok: false, reason: series.status };
      if (series.panel_count >= series.max_panels) return { ok: false, reason: 'full' };
      if (series.mode === 'relay') {
        const members = (
          await trx.selectFrom('series_members').select('user_id').where('series_id', '=', seriesId).orderBy('turn_slot').execute()
        ).map((row) => row.user_id);
        if (members.length > 0) {
          const expected = members[series.turn % members.length]!;
          if (expected !== panel.userId) {
            return { ok: false, reason: members.includes(panel.userId) ? 'not_your_turn' : 'not_in_turn_order', expectedUserId: expected };
          }
        }
        // Nobody adds two panels in a row, whatever the turn order says (a one-member order included).
        if (series.last_user_id === panel.userId) return { ok: false, reason: 'twice_in_a_row' };
      }
      const number = series.panel_count + 1;
      const reserved = !panel.imageId;
      await trx
        .updateTable('series')
        .set({ panel_count: number, turn: series.turn + 1, last_user_id: panel.userId })
        .where('id', '=', seriesId)
        .execute();
      await trx
        .insertInto('series_panels')
        .values({
          id: panel.id,
          series_id: seriesId,
          number,
          user_id: panel.userId,
          user_name: panel.userName.slice(0, 64) || null,
          prompt: panel.prompt.slice(0, 4000),
          request_id: reserved || !panel.jobId ? null : requestRef(panel.jobId),
          image_id: panel.imageId ?? null,
          seed: panel.seed ?? null,
          created_at: new Date(panel.createdAt),
          // A panel added with its picture owes its announcement from here on.
          announce_owed: !reserved,
          // A reservation remembers the turn it took, so that giving it back (a refused or failed
          // generation) also gives the turn back, unless someone has added since.
          prev_last_user_id: reserved ? series.last_user_id : null,
          turn_after: reserved ? series.turn + 1 : null,
        })
        .execute();
      const completed = !reserved && number === series.max_panels && (await this.pendingCount(trx, seriesId)) === 0;
      if (completed) await this.complete(trx, seriesId);
      return { ok: true, number, completed, duplicate: false };
    });
  }

  private async complete(trx: Transaction<DB>, seriesId: string): Promise<void> {
    await trx
      .updateTable('series')
      .set({ status: 'complete', completed_at: new Date(this.now()), completion_owed: true })
      .where('id', '=', seriesId)
      .execute();
  }

  /** Records the request drawing a reserved panel, once the request exists. */
  async linkRequest(panelId: string, requestId: string): Promise<void> {
    await this.db.updateTable('series_panels').set({ request_id: requestId }).where('id', '=', panelId).where('image_id', 'is', null).execute();
  }

  /** The series a generation was reserved for as a panel (the panel has the request's id), if any. */
  async pendingSeriesOf(jobId: string): Promise<string | undefined> {
    const row = await this.db.selectFrom('series_panels').select('series_id').where('id', '=', jobId).executeTakeFirst();
    return row?.series_id;
  }

  /**
   * Gives the reserved panel of generation `jobId` its picture (`inThread`: the picture was
   * delivered in the series' thread, so its announcement need not show it again). Only the call
   * that fills the last outstanding panel of a full series sees `completed`; a panel filled before
   * answers `filled: false` and changes nothing.
   */
  async fillPending(
    seriesId: string,
    jobId: string,
    imageId: string,
    seed?: number,
    inThread = false,
  ): Promise<{ filled: boolean; number: number; completed: boolean }> {
    return this.db.transaction().execute(async (trx) => {
      const series = await this.lock(trx, seriesId);
      const panel = await trx
        .selectFrom('series_panels')
        .select(['number', 'image_id'])
        .where('id', '=', jobId)
        .where('series_id', '=', seriesId)
        .executeTakeFirst();
      if (!series || !panel) return { filled: false, number: 0, completed: false };
      if (panel.image_id !== null) return { filled: false, number: panel.number, completed: false };
      await trx
        .updateTable('series_panels')
        .set({
          image_id: imageId,
          request_id: requestRef(jobId),
          seed: seed ?? null,
          announce_owed: true,
          in_thread: inThread,
          prev_last_user_id: null,
          turn_after: null,
        })
        .where('id', '=', jobId)
        .execute();
      const completed = series.status === 'open' && series.panel_count >= series.max_panels && (await this.pendingCount(trx, seriesId)) === 0;
      if (completed) await this.complete(trx, seriesId);
      return { filled: true, number: panel.number, completed };
    });
  }

  /**
   * Delivery of generation `jobId` reached Discord in `channelId`: if it draws a panel, the panel
   * gets its picture (seed from the picture's row). Returns the panel's series, also when the panel
   * was filled before (a retried delivery still posts what is owed), or undefined for no panel.
   */
  async fillFromDelivery(jobId: string, imageId: string, channelId: string): Promise<{ seriesId: string; completed: boolean } | undefined> {
    const panel = await this.db
      .selectFrom('series_panels')
      .innerJoin('series', 'series.id', 'series_panels.series_id')
      .leftJoin('images', (join) => join.on('images.id', '=', imageId))
      .select(['series_panels.series_id', 'series.thread_id', 'images.seed'])
      .where('series_panels.id', '=', jobId)
      .executeTakeFirst();
    if (!panel) return undefined;
    const filled = await this.fillPending(panel.series_id, jobId, imageId, panel.seed ?? undefined, channelId === panel.thread_id);
    return { seriesId: panel.series_id, completed: filled.completed };
  }

  /** Panels whose announcement is owed → whether their picture is already in the thread. */
  async owedAnnouncements(seriesId: string): Promise<Map<string, boolean>> {
    const rows = await this.db
      .selectFrom('series_panels')
      .select(['id', 'in_thread'])
      .where('series_id', '=', seriesId)
      .where('announce_owed', '=', true)
      .orderBy('number')
      .execute();
    return new Map(rows.map((row) => [row.id, row.in_thread]));
  }

  async announced(seriesId: string, panelId: string): Promise<void> {
    await this.db.updateTable('series_panels').set({ announce_owed: false }).where('series_id', '=', seriesId).where('id', '=', panelId).execute();
  }

  /** Records a completion post as it lands, or (`done`) that nothing more is owed. */
  async recordCompletion(seriesId: string, values: { completionMessageId?: string; revealMessageId?: string; done?: true }): Promise<void> {
    const set: { completion_message_id?: string; reveal_message_id?: string; completion_owed?: boolean } = {};
    if (values.completionMessageId) set.completion_message_id = values.completionMessageId;
    if (values.revealMessageId) set.reveal_message_id = values.revealMessageId;
    if (values.done) set.completion_owed = false;
    if (Object.keys(set).length > 0) await this.db.updateTable('series').set(set).where('id', '=', seriesId).execute();
  }

  /** Removes the panel at `number` (1-based) and moves the later ones up; returns it, or undefined. */
  async removePanel(seriesId: string, number: number): Promise<Panel | undefined> {
    return this.db.transaction().execute(async (trx) => {
      if (!(await this.lock(trx, seriesId))) return undefined;
      const removed = await trx
        .deleteFrom('series_panels')
        .where('series_id', '=', seriesId)
        .where('number', '=', number)
        .returningAll()
        .executeTakeFirst();
      if (!removed) return undefined;
      await this.closeGap(trx, seriesId, number);
      return toPanel(removed);
    });
  }

  /** Shifts the panels after `number` down one; the unique key is checked at commit for this. */
  private async closeGap(trx: Transaction<DB>, seriesId: string, number: number): Promise<void> {
    await sql`SET CONSTRAINTS series_panels_number_key DEFERRED`.execute(trx);
    await trx
      .updateTable('series_panels')
      .set((eb) => ({ number: eb('number', '-', 1) }))
      .where('series_id', '=', seriesId)
      .where('number', '>', number)
      .execute();
    await trx
      .updateTable('series')
      .set((eb) => ({ panel_count: eb('panel_count', '-', 1) }))
      .where('id', '=', seriesId)
      .execute();
  }

  /**
   * Frees a reservation whose generation failed or was cancelled (a filled panel is kept). Its
   * relay turn goes back too, unless someone has added since.
   */
  async releasePending(seriesId: string, panelId: string): Promise<boolean> {
    return this.db.transaction().execute(async (trx) => {
      const series = await this.lock(trx, seriesId);
      if (!series) return false;
      const removed = await trx
        .deleteFrom('series_panels')
        .where('series_id', '=', seriesId)
        .where('id', '=', panelId)
        .where('image_id', 'is', null)
        .returningAll()
        .executeTakeFirst();
      if (!removed) return false;
      await this.closeGap(trx, seriesId, removed.number);
      if (removed.turn_after !== null && series.turn === removed.turn_after) {
        await trx
          .updateTable('series')
          .set({ turn: series.turn - 1, last_user_id: removed.prev_last_user_id })
          .where('id', '=', seriesId)
          .execute();
      }
      return true;
    });
  }

  /** Moves the panel at `from` to position `to` (both 1-based); false when either is out of range. */
  async movePanel(seriesId: string, from: number, to: number): Promise<boolean> {
    return this.db.transaction().execute(async (trx) => {
      const series = await this.lock(trx, seriesId);
      if (!series || from < 1 || to < 1 || from > series.panel_count || to > series.panel_count) return false;
      if (from === to) return true;
      await sql`SET CONSTRAINTS series_panels_number_key DEFERRED`.execute(trx);
      await sql`
        UPDATE series_panels SET number = CASE
          WHEN number = ${from} THEN ${to}
          WHEN ${from} < ${to} THEN number - 1
          ELSE number + 1 END
        WHERE series_id = ${seriesId} AND number BETWEEN ${Math.min(from, to)} AND ${Math.max(from, to)}`.execute(trx);
      return true;
    });
  }

  /** Adds a member to the relay turn order once; false when already in it (or no such series). */
  async join(seriesId: string, userId: string): Promise<boolean> {
    return this.db.transaction().execute(async (trx) => {
      if (!(await this.lock(trx, seriesId))) return false;
      const last = await trx
        .selectFrom('series_members')
        .select((eb) => eb.fn.max('turn_slot').as('slot'))
        .where('series_id', '=', seriesId)
        .executeTakeFirst();
      const added = await trx
        .insertInto('series_members')
        .values({ series_id: seriesId, user_id: userId, turn_slot: (last?.slot ?? -1) + 1, joined_at: new Date(this.now()) })
        .onConflict((conflict) => conflict.columns(['series_id', 'user_id']).doNothing())
        .returning('user_id')
        .executeTakeFirst();
      return added !== undefined;
    });
  }

  /** Closes an open series; returns the status it had. */
  async close(seriesId: string): Promise<SeriesStatus | undefined> {
    return this.db.transaction().execute(async (trx) => {
      const series = await this.lock(trx, seriesId);
      if (series?.status === 'open') await trx.updateTable('series').set({ status: 'closed' }).where('id', '=', seriesId).execute();
      return series?.status;
    });
  }

  /**
   * /privacy: the member's series data, found by member id. Series they started lose their
   * creator, they leave every turn order, and their panels stay (the series must still read) but
   * no longer name them or keep their prompt. Returns how many rows changed.
   */
  async deleteMemberData(userId: string): Promise<number> {
    return this.db.transaction().execute(async (trx) => {
      const created = await trx.updateTable('series').set({ creator_id: null }).where('creator_id', '=', userId).executeTakeFirst();
      const last = await trx.updateTable('series').set({ last_user_id: null }).where('last_user_id', '=', userId).executeTakeFirst();
      const turns = await trx.deleteFrom('series_members').where('user_id', '=', userId).executeTakeFirst();
      const panels = await trx
        .updateTable('series_panels')
        .set({ user_id: null, user_name: null, prompt: null })
        .where('user_id', '=', userId)
        .executeTakeFirst();
      await trx.updateTable('series_panels').set({ prev_last_user_id: null }).where('prev_last_user_id', '=', userId).execute();
      return Number(created.numUpdatedRows + last.numUpdatedRows + turns.numDeletedRows + panels.numUpdatedRows);
    });
  }
}
