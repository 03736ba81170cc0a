import { sql, type Selectable } from 'kysely';
import type { Database } from '../../db/connection.js';
import type { ChallengePhase, ChallengesTable, RowUpdate } from '../../db/schema.js';
import {
  DELETED_MEMBER,
  ENTRY_POINTS,
  challengeIdPattern,
  openPhases,
  rank,
  scheduleSchema,
  seasonOf,
  type Challenge,
  type ChallengeSchedule,
  type Entry,
  type NewChallenge,
  type PhaseChanges,
  type PostedState,
  type RankedEntry,
  type SubmitResult,
  type VoteResult,
  type WithdrawResult,
} from './model.js';

/**
 * Challenge phase changes in PostgreSQL: compare-and-set on (id, expected phase). A deadline that
 * fires twice, from two bot processes or a retried job, finds the phase already moved and
 * changes nothing.
 */
export async function transition(
  db: Database,
  challengeId: string,
  from: ChallengePhase,
  to: ChallengePhase,
  changes: Omit<RowUpdate<'challenges'>, 'id' | 'phase'> = {},
): Promise<boolean> {
  const result = await db
    .updateTable('challenges')
    .set({ ...changes, phase: to })
    .where('id', '=', challengeId)
    .where('phase', '=', from)
    .executeTakeFirst();
  return result.numUpdatedRows === 1n;
}

/**
 * Awards season points; a (challenge, member, reason) already awarded is skipped, so a results
 * transition that runs again gives nobody points twice. Returns how many rows were new.
 */
export async function awardPoints(
  db: Database,
  awards: { guildId: string; season: string; challengeId: string; userId: string; reason: 'entry' | 'podium'; points: number }[],
): Promise<number> {
  if (awards.length === 0) return 0;
  const result = await db
    .insertInto('season_points')
    .values(
      awards.map((award) => ({
        guild_id: award.guildId,
        season: award.season,
        challenge_id: award.challengeId,
        user_id: award.userId,
        reason: award.reason,
        points: award.points,
      })),
    )
    .onConflict((conflict) => conflict.columns(['challenge_id', 'user_id', 'reason']).doNothing())
    .executeTakeFirst();
  return Number(result.numInsertedOrUpdatedRows ?? 0n);
}

/** The season's leaderboard: points per member, most first. */
export async function leaderboard(db: Database, guildId: string, season: string): Promise<{ user_id: string; points: number }[]> {
  return db
    .selectFrom('season_points')
    .select((eb) => ['user_id', eb.fn.sum<number>('points').as('points')])
    .where('guild_id', '=', guildId)
    .where('season', '=', season)
    .groupBy('user_id')
    .orderBy('points', 'desc')
    .orderBy('user_id')
    .execute();
}

const ms = (date: Date | null): number | undefined => (date ? date.getTime() : undefined);
const orUndefined = <T>(value: T | null): T | undefined => value ?? undefined;
const date = (time: number | undefined): Date | undefined => (time === undefined ? undefined : new Date(time));

interface EntryRow {
  entry_number: number;
  image_id: string;
  request_id: string | null;
  user_id: string | null;
  submitted_at: Date;
}

function entryOf(row: EntryRow): Entry {
  return {
    id: row.entry_number,
    imageId: row.image_id,
    jobId: row.request_id ?? '',
    userId: row.user_id ?? DELETED_MEMBER,
    submittedAt: row.submitted_at.getTime(),
  };
}

function challengeOf(row: Selectable<ChallengesTable>, ranking: RankedEntry[]): Challenge {
  return {
    id: row.id,
    guildId: row.guild_id,
    channelId: row.channel_id,
    theme: row.theme,
    phase: row.phase,
    submitDays: row.submit_days,
    voteDays: row.vote_days,
    scheduled: row.scheduled,
    createdBy: row.created_by ?? DELETED_MEMBER,
    createdAt: row.created_at.getTime(),
    announcedAt: ms(row.announced_at),
    submissionsEndAt: ms(row.submissions_end_at),
    votingEndAt: ms(row.voting_end_at),
    votingStartedAt: ms(row.voting_started_at),
    resultsAt: ms(row.results_at),
    cancelledAt: ms(row.cancelled_at),
    cancelledBy: orUndefined(row.cancelled_by),
    season: orUndefined(row.season),
    announceMessageId: orUndefined(row.announce_message_id),
    threadId: orUndefined(row.thread_id),
    votingMessageId: orUndefined(row.voting_message_id),
    galleryPosted: row.gallery_posted,
    resultMessageId: orUndefined(row.result_message_id),
    cancelMessageId: orUndefined(row.cancel_message_id),
    pausedAt: ms(row.paused_at),
    pausedNote: orUndefined(row.paused_note),
    ranking,
  };
}

