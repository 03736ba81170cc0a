import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import { sql, type Kysely, type RawBuilder } from 'kysely';
import { isUniqueViolation, type Database } from '../../db/connection.js';
import type { DB, GenerationKind, RequestStatus } from '../../db/schema.js';
import type { JobArchive, JobRecord } from '../../store/jobs.js';
import type { GenerationParams } from '../../queues.js';
import { NO_GUILD } from '../votes/store.js';

/**
 * The archive of requests and pictures in PostgreSQL. A request's row is written when the bot
 * accepts it, before anything is queued, so every feature that refers to a request (votes, series
 * panels, challenge entries) finds it; its pictures' rows are written once they reached Discord.
 * Both writes are idempotent: a retried admission or delivery changes nothing the second time.
 */

/** Who an anonymised picture or request belongs to: nobody (shown as a former member). */
export const FORMER_MEMBER = 'deleted';

/** Where a picture's bytes live in image storage (the same layout the folder backend always had). */
export const imageStorageKey = (imageId: string): string => `${imageId.slice(-2)}/${imageId}.png`;

/** Where the web gallery keeps a picture's thumbnail: derived from its storage key, so it is made once per picture. */
export function thumbnailKey(storageKey: string): string {
  return `thumbnails/${createHash('sha256').update(storageKey).digest('hex').slice(0, 40)}.webp`;
}

export interface ArchivedRequest extends GenerationParams {
  id: string;
  kind: GenerationKind;
  prompt: string;
  negative?: string;
  aspect: string;
  seed: number;
  count: number;
  model: string;
  userId: string;
  guildId?: string;
  channelId: string;
  parentImageId?: string;
  strength?: number;
  /** Outpaint and inpaint: "x,y,w,h". */
  area?: string;
  createdAt: number;
}

/** Records an accepted request (once: a double-submitted interaction is one row). True when it was new. */
export async function recordRequest(db: Database, request: ArchivedRequest): Promise<boolean> {
  const result = await db
    .insertInto('requests')
    .values({
      id: request.id,
      kind: request.kind,
      status: 'queued',
      prompt: request.prompt,
      negative: request.negative ?? null,
      aspect: request.aspect,
      seed: request.seed,
      image_count: request.count,
      model: request.model,
      user_id: request.userId,
      guild_id: request.guildId ?? null,
      channel_id: request.channelId,
      parent_image_id: request.parentImageId ?? null,
      strength: request.strength ?? null,
      edit_area: request.area ?? null,
      chaos: request.chaos ?? null,
      stylize: request.stylize ?? null,
      tile: request.tile ?? false,
      draft: request.draft ?? false,
      created_at: new Date(request.createdAt),
    })
    .onConflict((conflict) => conflict.column('id').doNothing())
    .executeTakeFirst();
  return Number(result.numInsertedOrUpdatedRows ?? 0) > 0;
}

export interface RequestOutcome {
  status: Extract<RequestStatus, 'delivered' | 'failed' | 'cancelled'>;
  error?: string;
  errorKind?: string;
  cancelledBy?: string;
  resultChannelId?: string;
  resultMessageId?: string;
  /** When a worker started drawing it (none for a request that never started). */
  startedAt?: number;
  finishedAt?: number;
}

/** Records how a request ended. */
export async function recordRequestOutcome(db: Kysely<DB>, id: string, outcome: RequestOutcome): Promise<void> {
  await db
    .updateTable('requests')
    .set({
      status: outcome.status,
      error: outcome.error ?? null,
      error_kind: outcome.errorKind ?? null,
      cancelled_by: outcome.cancelledBy ?? null,
      result_channel_id: outcome.resultChannelId ?? null,
      result_message_id: outcome.resultMessageId ?? null,
      ...(outcome.startedAt === undefined ? {} : { started_at: new Date(outcome.startedAt) }),
      finished_at: new Date(outcome.finishedAt ?? Date.now()),
    })
    .where('id', '=', id)
    .execute();
}

/** An accepted request the archive has no outcome for yet. */
export interface AwaitingRequest {
  id: string;
  /** Null once its author deleted their data. */
  userId: string | null;
  guildId: string | null;
  channelId: string;
  prompt: string | null;
  createdAt: number;
}

/**
 * Requests still without an outcome, created in [since, before), oldest first, a page after
 * `after`: the recovery sweep asks Redis about each (see requests_awaiting_outcome).
 */
