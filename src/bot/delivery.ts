import { DelayedError, UnrecoverableError, type Job } from 'bullmq';
import { DiscordAPIError, Routes, SnowflakeUtil, type APIChannel, type APIMessage, type RawFile } from 'discord.js';
import { composeGrid } from '../images/grid.js';
import { fitToSize, ImageTooLargeError } from '../images/fit.js';
import { deliverJobSchema } from '../queues.js';
import type { JobRecord } from '../store/jobs.js';
import { archiveDelivery, recordImages, recordRequestOutcome, type ArchivedImage, type DeliveredArchive } from '../features/pictures/store.js';
import { resultExtras } from './community.js';
import type { BotContext } from './context.js';
import { hasLeftGuild } from './guilds.js';
import {
  editChannelMessage,
  editOriginalResponse,
  fetchChannelMessage,
  followUpPrivately,
  isDeadInteraction,
  permanentFailure,
  postChannelMessage,
  sendDirectMessage,
  tokenAlive,
  withMessageLock,
} from './discord-messages.js';
import { ephemeral, failedMessage, failedNotice, noMentions, resultMessage, type MessageBody } from './messages.js';
import { resultFileBase } from './result-files.js';

/** What post-delivery hooks learn about the message: enough to find it again after a restart. */
export type DeliveredMessage = Pick<APIMessage, 'id' | 'channel_id'>;

export type DeliveryOutcome = 'edited' | 'posted' | 'found' | 'notified' | 'skipped';

/** How long delivery waits for the bot's own "Queued" answer before it stops waiting. */
const ACK_WAIT_MS = 10_000;
const IN_PROCESS_ACK_WAIT_MS = 1_000;

/** Resolves true once the job's "Queued" answer was sent (or refused), false after `timeoutMs`. */
async function answered(ctx: BotContext, jobId: string, timeoutMs: number): Promise<boolean> {
  let onAnswer!: () => void;
  const heard = new Promise<boolean>((resolve) => {
    onAnswer = () => resolve(true);
    ctx.answers.once(jobId, onAnswer);
  });
  let timer: NodeJS.Timeout | undefined;
  try {
    // Registered first, then checked: an answer between the two cannot be missed.
    const record = await ctx.jobs.peek(jobId);
    if (record?.ackedAt || record?.ackFailed) return true;
    return await Promise.race([heard, new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), timeoutMs)))]);
  } finally {
    clearTimeout(timer);
    ctx.answers.off(jobId, onAnswer);
  }
}

/**
 * Brings a finished (or failed) generation to Discord, exactly once. The record in Redis says what
 * to post; every step is safe to repeat after a crash: editing the original response is
 * idempotent, a channel post carries a nonce, and an earlier post is looked for before a new one.
 */