const entryColumns = ['entry_number', 'image_id', 'request_id', 'user_id', 'submitted_at'] as const;

/**
 * Challenges, entries, challenge votes, season points, the theme pool and the weekly schedule.
 * The rules that must hold under concurrency come from the database: one running challenge per
 * server (a partial unique index), phase changes as compare-and-set, one vote per member per entry
 * (the primary key), points awarded once (the ledger's primary key). Entry numbers and the
 * per-member limit are kept under the challenge row's lock.
 */
export class ChallengeStore {
  constructor(private readonly db: Database) {}

  /** Creates a challenge in the announce phase unless the server already runs one (then: its id). */
  async create(challenge: NewChallenge): Promise<{ created: boolean; id: string }> {
    // The running one may end between the refused insert and the look-up: then try again.
    for (let attempt = 0; ; attempt++) {
      const outcome = await this.tryCreate(challenge);
      if (outcome.created || outcome.id || attempt === 2) return outcome;
    }
  }

  private async tryCreate(challenge: NewChallenge): Promise<{ created: boolean; id: string }> {
    const inserted = await this.db
      .insertInto('challenges')
      .values({
        guild_id: challenge.guildId,
        channel_id: challenge.channelId,
        theme: challenge.theme,
        phase: 'announce',
        submit_days: challenge.submitDays,
        vote_days: challenge.voteDays,
        scheduled: challenge.scheduled,
        created_by: challenge.createdBy,
        created_at: new Date(challenge.createdAt),
      })
      // challenges_one_open: the server runs one already.
      .onConflict((conflict) => conflict.doNothing())
      .returning('id')
      .executeTakeFirst();
    if (inserted) return { created: true, id: inserted.id };
    const running = await this.activeRow(challenge.guildId);
    return { created: false, id: running?.id ?? '' };
  }

  async get(id: string): Promise<Challenge | undefined> {
    if (!challengeIdPattern.test(id)) return undefined;
    const row = await this.db.selectFrom('challenges').selectAll().where('id', '=', id).executeTakeFirst();
    if (!row) return undefined;
    return challengeOf(row, await this.ranking(id));
  }

  private activeRow(guildId: string) {
    return this.db.selectFrom('challenges').selectAll().where('guild_id', '=', guildId).where('phase', 'in', openPhases).executeTakeFirst();
  }

  /** The server's running challenge, if any. */
  async active(guildId: string): Promise<Challenge | undefined> {
    const row = await this.activeRow(guildId);
    return row ? challengeOf(row, []) : undefined;
  }

  /** Every server's running challenge that is not paused (their deadlines are restored from here). */
  async runningUnpaused(): Promise<Challenge[]> {
    const rows = await this.db.selectFrom('challenges').selectAll().where('phase', 'in', openPhases).where('paused_at', 'is', null).execute();
    return rows.map((row) => challengeOf(row, []));
  }

  /** Every entry ranked by the results transition, best first. */
  private async ranking(id: string): Promise<RankedEntry[]> {
    return (await this.rankings([id])).get(id) ?? [];
  }

  private async rankings(ids: string[]): Promise<Map<string, RankedEntry[]>> {
    const byChallenge = new Map<string, RankedEntry[]>();
    if (ids.length === 0) return byChallenge;
    const rows = await this.db
      .selectFrom('challenge_entries')
      .select(['challenge_id', ...entryColumns, 'votes', 'place', 'points'])
      .where('challenge_id', 'in', ids)
      .where('place', 'is not', null)
      .orderBy('challenge_id')
      .orderBy('place')
      .execute();
    for (const row of rows) {
      const list = byChallenge.get(row.challenge_id) ?? [];
      list.push({ ...entryOf(row), votes: row.votes ?? 0, place: row.place!, points: row.points ?? 0 });
      byChallenge.set(row.challenge_id, list);
    }
    return byChallenge;
  }