export async function requestsAwaitingOutcome(
  db: Database,
  since: number,
  before: number,
  after?: { createdAt: number; id: string },
  limit = 200,
): Promise<AwaitingRequest[]> {
  let query = db
    .selectFrom('requests')
    .select(['id', 'user_id', 'guild_id', 'channel_id', 'prompt', 'created_at'])
    .where('status', '=', 'queued')
    .where('created_at', '>=', new Date(since))
    .where('created_at', '<', new Date(before));
  if (after) {
    const at = new Date(after.createdAt);
    query = query.where((eb) => eb.or([eb('created_at', '>', at), eb.and([eb('created_at', '=', at), eb('id', '>', after.id)])]));
  }
  const rows = await query.orderBy('created_at').orderBy('id').limit(limit).execute();
  return rows.map((row) => ({
    id: row.id,
    userId: row.user_id,
    guildId: row.guild_id,
    channelId: row.channel_id,
    prompt: row.prompt,
    createdAt: row.created_at.getTime(),
  }));
}

/**
 * Gives a request whose live record is gone its outcome, only if it still has none (a
 * compare-and-set: of two sweeps, one settles it). A request whose pictures already reached a
 * message counts as delivered, with that message; otherwise it ends as `outcome` says. Returns the
 * status it was given, or undefined when it had one already.
 */
export async function settleLostRequest(
  db: Database,
  id: string,
  outcome: { status: 'failed' | 'cancelled'; error?: string; errorKind?: string; cancelledBy?: string; finishedAt: number },
): Promise<'delivered' | 'failed' | 'cancelled' | undefined> {
  const posted = await db
    .selectFrom('images')
    .select(['channel_id', 'message_id'])
    .where('request_id', '=', id)
    .where('message_id', 'is not', null)
    .executeTakeFirst();
  const result = await db
    .updateTable('requests')
    .set(
      posted
        ? {
            status: 'delivered',
            result_channel_id: posted.channel_id,
            result_message_id: posted.message_id,
            finished_at: new Date(outcome.finishedAt),
          }
        : {
            status: outcome.status,
            error: outcome.error ?? null,
            error_kind: outcome.errorKind ?? null,
            cancelled_by: outcome.cancelledBy ?? null,
            finished_at: new Date(outcome.finishedAt),
          },
    )
    .where('id', '=', id)
    .where('status', '=', 'queued')
    .executeTakeFirst();
  if (result.numUpdatedRows !== 1n) return undefined;
  return posted ? 'delivered' : outcome.status;
}

export interface ArchivedImage {
  id: string;
  /** Absent for a member's upload (the root of a family). */
  requestId?: string;
  /** 1-based place in its request's set. */
  index: number;
  kind: GenerationKind | 'upload';
  prompt: string;
  negative?: string;
  seed?: number;
  model?: string;
  aspect?: string;
  width: number;
  height: number;
  contentType: string;
  userId: string;
  guildId?: string;
  channelId: string;
  messageId?: string;
  attachmentUrl?: string;
  nsfw?: boolean;
  parentId?: string;
  createdAt: number;
}

/** Records pictures that reached Discord; a repeat only fills in where they were posted. */
export async function recordImages(db: Kysely<DB>, images: readonly ArchivedImage[]): Promise<void> {
  if (images.length === 0) return;
  for (let attempt = 1; ; attempt++) {
    try {
      await insertImages(db, images);
      return;
    } catch (error) {
      // Two writers of the same pictures at once (a double-submitted interaction): ON CONFLICT
      // arbitrates on `id` only, so the later writer can trip over another unique index
      // (storage_key, request and position), or deadlock with the first on them. Once the
      // first writer's rows are committed, another try finds them and updates them.
      if (attempt >= 5 || !(isUniqueViolation(error) || isDeadlock(error))) throw error;
    }
  }
}

function isDeadlock(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { code?: unknown }).code === '40P01';
}

async function insertImages(db: Kysely<DB>, images: readonly ArchivedImage[]): Promise<void> {
  await upsertImages(images).execute(db);
}

/**
 * INSERT … ON CONFLICT of pictures, their columns passed as parallel arrays: the statement's text
 * is the same however many pictures there are (one prepared statement), and writing it costs no
 * query building. A repeat only fills in where they were posted, and never gives a deleted picture its link back.
 */
