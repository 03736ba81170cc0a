import { sql, type Transaction } from 'kysely';
import type { Database } from '../../db/connection.js';
import type { DB, Row, SessionMode, SessionPhase } from '../../db/schema.js';

/**
 * Live sessions in PostgreSQL. Every phase change locks the session row (FOR UPDATE) and checks
 * the round and phase it expects, so only one of several runs of the same timer changes anything.
 * Entries and votes take the same row's shared lock and check the phase under it: a vote is either
 * in before the tally or refused, never lost in between. An entry also locks its round's row, so a
 * member's entries are counted one at a time.
 */
export type { SessionMode, SessionPhase };
export const sessionModes = ['evolve', 'fresh'] as const satisfies readonly SessionMode[];

export interface Session {
  id: string;
  guildId: string;
  channelId: string;
  threadId: string;
  panelMessageId?: string;
  hostId?: string;
  theme: string;
  mode: SessionMode;
  rounds: number;
  roundSeconds: number;
  voteSeconds: number;
  entriesPerRound: number;
  /** Whether its channel was age-restricted at the start (undefined: unknown, asked per entry). */
  ageRestricted?: boolean;
  round: number;
  phase: SessionPhase;
  phaseEndsAt?: number;
  epoch: number;
  pausedAt?: number;
  pausedLeftMs?: number;
  seriesId?: string;
  recapMessageId?: string;
  recapDone: boolean;
  createdAt: number;
  endedAt?: number;
}

export interface SessionRound {
  number: number;
  twist: string;
  baseImageId?: string;
  entryCount: number;
  winnerEntry?: number;
  winnerVotes?: number;
  skipped: boolean;
  openedMessageId?: string;
  votingPosted: boolean;
  resultMessageId?: string;
}

export interface SessionEntry {
  round: number;
  number: number;
  id: string;
  userId?: string;
  userName: string;
  prompt: string;
  imageId?: string;
  state: 'drawing' | 'ready' | 'missed';
  createdAt: number;
}

export type NewSession = Pick<
  Session,
  | 'id'
  | 'guildId'
  | 'channelId'
  | 'threadId'
  | 'theme'
  | 'mode'
  | 'rounds'
  | 'roundSeconds'
  | 'voteSeconds'
  | 'entriesPerRound'
  | 'ageRestricted'
  | 'createdAt'
> & { hostId: string; twists: string[]; phaseEndsAt: number };

export type ReserveResult =
  { ok: true; number: number; baseImageId?: string } | { ok: false; reason: 'missing' | 'closed' | 'paused' | 'limit'; session?: Session };

export type VoteResult =
  { ok: true } | { ok: false; reason: 'missing' | 'closed' | 'no_entry' | 'own' | 'already'; votedFor?: number; session?: Session };

/** What a phase change may expect: the round and phase it ends (and, for a timer, the epoch it was set in). */
export interface PhaseRef {
  round: number;
  phase: SessionPhase;
}

type Executor = Database | Transaction<DB>;

const ms = (date: Date | null) => (date ? date.getTime() : undefined);

function toSession(row: Row<'sessions'>): Session {
  return {
    id: row.id,
    guildId: row.guild_id,
    channelId: row.channel_id,
    threadId: row.thread_id,
    panelMessageId: row.panel_message_id ?? undefined,
    hostId: row.host_id ?? undefined,
    theme: row.theme,
    mode: row.mode,
    rounds: row.rounds,
    roundSeconds: row.round_seconds,
    voteSeconds: row.vote_seconds,
    entriesPerRound: row.entries_per_round,
    ageRestricted: row.age_restricted ?? undefined,
    round: row.round,
    phase: row.phase,
    phaseEndsAt: ms(row.phase_ends_at),
    epoch: row.epoch,
    pausedAt: ms(row.paused_at),
    pausedLeftMs: row.paused_left_ms ?? undefined,
    seriesId: row.series_id ?? undefined,
    recapMessageId: row.recap_message_id ?? undefined,
    recapDone: row.recap_done,
    createdAt: row.created_at.getTime(),
    endedAt: ms(row.ended_at),
  };
}

function toRound(row: Row<'session_rounds'>): SessionRound {
  return {
    number: row.number,
    twist: row.twist,
    baseImageId: row.base_image_id ?? undefined,
    entryCount: row.entry_count,
    winnerEntry: row.winner_entry ?? undefined,
    winnerVotes: row.winner_votes ?? undefined,
    skipped: row.skipped,
    openedMessageId: row.opened_message_id ?? undefined,
    votingPosted: row.voting_posted,
    resultMessageId: row.result_message_id ?? undefined,
  };
}

