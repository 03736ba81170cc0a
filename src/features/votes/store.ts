import type { Redis } from 'ioredis';
import { sql } from 'kysely';
import type { Database } from '../../db/connection.js';
import { runScript } from '../../redis-scripts.js';

/**
 * Votes and the numbers built on them, in PostgreSQL. A vote is on a result (a request's set of
 * pictures): one row per member per request, and the primary key (request_id, user_id) is what
 * makes it one vote per member. The request's score (requests.vote_count) and its author's
 * "votes received" (member_stats) change in the same transaction as the vote row, with the
 * request's row locked, so concurrent clicks can neither lose nor double a vote and rankings never
 * count the votes table. Redis keeps only a short-lived mark of each member's last click.
 */
export const topPeriods = ['day', 'week', 'month', 'all'] as const;
export type TopPeriod = (typeof topPeriods)[number];

const DAY_MS = 24 * 3600 * 1000;
export const periodMs: Record<Exclude<TopPeriod, 'all'>, number> = { day: DAY_MS, week: 7 * DAY_MS, month: 30 * DAY_MS };

/**
 * Two clicks by one member on one result within this window are one click: a double click is one
 * vote, not a vote and its withdrawal.
 */
export const DOUBLE_CLICK_MS = 1500;

export type VoteOutcome = 'added' | 'removed' | 'unchanged' | 'closed';

/** What a vote is on: the request (job) id of a result. */
export interface VoteTarget {
  jobId: string;
}

export interface RankedJob {
  jobId: string;
  votes: number;
}

export interface ProfileNumbers {
  images: number;
  votes: number;
  remixes: number;
  best?: RankedJob;
}

/** A result as the vote button needs it, read from the archive. */
export interface VotedRequest {
  id: string;
  kind: string;
  imageCount: number;
  userId?: string;
  guildId?: string;
  channelId: string;
  status: string;
  resultChannelId?: string;
  resultMessageId?: string;
  closed: boolean;
  votes: number;
  /** A --draft preview: its buttons include 🔍 Enhance. */
  draft: boolean;
}

/** Outside a server, numbers are kept under this guild id. */
export const NO_GUILD = '';

// KEYS: the member's last click on the result. ARGV: now, window (ms).
// Compare-and-set on the time of the last click, so two clicks at the same moment let one through.
const CLICK_GATE = `
local last = tonumber(redis.call('GET', KEYS[1]) or '-1e18')
if tonumber(ARGV[1]) - last < tonumber(ARGV[2]) then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1
`;

/** Orders results best first; ties go to the newer result (a longer snowflake, then a larger one). */
const RANK_ORDER = sql`vote_count DESC, length(id) DESC, id DESC`;

/**
 * Votes on one result counted at once by this process, at most. Each waits for the result's row
 * lock on a pooled connection: a burst of clicks on one result would otherwise hold every
 * connection and stall every other query (the next click's ban check included). Two keep the next
 * one ready at the lock while the current one commits.
 */
const VOTES_AT_ONCE_PER_RESULT = 2;

export class VoteStore {
  /** Per result: how many of its votes are at the database, and those waiting their turn here. */
  private readonly turns = new Map<string, { running: number; waiting: Array<() => void> }>();