export async function processDeliver(job: Job, token: string | undefined, ctx: BotContext): Promise<DeliveryOutcome> {
  const parsed = deliverJobSchema.safeParse(job.data);
  if (!parsed.success) throw new UnrecoverableError('invalid delivery payload');
  const { jobId } = parsed.data;
  // A cheap look first (the whole record is read under the lock below); a record no longer in
  // Redis is looked up in the archive as before.
  const first = (await ctx.jobs.peek(jobId)) ?? (await ctx.jobs.get(jobId));
  if (first?.status === 'delivered' && first.hooksDone === '0' && first.resultMessageId) {
    const delivered = await ctx.jobs.get(jobId);
    if (delivered?.status === 'delivered' && delivered.hooksDone === '0' && delivered.resultMessageId) {
      await runDeliveredHooks(ctx, delivered, { id: delivered.resultMessageId, channel_id: delivered.resultChannelId ?? delivered.channelId });
    }
    return 'skipped';
  }
  if (!first || first.status === 'delivered' || first.status === 'cancelled') return 'skipped';

  // An instant provider can finish before our "Queued" answer reached Discord; editing the
  // original response before it exists would fail, so wait for the answer: in this process it is
  // announced at once, from another bot process it shows in Redis by the time the job comes back.
  if (!first.ackedAt && !first.ackFailed && ctx.now() - first.interactionAt < ACK_WAIT_MS && token) {
    if (!(await answered(ctx, jobId, IN_PROCESS_ACK_WAIT_MS))) {
      await job.moveToDelayed(Date.now() + 250, token);
      throw new DelayedError();
    }
  }

  const outcome = await withMessageLock(ctx, jobId, true, async (): Promise<DeliveryOutcome> => {
    // A record's server never changes, so whether the bot left it is asked together with the read.
    const [record, left] = await Promise.all([ctx.jobs.get(jobId), hasLeftGuild(ctx, first.guildId)]);
    if (!record) return 'skipped';
    if (record.status === 'failed' && record.resultMessageId) return 'skipped';
    if (record.status !== 'failed' && record.status !== 'done') return 'skipped';
    if (left) {
      // The server removed the bot: nothing more is posted there.
      await ctx.jobs.transition(record.id, ['done'], 'cancelled', { cancelledBy: ctx.applicationId });
      await ctx.jobs.settle(record.id);
      await ctx.images.deleteBytes(record.imageIds);
      return 'skipped';
    }
    try {
      return record.status === 'failed' ? await deliverFailure(ctx, record) : await deliverResult(ctx, record, neverShown(ctx, job, record));
    } catch (error) {
      const reason = permanentFailure(error);
      if (!reason) throw error;
      // Returning (not throwing) ends this delivery: neither BullMQ nor the recovery sweep tries again.
      ctx.logger.warn({ err: error, jobId }, 'Discord refused the delivery for good; telling the author privately');
      return giveUp(ctx, record, reason);
    }
  });
  return outcome ?? 'skipped';
}

/**
 * Settles a request Discord will never take (lost access, channel gone…): the record ends failed,
 * and its author hears why, privately, without another attempt at the place that refused.
 */
async function giveUp(ctx: BotContext, record: JobRecord, reason: string): Promise<DeliveryOutcome> {
  let error = record.error;
  // A failure the worker worded (it may quote the provider) is escaped like member text.
  let notice = `⚠️ ${failedNotice({ error: record.error ?? reason, errorKind: record.errorKind })}`;
  if (record.status === 'done') {
    error = `Your picture was made, but I could not post it in <#${record.channelId}>: ${reason}`;
    notice = `⚠️ ${error}`;
    await ctx.jobs.transition(record.id, ['done'], 'failed', { error, errorKind: 'discord' });
  }
  await recordRequestOutcome(ctx.db, record.id, {
    status: 'failed',
    error,
    errorKind: record.errorKind ?? 'discord',
    startedAt: record.startedAt,
    finishedAt: record.finishedAt,
  });
  await tellAuthorPrivately(ctx, record, notice);
  await ctx.jobs.settle(record.id);
  // Never shown on Discord: its pictures are not kept (rows written just before the post become tombstones).
  await ctx.images.tombstone(record.imageIds, ctx.applicationId, ctx.now());
  return 'notified';
}

/**
 * An ephemeral follow-up while the interaction token lives, otherwise a direct message; when both
 * fail there is nobody left to tell, so it is logged and that is all.
 */
async function tellAuthorPrivately(ctx: BotContext, record: JobRecord, text: string): Promise<void> {
  if (tokenAlive(record, ctx.now())) {
    try {
      await followUpPrivately(ctx, record, ephemeral(text));
      return;
    } catch (error) {
      ctx.logger.debug({ err: error, jobId: record.id }, 'private follow-up failed; trying a direct message');
    }
  }
  try {
    await sendDirectMessage(ctx, record.userId, { content: text, components: [], allowed_mentions: noMentions }, `n${record.id}`);
  } catch (error) {
    ctx.logger.warn({ err: error, jobId: record.id, userId: record.userId }, 'could not tell the author privately either; giving up');
  }
}

/** How soon after a picture was drawn its first delivery attempt runs, at most, on a bot that did not stop. */
const FIRST_DELIVERY_WINDOW_MS = 60_000;

/**
 * Whether no earlier attempt can have put this result on Discord: the first attempt of its
 * delivery, soon after it was drawn (a delivery the recovery sweep queued again after a restart
 * comes later). Such a result has no votes yet, and none are asked for.
 */
