import { sql, type ExpressionBuilder, type SelectQueryBuilder } from 'kysely';
import type { Database } from '../../db/connection.js';
import type { ChallengePhase, DB, SeriesMode, SeriesStatus } from '../../db/schema.js';

/**
 * The web gallery's reads, all from the archive tables. Every function takes the server the page
 * is about and returns only what belongs to it: a picture of another server, a deleted one or one
 * made in an age-restricted channel reads as missing. Access (who may see the server) is decided
 * by the caller; the store only keeps servers apart and hides what must never show.
 */

export const sortOrders = ['new', 'top'] as const;
export type SortOrder = (typeof sortOrders)[number];
export const topPeriods = ['day', 'week', 'month', 'all'] as const;
export type TopPeriod = (typeof topPeriods)[number];

const periodMs: Record<Exclude<TopPeriod, 'all'>, number> = { day: 86_400_000, week: 7 * 86_400_000, month: 30 * 86_400_000 };

export interface PictureCard {
  id: string;
  requestId: string | null;
  /** NULL: the author deleted their data. */
  userId: string | null;
  authorName: string | null;
  prompt: string;
  model: string | null;
  width: number;
  height: number;
  createdAt: Date;
  votes: number;
}

export interface Picture extends PictureCard {
  guildId: string;
  kind: string;
  negative: string | null;
  seed: number | null;
  aspect: string | null;
  contentType: string;
  storageKey: string;
  channelId: string;
  messageId: string | null;
  parentId: string | null;
}

/** Where the next page starts: the last card's id, and for "top" its vote count. */
export interface GalleryCursor {
  id: string;
  votes?: number;
}

export interface GalleryQuery {
  guildId: string;
  sort: SortOrder;
  period: TopPeriod;
  memberId?: string;
  model?: string;
  search?: string;
  cursor?: GalleryCursor;
  limit: number;
  now: Date;
}

type ImagesQuery<O> = SelectQueryBuilder<DB, 'images', O>;

/**
 * A server's pictures that may be shown: not deleted, not from an age-restricted channel, and not
 * a panel of an exquisite corpse still being made (nobody may look before it is revealed).
 */
function shown<O>(query: ImagesQuery<O>, guildId: string): ImagesQuery<O> {
  return query
    .where('images.guild_id', '=', guildId)
    .where('images.deleted_at', 'is', null)
    .where('images.age_restricted', '=', false)
    .where((eb) =>
      eb.not(
        eb.exists(
          eb
            .selectFrom('series_panels')
            .innerJoin('series', 'series.id', 'series_panels.series_id')
            .select('series_panels.id')
            .whereRef('series_panels.image_id', '=', 'images.id')
            .where('series.mode', '=', 'corpse')
            .where('series.status', '=', 'open'),
        ),
      ),
    );
}

/** An exquisite corpse is seen only once complete (or closed): until then its panels stay hidden. */
const sealed = (series: { mode: SeriesMode; status: SeriesStatus }) => series.mode === 'corpse' && series.status === 'open';

const voteCount = (eb: ExpressionBuilder<DB, 'images'>) =>
  eb
    .selectFrom('votes')
    .select((inner) => inner.fn.countAll<number>().as('n'))
    .whereRef('votes.request_id', '=', 'images.request_id');

const authorName = (eb: ExpressionBuilder<DB, 'images'>) =>
  eb.selectFrom('member_names').select('member_names.name').whereRef('member_names.user_id', '=', 'images.user_id');

function cardColumns<O>(query: ImagesQuery<O>) {
  return query.select((eb) => [
    'images.id',
    'images.request_id',
    'images.user_id',
    'images.prompt',
    'images.model',
    'images.width',
    'images.height',
    'images.created_at',
    voteCount(eb).as('votes'),
    authorName(eb).as('author_name'),
  ]);
}

interface CardRow {
  id: string;
  request_id: string | null;
  user_id: string | null;
  prompt: string | null;
  model: string | null;
  width: number;
  height: number;
  created_at: Date;
  votes: number | null;
  author_name: string | null;
}

const toCard = (row: CardRow): PictureCard => ({
  id: row.id,
  requestId: row.request_id,
  userId: row.user_id,
  authorName: row.user_id === null ? null : row.author_name,
  prompt: row.prompt ?? '',
  model: row.model,
  width: row.width,
  height: row.height,
  createdAt: row.created_at,
  votes: Number(row.votes ?? 0),
});

