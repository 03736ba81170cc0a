import { randomUUID } from 'node:crypto';
import { DiscordAPIError, Routes, type APIChannel, type APIMessage, type RawFile } from 'discord.js';
import type { JobRecord } from '../store/jobs.js';
import type { BotContext } from './context.js';
import type { MessageBody } from './messages.js';
import { runScript } from '../redis-scripts.js';

/**
 * The REST calls that put a generation's message on Discord, outside of any live interaction
 * object (delivery can happen hours later, in another bot process, after a restart).
 */

/** Interaction tokens live 15 minutes; stop using one a minute early. */
export const TOKEN_LIFETIME_MS = 14 * 60 * 1000;

export function tokenAlive(record: JobRecord, now: number): boolean {
  return record.interactionToken !== undefined && now - record.interactionAt < TOKEN_LIFETIME_MS;
}

/** The record no longer has its interaction token (it is kept only while it works). */
class InteractionTokenGoneError extends Error {
  override name = 'InteractionTokenGoneError';
}

function tokenOf(record: JobRecord): string {
  if (record.interactionToken === undefined) throw new InteractionTokenGoneError(`the interaction token of job ${record.id} has expired`);
  return record.interactionToken;
}

/** Errors that mean "this interaction's webhook is gone": fall back to the bot's own token. */
export function isDeadInteraction(error: unknown): boolean {
  if (error instanceof InteractionTokenGoneError) return true;
  if (!(error instanceof DiscordAPIError)) return false;
  return [10008, 10015, 10062, 50027].includes(Number(error.code)) || error.status === 401;
}

/**
 * Discord errors no retry can fix, with what the author is told: the bot lost access to the place,
 * or the place (or the message to reply to) is gone. Retrying them only repeats the refusal.
 */
const PERMANENT_ERRORS: Record<number, string> = {
  50001: 'I no longer have access to that channel.',
  50013: 'I am missing the permissions I need to post there.',
  10003: 'That channel no longer exists.',
  50007: 'Discord does not let me send you a direct message.',
  10008: 'The message I had to answer no longer exists.',
  50083: 'That thread is archived.',
  160005: 'That thread is locked.',
};

/** What to tell the author when `error` is one Discord will repeat forever; undefined otherwise. */
export function permanentFailure(error: unknown): string | undefined {
  if (!(error instanceof DiscordAPIError)) return undefined;
  return PERMANENT_ERRORS[Number(error.code)];
}

/**
 * Runs one post (or edit) outside delivery: a series announcement, a challenge phase, a progress
 * bar. A refusal no retry can change (the same list as delivery's) is logged once, at warn, with
 * `ids`, and comes back as its reason, so the caller records that post as given up instead of
 * failing its job into another retry; any other error is thrown for the usual retries.
 */
export async function unlessRefused<T>(
  ctx: BotContext,
  what: string,
  ids: Record<string, string | undefined>,
  post: () => Promise<T>,
): Promise<{ done: T } | { refused: string; code: number }> {
  try {
    return { done: await post() };
  } catch (error) {
    const refused = permanentFailure(error);
    if (!refused) throw error;
    ctx.logger.warn({ err: error, ...ids }, `Discord refused the ${what} for good; not trying it again`);
    return { refused, code: Number((error as DiscordAPIError).code) };
  }
}

/** Discord's code for a channel (or thread) that no longer exists. */
export const UNKNOWN_CHANNEL = 10003;

export async function editOriginalResponse(ctx: BotContext, record: JobRecord, body: MessageBody, files?: RawFile[]): Promise<APIMessage> {
  return (await ctx.rest.patch(Routes.webhookMessage(record.applicationId, tokenOf(record), '@original'), {
    body,
    files,
    auth: false,
  })) as APIMessage;
}

/** An ephemeral follow-up to the member who asked (only while the token lives). */
export async function followUpPrivately(ctx: BotContext, record: JobRecord, body: MessageBody): Promise<void> {
  await ctx.rest.post(Routes.webhook(record.applicationId, tokenOf(record)), { body, auth: false });
}

export async function editChannelMessage(
  ctx: BotContext,
  channelId: string,
  messageId: string,
  body: MessageBody,
  files?: RawFile[],
): Promise<APIMessage> {
  return (await ctx.rest.patch(Routes.channelMessage(channelId, messageId), { body, files })) as APIMessage;
}