export function neverShown(ctx: Pick<BotContext, 'now'>, job: Pick<Job, 'attemptsStarted'>, record: Pick<JobRecord, 'finishedAt'>): boolean {
  return job.attemptsStarted <= 1 && record.finishedAt !== undefined && ctx.now() - record.finishedAt < FIRST_DELIVERY_WINDOW_MS;
}

async function deliverResult(ctx: BotContext, record: JobRecord, firstShowing = false): Promise<DeliveryOutcome> {
  let files: RawFile[];
  try {
    files = await resultFiles(ctx, record);
  } catch (error) {
    if (error instanceof ImageTooLargeError || error instanceof MissingImageError) {
      await ctx.jobs.transition(record.id, ['done'], 'failed', { error: error.message, errorKind: 'delivery' });
      const failed = await ctx.jobs.get(record.id);
      return failed ? deliverFailure(ctx, failed) : 'skipped';
    }
    throw error;
  }
  // The pictures' rows exist before anyone can see the result (and click on it); the message they
  // are in is filled in with the request's outcome once the post is there.
  const [extras] = await Promise.all([
    resultExtras(ctx, record, firstShowing),
    recordImages(ctx.db, archivedImages(record, undefined, [], ctx.now())),
  ]);
  const body = resultMessage(
    record,
    files.map((file) => file.name),
    extras,
  );
  let placed: Awaited<ReturnType<typeof putOnDiscord>>;
  try {
    placed = await putOnDiscord(ctx, record, body, files);
  } catch (error) {
    if (error instanceof DiscordAPIError && (error.status === 413 || Number(error.code) === 40005)) {
      await ctx.jobs.update(record.id, { uploadShrink: (record.uploadShrink ?? 1) * 2 });
    }
    throw error;
  }
  const { message, outcome } = placed;

  await ctx.jobs.transition(
    record.id,
    ['done'],
    'delivered',
    { resultMessageId: message.id, resultChannelId: message.channel_id ?? record.channelId, hooksDone: '0' },
    record,
  );
  ctx.metrics?.deliverySeconds.observe({ kind: record.kind }, Math.max(0, ctx.now() - record.interactionAt) / 1000);
  // The grid, when there is one, comes first; the single images follow in order.
  const firstImage = files.length - record.imageIds.length;
  const attachmentUrls = record.imageIds.map((_, index) => {
    const filename = files[firstImage + index]?.name;
    return message.attachments?.find((a) => a.filename === filename)?.url;
  });
  // Bytes a worker handed over in Redis are not needed there any more (none travel when the folder is shared, or with S3).
  if (record.bytesInRedis !== false) await ctx.images.deleteBlobs(record.imageIds);
  await runDeliveredHooks(ctx, { ...record, status: 'delivered', resultMessageId: message.id }, message, attachmentUrls);
  return outcome;
}

/**
 * What follows a delivery (family trees, series panels). The result is on Discord whatever a hook
 * does; a failing one fails this delivery attempt, and the retry runs the hooks again (they are
 * idempotent) without posting anything twice.
 */
async function runDeliveredHooks(
  ctx: BotContext,
  record: JobRecord,
  message: DeliveredMessage,
  attachmentUrls: ReadonlyArray<string | undefined> = [],
): Promise<void> {
  await archiveDelivered(ctx, record, message, attachmentUrls);
  const failures: unknown[] = [];
  for (const hook of ctx.onDelivered ?? []) {
    await hook(record, message).catch((error) => {
      ctx.logger.error({ err: error, jobId: record.id }, 'post-delivery hook failed');
      failures.push(error);
    });
  }
  if (failures.length > 0) throw new Error(`${failures.length} post-delivery hook(s) failed; they will run again`);
  // Settled for good: the archive answers for it from now on, and Redis lets it go.
  await ctx.jobs.forget(record.id);
}

/**
 * The request's outcome, its pictures and its author's name go to the archive, in one transaction
 * (idempotent: a retry writes nothing new). The pictures' facts come from the worker through the
 * live record; the bot alone writes to the database.
 */
async function archiveDelivered(
  ctx: BotContext,
  record: JobRecord,
  message: DeliveredMessage,
  attachmentUrls: ReadonlyArray<string | undefined>,
): Promise<void> {
  await archiveDelivery(ctx.db, deliveredArchive(record, message, attachmentUrls, ctx.now()));
}