/**
 * One page of the gallery, and the cursor of the next when there is one. Keyset paging: the
 * cursor names the last card shown; a cursor naming a picture that is not in this server's
 * listing is refused (undefined), rather than silently starting over.
 */
export async function listPictures(db: Database, query: GalleryQuery): Promise<{ cards: PictureCard[]; next?: GalleryCursor } | undefined> {
  if (query.sort === 'new' && !query.search) return pageOfPictures(db, query);
  // Ranking or searching thousands of rows makes the planner's cost estimate cross the JIT
  // threshold, and compiling the query then takes longer than running it (80 ms of a 300 ms page
  // with 100,000 pictures). JIT is turned off for this one transaction only.
  return db.transaction().execute(async (trx) => {
    await sql`set local jit = off`.execute(trx);
    return pageOfPictures(trx, query);
  });
}

async function pageOfPictures(db: Database, query: GalleryQuery): Promise<{ cards: PictureCard[]; next?: GalleryCursor } | undefined> {
  let base = cardColumns(shown(db.selectFrom('images'), query.guildId));
  if (query.memberId) base = base.where('images.user_id', '=', query.memberId);
  if (query.model) base = base.where('images.model', '=', query.model);
  if (query.search) {
    base = base.where(sql<boolean>`to_tsvector('english', coalesce(images.prompt, '')) @@ websearch_to_tsquery('english', ${query.search})`);
  }
  if (query.sort === 'top' && query.period !== 'all') {
    base = base.where('images.created_at', '>=', new Date(query.now.getTime() - periodMs[query.period]));
  }

  let anchor: { created_at: Date } | undefined;
  if (query.cursor) {
    anchor = await shown(db.selectFrom('images').select('images.created_at'), query.guildId)
      .where('images.id', '=', query.cursor.id)
      .executeTakeFirst();
    if (!anchor) return undefined;
  }
  const take = query.limit + 1;
  let rows: CardRow[];
  if (query.sort === 'new') {
    let page = base;
    if (query.cursor) {
      const id = query.cursor.id;
      page = page.where(sql<boolean>`(images.created_at, images.id) < ((select created_at from images where id = ${id}), ${id})`);
    }
    rows = await page.orderBy('images.created_at', 'desc').orderBy('images.id', 'desc').limit(take).execute();
  } else {
    let page = db.selectFrom(base.as('c')).selectAll();
    if (query.cursor) {
      const { id, votes = 0 } = query.cursor;
      page = page.where(
        sql<boolean>`(coalesce(c.votes, 0), c.created_at, c.id) < (${votes}::bigint, (select created_at from images where id = ${id}), ${id})`,
      );
    }
    rows = await page
      .orderBy(sql`coalesce(c.votes, 0)`, 'desc')
      .orderBy('c.created_at', 'desc')
      .orderBy('c.id', 'desc')
      .limit(take)
      .execute();
  }
  const cards = rows.slice(0, query.limit).map(toCard);
  const last = cards.at(-1);
  const next = rows.length > query.limit && last ? { id: last.id, ...(query.sort === 'top' ? { votes: last.votes } : {}) } : undefined;
  return { cards, next };
}

/**
 * Distinct values of an indexed column among a server's shown pictures, read by skipping through
 * the index (one probe per value) instead of scanning every picture.
 */
async function distinctShown(db: Database, guildId: string, column: 'model' | 'user_id', max: number): Promise<string[]> {
  const col = sql.ref(column);
  const result = await sql<{ value: string | null }>`
    with recursive walk(value, n) as (
      (select ${col}, 1 from images where guild_id = ${guildId} and deleted_at is null and not age_restricted and ${col} is not null
        order by ${col} limit 1)
      union all
      select (select ${col} from images where guild_id = ${guildId} and deleted_at is null and not age_restricted and ${col} > walk.value
        order by ${col} limit 1), n + 1
      from walk where walk.value is not null and n < ${max}
    )
    select value from walk where value is not null`.execute(db);
  return result.rows.map((row) => row.value!);
}

/** The models and members the gallery's filters offer (up to 100 of each). */
export async function galleryFilters(
  db: Database,
  guildId: string,
): Promise<{ models: string[]; members: Array<{ id: string; name: string | null }> }> {
  const [models, memberIds] = await Promise.all([distinctShown(db, guildId, 'model', 100), distinctShown(db, guildId, 'user_id', 100)]);
  const names = await memberNames(db, memberIds);
  return { models, members: memberIds.map((id) => ({ id, name: names.get(id) ?? null })) };
}