  /**
   * Moves the challenge to `to` only if its phase is one of `from`, setting `changes` in the same
   * statement. Results and cancellation release the server's "running challenge" slot by
   * themselves (the unique index covers open phases only).
   */
  async advance(
    id: string,
    from: readonly ChallengePhase[],
    to: Exclude<ChallengePhase, 'results'>,
    changes: PhaseChanges = {},
  ): Promise<{ ok: boolean; previous: ChallengePhase | undefined }> {
    if (!challengeIdPattern.test(id)) return { ok: false, previous: undefined };
    return this.db.transaction().execute(async (trx) => {
      const current = await trx.selectFrom('challenges').select('phase').where('id', '=', id).forUpdate().executeTakeFirst();
      if (!current) return { ok: false, previous: undefined };
      if (!from.includes(current.phase)) return { ok: false, previous: current.phase };
      await trx
        .updateTable('challenges')
        .set({
          phase: to,
          announced_at: date(changes.announcedAt),
          submissions_end_at: date(changes.submissionsEndAt),
          voting_started_at: date(changes.votingStartedAt),
          voting_end_at: date(changes.votingEndAt),
          cancelled_at: date(changes.cancelledAt),
          cancelled_by: changes.cancelledBy,
        })
        .where('id', '=', id)
        .execute();
      return { ok: true, previous: current.phase };
    });
  }

  /**
   * voting → results: counts the votes, ranks the entries, awards season points and closes, in
   * one transaction holding the challenge row, so no vote lands between counting and closing
   * (a vote takes the same row in share mode) and a second run finds the phase moved.
   */
  async tally(id: string, now: number): Promise<{ ok: boolean; previous: ChallengePhase | undefined }> {
    if (!challengeIdPattern.test(id)) return { ok: false, previous: undefined };
    return this.db.transaction().execute(async (trx) => {
      const challenge = await trx.selectFrom('challenges').select(['phase', 'guild_id']).where('id', '=', id).forUpdate().executeTakeFirst();
      if (!challenge) return { ok: false, previous: undefined };
      if (challenge.phase !== 'voting') return { ok: false, previous: challenge.phase };
      const rows = await trx
        .selectFrom('challenge_entries as e')
        .leftJoin('challenge_votes as v', (join) =>
          join.onRef('v.challenge_id', '=', 'e.challenge_id').onRef('v.entry_number', '=', 'e.entry_number'),
        )
        .select(['e.entry_number', 'e.image_id', 'e.request_id', 'e.user_id', 'e.submitted_at', sql<number>`count(v.user_id)::int`.as('votes')])
        .where('e.challenge_id', '=', id)
        .where('e.withdrawn_at', 'is', null)
        .groupBy(['e.entry_number', 'e.image_id', 'e.request_id', 'e.user_id', 'e.submitted_at'])
        .execute();
      const ranked = rank(rows.map((row) => ({ ...entryOf(row), votes: row.votes })));
      for (const entry of ranked) {
        await trx
          .updateTable('challenge_entries')
          .set({ votes: entry.votes, place: entry.place, points: entry.points })
          .where('challenge_id', '=', id)
          .where('entry_number', '=', entry.id)
          .execute();
      }
      const season = seasonOf(now);
      // The ledger has one row per (challenge, member, reason): a member's entries add up.
      const totals = new Map<string, { entry: number; podium: number }>();
      for (const entry of ranked) {
        if (entry.userId === DELETED_MEMBER) continue;
        const total = totals.get(entry.userId) ?? { entry: 0, podium: 0 };
        total.entry += ENTRY_POINTS;
        total.podium += entry.points - ENTRY_POINTS;
        totals.set(entry.userId, total);
      }
      await awardPoints(
        trx,
        [...totals].flatMap(([userId, total]) =>
          (['entry', 'podium'] as const)
            .filter((reason) => total[reason] > 0)
            .map((reason) => ({ guildId: challenge.guild_id, season, challengeId: id, userId, reason, points: total[reason] })),
        ),
      );
      await trx
        .updateTable('challenges')
        .set({ phase: 'results', results_at: new Date(now), season })
        .where('id', '=', id)
        .execute();
      return { ok: true, previous: challenge.phase };
    });
  }

  /** Records Discord ids (messages, thread) as posts land. */
  async record(id: string, posted: PostedState): Promise<void> {
    await this.db
      .updateTable('challenges')
      .set({
        announce_message_id: posted.announceMessageId,
        thread_id: posted.threadId,
        voting_message_id: posted.votingMessageId,
        gallery_posted: posted.galleryPosted,
        result_message_id: posted.resultMessageId,
        cancel_message_id: posted.cancelMessageId,
      })
      .where('id', '=', id)
      .execute();
  }

