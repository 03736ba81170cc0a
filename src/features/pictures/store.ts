import type { Database } from '../../db/connection.js';
import type { GenerationKind, NewRow, RequestStatus } from '../../db/schema.js';

/**
 * The archive of requests and pictures in PostgreSQL. A request's row is written when the bot
 * accepts it, before anything is queued, so every feature that refers to a request (votes, series
 * panels, challenge entries) finds it; its pictures' rows are written once they reached Discord.
 * Both writes are idempotent: a retried admission or delivery changes nothing the second time.
 */

/** Where a picture's bytes live in image storage (the same layout the folder backend always had). */
export const imageStorageKey = (imageId: string): string => `${imageId.slice(-2)}/${imageId}.png`;

export interface ArchivedRequest {
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
  createdAt: number;
}

/** Records an accepted request (once: a double-submitted interaction is one row). */
export async function recordRequest(db: Database, request: ArchivedRequest): Promise<void> {
  await db
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
      created_at: new Date(request.createdAt),
    })
    .onConflict((conflict) => conflict.column('id').doNothing())
    .execute();
}

export interface RequestOutcome {
  status: Extract<RequestStatus, 'delivered' | 'failed' | 'cancelled'>;
  error?: string;
  errorKind?: string;
  cancelledBy?: string;
  resultChannelId?: string;
  resultMessageId?: string;
  finishedAt?: number;
}

/** Records how a request ended. */
export async function recordRequestOutcome(db: Database, id: string, outcome: RequestOutcome): Promise<void> {
  await db
    .updateTable('requests')
    .set({
      status: outcome.status,
      error: outcome.error ?? null,
      error_kind: outcome.errorKind ?? null,
      cancelled_by: outcome.cancelledBy ?? null,
      result_channel_id: outcome.resultChannelId ?? null,
      result_message_id: outcome.resultMessageId ?? null,
      finished_at: new Date(outcome.finishedAt ?? Date.now()),
    })
    .where('id', '=', id)
    .execute();
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
export async function recordImages(db: Database, images: readonly ArchivedImage[]): Promise<void> {
  if (images.length === 0) return;
  const rows: Array<NewRow<'images'>> = images.map((image) => ({
    id: image.id,
    request_id: image.requestId ?? null,
    position: Math.max(0, image.index - 1),
    kind: image.kind,
    prompt: image.prompt,
    negative: image.negative ?? null,
    seed: image.seed ?? null,
    model: image.model ?? null,
    aspect: image.aspect ?? null,
    width: image.width,
    height: image.height,
    content_type: image.contentType,
    storage_key: imageStorageKey(image.id),
    user_id: image.userId,
    guild_id: image.guildId ?? null,
    channel_id: image.channelId,
    message_id: image.messageId ?? null,
    attachment_url: image.attachmentUrl ?? null,
    age_restricted: image.nsfw ?? false,
    parent_id: image.parentId ?? null,
    created_at: new Date(image.createdAt),
  }));
  await db
    .insertInto('images')
    .values(rows)
    .onConflict((conflict) =>
      conflict.column('id').doUpdateSet((eb) => ({
        message_id: eb.fn.coalesce(eb.ref('excluded.message_id'), eb.ref('images.message_id')),
        attachment_url: eb.fn.coalesce(eb.ref('excluded.attachment_url'), eb.ref('images.attachment_url')),
      })),
    )
    .execute();
}