export async function memberNames(db: Database, userIds: readonly string[]): Promise<Map<string, string>> {
  if (userIds.length === 0) return new Map();
  const rows = await db
    .selectFrom('member_names')
    .select(['user_id', 'name'])
    .where('user_id', 'in', [...userIds])
    .execute();
  return new Map(rows.map((row) => [row.user_id, row.name]));
}

/** Of `guildIds`, the servers where Atelier has been used (pictures or settings), with picture counts. */
export async function serversWithAtelier(db: Database, guildIds: readonly string[]): Promise<Array<{ guildId: string; pictures: number }>> {
  if (guildIds.length === 0) return [];
  const ids = [...guildIds].slice(0, 500);
  const [withSettings, counts] = await Promise.all([
    db.selectFrom('guild_settings').select('guild_id').where('guild_id', 'in', ids).execute(),
    db
      .selectFrom('images')
      .select((eb) => ['guild_id', eb.fn.countAll<number>().as('pictures')])
      .where('guild_id', 'in', ids)
      .where('deleted_at', 'is', null)
      .where('age_restricted', '=', false)
      .groupBy('guild_id')
      .execute(),
  ]);
  const pictures = new Map(counts.map((row) => [row.guild_id!, Number(row.pictures)]));
  const known = new Set([...withSettings.map((row) => row.guild_id), ...pictures.keys()]);
  return ids.filter((id) => known.has(id)).map((guildId) => ({ guildId, pictures: pictures.get(guildId) ?? 0 }));
}

/** A shown picture of this server, or undefined (another server's, deleted, age-restricted, unknown). */
export async function getPicture(db: Database, guildId: string, imageId: string): Promise<Picture | undefined> {
  const row = await cardColumns(shown(db.selectFrom('images'), guildId))
    .leftJoin('requests', 'requests.id', 'images.request_id')
    .select([
      'images.guild_id',
      'images.kind',
      'images.negative',
      'images.seed',
      'images.aspect',
      'images.content_type',
      'images.storage_key',
      'images.channel_id',
      'images.message_id',
      'images.parent_id',
      'requests.result_channel_id',
      'requests.result_message_id',
    ])
    .where('images.id', '=', imageId)
    .executeTakeFirst();
  if (!row || !row.storage_key) return undefined;
  return {
    ...toCard(row),
    guildId: row.guild_id!,
    kind: row.kind,
    negative: row.negative,
    seed: row.seed === null ? null : Number(row.seed),
    aspect: row.aspect,
    contentType: row.content_type,
    storageKey: row.storage_key,
    // The result message when the picture was delivered as one (the vote button lives there).
    channelId: row.result_message_id ? (row.result_channel_id ?? row.channel_id) : row.channel_id,
    messageId: row.result_message_id ?? row.message_id,
    parentId: row.parent_id,
  };
}

/** A node of a family tree: a shown picture (linkable), or a box standing for one that is not shown. */
export interface FamilyNode {
  id: string;
  parentId: string | null;
  /** 'shown': a picture of this server that may be shown; 'hidden': deleted, age-restricted or elsewhere. */
  state: 'shown' | 'hidden';
  userId: string | null;
  authorName: string | null;
  votes: number;
}

const FAMILY_MAX_NODES = 200;
const FAMILY_MAX_DEPTH = 30;

/** The family a picture belongs to: from its oldest ancestor down, at most 200 pictures. */
export async function family(db: Database, guildId: string, imageId: string): Promise<FamilyNode[]> {
  const root = await sql<{ id: string }>`
    with recursive up(id, parent_id, depth) as (
      select id, parent_id, 0 from images where id = ${imageId}
      union all
      select i.id, i.parent_id, up.depth + 1 from images i join up on i.id = up.parent_id where up.depth < ${FAMILY_MAX_DEPTH}
    )
    select id from up order by depth desc limit 1`.execute(db);
  const rootId = root.rows[0]?.id;
  if (!rootId) return [];
  const result = await sql<{
    id: string;
    parent_id: string | null;
    guild_id: string | null;
    deleted_at: Date | null;
    age_restricted: boolean;
    user_id: string | null;
    name: string | null;
    votes: number;
  }>`
    with recursive down(id, depth, path) as (
      select id::text, 0, array[id::text] from images where id = ${rootId}
      union all
      select i.id, down.depth + 1, down.path || i.id from images i join down on i.parent_id = down.id
      where down.depth < ${FAMILY_MAX_DEPTH} and not i.id = any(down.path)
    )
    select i.id, i.parent_id, i.guild_id, i.deleted_at, i.age_restricted, i.user_id, m.name,
      (select count(*) from votes v where v.request_id = i.request_id) as votes
    from (select id, min(depth) as depth from down group by id order by min(depth), id limit ${FAMILY_MAX_NODES}) d
    join images i on i.id = d.id
    left join member_names m on m.user_id = i.user_id
    order by d.depth, i.created_at, i.id`.execute(db);
  return result.rows.map((row) => ({
    id: row.id,
    parentId: row.id === rootId ? null : row.parent_id,
    state: row.guild_id === guildId && !row.deleted_at && !row.age_restricted ? 'shown' : 'hidden',
    userId: row.user_id,
    authorName: row.user_id === null ? null : row.name,
    votes: Number(row.votes),
  }));
}