  /** Pauses the challenge with a note for its admins; false when it was paused already (or is gone). */
  async pause(id: string, note: string, now: number): Promise<boolean> {
    const result = await this.db
      .updateTable('challenges')
      .set({ paused_at: new Date(now), paused_note: note.slice(0, 1000) })
      .where('id', '=', id)
      .where('paused_at', 'is', null)
      .executeTakeFirst();
    return result.numUpdatedRows === 1n;
  }

  /** Lifts a pause (an admin moves the challenge on). */
  async resume(id: string): Promise<void> {
    await this.db.updateTable('challenges').set({ paused_at: null, paused_note: null }).where('id', '=', id).execute();
  }

  /**
   * Enters a picture. The challenge row is locked for the step, so the entry number, the
   * duplicate check and the member's limit hold however many submissions arrive at once.
   */
  async submit(id: string, entry: { userId: string; imageId: string; jobId: string }, now: number, maxEntries: number): Promise<SubmitResult> {
    if (!challengeIdPattern.test(id)) return { ok: false, reason: 'closed' };
    return this.db.transaction().execute(async (trx): Promise<SubmitResult> => {
      const challenge = await trx
        .selectFrom('challenges')
        .select(['phase', 'submissions_end_at'])
        .where('id', '=', id)
        .forUpdate()
        .executeTakeFirst();
      if (challenge?.phase !== 'submissions' || !challenge.submissions_end_at) return { ok: false, reason: 'closed' };
      if (now >= challenge.submissions_end_at.getTime()) return { ok: false, reason: 'late' };
      const entries = trx.selectFrom('challenge_entries').where('challenge_id', '=', id).where('withdrawn_at', 'is', null);
      if (await entries.select('entry_number').where('image_id', '=', entry.imageId).executeTakeFirst()) return { ok: false, reason: 'duplicate' };
      const { count } = await entries
        .select(sql<number>`count(*)::int`.as('count'))
        .where('user_id', '=', entry.userId)
        .executeTakeFirstOrThrow();
      if (count >= maxEntries) return { ok: false, reason: 'limit', count };
      const { entry_seq: entryId } = await trx
        .updateTable('challenges')
        .set((eb) => ({ entry_seq: eb('entry_seq', '+', 1) }))
        .where('id', '=', id)
        .returning('entry_seq')
        .executeTakeFirstOrThrow();
      await trx
        .insertInto('challenge_entries')
        .values({
          challenge_id: id,
          entry_number: entryId,
          image_id: entry.imageId,
          // The request that made the picture, as the archive knows it (the caller's word is not needed).
          request_id: trx.selectFrom('images').select('request_id').where('id', '=', entry.imageId),
          user_id: entry.userId,
          submitted_at: new Date(now),
        })
        .execute();
      return { ok: true, entryId, count: count + 1 };
    });
  }

  /** Takes back one of the member's entries while entries are open (its number is not reused). */
  async withdraw(id: string, userId: string, entryId: number): Promise<WithdrawResult> {
    if (!challengeIdPattern.test(id)) return { ok: false, reason: 'closed' };
    return this.db.transaction().execute(async (trx): Promise<WithdrawResult> => {
      const challenge = await trx.selectFrom('challenges').select('phase').where('id', '=', id).forUpdate().executeTakeFirst();
      if (challenge?.phase !== 'submissions') return { ok: false, reason: 'closed' };
      const removed = await trx
        .deleteFrom('challenge_entries')
        .where('challenge_id', '=', id)
        .where('entry_number', '=', entryId)
        .where('user_id', '=', userId)
        .returning(entryColumns)
        .executeTakeFirst();
      return removed ? { ok: true, entry: entryOf(removed) } : { ok: false, reason: 'unknown' };
    });
  }