export const FORMER_MEMBER_NAME = 'a former member';

function toEntry(row: Row<'session_entries'>): SessionEntry {
  return {
    round: row.round,
    number: row.number,
    id: row.id,
    userId: row.user_id ?? undefined,
    userName: row.user_id === null ? FORMER_MEMBER_NAME : (row.user_name ?? FORMER_MEMBER_NAME),
    prompt: row.prompt ?? '',
    imageId: row.image_id ?? undefined,
    state: row.state,
    createdAt: row.created_at.getTime(),
  };
}

export class SessionStore {
  constructor(private readonly db: Database) {}

  /**
   * Creates a session and its rounds, unless the server already runs `limit` sessions. The count
   * and the insert happen under a per-server advisory lock, so two starts cannot both slip under it.
   */
  async create(session: NewSession, limit: number): Promise<{ ok: true } | { ok: false; running: number }> {
    return this.db.transaction().execute(async (trx) => {
      await sql`SELECT pg_advisory_xact_lock(hashtext(${`atelier-sessions:${session.guildId}`}))`.execute(trx);
      const running = await this.runningCount(session.guildId, trx);
      if (running >= limit) return { ok: false as const, running };
      await trx
        .insertInto('sessions')
        .values({
          id: session.id,
          guild_id: session.guildId,
          channel_id: session.channelId,
          thread_id: session.threadId,
          host_id: session.hostId,
          theme: session.theme,
          mode: session.mode,
          rounds: session.rounds,
          round_seconds: session.roundSeconds,
          vote_seconds: session.voteSeconds,
          entries_per_round: session.entriesPerRound,
          age_restricted: session.ageRestricted ?? null,
          phase_ends_at: new Date(session.phaseEndsAt),
          created_at: new Date(session.createdAt),
        })
        .execute();
      await trx
        .insertInto('session_rounds')
        .values(session.twists.map((twist, index) => ({ session_id: session.id, number: index + 1, twist })))
        .execute();
      return { ok: true as const };
    });
  }

  async runningCount(guildId: string, db: Executor = this.db): Promise<number> {
    const row = await db
      .selectFrom('sessions')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('guild_id', '=', guildId)
      .where('phase', '<>', 'ended')
      .executeTakeFirst();
    return Number(row?.n ?? 0);
  }

  async get(id: string, db: Executor = this.db): Promise<Session | undefined> {
    const row = await db.selectFrom('sessions').selectAll().where('id', '=', id).executeTakeFirst();
    return row ? toSession(row) : undefined;
  }

  async byThread(threadId: string): Promise<Session | undefined> {
    const row = await this.db.selectFrom('sessions').selectAll().where('thread_id', '=', threadId).executeTakeFirst();
    return row ? toSession(row) : undefined;
  }

  /** Every session not ended yet, or ended with its recap still owed (the restart sweep catches them up). */
  async running(): Promise<Session[]> {
    const rows = await this.db
      .selectFrom('sessions')
      .selectAll()
      .where((eb) => eb.or([eb('phase', '<>', 'ended'), eb('recap_done', '=', false)]))
      .orderBy('created_at')
      .execute();
    return rows.map(toSession);
  }

  async record(id: string, values: { panelMessageId?: string; recapMessageId?: string; recapDone?: true; seriesId?: string }): Promise<void> {
    await this.db
      .updateTable('sessions')
      .set({
        ...(values.panelMessageId ? { panel_message_id: values.panelMessageId } : {}),
        ...(values.recapMessageId ? { recap_message_id: values.recapMessageId } : {}),
        ...(values.recapDone ? { recap_done: true } : {}),
        ...(values.seriesId ? { series_id: values.seriesId } : {}),
      })
      .where('id', '=', id)
      .execute();
  }

  async rounds(sessionId: string): Promise<SessionRound[]> {
    const rows = await this.db.selectFrom('session_rounds').selectAll().where('session_id', '=', sessionId).orderBy('number').execute();
    return rows.map(toRound);
  }

  async roundOf(sessionId: string, number: number): Promise<SessionRound | undefined> {
    const row = await this.db
      .selectFrom('session_rounds')
      .selectAll()
      .where('session_id', '=', sessionId)
      .where('number', '=', number)
      .executeTakeFirst();
    return row ? toRound(row) : undefined;
  }