export interface SeriesSummary {
  id: string;
  title: string;
  mode: SeriesMode;
  status: SeriesStatus;
  panelCount: number;
  createdAt: Date;
}

export interface SeriesPanel {
  number: number;
  userId: string | null;
  authorName: string | null;
  prompt: string | null;
  /** The picture, when it is drawn and may be shown. */
  image: { id: string; storageKey: string; width: number; height: number } | undefined;
}

const seriesSummary = (row: {
  id: string;
  title: string;
  mode: SeriesMode;
  status: SeriesStatus;
  panel_count: number;
  created_at: Date;
}): SeriesSummary => ({ id: row.id, title: row.title, mode: row.mode, status: row.status, panelCount: row.panel_count, createdAt: row.created_at });

/** The series of this server a picture is a panel of. */
export async function seriesOfPicture(db: Database, guildId: string, imageId: string): Promise<SeriesSummary[]> {
  const rows = await db
    .selectFrom('series_panels')
    .innerJoin('series', 'series.id', 'series_panels.series_id')
    .select(['series.id', 'series.title', 'series.mode', 'series.status', 'series.panel_count', 'series.created_at'])
    .where('series_panels.image_id', '=', imageId)
    .where('series.guild_id', '=', guildId)
    .distinct()
    .execute();
  return rows.map(seriesSummary);
}

export async function listSeries(db: Database, guildId: string, limit = 100): Promise<SeriesSummary[]> {
  const rows = await db
    .selectFrom('series')
    .select(['id', 'title', 'mode', 'status', 'panel_count', 'created_at'])
    .where('guild_id', '=', guildId)
    .orderBy('created_at', 'desc')
    .limit(limit)
    .execute();
  return rows.map(seriesSummary);
}

export async function getSeries(
  db: Database,
  guildId: string,
  seriesId: string,
): Promise<{ series: SeriesSummary; panels: SeriesPanel[] } | undefined> {
  const series = await db
    .selectFrom('series')
    .select(['id', 'title', 'mode', 'status', 'panel_count', 'created_at'])
    .where('id', '=', seriesId)
    .where('guild_id', '=', guildId)
    .executeTakeFirst();
  if (!series) return undefined;
  const rows = await db
    .selectFrom('series_panels')
    .leftJoin('images', (join) =>
      join
        .onRef('images.id', '=', 'series_panels.image_id')
        .on('images.guild_id', '=', guildId)
        .on('images.deleted_at', 'is', null)
        .on('images.age_restricted', '=', false),
    )
    .leftJoin('member_names', 'member_names.user_id', 'series_panels.user_id')
    .select([
      'series_panels.number',
      'series_panels.user_id',
      'series_panels.user_name',
      'series_panels.prompt',
      'member_names.name',
      'images.id as image_id',
      'images.storage_key',
      'images.width',
      'images.height',
    ])
    .where('series_panels.series_id', '=', seriesId)
    .orderBy('series_panels.number')
    .execute();
  const hidden = sealed(series);
  return {
    series: seriesSummary(series),
    panels: rows.map((row) => ({
      number: row.number,
      userId: row.user_id,
      authorName: row.user_id === null ? null : (row.name ?? row.user_name),
      prompt: row.image_id && !hidden ? row.prompt : null,
      image:
        row.image_id && row.storage_key && row.width && row.height && !hidden
          ? { id: row.image_id, storageKey: row.storage_key, width: row.width, height: row.height }
          : undefined,
    })),
  };
}

