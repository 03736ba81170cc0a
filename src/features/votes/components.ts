import { randomUUID } from 'node:crypto';
import { Routes, type ButtonInteraction, type Message } from 'discord.js';
import type { BotContext } from '../../bot/context.js';
import { pictureWebUrl, resultComponents, type ResultShape } from '../../bot/messages.js';
import { InvalidRequestError } from '../../bot/prompt.js';
import { recordAsClicked } from '../../bot/result-files.js';
import { inThisServer } from '../../bot/server-scope.js';
import { runScript } from '../../redis-scripts.js';
import type { VotedRequest } from './store.js';

/**
 * The 👍 Vote button on a result. Everything it needs comes from the archive in PostgreSQL (the
 * request, its score, where its message is), so the button on an old message keeps working after
 * Redis lost its records; the live job record is read only in the moment between a result being
 * posted and its archive row saying so.
 */

/** A result a member may vote on, as the button's redraw needs it. */
interface VoteResult extends ResultShape {
  userId?: string;
  guildId?: string;
  resultChannelId: string;
  resultMessageId: string;
}

/**
 * The delivered result a vote custom_id names, if it belongs to the server the click came from
 * and to the message the button sits on. Unknown and other servers' results read alike.
 */
async function votableResult(ctx: BotContext, jobId: string, interaction: ButtonInteraction): Promise<VoteResult> {
  const result = await deliveredResult(ctx, jobId, interaction.message);
  if (!result || !inThisServer(result, interaction)) throw new InvalidRequestError('I no longer know that picture (it may be too old).');
  // The button acts on the message it sits on: a custom_id replayed on another message is refused.
  if (interaction.message.id !== result.resultMessageId) throw new InvalidRequestError('That button does not belong to this message.');
  return result;
}

/**
 * A delivered result and the message it is in, from the archive; in the moment between a result
 * being posted and its archive row saying so, from the live record, or from the message clicked
 * on when the live record does not say so yet either (see recordAsClicked).
 */
async function deliveredResult(ctx: BotContext, jobId: string, clickedOn?: Message): Promise<VoteResult | undefined> {
  const archived = await ctx.votes.request(jobId);
  if (archived?.status === 'delivered' && archived.resultMessageId) {
    return fromArchive(archived, archived.resultMessageId, await imagesOf(ctx, archived));
  }
  if (!archived) return undefined;
  const live = await recordAsClicked(ctx, jobId, clickedOn);
  if (live?.status !== 'delivered' || !live.resultMessageId || live.imageIds.length === 0) return undefined;
  return { ...fromArchive(archived, live.resultMessageId, live.imageIds.length), resultChannelId: live.resultChannelId ?? live.channelId };
}

function fromArchive(request: VotedRequest, resultMessageId: string, images: number): VoteResult {
  return {
    id: request.id,
    kind: request.kind,
    images,
    draft: request.draft,
    userId: request.userId,
    guildId: request.guildId,
    resultChannelId: request.resultChannelId ?? request.channelId,
    resultMessageId,
  };
}

/** How many pictures the result's message shows (the archive's rows; the request's count before they exist). */
async function imagesOf(ctx: BotContext, request: VotedRequest): Promise<number> {
  const row = await ctx.db
    .selectFrom('images')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('request_id', '=', request.id)
    .executeTakeFirstOrThrow();
  return Number(row.n) || request.imageCount;
}