  async recordRound(sessionId: string, number: number, values: { openedMessageId?: string; votingPosted?: true; resultMessageId?: string }) {
    await this.db
      .updateTable('session_rounds')
      .set({
        ...(values.openedMessageId ? { opened_message_id: values.openedMessageId } : {}),
        ...(values.votingPosted ? { voting_posted: true } : {}),
        ...(values.resultMessageId ? { result_message_id: values.resultMessageId } : {}),
      })
      .where('session_id', '=', sessionId)
      .where('number', '=', number)
      .execute();
  }

  /** Sets a round's twist; only a round that has not closed yet. */
  async setTwist(sessionId: string, number: number, twist: string): Promise<boolean> {
    const result = await this.db
      .updateTable('session_rounds')
      .set({ twist })
      .where('session_id', '=', sessionId)
      .where('number', '=', number)
      .where('winner_entry', 'is', null)
      .where('skipped', '=', false)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) > 0;
  }

  async entries(sessionId: string, round?: number): Promise<SessionEntry[]> {
    let query = this.db.selectFrom('session_entries').selectAll().where('session_id', '=', sessionId);
    if (round !== undefined) query = query.where('round', '=', round);
    const rows = await query.orderBy('round').orderBy('number').execute();
    return rows.map(toEntry);
  }

  async entry(id: string): Promise<(SessionEntry & { sessionId: string }) | undefined> {
    const row = await this.db.selectFrom('session_entries').selectAll().where('id', '=', id).executeTakeFirst();
    return row ? { ...toEntry(row), sessionId: row.session_id } : undefined;
  }

  /** Votes per entry of a round (entries without votes are absent). */
  async tally(sessionId: string, round: number, db: Executor = this.db): Promise<Map<number, number>> {
    const rows = await db
      .selectFrom('session_votes')
      .select(['entry', (eb) => eb.fn.countAll<number>().as('n')])
      .where('session_id', '=', sessionId)
      .where('round', '=', round)
      .groupBy('entry')
      .execute();
    return new Map(rows.map((row) => [row.entry, Number(row.n)]));
  }

  async votes(sessionId: string): Promise<Array<{ round: number; voterId: string; entry: number }>> {
    const rows = await this.db.selectFrom('session_votes').select(['round', 'voter_id', 'entry']).where('session_id', '=', sessionId).execute();
    return rows.map((row) => ({ round: row.round, voterId: row.voter_id, entry: row.entry }));
  }

  async voteOf(sessionId: string, round: number, voterId: string): Promise<number | undefined> {
    const row = await this.db
      .selectFrom('session_votes')
      .select('entry')
      .where('session_id', '=', sessionId)
      .where('round', '=', round)
      .where('voter_id', '=', voterId)
      .executeTakeFirst();
    return row?.entry;
  }

  private lock(trx: Transaction<DB>, id: string, mode: 'update' | 'share') {
    const query = trx.selectFrom('sessions').selectAll().where('id', '=', id);
    return (mode === 'update' ? query.forUpdate() : query.forShare()).executeTakeFirst();
  }

  /**
   * Reserves the next entry number of the round that is taking entries, for the member's request
   * (`id`, its interaction id). Refused when the round is not taking entries or the member has
   * made as many entries this round as the session allows.
   */
  async reserveEntry(
    sessionId: string,
    entry: { id: string; userId: string; userName: string; prompt: string; createdAt: number },
  ): Promise<ReserveResult> {
    return this.db.transaction().execute(async (trx): Promise<ReserveResult> => {
      const row = await this.lock(trx, sessionId, 'share');
      if (!row) return { ok: false, reason: 'missing' };
      const session = toSession(row);
      if (session.phase !== 'entries') return { ok: false, reason: 'closed', session };
      if (session.pausedAt) return { ok: false, reason: 'paused', session };
      // Entries hold the session's lock shared, so they run side by side: two entries by one member
      // could each count the entries made before both and both slip under the limit. The round's
      // row, locked before counting, lets one entry at a time count and take its number.
      await trx
        .selectFrom('session_rounds')
        .select('number')
        .where('session_id', '=', sessionId)
        .where('number', '=', session.round)
        .forUpdate()
        .executeTakeFirst();
      const mine = await trx
        .selectFrom('session_entries')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('session_id', '=', sessionId)
        .where('round', '=', session.round)
        .where('user_id', '=', entry.userId)
        .executeTakeFirst();
      if (Number(mine?.n ?? 0) >= session.entriesPerRound) return { ok: false, reason: 'limit', session };
      // The round row is also the counter: each entry takes the next number.
      const round = await trx
        .updateTable('session_rounds')
        .set((eb) => ({ entry_count: eb('entry_count', '+', 1) }))
        .where('session_id', '=', sessionId)
        .where('number', '=', session.round)
        .returning(['entry_count', 'base_image_id'])
        .executeTakeFirstOrThrow();
      await trx
        .insertInto('session_entries')
        .values({
          session_id: sessionId,
          round: session.round,
          number: round.entry_count,
          id: entry.id,
          user_id: entry.userId,
          user_name: entry.userName.slice(0, 64),
          prompt: entry.prompt,
          created_at: new Date(entry.createdAt),
        })
        .execute();
      return { ok: true, number: round.entry_count, baseImageId: round.base_image_id ?? undefined };
    });
  }

  /** Gives back a reservation whose request was refused (quota, blocklist…): it never counted. */
  async dropEntry(id: string): Promise<void> {
    await this.db.deleteFrom('session_entries').where('id', '=', id).where('image_id', 'is', null).execute();
  }

  /**
   * The entry's picture arrived. Only an entry still being drawn takes it: one that missed its
   * round (the round stopped waiting) stays out. Returns the entry when it was filled.
   */
  async fillEntry(id: string, imageId: string): Promise<{ sessionId: string; round: number } | undefined> {
    const row = await this.db
      .updateTable('session_entries')
      .set({ image_id: imageId, state: 'ready' })
      .where('id', '=', id)
      .where('state', '=', 'drawing')
      .returning(['session_id', 'round'])
      .executeTakeFirst();
    return row ? { sessionId: row.session_id, round: row.round } : undefined;
  }

  /** Entries of the round still being drawn. */
  async drawing(sessionId: string, round: number): Promise<SessionEntry[]> {
    const rows = await this.db
      .selectFrom('session_entries')
      .selectAll()
      .where('session_id', '=', sessionId)
      .where('round', '=', round)
      .where('state', '=', 'drawing')
      .execute();
    return rows.map(toEntry);
  }

  async markMissed(ids: readonly string[]): Promise<void> {
    if (ids.length === 0) return;
    await this.db
      .updateTable('session_entries')
      .set({ state: 'missed' })
      .where('id', 'in', [...ids])
      .where('state', '=', 'drawing')
      .execute();
  }

  /**
   * Moves the session from `from` to the next phase, in one transaction: `change` decides what the
   * next phase is from the locked row (and may write the round's outcome). Nothing happens when the
   * session is not where `from` says (the timer fired twice, the host moved it on) or is paused.
   */
  async advance(
    sessionId: string,
    from: PhaseRef,
    change: (trx: Transaction<DB>, session: Session) => Promise<{ round: number; phase: SessionPhase; phaseEndsAt?: number; endedAt?: number }>,
  ): Promise<Session | undefined> {
    return this.db.transaction().execute(async (trx) => {
      const row = await this.lock(trx, sessionId, 'update');
      if (!row) return undefined;
      const session = toSession(row);
      if (session.round !== from.round || session.phase !== from.phase || session.pausedAt) return undefined;
      const next = await change(trx, session);
      const updated = await trx
        .updateTable('sessions')
        .set({
          round: next.round,
          phase: next.phase,
          phase_ends_at: next.phaseEndsAt === undefined ? null : new Date(next.phaseEndsAt),
          ...(next.endedAt ? { ended_at: new Date(next.endedAt) } : {}),
        })
        .where('id', '=', sessionId)
        .returningAll()
        .executeTakeFirstOrThrow();
      return toSession(updated);
    });
  }

  /** Within `advance`: the entries of a round that have their picture. */
  async readyEntries(trx: Executor, sessionId: string, round: number): Promise<SessionEntry[]> {
    const rows = await trx
      .selectFrom('session_entries')
      .selectAll()
      .where('session_id', '=', sessionId)
      .where('round', '=', round)
      .where('state', '=', 'ready')
      .orderBy('number')
      .execute();
    return rows.map(toEntry);
  }

  async closeRound(
    trx: Executor,
    sessionId: string,
    round: number,
    outcome: { skipped: true } | { winnerEntry: number; winnerVotes: number },
  ): Promise<void> {
    await trx
      .updateTable('session_rounds')
      .set('skipped' in outcome ? { skipped: true } : { winner_entry: outcome.winnerEntry, winner_votes: outcome.winnerVotes, skipped: false })
      .where('session_id', '=', sessionId)
      .where('number', '=', round)
      .execute();
  }

  async setBase(trx: Executor, sessionId: string, round: number, imageId: string | undefined): Promise<void> {
    await trx
      .updateTable('session_rounds')
      .set({ base_image_id: imageId ?? null })
      .where('session_id', '=', sessionId)
      .where('number', '=', round)
      .execute();
  }

  /** Pauses a running phase, keeping what was left of it. */
  async pause(sessionId: string, now: number): Promise<Session | undefined> {
    const row = await this.db
      .updateTable('sessions')
      .set((eb) => ({
        paused_at: new Date(now),
        paused_left_ms: sql<number>`GREATEST(0, ROUND(EXTRACT(EPOCH FROM (phase_ends_at - ${new Date(now)})) * 1000))::integer`,
        epoch: eb('epoch', '+', 1),
      }))
      .where('id', '=', sessionId)
      .where('phase', '<>', 'ended')
      .where('paused_at', 'is', null)
      .returningAll()
      .executeTakeFirst();
    return row ? toSession(row) : undefined;
  }

  /** Resumes a paused phase: its deadline is now plus what was left when it was paused. */
  async resume(sessionId: string, now: number): Promise<Session | undefined> {
    const row = await this.db
      .updateTable('sessions')
      .set({
        paused_at: null,
        phase_ends_at: sql<Date>`${new Date(now)}::timestamptz + make_interval(secs => COALESCE(paused_left_ms, 0) / 1000.0)`,
        paused_left_ms: null,
      })
      .where('id', '=', sessionId)
      .where('phase', '<>', 'ended')
      .where('paused_at', 'is not', null)
      .returningAll()
      .executeTakeFirst();
    return row ? toSession(row) : undefined;
  }

  /**
   * One vote per member per round, for an entry of the round being voted on that is not their
   * own. Under the session's shared lock: the tally (which takes it exclusively) sees every vote
   * that was accepted.
   */
  async vote(sessionId: string, round: number, entryNumber: number, voterId: string, now: number): Promise<VoteResult> {
    return this.db.transaction().execute(async (trx): Promise<VoteResult> => {
      const row = await this.lock(trx, sessionId, 'share');
      if (!row) return { ok: false, reason: 'missing' };
      const session = toSession(row);
      if (session.round !== round || session.phase !== 'voting' || session.pausedAt) return { ok: false, reason: 'closed', session };
      const entry = await trx
        .selectFrom('session_entries')
        .select(['user_id', 'state'])
        .where('session_id', '=', sessionId)
        .where('round', '=', round)
        .where('number', '=', entryNumber)
        .executeTakeFirst();
      if (!entry || entry.state !== 'ready') return { ok: false, reason: 'no_entry', session };
      if (entry.user_id === voterId) return { ok: false, reason: 'own', session };
      const inserted = await trx
        .insertInto('session_votes')
        .values({ session_id: sessionId, round, voter_id: voterId, entry: entryNumber, created_at: new Date(now) })
        .onConflict((conflict) => conflict.columns(['session_id', 'round', 'voter_id']).doNothing())
        .returning('entry')
        .executeTakeFirst();
      if (inserted) return { ok: true };
      const existing = await trx
        .selectFrom('session_votes')
        .select('entry')
        .where('session_id', '=', sessionId)
        .where('round', '=', round)
        .where('voter_id', '=', voterId)
        .executeTakeFirst();
      return { ok: false, reason: 'already', votedFor: existing?.entry, session };
    });
  }

  /**
   * Ends a session at once (the host's /session end); undefined when it had ended already.
   * `closing` runs first, in the same transaction and with the session row locked as it was (a
   * vote under way is counted there: no vote slips in between, none opens another round).
   */
  async end(
    sessionId: string,
    now: number,
    closing?: (trx: Transaction<DB>, session: Session) => Promise<void>,
  ): Promise<{ before: Session; ended: Session } | undefined> {
    return this.db.transaction().execute(async (trx) => {
      const row = await this.lock(trx, sessionId, 'update');
      if (!row || row.phase === 'ended') return undefined;
      const before = toSession(row);
      if (closing) await closing(trx, before);
      const updated = await trx
        .updateTable('sessions')
        .set({ phase: 'ended', phase_ends_at: null, ended_at: new Date(now), paused_at: null, paused_left_ms: null })
        .where('id', '=', sessionId)
        .returningAll()
        .executeTakeFirstOrThrow();
      return { before, ended: toSession(updated) };
    });
  }

  /** The server's running sessions (the bot was removed from it). */
  async runningInGuild(guildId: string): Promise<Session[]> {
    const rows = await this.db.selectFrom('sessions').selectAll().where('guild_id', '=', guildId).where('phase', '<>', 'ended').execute();
    return rows.map(toSession);
  }

  /** Ends a session without a recap: nothing more is posted for it. */
  async endSilently(sessionId: string, now: number): Promise<boolean> {
    const result = await this.db
      .updateTable('sessions')
      .set({ phase: 'ended', phase_ends_at: null, ended_at: new Date(now), paused_at: null, paused_left_ms: null, recap_done: true })
      .where('id', '=', sessionId)
      .where('phase', '<>', 'ended')
      .executeTakeFirst();
    return Number(result.numUpdatedRows) > 0;
  }

  /**
   * The session's winners (their entries' ids and pictures), in round order, saved as a finished
   * series in the session's thread. Names and prompts come from the entries as stored now: the
   * entry of a member who deleted their data (/privacy) makes a panel without either.
   */
  async saveAsSeries(session: Session, panels: Array<{ id: string; imageId: string }>, now: number): Promise<string | undefined> {
    if (panels.length === 0) return undefined;
    return this.db.transaction().execute(async (trx) => {
      const current = await this.lock(trx, session.id, 'update');
      if (current?.series_id) return current.series_id;
      const entryIds = panels.map((panel) => panel.id);
      const stored = await trx.selectFrom('session_entries').select(['id', 'user_id', 'user_name', 'prompt']).where('id', 'in', entryIds).execute();
      const authors = new Map(stored.map((entry) => [entry.id, entry]));
      const maxPanels = Math.max(2, panels.length);
      const seriesId = session.id;
      await trx
        .insertInto('series')
        .values({
          id: seriesId,
          guild_id: session.guildId,
          channel_id: session.channelId,
          thread_id: session.threadId,
          title: session.theme.slice(0, 100),
          mode: 'open',
          max_panels: maxPanels,
          panel_count: panels.length,
          creator_id: current?.host_id ?? null,
          status: panels.length === maxPanels ? 'complete' : 'closed',
          turn: panels.length,
          created_at: new Date(session.createdAt),
          completed_at: new Date(now),
        })
        .onConflict((conflict) => conflict.column('id').doNothing())
        .execute();
      await trx
        .insertInto('series_panels')
        .values(
          panels.map((panel, index) => {
            const entry = authors.get(panel.id);
            const named = entry?.user_id ? entry : undefined;
            return {
              id: `${seriesId}-${index + 1}`,
              series_id: seriesId,
              number: index + 1,
              user_id: named?.user_id ?? null,
              user_name: named?.user_name?.slice(0, 64) ?? null,
              prompt: named?.prompt ?? null,
              image_id: panel.imageId,
              created_at: new Date(now),
            };
          }),
        )
        .onConflict((conflict) => conflict.column('id').doNothing())
        .execute();
      await trx.updateTable('sessions').set({ series_id: seriesId }).where('id', '=', session.id).execute();
      return seriesId;
    });
  }

  /**
   * /privacy: the member's votes go; their entries stay (rounds and votes still refer to them)
   * without their name or prompt, and the sessions they host lose their host.
   */
  async deleteMemberData(userId: string): Promise<number> {
    return this.db.transaction().execute(async (trx) => {
      const votes = await trx.deleteFrom('session_votes').where('voter_id', '=', userId).executeTakeFirst();
      const entries = await trx
        .updateTable('session_entries')
        .set({ user_id: null, user_name: null, prompt: null })
        .where('user_id', '=', userId)
        .executeTakeFirst();
      const hosted = await trx.updateTable('sessions').set({ host_id: null }).where('host_id', '=', userId).executeTakeFirst();
      return Number(votes.numDeletedRows) + Number(entries.numUpdatedRows) + Number(hosted.numUpdatedRows);
    });
  }
}
