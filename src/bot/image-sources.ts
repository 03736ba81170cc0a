import type { APIAttachment, APIMessage, Attachment, BaseInteraction } from 'discord.js';
import sharp from 'sharp';
import type { ImageRecord } from '../features/pictures/images.js';
import { ageRestriction } from './age-restriction.js';
import { assertDownloadableImage, downloadImage, AttachmentRefusedError } from './attachments.js';
import { imageIdPattern } from './components/community-ids.js';
import { imageBytes } from './components/generation.js';
import type { BotContext } from './context.js';
import { fetchChannelMessage } from './discord-messages.js';
import { InvalidRequestError } from './prompt.js';
import { picturesOfApiMessage } from './result-files.js';
import { imageOfThisServer, inThisServer } from './server-scope.js';
import { nearestAspect, referenceBlobId } from '../queues.js';

/**
 * Pictures members point at by an attachment or a message link (/blend, /describe). A link must
 * name a picture of this server: another server's message gets the same answer as an unknown one,
 * and a member's own picture (not an Atelier result) is read only from the channel the command is
 * used in, so nobody can make the bot show a picture from a channel they cannot see.
 */
export interface ImageSource {
  /** The picture's record: an Atelier picture, or a member's upload (kept only once a request is admitted). */
  record: ImageRecord;
  bytes: Buffer;
  /** Set for a member's upload that is not recorded yet: saved by keepSources. */
  upload?: { authorName: string };
}

export const NOT_FOUND =
  'I do not know that picture. Links must point at a message with a picture in this channel, or at an Atelier picture of this server.';
/** Source pictures larger than this are refused before they are decoded (the providers' own limit). */
const MAX_SOURCE_PIXELS = 4096 * 4096;

/** A message link as Discord's “Copy Message Link” gives it (or wrapped in <…>, as a link without a preview is written). */
const LINK = /^<?https:\/\/(?:(?:ptb|canary)\.)?discord(?:app)?\.com\/channels\/(\d{15,20}|@me)\/(\d{15,20})\/(\d{15,20})\/?>?$/;

/** Splits a list of links (spaces, commas or new lines between them). */
export function linkTokens(text: string | null | undefined): string[] {
  return (text ?? '').split(/[\s,]+/).filter(Boolean);
}

const isImageAttachment = (attachment: { content_type?: string | null; filename: string }) =>
  /^image\//.test(attachment.content_type ?? '') || /\.(png|jpe?g|webp|gif)$/i.test(attachment.filename);

/** The picture a link, a message id or an image id names. */
export async function sourceFromLink(ctx: BotContext, interaction: BaseInteraction, token: string): Promise<ImageSource> {
  const place = { guildId: interaction.guildId, channelId: interaction.channelId };
  const trimmed = token.trim();
  if (imageIdPattern.test(trimmed)) return atelierSource(ctx, interaction, await imageOfThisServer(ctx, trimmed, place));
  const ref = messageRef(trimmed);
  if (!ref) throw new InvalidRequestError(`“${trimmed.slice(0, 100)}” is not a message link. Copy it with “Copy Message Link”.`);
  const { imageId, message } = await pictureOfMessage(ctx, place, ref);
  if (imageId) return atelierSource(ctx, interaction, await imageOfThisServer(ctx, imageId, place));
  // A member's picture: only from this channel (see above), read from the message now.
  const attachment = message?.attachments.find(isImageAttachment);
  if (!message || !attachment) throw new InvalidRequestError(NOT_FOUND);
  const known = await ctx.images.getRecord(uploadId(attachment.id));
  if (known) return atelierSource(ctx, interaction, inThisServer(known, place) ? known : undefined);
  const author = { id: message.author.id, name: message.author.global_name ?? message.author.username };
  return uploadSource(ctx, interaction, attachment, author, { messageId: message.id, createdAt: Date.parse(message.timestamp) });
}

/** A message link split into its server, channel and message, or a bare message id; undefined for any other text. */
export function messageRef(text: string): { guildId?: string; channelId?: string; messageId: string } | undefined {
  const link = LINK.exec(text.trim());
  if (link) return { guildId: link[1], channelId: link[2], messageId: link[3]! };
  return /^\d{15,20}$/.test(text.trim()) ? { messageId: text.trim() } : undefined;
}

/**
 * The first Atelier picture a message shows, for a command used in `place`: the archive's answer
 * (a result or a remixed upload), or else the message itself, read from Discord only when it is in
 * the channel the command is used in: a result posted a moment ago (not placed in the archive yet)
 * counts by its files (see resultPictureIds), and the message comes back for a member's picture.
 * A message of another server gets the same answer as an unknown one.
 */
export async function pictureOfMessage(
  ctx: BotContext,
  place: { guildId: string | null; channelId?: string | null },
  ref: { guildId?: string; channelId?: string; messageId: string },
): Promise<{ imageId?: string; message?: APIMessage }> {
  if (ref.guildId !== undefined && ref.guildId !== (place.guildId ?? '@me')) return {};
  const archived = (await ctx.lineage.imagesOfMessage(ref.messageId))[0];
  if (archived) return { imageId: archived };
  if (!place.channelId || (ref.channelId ?? place.channelId) !== place.channelId) return {};
  const message = await fetchChannelMessage(ctx, place.channelId, ref.messageId);
  if (!message) return {};
  return { imageId: picturesOfApiMessage(ctx, message)[0], message };
}