export interface ChallengeSummary {
  id: string;
  theme: string;
  phase: ChallengePhase;
  season: string | null;
  createdAt: Date;
  announcedAt: Date | null;
  submissionsEndAt: Date | null;
  votingEndAt: Date | null;
  resultsAt: Date | null;
  entries: number;
}

const challengeColumns = [
  'challenges.id',
  'challenges.theme',
  'challenges.phase',
  'challenges.season',
  'challenges.created_at',
  'challenges.announced_at',
  'challenges.submissions_end_at',
  'challenges.voting_end_at',
  'challenges.results_at',
] as const;

function challengeSummary(row: {
  id: string;
  theme: string;
  phase: ChallengePhase;
  season: string | null;
  created_at: Date;
  announced_at: Date | null;
  submissions_end_at: Date | null;
  voting_end_at: Date | null;
  results_at: Date | null;
  entries: number | null;
}): ChallengeSummary {
  return {
    id: row.id,
    theme: row.theme,
    phase: row.phase,
    season: row.season,
    createdAt: row.created_at,
    announcedAt: row.announced_at,
    submissionsEndAt: row.submissions_end_at,
    votingEndAt: row.voting_end_at,
    resultsAt: row.results_at,
    entries: Number(row.entries ?? 0),
  };
}

const entryCount = (eb: ExpressionBuilder<DB, 'challenges'>) =>
  eb
    .selectFrom('challenge_entries')
    .select((inner) => inner.fn.countAll<number>().as('n'))
    .whereRef('challenge_entries.challenge_id', '=', 'challenges.id')
    .where('challenge_entries.withdrawn_at', 'is', null);

export async function listChallenges(db: Database, guildId: string, limit = 200): Promise<ChallengeSummary[]> {
  const rows = await db
    .selectFrom('challenges')
    .select((eb) => [...challengeColumns, entryCount(eb).as('entries')])
    .where('guild_id', '=', guildId)
    .orderBy('created_at', 'desc')
    .limit(limit)
    .execute();
  return rows.map(challengeSummary);
}

export interface ChallengeEntry {
  number: number;
  /** Null until the results: entries stay anonymous until then (and for a member who left). */
  userId: string | null;
  authorName: string | null;
  /** Set once the results are in. */
  votes: number | null;
  place: number | null;
  image: { id: string; prompt: string; width: number; height: number } | undefined;
}

export async function getChallenge(
  db: Database,
  guildId: string,
  challengeId: string,
): Promise<{ challenge: ChallengeSummary; entries: ChallengeEntry[] } | undefined> {
  const row = await db
    .selectFrom('challenges')
    .select((eb) => [...challengeColumns, entryCount(eb).as('entries')])
    .where('id', '=', challengeId)
    .where('guild_id', '=', guildId)
    .executeTakeFirst();
  if (!row) return undefined;
  const entries = await db
    .selectFrom('challenge_entries')
    .leftJoin('images', (join) =>
      join
        .onRef('images.id', '=', 'challenge_entries.image_id')
        .on('images.guild_id', '=', guildId)
        .on('images.deleted_at', 'is', null)
        .on('images.age_restricted', '=', false),
    )
    .leftJoin('member_names', 'member_names.user_id', 'challenge_entries.user_id')
    .select([
      'challenge_entries.entry_number',
      'challenge_entries.user_id',
      'challenge_entries.votes',
      'challenge_entries.place',
      'member_names.name',
      'images.id as image_id',
      'images.prompt',
      'images.width',
      'images.height',
    ])
    .where('challenge_entries.challenge_id', '=', challengeId)
    .where('challenge_entries.withdrawn_at', 'is', null)
    .orderBy(sql`challenge_entries.place asc nulls last`)
    .orderBy('challenge_entries.entry_number')
    .execute();
  const results = row.phase === 'results';
  return {
    challenge: challengeSummary(row),
    entries: entries.map((entry) => ({
      number: entry.entry_number,
      userId: results ? entry.user_id : null,
      authorName: results && entry.user_id !== null ? entry.name : null,
      // Counts are not shown while voting is open: they would sway the vote.
      votes: results ? entry.votes : null,
      place: results ? entry.place : null,
      image:
        entry.image_id && entry.width && entry.height
          ? { id: entry.image_id, prompt: entry.prompt ?? '', width: entry.width, height: entry.height }
          : undefined,
    })),
  };
}

/**
 * The challenges of this server a picture was entered in (and not withdrawn from), once their
 * results are in: before that, who made which entry is not told.
 */