function upsertImages(images: readonly ArchivedImage[]): RawBuilder<unknown> {
  const column = <T>(value: (image: ArchivedImage) => T) => images.map(value);
  return sql`
    INSERT INTO images (id, request_id, position, kind, prompt, negative, seed, model, aspect, width, height, content_type,
      storage_key, user_id, guild_id, channel_id, message_id, attachment_url, age_restricted, parent_id, created_at)
    SELECT * FROM unnest(
      ${column((i) => i.id)}::text[], ${column((i) => i.requestId ?? null)}::text[], ${column((i) => Math.max(0, i.index - 1))}::smallint[],
      ${column((i) => i.kind)}::text[], ${column((i) => i.prompt)}::text[], ${column((i) => i.negative ?? null)}::text[],
      ${column((i) => i.seed ?? null)}::bigint[], ${column((i) => i.model ?? null)}::text[], ${column((i) => i.aspect ?? null)}::text[],
      ${column((i) => i.width)}::integer[], ${column((i) => i.height)}::integer[], ${column((i) => i.contentType)}::text[],
      ${column((i) => imageStorageKey(i.id))}::text[], ${column((i) => i.userId)}::text[], ${column((i) => i.guildId ?? null)}::text[],
      ${column((i) => i.channelId)}::text[], ${column((i) => i.messageId ?? null)}::text[], ${column((i) => i.attachmentUrl ?? null)}::text[],
      ${column((i) => i.nsfw ?? false)}::boolean[], ${column((i) => i.parentId ?? null)}::text[],
      ${column((i) => new Date(i.createdAt).toISOString())}::timestamptz[]
    )
    ON CONFLICT (id) DO UPDATE SET
      message_id = coalesce(excluded.message_id, images.message_id),
      -- A picture deleted before its delivery was archived (🗑 clicked the moment it was posted) keeps no link.
      attachment_url = CASE WHEN images.deleted_at IS NULL THEN coalesce(excluded.attachment_url, images.attachment_url) END
    RETURNING id`;
}

/** What delivery archives about a request that reached Discord, in one transaction. */
export interface DeliveredArchive {
  requestId: string;
  outcome: RequestOutcome;
  images: readonly ArchivedImage[];
  /** The author's name as Discord showed it when they asked (tree labels and credits). */
  author: { userId: string; name: string };
  /**
   * What the result adds to the numbers on /profile (member_stats, kept per server): its pictures
   * for its author, and a remix received for the author of the picture it was made from.
   */
  made: { guildId?: string; pictures: number; fromImageId?: string };
}

/**
 * The pictures, the request's outcome, the author's name and the /profile numbers, in one
 * statement (data-modifying CTEs: atomic like a transaction, one round trip on the delivery hot
 * path). After it, the archive alone can answer every button on the result, and the live record
 * in Redis may go. Repeating it (a retried delivery) changes nothing more: the numbers count a
 * request once, by its profile_counted flag, read under the row's lock.
 */
export async function archiveDelivery(db: Kysely<DB>, archive: DeliveredArchive): Promise<void> {
  const { outcome, made, author } = archive;
  const name = author.name.trim().slice(0, 64) || 'someone';
  const guildId = made.guildId ?? NO_GUILD;
  // Written as SQL rather than built: it runs once per delivery, and its text never changes.
  await sql`
    WITH before AS (
      -- Locked first: two deliveries of one request at the same moment see each other's flag.
      SELECT id, profile_counted FROM requests WHERE id = ${archive.requestId} FOR UPDATE
    ), outcome AS (
      UPDATE requests SET
        profile_counted = true,
        status = ${outcome.status},
        error = ${outcome.error ?? null},
        error_kind = ${outcome.errorKind ?? null},
        cancelled_by = ${outcome.cancelledBy ?? null},
        result_channel_id = ${outcome.resultChannelId ?? null},
        result_message_id = ${outcome.resultMessageId ?? null},
        started_at = coalesce(${outcome.startedAt === undefined ? null : new Date(outcome.startedAt).toISOString()}::timestamptz, requests.started_at),
        finished_at = ${new Date(outcome.finishedAt ?? Date.now()).toISOString()}::timestamptz
      FROM before WHERE requests.id = before.id
      RETURNING requests.id, before.profile_counted AS counted
    ), made AS (
      INSERT INTO member_stats (user_id, guild_id, pictures)
      SELECT ${author.userId}::text, ${guildId}::text, ${made.pictures}::int FROM outcome WHERE NOT outcome.counted
      ON CONFLICT (user_id, guild_id) DO UPDATE SET pictures = member_stats.pictures + excluded.pictures
      RETURNING user_id
    ), remixed AS (
      -- Remixing one's own picture is no remix received; a picture the archive lost counts for nobody.
      INSERT INTO member_stats (user_id, guild_id, remixes_received)
      SELECT parent.user_id, ${guildId}::text, 1 FROM outcome, images parent
      WHERE NOT outcome.counted AND parent.id = ${made.fromImageId ?? null}::text AND parent.user_id <> ${author.userId}::text
      ON CONFLICT (user_id, guild_id) DO UPDATE SET remixes_received = member_stats.remixes_received + 1
      RETURNING user_id
    ), named AS (
      INSERT INTO member_names (user_id, name, updated_at) VALUES (${author.userId}, ${name}, now())
      ON CONFLICT (user_id) DO UPDATE SET name = excluded.name, updated_at = excluded.updated_at
      -- An unchanged name (the usual case) writes nothing.
      WHERE member_names.name IS DISTINCT FROM excluded.name
      RETURNING user_id
    ), pictures AS (${upsertImages(archive.images)})
    SELECT id FROM outcome`.execute(db);
}