  /**
   * One vote per member per entry (the primary key), not for one's own entry, while voting is
   * open. The challenge row is held in share mode: votes run side by side, the tally waits.
   */
  async vote(id: string, userId: string, entryId: number, now: number): Promise<VoteResult> {
    if (!challengeIdPattern.test(id) || !Number.isSafeInteger(entryId)) return { ok: false, reason: 'unknown' };
    return this.db.transaction().execute(async (trx): Promise<VoteResult> => {
      const challenge = await trx.selectFrom('challenges').select(['phase', 'voting_end_at']).where('id', '=', id).forShare().executeTakeFirst();
      if (challenge?.phase !== 'voting' || !challenge.voting_end_at || now >= challenge.voting_end_at.getTime()) {
        return { ok: false, reason: 'closed' };
      }
      const entry = await trx
        .selectFrom('challenge_entries')
        .select('user_id')
        .where('challenge_id', '=', id)
        .where('entry_number', '=', entryId)
        .where('withdrawn_at', 'is', null)
        .executeTakeFirst();
      if (!entry) return { ok: false, reason: 'unknown' };
      if (entry.user_id === userId) return { ok: false, reason: 'self' };
      const inserted = await trx
        .insertInto('challenge_votes')
        .values({ challenge_id: id, entry_number: entryId, user_id: userId, created_at: new Date(now) })
        .onConflict((conflict) => conflict.columns(['challenge_id', 'entry_number', 'user_id']).doNothing())
        .executeTakeFirst();
      return Number(inserted.numInsertedOrUpdatedRows ?? 0n) === 1 ? { ok: true } : { ok: false, reason: 'already' };
    });
  }

  /**
   * For /privacy: the member's entries stay (results and history still add up) but become
   * anonymous, and their season points go. Found through the member indexes, no scan.
   */
  async anonymizeMember(userId: string): Promise<number> {
    return this.db.transaction().execute(async (trx) => {
      const entries = await trx.updateTable('challenge_entries').set({ user_id: null }).where('user_id', '=', userId).executeTakeFirst();
      await trx.deleteFrom('season_points').where('user_id', '=', userId).execute();
      // The admin who started a challenge is a member too.
      await trx.updateTable('challenges').set({ created_by: null }).where('created_by', '=', userId).execute();
      await trx.updateTable('challenges').set({ cancelled_by: null }).where('cancelled_by', '=', userId).execute();
      return Number(entries.numUpdatedRows);
    });
  }

  /**
   * For /privacy: the member's votes leave every challenge, so an open one no longer counts them
   * (results already announced keep the counts they were announced with). Returns how many went.
   */
  async removeVotesOf(userId: string): Promise<number> {
    const result = await this.db.deleteFrom('challenge_votes').where('user_id', '=', userId).executeTakeFirst();
    return Number(result.numDeletedRows);
  }

  /** Entries in submission order. */
  async entries(id: string): Promise<Entry[]> {
    if (!challengeIdPattern.test(id)) return [];
    const rows = await this.db
      .selectFrom('challenge_entries')
      .select(entryColumns)
      .where('challenge_id', '=', id)
      .where('withdrawn_at', 'is', null)
      .orderBy('entry_number')
      .execute();
    return rows.map(entryOf);
  }

  async entry(id: string, entryId: number): Promise<Entry | undefined> {
    return (await this.entries(id)).find((entry) => entry.id === entryId);
  }

  async entriesOf(id: string, userId: string): Promise<Entry[]> {
    return (await this.entries(id)).filter((entry) => entry.userId === userId);
  }

  async recordGalleryMessage(id: string, entryId: number, messageId: string): Promise<void> {
    await this.db
      .updateTable('challenge_entries')
      .set({ gallery_message_id: messageId })
      .where('challenge_id', '=', id)
      .where('entry_number', '=', entryId)
      .execute();
  }

  /**
   * The gallery posts that show these pictures, or this member's entries: where each one is, to
   * take a deleted picture out of it.
   */
  async galleryPostsShowing(
    showing: { imageIds: readonly string[] } | { userId: string },
  ): Promise<Array<{ challengeId: string; entry: number; channelId: string; messageId: string }>> {
    if ('imageIds' in showing && showing.imageIds.length === 0) return [];
    let query = this.db
      .selectFrom('challenge_entries')
      .innerJoin('challenges', 'challenges.id', 'challenge_entries.challenge_id')
      .select([
        'challenge_entries.challenge_id',
        'challenge_entries.entry_number',
        'challenge_entries.gallery_message_id',
        'challenges.thread_id',
        'challenges.channel_id',
      ])
      .where('challenge_entries.gallery_message_id', 'is not', null);
    query =
      'userId' in showing
        ? query.where('challenge_entries.user_id', '=', showing.userId)
        : query.where('challenge_entries.image_id', 'in', showing.imageIds);
    const rows = await query.execute();
    return rows.map((row) => ({
      challengeId: row.challenge_id,
      entry: row.entry_number,
      // The gallery went to the entries thread when there was one (see postGallery).
      channelId: row.thread_id ?? row.channel_id,
      messageId: row.gallery_message_id!,
    }));
  }