export async function challengesOfPicture(db: Database, guildId: string, imageId: string): Promise<ChallengeSummary[]> {
  const rows = await db
    .selectFrom('challenge_entries')
    .innerJoin('challenges', 'challenges.id', 'challenge_entries.challenge_id')
    .select((eb) => [...challengeColumns, entryCount(eb).as('entries')])
    .where('challenge_entries.image_id', '=', imageId)
    .where('challenge_entries.withdrawn_at', 'is', null)
    .where('challenges.guild_id', '=', guildId)
    .where('challenges.phase', '=', 'results')
    .execute();
  return rows.map(challengeSummary);
}

/**
 * Where the picture of entry `number` is stored, if the entry is in this server's challenge and
 * its picture may be shown. Before the results an entry's picture is reached this way, by its
 * number: its picture page would name the author.
 */
export async function challengeEntryPicture(
  db: Database,
  guildId: string,
  challengeId: string,
  number: number,
): Promise<{ storageKey: string } | undefined> {
  const row = await shown(db.selectFrom('images'), guildId)
    .innerJoin('challenge_entries', 'challenge_entries.image_id', 'images.id')
    .innerJoin('challenges', 'challenges.id', 'challenge_entries.challenge_id')
    .select('images.storage_key')
    .where('challenges.id', '=', challengeId)
    .where('challenges.guild_id', '=', guildId)
    .where('challenge_entries.entry_number', '=', number)
    .where('challenge_entries.withdrawn_at', 'is', null)
    .executeTakeFirst();
  return row?.storage_key ? { storageKey: row.storage_key } : undefined;
}

export async function seasons(db: Database, guildId: string): Promise<string[]> {
  const rows = await db.selectFrom('season_points').select('season').distinct().where('guild_id', '=', guildId).orderBy('season', 'desc').execute();
  return rows.map((row) => row.season);
}

export async function leaderboard(
  db: Database,
  guildId: string,
  season: string,
  limit = 100,
): Promise<Array<{ userId: string; authorName: string | null; points: number }>> {
  const rows = await db
    .selectFrom('season_points')
    .leftJoin('member_names', 'member_names.user_id', 'season_points.user_id')
    .select((eb) => ['season_points.user_id', 'member_names.name', eb.fn.sum<number>('season_points.points').as('points')])
    .where('season_points.guild_id', '=', guildId)
    .where('season_points.season', '=', season)
    .groupBy(['season_points.user_id', 'member_names.name'])
    .orderBy('points', 'desc')
    .orderBy('season_points.user_id')
    .limit(limit)
    .execute();
  return rows.map((row) => ({ userId: row.user_id, authorName: row.name, points: Number(row.points) }));
}

export interface Profile {
  userId: string;
  name: string | null;
  pictures: number;
  votesReceived: number;
  remixesByOthers: number;
  best: PictureCard | undefined;
}

/** A member's profile in one server, or undefined when they have shown nothing there. */
export async function profile(db: Database, guildId: string, userId: string): Promise<Profile | undefined> {
  const counts = await shown(db.selectFrom('images'), guildId)
    .select((eb) => eb.fn.countAll<number>().as('pictures'))
    .where('images.user_id', '=', userId)
    .executeTakeFirstOrThrow();
  const pictures = Number(counts.pictures);
  if (pictures === 0) return undefined;
  const [votes, remixes, best, name] = await Promise.all([
    db
      .selectFrom('votes')
      .innerJoin('requests', 'requests.id', 'votes.request_id')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('requests.guild_id', '=', guildId)
      .where('requests.user_id', '=', userId)
      .where('requests.deleted_at', 'is', null)
      .executeTakeFirstOrThrow(),
    shown(db.selectFrom('images'), guildId)
      .innerJoin('images as parent', 'parent.id', 'images.parent_id')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('parent.user_id', '=', userId)
      .where((eb) => eb.or([eb('images.user_id', 'is', null), eb('images.user_id', '<>', userId)]))
      .executeTakeFirstOrThrow(),
    listPictures(db, { guildId, sort: 'top', period: 'all', memberId: userId, limit: 1, now: new Date() }),
    memberNames(db, [userId]),
  ]);
  return {
    userId,
    name: name.get(userId) ?? null,
    pictures,
    votesReceived: Number(votes.n),
    remixesByOthers: Number(remixes.n),
    best: best?.cards[0],
  };
}