export async function fetchChannelMessage(ctx: BotContext, channelId: string, messageId: string): Promise<APIMessage | undefined> {
  try {
    return (await ctx.rest.get(Routes.channelMessage(channelId, messageId))) as APIMessage;
  } catch (error) {
    if (error instanceof DiscordAPIError && (error.status === 404 || error.status === 403)) return undefined;
    throw error;
  }
}

/** Discord's refusal of a reply from a bot that may not read the channel's history. */
const CANNOT_REPLY_WITHOUT_HISTORY = 160002;

/**
 * Posts in the channel with the bot token. `nonce` + `enforce_nonce` make a retried post after a
 * crash return the first message instead of creating a second one. A reply needs Read Message
 * History: without it, the post goes out as a plain message instead.
 */
export async function postChannelMessage(
  ctx: BotContext,
  channelId: string,
  body: MessageBody,
  options: { files?: RawFile[]; replyTo?: string; nonce?: string } = {},
): Promise<APIMessage> {
  const payload = { ...body, nonce: options.nonce ?? randomUUID().replaceAll('-', '').slice(0, 25), enforce_nonce: true };
  const post = async (reference: object) =>
    (await ctx.rest.post(Routes.channelMessages(channelId), { body: { ...payload, ...reference }, files: options.files })) as APIMessage;
  if (!options.replyTo) return post({});
  try {
    return await post({ message_reference: { message_id: options.replyTo, fail_if_not_exists: false } });
  } catch (error) {
    if (!(error instanceof DiscordAPIError) || Number(error.code) !== CANNOT_REPLY_WITHOUT_HISTORY) throw error;
    return post({});
  }
}

/** A direct message to a member (their DM channel with the bot is opened first); the nonce makes a retry the same message. */
export async function sendDirectMessage(ctx: BotContext, userId: string, body: MessageBody, nonce: string): Promise<APIMessage> {
  const dm = (await ctx.rest.post(Routes.userChannels(), { body: { recipient_id: userId } })) as APIChannel;
  return postChannelMessage(ctx, dm.id, body, { nonce });
}

/**
 * Edits the job's visible message: through the interaction while its token lives, then through
 * the channel (the bot wrote that message, so its own token may edit it).
 */
export async function editJobMessage(ctx: BotContext, record: JobRecord, body: MessageBody): Promise<void> {
  if (tokenAlive(record, ctx.now())) {
    try {
      await editOriginalResponse(ctx, record, body);
      return;
    } catch (error) {
      if (!isDeadInteraction(error)) throw error;
    }
  }
  if (record.messageId) await editChannelMessage(ctx, record.channelId, record.messageId, body);
}

/** How long a message lock lasts unless its holder renews it (it does, while its work runs). */
export const MESSAGE_LOCK_MS = 15_000;
const RELEASE = "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0";
const RENEW = "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end return 0";

/**
 * A short Redis lock around edits of one job's message, so that a late progress edit can never
 * land on top of the delivered result (several bot processes may be running). The holder renews it
 * while its work runs (a large upload, a long rate-limit wait), so a second worker cannot start the
 * same post meanwhile; a holder that dies lets it lapse within `MESSAGE_LOCK_MS`.
 */
export async function withMessageLock<T>(ctx: BotContext, jobId: string, wait: boolean, fn: () => Promise<T>): Promise<T | undefined> {
  const key = `${ctx.prefix}:lock:message:${jobId}`;
  const token = randomUUID();
  for (let attempt = 0; ; attempt += 1) {
    const acquired = await ctx.redis.set(key, token, 'PX', MESSAGE_LOCK_MS, 'NX');
    if (acquired) break;
    if (!wait) return undefined;
    if (attempt > 300) throw new Error(`the message of job ${jobId} stayed locked for 15 s`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  const renewal = setInterval(() => {
    ctx.redis
      .eval(RENEW, 1, key, token, MESSAGE_LOCK_MS)
      .catch((error) => ctx.logger.debug({ err: error, jobId }, 'could not renew the message lock'));
  }, MESSAGE_LOCK_MS / 3);
  try {
    return await fn();
  } finally {
    clearInterval(renewal);
    await runScript(ctx.redis, RELEASE, 1, key, token);
  }
}