  /** Entries whose gallery message is already posted. */
  async galleryMessages(id: string): Promise<Set<number>> {
    const rows = await this.db
      .selectFrom('challenge_entries')
      .select('entry_number')
      .where('challenge_id', '=', id)
      .where('gallery_message_id', 'is not', null)
      .execute();
    return new Set(rows.map((row) => row.entry_number));
  }

  async votes(id: string, entryId: number): Promise<number> {
    if (!challengeIdPattern.test(id)) return 0;
    const { count } = await this.db
      .selectFrom('challenge_votes')
      .select(sql<number>`count(*)::int`.as('count'))
      .where('challenge_id', '=', id)
      .where('entry_number', '=', entryId)
      .executeTakeFirstOrThrow();
    return count;
  }

  /** The server's challenges, newest first. */
  async history(guildId: string, count = 10): Promise<Challenge[]> {
    const rows = await this.db
      .selectFrom('challenges')
      .selectAll()
      .where('guild_id', '=', guildId)
      .orderBy('created_at', 'desc')
      .orderBy(sql`id::bigint`, 'desc')
      .limit(count)
      .execute();
    const rankings = await this.rankings(rows.map((row) => row.id));
    return rows.map((row) => challengeOf(row, rankings.get(row.id) ?? []));
  }

  /** Points per member in a season, most first (on equal points, as 0.1 listed them). */
  async leaderboard(guildId: string, season: string, count = 10): Promise<{ userId: string; points: number }[]> {
    const rows = await this.db
      .selectFrom('season_points')
      .select(['user_id', sql<number>`sum(points)::int`.as('points')])
      .where('guild_id', '=', guildId)
      .where('season', '=', season)
      .groupBy('user_id')
      .orderBy('points', 'desc')
      .orderBy('user_id', 'desc')
      .limit(count)
      .execute();
    return rows.map((row) => ({ userId: row.user_id, points: row.points }));
  }

  /** Seasons in which the server had results. */
  async seasons(guildId: string): Promise<string[]> {
    const rows = await this.db
      .selectFrom('challenges')
      .select('season')
      .distinct()
      .where('guild_id', '=', guildId)
      .where('phase', '=', 'results')
      .where('season', 'is not', null)
      .orderBy('season')
      .execute();
    return rows.map((row) => row.season!);
  }

  // Theme pool ---------------------------------------------------------------------

  async addTheme(guildId: string, theme: string, addedBy?: string): Promise<boolean> {
    const result = await this.db
      .insertInto('challenge_themes')
      .values({ guild_id: guildId, theme, added_by: addedBy ?? null })
      // challenge_themes_unique: the pool has it already (in any letter case).
      .onConflict((conflict) => conflict.doNothing())
      .executeTakeFirst();
    return Number(result.numInsertedOrUpdatedRows ?? 0n) === 1;
  }

  async removeTheme(guildId: string, theme: string): Promise<boolean> {
    const result = await this.db
      .deleteFrom('challenge_themes')
      .where('guild_id', '=', guildId)
      .where(sql<string>`lower(theme)`, '=', theme.toLowerCase())
      .executeTakeFirst();
    return Number(result.numDeletedRows) > 0;
  }

  /** The pool, alphabetically, each marked with whether it was drawn in the current round. */
  async themes(guildId: string): Promise<{ theme: string; used: boolean }[]> {
    const rows = await this.db.selectFrom('challenge_themes').select(['theme', 'last_used_at']).where('guild_id', '=', guildId).execute();
    return rows.map((row) => ({ theme: row.theme, used: row.last_used_at !== null })).sort((a, b) => a.theme.localeCompare(b.theme));
  }