/** How much a result may upload when nothing else is known (Discord's limit without boosts). */
const ARCHIVED_ATTACHMENT_LIMIT = 10 * 1024 * 1024;

/**
 * A settled request as the live record looked (what buttons on old messages need): its row, its
 * pictures in order, and its author's name. Undefined for an unknown id.
 */
export async function archivedJob(db: Database, id: string, applicationId: string): Promise<JobRecord | undefined> {
  const row = await db
    .selectFrom('requests')
    .leftJoin('member_names', 'member_names.user_id', 'requests.user_id')
    .selectAll('requests')
    .select('member_names.name as user_name')
    .where('requests.id', '=', id)
    .executeTakeFirst();
  if (!row) return undefined;
  const images = await db
    .selectFrom('images')
    .select(['id', 'width', 'height', 'content_type', 'age_restricted'])
    .where('request_id', '=', id)
    .orderBy('position')
    .execute();
  const createdAt = row.created_at.getTime();
  return {
    id: row.id,
    status: row.status,
    kind: row.kind,
    prompt: row.prompt ?? '',
    negative: row.negative ?? undefined,
    aspect: row.aspect as JobRecord['aspect'],
    seed: row.seed,
    count: row.image_count,
    model: row.model,
    userId: row.user_id ?? FORMER_MEMBER,
    userName: row.user_name ?? 'a former member',
    guildId: row.guild_id ?? undefined,
    channelId: row.channel_id,
    applicationId,
    // Long dead: the token is never kept, and nothing may try to use it.
    interactionToken: undefined,
    interactionAt: createdAt,
    attachmentSizeLimit: ARCHIVED_ATTACHMENT_LIMIT,
    createdAt,
    parentImageId: row.parent_image_id ?? undefined,
    strength: row.strength ?? undefined,
    area: row.edit_area ?? undefined,
    chaos: row.chaos ?? undefined,
    stylize: row.stylize ?? undefined,
    tile: row.tile || undefined,
    draft: row.draft || undefined,
    startedAt: row.started_at?.getTime(),
    finishedAt: row.finished_at?.getTime(),
    imageIds: images.map((image) => image.id),
    images: images.map((image) => ({ width: image.width, height: image.height, contentType: image.content_type })),
    error: row.error ?? undefined,
    errorKind: row.error_kind ?? undefined,
    cancelledBy: row.cancelled_by ?? undefined,
    resultMessageId: row.result_message_id ?? undefined,
    resultChannelId: row.result_channel_id ?? undefined,
    // Delivered and gone from Redis: its follow-ups all ran (the live record leaves only after them).
    // A row still 'queued' may be a request whose live record is being created right now.
    hooksDone: row.status === 'delivered' ? '1' : undefined,
    nsfw: images.some((image) => image.age_restricted),
  };
}

/**
 * The archive the bot's JobStore falls back to once Redis let a record go. A cancel stands once
 * Redis has it: when the database cannot take it at that moment, the recovery sweep writes it
 * later (see recoverStrandedJobs), and the member still sees their request cancelled.
 */
export function pictureArchive(db: Database, applicationId: string, logger?: Pick<Logger, 'warn'>): JobArchive {
  return {
    load: (id) => archivedJob(db, id, applicationId),
    cancelled: (id, by, at) =>
      recordRequestOutcome(db, id, { status: 'cancelled', cancelledBy: by, finishedAt: at }).catch((error: unknown) => {
        if (!logger) throw error;
        logger.warn({ err: error, jobId: id }, 'could not archive a cancel now; the recovery sweep will');
      }),
  };
}

/** A member's requests (newest first), with where their results were posted: for /privacy. */
export async function requestsOfMember(db: Database, userId: string) {
  return db
    .selectFrom('requests')
    .select(['id', 'channel_id', 'result_channel_id', 'result_message_id'])
    .where('user_id', '=', userId)
    .orderBy('created_at', 'desc')
    .execute();
}

/** Ids of a member's pictures that are not anonymous yet (uploads included). */
export async function imagesOfMember(db: Database, userId: string): Promise<string[]> {
  const rows = await db.selectFrom('images').select('id').where('user_id', '=', userId).execute();
  return rows.map((row) => row.id);
}

/**
 * Erases a member's requests from the history: who asked and the prompts go, the rows stay (votes,
 * series panels and challenge entries point at them). Returns how many were erased.
 */
export async function anonymiseRequests(db: Database, userId: string, now: number): Promise<number> {
  const result = await db
    .updateTable('requests')
    .set({ user_id: null, prompt: null, negative: null, deleted_at: new Date(now) })
    .where('user_id', '=', userId)
    .executeTakeFirst();
  return Number(result.numUpdatedRows);
}
