import type { APIMessage, Message } from 'discord.js';
import type { JobRecord } from '../store/jobs.js';
import type { BotContext } from './context.js';

/**
 * How a result's files are named on Discord, and how a result is recognised by them: each picture
 * is `atelier-<request id>-<n>` (n from 1), a grid of several is `atelier-<request id>-grid`.
 */
export const resultFileBase = (requestId: string, picture: number | 'grid') => `atelier-${requestId}-${picture}`;

const RESULT_FILE = /^atelier-(\d{15,20})-([1-4])\.[a-z]+$/;

/** The picture a result's file shows (`atelier-123…-2.png` → `123…-2`); undefined for a grid or any other name. */
export function pictureIdOfFile(name: string): string | undefined {
  const match = RESULT_FILE.exec(name);
  return match ? `${match[1]}-${match[2]}` : undefined;
}

/**
 * The pictures of one of Atelier's own results, read off its message: posted by this application
 * (as the bot user, or as its interactions' webhook), with files named as above. The archive learns
 * which message a result is in only just after the post, and its record says so a moment after
 * that; a member may point at the message, or click on it, in that moment. Nobody else can post as
 * the application, so a file name alone (in a member's or a webhook's message) counts for nothing.
 */
export function resultPictureIds(
  ctx: Pick<BotContext, 'applicationId' | 'botUserId'>,
  message: { authorId: string; webhookId?: string | null; fileNames: readonly string[] },
): string[] {
  const ours = message.authorId === ctx.botUserId || message.webhookId === ctx.applicationId;
  if (!ours) return [];
  return message.fileNames.flatMap((name) => pictureIdOfFile(name) ?? []);
}

/** resultPictureIds of a message discord.js hands over (a button's, a context menu's target). */
export function picturesShownOn(ctx: Pick<BotContext, 'applicationId' | 'botUserId'>, message: Message): string[] {
  return resultPictureIds(ctx, {
    authorId: message.author.id,
    webhookId: message.webhookId,
    fileNames: [...message.attachments.values()].map((attachment) => attachment.name),
  });
}

/** resultPictureIds of a message read from Discord's API (a link a member gave). */
export function picturesOfApiMessage(ctx: Pick<BotContext, 'applicationId' | 'botUserId'>, message: APIMessage): string[] {
  return resultPictureIds(ctx, {
    authorId: message.author.id,
    webhookId: message.webhook_id,
    fileNames: message.attachments.map((attachment) => attachment.filename),
  });
}

/**
 * A live record as the buttons on its result's message see it. A result that is done and already
 * on this very message (posted, with the record not saying so yet) counts as delivered there, so a
 * click in that moment works as one a moment later does. Anything else is returned as it is.
 */
function asDeliveredOn(ctx: Pick<BotContext, 'applicationId' | 'botUserId'>, record: JobRecord, message: Message): JobRecord {
  if (record.status !== 'done' || record.imageIds.length === 0) return record;
  const shown = picturesShownOn(ctx, message);
  if (shown.length === 0 || shown.some((id) => !record.imageIds.includes(id))) return record;
  return { ...record, status: 'delivered', resultMessageId: message.id, resultChannelId: message.channelId };
}

/**
 * The live record of the job a button names, as the message clicked on sees it (see asDeliveredOn);
 * without a message (a modal opened elsewhere), the record as it is. Undefined for an unknown job.
 */
export async function recordAsClicked(
  ctx: Pick<BotContext, 'applicationId' | 'botUserId' | 'jobs'>,
  jobId: string,
  message: Message | null | undefined,
): Promise<JobRecord | undefined> {
  const found = await ctx.jobs.get(jobId);
  return found && message ? asDeliveredOn(ctx, found, message) : found;
}