/** What the archive keeps of a delivered result: its pictures (from the worker's facts), outcome, author and /profile numbers. */
export function deliveredArchive(
  record: JobRecord,
  message: DeliveredMessage,
  attachmentUrls: ReadonlyArray<string | undefined> = [],
  now = Date.now(),
): DeliveredArchive {
  return {
    requestId: record.id,
    images: archivedImages(record, message.id, attachmentUrls, now),
    outcome: {
      status: 'delivered',
      resultChannelId: message.channel_id,
      resultMessageId: message.id,
      startedAt: record.startedAt,
      finishedAt: record.finishedAt,
    },
    author: { userId: record.userId, name: record.userName },
    made: {
      guildId: record.guildId,
      pictures: record.imageIds.length,
      fromImageId: record.parentImageId && MADE_FROM_KINDS.includes(record.kind) ? record.parentImageId : undefined,
    },
  };
}

/** Work from one picture that counts as a remix of it (an upscale is the same picture, larger). */
const MADE_FROM_KINDS: readonly JobRecord['kind'][] = ['img2img', 'variation', 'outpaint', 'inpaint'];

/** A result's pictures as archive rows, from the facts the worker handed over. */
function archivedImages(
  record: JobRecord,
  messageId: string | undefined,
  attachmentUrls: ReadonlyArray<string | undefined>,
  now: number,
): ArchivedImage[] {
  const createdAt = record.finishedAt ?? now;
  return record.imageIds.flatMap((id, index) => {
    const facts = record.images[index];
    if (!facts) return [];
    return [
      {
        id,
        requestId: record.id,
        index: index + 1,
        kind: record.kind,
        prompt: record.prompt,
        negative: record.negative,
        seed: record.kind === 'upscale' ? record.seed : record.seed + index,
        model: record.model,
        aspect: record.aspect,
        width: facts.width,
        height: facts.height,
        contentType: facts.contentType,
        userId: record.userId,
        guildId: record.guildId,
        channelId: record.channelId,
        messageId,
        attachmentUrl: attachmentUrls[index],
        nsfw: record.nsfw,
        parentId: record.parentImageId,
        createdAt,
      },
    ];
  });
}

class MissingImageError extends Error {
  override name = 'MissingImageError';
}

/** The images (and, for several, a grid first), each re-encoded if needed to fit the server's limit. */
async function resultFiles(ctx: BotContext, record: JobRecord): Promise<RawFile[]> {
  const originals = await Promise.all(
    record.imageIds.map(async (id) => {
      const stored = await ctx.images.readFile(id);
      if (stored) return stored;
      // A worker with a folder of its own handed the bytes over through Redis.
      const bytes = await ctx.images.getBlob(id);
      if (!bytes) throw new MissingImageError('The finished image was lost before it could be posted. Please try again.');
      // Into the bot's storage: remixes, upscales and the web read it after the transfer blob is gone.
      await ctx.images.writeFile(id, bytes);
      return bytes;
    }),
  );
  const named = originals.map((data, index) => ({ data, base: resultFileBase(record.id, index + 1) }));
  if (originals.length > 1) named.unshift({ data: await composeGrid(originals, { labels: true }), base: resultFileBase(record.id, 'grid') });
  // The whole upload stays within the server's limit, shared among the files; after Discord still
  // refused an upload as too large (413), each retry halves the share again.
  const shrink = record.uploadShrink ?? 1;
  const perFile = Math.floor(record.attachmentSizeLimit / named.length / shrink);
  const fitted = await Promise.all(named.map(({ data, base }) => fitToSize(data, perFile, base)));
  return fitted.map((file) => ({ name: file.filename, data: file.data, contentType: file.contentType }));
}

/**
 * Edits the interaction's original response while its token lives; otherwise (or when Discord says
 * the interaction is gone) posts in the channel as a reply to the "Queued" message.
 */