  constructor(
    private readonly db: Database,
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {}

  /** The result a vote button names, or undefined when the archive does not know it. */
  async request(jobId: string): Promise<VotedRequest | undefined> {
    const row = await this.db
      .selectFrom('requests')
      .select([
        'id',
        'kind',
        'image_count',
        'user_id',
        'guild_id',
        'channel_id',
        'status',
        'result_channel_id',
        'result_message_id',
        'votes_closed_at',
        'vote_count',
        'draft',
      ])
      .where('id', '=', jobId)
      .executeTakeFirst();
    if (!row) return undefined;
    return {
      id: row.id,
      kind: row.kind,
      imageCount: row.image_count,
      userId: row.user_id ?? undefined,
      guildId: row.guild_id ?? undefined,
      channelId: row.channel_id,
      status: row.status,
      resultChannelId: row.result_channel_id ?? undefined,
      resultMessageId: row.result_message_id ?? undefined,
      closed: row.votes_closed_at !== null,
      votes: row.vote_count,
      draft: row.draft,
    };
  }

  /**
   * Toggles `voterId`'s vote on the result. Returns what happened and the result's score
   * afterwards; 'closed' for a deleted picture (or one the archive does not know).
   */
  async toggle(target: VoteTarget, voterId: string, now: number): Promise<{ outcome: VoteOutcome; votes: number }> {
    const click = `${this.prefix}:votes:${target.jobId}:click:${voterId}`;
    const counts = Number(await runScript(this.redis, CLICK_GATE, 1, click, now, DOUBLE_CLICK_MS)) === 1;
    if (!counts) {
      const known = await this.request(target.jobId);
      return { outcome: !known || known.closed ? 'closed' : 'unchanged', votes: known?.votes ?? 0 };
    }
    const { outcome, count } = await this.inTurn(target.jobId, () => toggleVote(this.db, target.jobId, voterId, now));
    return { outcome, votes: count };
  }

  /** Runs `work` once fewer than VOTES_AT_ONCE_PER_RESULT of the result's votes are at the database. */
  private async inTurn<T>(requestId: string, work: () => Promise<T>): Promise<T> {
    let turn = this.turns.get(requestId);
    if (!turn) this.turns.set(requestId, (turn = { running: 0, waiting: [] }));
    if (turn.running >= VOTES_AT_ONCE_PER_RESULT) await new Promise<void>((resolve) => turn.waiting.push(resolve));
    else turn.running += 1;
    try {
      return await work();
    } finally {
      // The slot passes straight to the next in line; the last one out forgets the result.
      const next = turn.waiting.shift();
      if (next) next();
      else if (--turn.running === 0) this.turns.delete(requestId);
    }
  }

  async count(jobId: string): Promise<number> {
    return (await this.counts([jobId]))[0]!;
  }

  async counts(jobIds: readonly string[]): Promise<number[]> {
    if (jobIds.length === 0) return [];
    const rows = await this.db
      .selectFrom('requests')
      .select(['id', 'vote_count'])
      .where('id', 'in', [...jobIds])
      .execute();
    const byId = new Map(rows.map((row) => [row.id, row.vote_count]));
    return jobIds.map((id) => byId.get(id) ?? 0);
  }

  async hasVoted(jobId: string, userId: string): Promise<boolean> {
    const row = await this.db.selectFrom('votes').select('user_id').where('request_id', '=', jobId).where('user_id', '=', userId).executeTakeFirst();
    return row !== undefined;
  }

  /**
   * The most-voted results of a server (or of one of its channels) made within the period, best
   * first. Deleted pictures are not ranked.
   */
  async top(scope: { guildId?: string; channelId?: string }, period: TopPeriod, now: number, limit = 10): Promise<RankedJob[]> {
    let query = this.db
      .selectFrom('requests')
      .select(['id', 'vote_count'])
      .where('vote_count', '>', 0)
      .where('votes_closed_at', 'is', null)
      .where('guild_id', scope.guildId === undefined ? 'is' : '=', scope.guildId ?? null);
    if (scope.channelId !== undefined) query = query.where('channel_id', '=', scope.channelId);
    if (period !== 'all') query = query.where('created_at', '>=', new Date(now - periodMs[period]));
    const rows = await query.orderBy(RANK_ORDER).limit(limit).execute();
    return rows.map((row) => ({ jobId: row.id, votes: row.vote_count }));
  }

  /**
   * Closes a deleted result: it leaves every ranking and takes no more votes. Its votes stay, so
   * the family tree can still show what the picture had earned.
   */
  async close(target: VoteTarget, now = Date.now()): Promise<void> {
    await this.db
      .updateTable('requests')
      .set({ votes_closed_at: new Date(now) })
      .where('id', '=', target.jobId)
      .where('votes_closed_at', 'is', null)
      .execute();
  }

  /**
   * Forgets a member: their votes on every result (scores and the authors' numbers follow), and
   * their own profile numbers. Found through the member's id (votes_user, member_stats' key), never
   * by scanning. Returns how many votes were taken back.
   */
  async forgetMember(userId: string): Promise<number> {
    return this.db.transaction().execute(async (trx) => {
      const removed = await sql<{ n: number }>`
        WITH removed AS (
          DELETE FROM votes WHERE user_id = ${userId} RETURNING request_id
        ), per_request AS (
          SELECT request_id, count(*)::int AS n FROM removed GROUP BY request_id
        ), scored AS (
          UPDATE requests SET vote_count = requests.vote_count - per_request.n
          FROM per_request WHERE requests.id = per_request.request_id
          RETURNING requests.user_id, coalesce(requests.guild_id, ${NO_GUILD}) AS guild_id, per_request.n
        ), per_author AS (
          SELECT user_id, guild_id, sum(n)::int AS n FROM scored WHERE user_id IS NOT NULL GROUP BY user_id, guild_id
        ), authors AS (
          -- Runs to completion although nothing reads it (PostgreSQL runs every data-modifying WITH).
          UPDATE member_stats SET votes_received = greatest(0, member_stats.votes_received - per_author.n)
          FROM per_author WHERE member_stats.user_id = per_author.user_id AND member_stats.guild_id = per_author.guild_id
        )
        SELECT coalesce(sum(n), 0)::int AS n FROM per_request
      `.execute(trx);
      await trx.deleteFrom('member_stats').where('user_id', '=', userId).execute();
      return removed.rows[0]?.n ?? 0;
    });
  }

  /** A member's numbers in a server, and their best picture there that is still shown. */
  async profile(guildId: string | undefined, userId: string): Promise<ProfileNumbers> {
    const [numbers, best] = await Promise.all([
      this.db
        .selectFrom('member_stats')
        .select(['pictures', 'votes_received', 'remixes_received'])
        .where('user_id', '=', userId)
        .where('guild_id', '=', guildId ?? NO_GUILD)
        .executeTakeFirst(),
      this.db
        .selectFrom('requests')
        .select(['id', 'vote_count'])
        .where('user_id', '=', userId)
        .where('guild_id', guildId === undefined ? 'is' : '=', guildId ?? null)
        .where('vote_count', '>', 0)
        .where('votes_closed_at', 'is', null)
        .orderBy(RANK_ORDER)
        .limit(1)
        .executeTakeFirst(),
    ]);
    return {
      images: numbers?.pictures ?? 0,
      votes: numbers?.votes_received ?? 0,
      remixes: numbers?.remixes_received ?? 0,
      best: best ? { jobId: best.id, votes: best.vote_count } : undefined,
    };
  }
}

/**
 * Changes one member's vote on a result: adds it ('add'), or takes it back when they had one and
 * adds it otherwise ('toggle'). One statement, so the result's row is locked only while it runs
 * (a burst of clicks on one result queues on that lock, not on round trips): it locks the request,
 * changes the vote row, moves the score kept on the request and the author's "votes received".
 * Concurrent clicks each see an exact count; a deleted result (or one the archive does not know)
 * is 'closed' and changes nothing.
 */
async function changeVote(
  db: Database,
  requestId: string,
  userId: string,
  want: 'add' | 'toggle',
  now: number,
): Promise<{ outcome: VoteOutcome; count: number }> {
  const { rows } = await sql<{ open: number; change: number; count: number | null }>`
    WITH target AS (
      SELECT id, user_id, coalesce(guild_id, ${NO_GUILD}) AS guild_key FROM requests
      WHERE id = ${requestId} AND votes_closed_at IS NULL
      FOR UPDATE
    ), removed AS (
      DELETE FROM votes WHERE ${want === 'toggle'} AND request_id IN (SELECT id FROM target) AND user_id = ${userId}
      RETURNING 1
    ), added AS (
      INSERT INTO votes (request_id, user_id, created_at)
      SELECT id, ${userId}, ${new Date(now)} FROM target WHERE NOT EXISTS (SELECT 1 FROM removed)
      ON CONFLICT (request_id, user_id) DO NOTHING
      RETURNING 1
    ), delta AS (
      SELECT (SELECT count(*) FROM added)::int - (SELECT count(*) FROM removed)::int AS change
    ), scored AS (
      UPDATE requests SET vote_count = requests.vote_count + delta.change FROM delta
      WHERE requests.id IN (SELECT id FROM target) AND delta.change <> 0
      RETURNING requests.vote_count
    ), received AS (
      INSERT INTO member_stats AS stats (user_id, guild_id, votes_received)
      SELECT target.user_id, target.guild_key, greatest(delta.change, 0) FROM target, delta
      WHERE target.user_id IS NOT NULL AND delta.change <> 0
      ON CONFLICT (user_id, guild_id) DO UPDATE SET votes_received = greatest(0, stats.votes_received + (SELECT change FROM delta))
    )
    SELECT (SELECT count(*) FROM target)::int AS open, (SELECT change FROM delta) AS change,
           coalesce((SELECT vote_count FROM scored), (SELECT vote_count FROM requests WHERE id = ${requestId})) AS count
  `.execute(db);
  const { open, change, count } = rows[0]!;
  const outcome: VoteOutcome = open === 0 ? 'closed' : change > 0 ? 'added' : change < 0 ? 'removed' : 'unchanged';
  return { outcome, count: count ?? 0 };
}

/** A click: adds the member's vote, or takes it back when they had one. */
export function toggleVote(db: Database, requestId: string, userId: string, now = Date.now()) {
  return changeVote(db, requestId, userId, 'toggle', now);
}

/** Adds the member's vote; false when they had already voted or voting is closed (nothing changes). */
export async function addVote(db: Database, requestId: string, userId: string, now = Date.now()): Promise<boolean> {
  return (await changeVote(db, requestId, userId, 'add', now)).outcome === 'added';
}

/** The votes rows of a result, counted (the score kept on the request must always equal it). */
export async function voteCount(db: Database, requestId: string): Promise<number> {
  const row = await db
    .selectFrom('votes')
    .select((eb) => eb.fn.countAll<number>().as('count'))
    .where('request_id', '=', requestId)
    .executeTakeFirstOrThrow();
  return Number(row.count);
}