  /**
   * The next theme: never one already drawn until every theme in the pool has had its turn (a
   * round). The pool's rows are locked, so two draws at once take different themes.
   */
  async drawTheme(guildId: string, random = Math.random(), now = Date.now()): Promise<string | undefined> {
    return this.db.transaction().execute(async (trx) => {
      const all = await trx.selectFrom('challenge_themes').select(['theme', 'last_used_at']).where('guild_id', '=', guildId).forUpdate().execute();
      if (all.length === 0) return undefined;
      let fresh = all.filter((row) => row.last_used_at === null);
      if (fresh.length === 0) {
        await trx.updateTable('challenge_themes').set({ last_used_at: null }).where('guild_id', '=', guildId).execute();
        fresh = all;
      }
      const themes = fresh.map((row) => row.theme).sort();
      const pick = themes[Math.min(themes.length - 1, Math.floor(random * themes.length))]!;
      await trx
        .updateTable('challenge_themes')
        .set({ last_used_at: new Date(now) })
        .where('guild_id', '=', guildId)
        .where('theme', '=', pick)
        .execute();
      return pick;
    });
  }

  /** Puts a drawn theme back in the pool (its challenge did not start after all). */
  async returnTheme(guildId: string, theme: string): Promise<void> {
    await this.db.updateTable('challenge_themes').set({ last_used_at: null }).where('guild_id', '=', guildId).where('theme', '=', theme).execute();
  }

  // Weekly schedule ------------------------------------------------------------------

  async setSchedule(guildId: string, schedule: ChallengeSchedule, updatedBy?: string): Promise<void> {
    const valid = scheduleSchema.parse(schedule);
    const row = {
      channel_id: valid.channelId,
      weekday: valid.weekday,
      at_time: valid.time,
      timezone: valid.timezone,
      submit_days: valid.submitDays,
      vote_days: valid.voteDays,
      updated_by: updatedBy ?? null,
      updated_at: new Date(),
    };
    await this.db
      .insertInto('challenge_schedules')
      .values({ guild_id: guildId, ...row })
      .onConflict((conflict) => conflict.column('guild_id').doUpdateSet(row))
      .execute();
  }

  async schedule(guildId: string): Promise<ChallengeSchedule | undefined> {
    const row = await this.db.selectFrom('challenge_schedules').selectAll().where('guild_id', '=', guildId).executeTakeFirst();
    if (!row) return undefined;
    return {
      channelId: row.channel_id,
      weekday: row.weekday,
      time: row.at_time,
      timezone: row.timezone,
      submitDays: row.submit_days,
      voteDays: row.vote_days,
    };
  }

  /** The servers that have a weekly challenge. */
  async scheduledGuilds(): Promise<string[]> {
    const rows = await this.db.selectFrom('challenge_schedules').select('guild_id').execute();
    return rows.map((row) => row.guild_id);
  }

  async clearSchedule(guildId: string): Promise<boolean> {
    const result = await this.db.deleteFrom('challenge_schedules').where('guild_id', '=', guildId).executeTakeFirst();
    return Number(result.numDeletedRows) === 1;
  }

  /** A picture that may be entered: its row in the archive (pictures that reached Discord). */
  async picture(imageId: string): Promise<EntryPicture | undefined> {
    const row = await this.db
      .selectFrom('images')
      .select(['id', 'request_id', 'user_id', 'guild_id', 'channel_id', 'age_restricted', 'created_at', 'deleted_at'])
      .where('id', '=', imageId)
      .executeTakeFirst();
    return row ? pictureOf(row) : undefined;
  }

  /** The pictures of one request (a result message), in their order. */
  async picturesOf(requestId: string): Promise<EntryPicture[]> {
    const rows = await this.db
      .selectFrom('images')
      .select(['id', 'request_id', 'user_id', 'guild_id', 'channel_id', 'age_restricted', 'created_at', 'deleted_at'])
      .where('request_id', '=', requestId)
      .orderBy('position')
      .execute();
    return rows.map(pictureOf);
  }
}

export interface EntryPicture {
  id: string;
  requestId?: string;
  /** Absent when the member deleted their data. */
  userId?: string;
  guildId?: string;
  channelId: string;
  ageRestricted: boolean;
  createdAt: number;
  deleted: boolean;
}

function pictureOf(row: {
  id: string;
  request_id: string | null;
  user_id: string | null;
  guild_id: string | null;
  channel_id: string;
  age_restricted: boolean;
  created_at: Date;
  deleted_at: Date | null;
}): EntryPicture {
  return {
    id: row.id,
    requestId: orUndefined(row.request_id),
    userId: orUndefined(row.user_id),
    guildId: orUndefined(row.guild_id),
    channelId: row.channel_id,
    ageRestricted: row.age_restricted,
    createdAt: row.created_at.getTime(),
    deleted: row.deleted_at !== null,
  };
}