/** A file attached to the command itself: the member's own upload. */
export async function sourceFromAttachment(ctx: BotContext, interaction: BaseInteraction, attachment: Attachment): Promise<ImageSource> {
  const api: APIAttachment = {
    id: attachment.id,
    filename: attachment.name,
    size: attachment.size,
    url: attachment.url,
    proxy_url: attachment.proxyURL,
    content_type: attachment.contentType ?? undefined,
    width: attachment.width ?? undefined,
    height: attachment.height ?? undefined,
  };
  if (!isImageAttachment(api)) throw new AttachmentRefusedError(`“${attachment.name.slice(0, 100)}” is not a PNG, JPEG, WebP or GIF image.`);
  const author = { id: interaction.user.id, name: interaction.user.displayName ?? interaction.user.username };
  return uploadSource(ctx, interaction, api, author, { createdAt: interaction.createdTimestamp });
}

async function atelierSource(ctx: BotContext, interaction: BaseInteraction, record: ImageRecord | undefined): Promise<ImageSource> {
  if (!record) throw new InvalidRequestError(NOT_FOUND);
  if (record.deletedAt) throw new InvalidRequestError('One of those pictures was deleted; it cannot be used.');
  const restriction = ageRestriction(ctx);
  if (!(await restriction.mayShow(record, await restriction.ofInteraction(interaction, false)))) {
    throw new InvalidRequestError('One of those pictures was made in an age-restricted channel: use it in one.');
  }
  return { record, bytes: await checked(await imageBytes(ctx, record.id)) };
}

async function uploadSource(
  ctx: BotContext,
  interaction: BaseInteraction,
  attachment: APIAttachment,
  author: { id: string; name: string },
  where: { messageId?: string; createdAt: number },
): Promise<ImageSource> {
  assertDownloadableImage(attachment.url, ctx.cdnHosts, { contentType: attachment.content_type, size: attachment.size });
  const bytes = await checked(await downloadImage(attachment.url, ctx.cdnHosts));
  const { width = 0, height = 0 } = await sharp(bytes).metadata();
  const record = await uploadRecord(ctx, interaction, attachment, {
    authorId: author.id,
    width,
    height,
    channelId: interaction.channelId!,
    messageId: where.messageId,
    createdAt: Number.isFinite(where.createdAt) ? where.createdAt : Date.now(),
    attachmentUrl: where.messageId ? attachment.url : undefined,
  });
  return { record, bytes, upload: { authorName: author.name } };
}

/** The image record a member's upload gets when a request starts from it (a family root). */
export async function uploadRecord(
  ctx: BotContext,
  interaction: BaseInteraction,
  attachment: APIAttachment,
  facts: { authorId: string; width: number; height: number; channelId: string; messageId?: string; createdAt: number; attachmentUrl?: string },
): Promise<ImageRecord> {
  return {
    id: uploadId(attachment.id),
    jobId: facts.messageId ?? attachment.id,
    index: 1,
    kind: 'upload',
    prompt: '',
    seed: 0,
    model: 'upload',
    aspect: nearestAspect(facts.width, facts.height),
    width: facts.width,
    height: facts.height,
    contentType: attachment.content_type ?? 'image/png',
    userId: facts.authorId,
    guildId: interaction.guildId ?? undefined,
    channelId: facts.channelId,
    messageId: facts.messageId,
    createdAt: facts.createdAt,
    attachmentUrl: facts.attachmentUrl,
    // The upload is in this channel: it is as restricted as the channel (unknown: restricted).
    nsfw: await ageRestriction(ctx).ofInteraction(interaction, true),
  };
}

/** A picture the providers can read: PNG, JPEG, WebP or GIF, at most 4096×4096 pixels. */
async function checked(bytes: Buffer): Promise<Buffer> {
  const meta = await sharp(bytes, { limitInputPixels: false })
    .metadata()
    .catch(() => undefined);
  if (!meta || !['png', 'jpeg', 'webp', 'gif'].includes(meta.format ?? '') || !meta.width || !meta.height) {
    throw new AttachmentRefusedError('That file is not a PNG, JPEG, WebP or GIF image I can read.');
  }
  if (meta.width * meta.height > MAX_SOURCE_PIXELS) {
    throw new AttachmentRefusedError(`That picture is ${meta.width}×${meta.height}; I work from pictures of up to 4096×4096 pixels.`);
  }
  return bytes;
}

/** A member's upload is known by its attachment (as "Remix this image" records it). */
export const uploadId = (attachmentId: string) => `upload-${attachmentId}`;

/**
 * Once a request from these pictures is admitted: members' uploads become family roots, and the
 * bot keeps its own copy of every picture (the worker reads them from image storage; CDN links expire).
 */
export async function keepSources(ctx: BotContext, jobId: string, sources: readonly ImageSource[]): Promise<void> {
  for (const source of sources) {
    if (source.upload) {
      await ctx.images.saveRecord(source.record);
      await ctx.lineage.rememberName(source.record.userId, source.upload.authorName);
    }
    await keepReference(ctx, jobId, source.record.id, source.bytes);
  }
}

/**
 * A picture a job works from (blend, --sref): kept in image storage for later rerolls and
 * thumbnails, and handed to the worker through Redis (a worker's own folder is not the bot's).
 */
export async function keepReference(ctx: BotContext, jobId: string, imageId: string, bytes?: Buffer): Promise<void> {
  const data = bytes ?? (await imageBytes(ctx, imageId));
  if (!(await ctx.images.readFile(imageId))) await ctx.images.writeFile(imageId, data);
  await ctx.images.putBlob(referenceBlobId(jobId, imageId), data);
}