/** A click on 👍: adds or takes back the member's vote, then redraws the label. */
export async function voteButton(interaction: ButtonInteraction, jobId: string, ctx: BotContext): Promise<void> {
  const result = await votableResult(ctx, jobId, interaction);
  if (interaction.user.id === result.userId && !(await ctx.settings.get(result.guildId)).allowSelfVote) {
    throw new InvalidRequestError('You cannot vote for your own pictures here.');
  }
  // The click is acknowledged without an edit; the label is redrawn once for however many clicks
  // arrive meanwhile, always from the count the database holds at that moment. The redraw is owed
  // before the click is acknowledged, so nobody can see the click answered and no redraw pending.
  const acknowledge = async () => {
    await ctx.redis.set(voteRedrawKey(ctx, result.id), '1', 'EX', 3600);
    await interaction.deferUpdate();
  };
  const toggled = ctx.votes.toggle({ jobId: result.id }, interaction.user.id, ctx.now());
  // Clicks on one result take turns (its row is locked while a vote is counted). Discord waits 3 s
  // for an answer: a click still waiting its turn near then is answered first, so that it does not
  // show as failed (and get clicked again, which would take the vote back); a refusal follows privately.
  if (!(await settlesWithin(toggled, interaction.createdTimestamp + ANSWER_WITHIN_MS - Date.now()))) await acknowledge();
  const { outcome } = await toggled;
  if (outcome === 'added' || outcome === 'removed') ctx.metrics?.votes.inc({ outcome });
  if (outcome === 'closed') throw new InvalidRequestError('That picture was deleted; it cannot be voted for any more.');
  if (!interaction.deferred) await acknowledge();
  // Marks the redraw owed again: one run since an early answer may not have seen this vote.
  await redrawVoteLabel(ctx, result).catch((error) => ctx.logger.warn({ err: error, jobId: result.id }, 'vote label redraw failed'));
}

/** How long after a click its vote may take before the click is answered first (Discord allows 3 s). */
const ANSWER_WITHIN_MS = 1_500;

/** Whether `promise` settles (either way) within `ms`; it is not cancelled when it does not. */
async function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  // Handled here whatever happens, so a failure while the caller is busy is never an unhandled rejection.
  const settled = promise.then(
    () => true,
    () => true,
  );
  if (ms <= 0) return false;
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<boolean>((resolve) => (timer = setTimeout(resolve, ms, false)));
  try {
    return await Promise.race([settled, late]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Redraws a result's vote label, coalescing concurrent clicks (from any bot process): each click
 * marks the message dirty; whoever holds the message's redraw lock re-reads the count and edits
 * until no click is left unseen. One redraw is in flight per message, so an edit carrying an older
 * count can never land after a newer one, and a burst of clicks costs a few edits instead of one each.
 */
async function redrawVoteLabel(ctx: BotContext, result: VoteResult): Promise<void> {
  const dirty = voteRedrawKey(ctx, result.id);
  const lock = `${ctx.prefix}:lock:vote-redraw:${result.id}`;
  await ctx.redis.set(dirty, '1', 'EX', 3600);
  for (;;) {
    const token = randomUUID();
    // Someone else is redrawing: they will see the flag before they let go.
    if (!(await ctx.redis.set(lock, token, 'PX', REDRAW_LOCK_MS, 'NX'))) return;
    try {
      while ((await ctx.redis.del(dirty)) === 1) {
        const now = await ctx.votes.request(result.id);
        // A picture deleted meanwhile keeps its message without buttons.
        if (!now || now.closed) continue;
        await ctx.rest.patch(Routes.channelMessage(result.resultChannelId, result.resultMessageId), {
          body: { components: resultComponents(result, now.votes, webUrlOf(ctx, result)) },
        });
      }
    } finally {
      await runScript(ctx.redis, RELEASE_IF_OWNER, 1, lock, token);
    }
    // A click that flagged the message after our last look, but found the lock still held.
    if (!(await ctx.redis.exists(dirty))) return;
  }
}

/**
 * Brings a delivered result's label in line with the votes table after a vote cast outside
 * Discord (the web gallery). A result not delivered yet has no label; one posted a moment ago is
 * found through its live record, as a click on it is.
 */
export async function redrawVoteLabelOf(ctx: BotContext, requestId: string): Promise<void> {
  const result = await deliveredResult(ctx, requestId);
  if (!result) return;
  await ctx.redis.set(voteRedrawKey(ctx, result.id), '1', 'EX', 3600);
  await redrawVoteLabel(ctx, result);
}

/** The 🌐 button's address: the result's first picture in the web gallery. */
const webUrlOf = (ctx: BotContext, result: VoteResult) => pictureWebUrl(ctx.webPublicUrl, { guildId: result.guildId, imageIds: [`${result.id}-1`] });

/** Set while a message's vote label still has to be redrawn (one flag per message, whatever the clicks). */
function voteRedrawKey(ctx: BotContext, jobId: string): string {
  return `${ctx.prefix}:votes:${jobId}:redraw`;
}

/** Long enough for an edit that waits out a rate limit; a crashed holder frees it after this. */
const REDRAW_LOCK_MS = 30_000;
const RELEASE_IF_OWNER = "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0";