async function putOnDiscord(
  ctx: BotContext,
  record: JobRecord,
  body: MessageBody,
  files: RawFile[] = [],
): Promise<{ message: APIMessage; outcome: DeliveryOutcome }> {
  if (tokenAlive(record, ctx.now()) && !record.ackFailed) {
    try {
      return { message: await editOriginalResponse(ctx, record, body, files), outcome: 'edited' };
    } catch (error) {
      if (!isDeadInteraction(error)) throw error;
      ctx.logger.info({ jobId: record.id }, 'interaction expired; delivering to the channel');
    }
  }
  if (record.private === '1') {
    // A private result (an exquisite corpse panel) stays private once its token died: a direct message.
    const dm = (await ctx.rest.post(Routes.userChannels(), { body: { recipient_id: record.userId } })) as APIChannel;
    return { message: await postChannelMessage(ctx, dm.id, body, { files, nonce: `d${record.id}` }), outcome: 'posted' };
  }
  if (record.messageId) {
    // A crash after an edit but before it was recorded: the original may already show the result.
    const original = await fetchChannelMessage(ctx, record.channelId, record.messageId);
    if (original && (original.attachments?.length ?? 0) > 0 && original.content === body.content) {
      return { message: original, outcome: 'found' };
    }
  }
  // Discord remembers a nonce for a few minutes only; a retry after a longer outage or restart
  // looks for the earlier post itself.
  if (record.channelPostAt) {
    const earlier = await findEarlierPost(ctx, record, body, files, record.channelPostAt);
    if (earlier) return { message: earlier, outcome: 'found' };
  }
  await ctx.jobs.update(record.id, { channelPostAt: ctx.now() });
  const message = await postChannelMessage(ctx, record.channelId, body, {
    files,
    replyTo: record.messageId,
    nonce: channelPostNonce(record),
  });
  if (record.messageId) {
    const pointer: MessageBody = { content: '✅ Done — the result is in the reply below.', components: [], allowed_mentions: noMentions };
    await editChannelMessage(ctx, record.channelId, record.messageId, pointer).catch((error) =>
      ctx.logger.debug({ err: error, jobId: record.id }, 'could not update the queued message'),
    );
  }
  return { message, outcome: 'posted' };
}

/**
 * The bot's own post for this job in its channel since `since`. Only messages the bot wrote count
 * (another bot or a member can post a file of the same name); the nonce, when Discord returns it,
 * says which job a post was for, otherwise the job's file names (or text) do.
 */
async function findEarlierPost(
  ctx: BotContext,
  record: JobRecord,
  body: MessageBody,
  files: RawFile[],
  since: number,
): Promise<APIMessage | undefined> {
  const after = SnowflakeUtil.generate({ timestamp: since - 60_000 }).toString();
  const recent = (await ctx.rest.get(Routes.channelMessages(record.channelId), {
    query: new URLSearchParams({ after, limit: '100' }),
  })) as APIMessage[];
  const nonce = channelPostNonce(record);
  const names = new Set(files.map((file) => file.name));
  const sameJob = (message: APIMessage) =>
    message.nonce !== undefined
      ? String(message.nonce) === nonce
      : files.length > 0
        ? (message.attachments ?? []).some((a) => names.has(a.filename))
        : message.content === body.content;
  return recent.find((message) => message.author?.id === ctx.botUserId && !message.webhook_id && sameJob(message));
}

/** The nonce of the job's channel post: a retry within Discord's memory of it gets the same message. */
const channelPostNonce = (record: JobRecord) => `d${record.id}`;

async function deliverFailure(ctx: BotContext, record: JobRecord): Promise<DeliveryOutcome> {
  await recordRequestOutcome(ctx.db, record.id, {
    status: 'failed',
    error: record.error,
    errorKind: record.errorKind,
    startedAt: record.startedAt,
    finishedAt: record.finishedAt,
  });
  const { message } = await putOnDiscord(ctx, record, failedMessage(record));
  // Recorded at once: a retry of a later step must not tell the author twice.
  await ctx.jobs.update(record.id, { resultMessageId: message.id, resultChannelId: message.channel_id });
  // The channel is told what happened in general; the specific reason reaches the author alone, by
  // a direct message once the interaction's token has lapsed.
  await tellAuthorPrivately(ctx, record, failedNotice(record));
  await ctx.jobs.settle(record.id);
  await ctx.images.deleteBytes(record.imageIds);
  return 'notified';
}
