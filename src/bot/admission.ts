import type { ModelChoice } from '../config.js';
import { SCREENED_MAX, compileBlocklist, screenPrompt } from '../moderation/blocklist.js';
import { FairQueue, quotaDay, type AdmissionRefusal } from '../store/fair-queue.js';
import { CommandRateLimiter, defaultRateLimit } from '../store/rate-limit.js';
import type { GuildSettings } from '../features/settings/schema.js';
import type { BotContext } from './context.js';
import { InvalidRequestError } from './prompt.js';
import { interactionCreatedAt, type Requester } from './requests.js';

/** Cost units of one image from a model that MODEL_COSTS does not mention. */
export const DEFAULT_IMAGE_COST = 1;

export interface AdmissionInput {
  prompt: string;
  model: ModelChoice;
  images: number;
}

const TOO_LONG_TO_SCREEN = `That text is too long once special characters are spelled out (at most ${SCREENED_MAX} characters), so nothing was queued. Please shorten it.`;

/** `<t:…:R>`: Discord shows it as "in 3 hours" in the reader's own time zone. */
export const relativeTime = (ms: number) => `<t:${Math.ceil(ms / 1000)}:R>`;

/** A member's daily image quota: the server's, or the highest of their roles' quotas (0: no limit). */
export function dailyQuotaFor(settings: GuildSettings, roleIds: readonly string[] = []): number {
  if (settings.dailyImages === 0) return 0;
  let quota = settings.dailyImages;
  for (const roleId of roleIds) {
    const roleQuota = settings.roleQuotas[roleId];
    if (roleQuota === undefined) continue;
    if (roleQuota === 0) return 0;
    quota = Math.max(quota, roleQuota);
  }
  return quota;
}

/**
 * A member's tight allowance for work a provider does (drawing, describing), on top of the
 * generous one every interaction takes. Throws the member-facing refusal when it is spent.
 */
export async function takeProviderAllowance(ctx: BotContext, userId: string): Promise<void> {
  const allowance = await new CommandRateLimiter(ctx.redis, ctx.prefix, ctx.rateLimit ?? defaultRateLimit, 'generate').take(userId, ctx.now());
  if (!allowance.allowed) {
    throw new InvalidRequestError(
      `Slow down a little: you can ask for pictures again in ${Math.max(1, Math.ceil(allowance.retryAfterMs / 1000))} s.`,
    );
  }
}

/**
 * Every rule a server sets for generating, in the order a member can do something about it:
 * channels, the blocklist and NSFW policy, then (atomically, and charged only when all pass) the
 * member's queue limit, daily quota and the server's budget. Throws the member-facing refusal;
 * returns the job's fair-share priority. (Bans were checked already: the interaction router
 * refuses a banned member's every interaction before any command or button runs.)
 */
export async function admitGeneration(
  ctx: BotContext,
  requester: Requester,
  input: AdmissionInput,
  settings: GuildSettings,
): Promise<{ priority: number; charge: string }> {
  // Every way to ask for a picture passes here, so the tight allowance is taken here, first.
  await takeProviderAllowance(ctx, requester.userId);
  const channel = requester.parentChannelId ?? requester.channelId;
  if (settings.allowedChannels.length > 0 && !settings.allowedChannels.includes(channel)) {
    const where = settings.allowedChannels.map((id) => `<#${id}>`).join(', ');
    throw new InvalidRequestError(`Pictures are made only in ${where} on this server.`);
  }

  const verdict = screenPrompt(input.prompt, compileBlocklist(settings.blocklist));
  if (verdict.tooLong) throw new InvalidRequestError(TOO_LONG_TO_SCREEN);
  if (verdict.blocked) {
    // Never repeat the word: this message is private, but the member may share a screenshot.
    throw new InvalidRequestError('Your prompt contains a word or phrase that is blocked on this server, so nothing was queued. Please rephrase it.');
  }
  if (verdict.nsfw && settings.nsfw !== 'everywhere' && !(settings.nsfw === 'age-restricted' && requester.channelNsfw)) {
    throw new InvalidRequestError(
      settings.nsfw === 'nowhere'
        ? 'That prompt looks NSFW, and this server does not allow NSFW pictures.'
        : 'That prompt looks NSFW; this server allows such pictures only in age-restricted channels.',
    );
  }

  const fair = new FairQueue(ctx.redis, ctx.prefix);
  const admission = {
    jobId: requester.interactionId,
    userId: requester.userId,
    guildId: requester.guildId,
    images: input.images,
    cost: input.images * (input.model.cost ?? DEFAULT_IMAGE_COST),
    limits: {
      maxQueued: settings.maxQueued,
      dailyImages: dailyQuotaFor(settings, requester.roleIds),
      dailyBudget: settings.dailyBudget,
      operatorBudget: ctx.operatorDailyBudget ?? 0,
    },
    now: ctx.now(),
  };
  let result = await fair.admit(admission);
  if (!result.admitted && result.reason === 'queued') {
    // Before refusing, make sure every counted request is really still open.
    const isOpen = async (jobId: string) => {
      const record = await ctx.jobs.get(jobId);
      // No record yet: a request admitted a moment ago is still being recorded.
      if (!record) return ctx.now() - interactionCreatedAt(jobId) < 60_000;
      return record.status === 'queued' || record.status === 'running';
    };
    if ((await fair.reconcile(requester.guildId, requester.userId, isOpen)) > 0) result = await fair.admit(admission);
  }
  if (!result.admitted) throw new InvalidRequestError(refusalMessage(result, input.images));
  // What was charged, so that a request that fails (or is cancelled before it started) is refunded.
  return { priority: result.priority, charge: chargeOf(admission) };
}

function refusalMessage(refusal: AdmissionRefusal, images: number): string {
  switch (refusal.reason) {
    case 'queued':
      return `You have as many requests waiting as this server allows (${refusal.limit}). Try again as soon as one of them starts generating (\`/queue\` shows where they stand).`;
    case 'daily': {
      const left = Math.max(0, refusal.limit - refusal.used);
      const when = relativeTime(refusal.resetsAt);
      return left === 0
        ? `You have used all ${refusal.limit} of your images for today. Your quota resets ${when}.`
        : `That would make ${images} images and you have ${left} left today. Ask for fewer, or try again when your quota resets ${when}.`;
    }
    case 'budget':
      return `This server has spent its image budget for today. Try again when it resets ${relativeTime(refusal.resetsAt)}.`;
    case 'operator':
      return `Atelier has spent what its operator allows per day across all servers, so nothing was queued. Try again when it resets ${relativeTime(refusal.resetsAt)}.`;
  }
}

/**
 * Text the bot will post for everyone to see (a series title, a challenge theme) passes the same
 * blocklists as prompts. Refused privately, without repeating the word.
 */
export async function assertPublicTextAllowed(ctx: BotContext, guildId: string, text: string, what: string): Promise<void> {
  const settings = await ctx.settings.get(guildId);
  const verdict = screenPrompt(text, compileBlocklist(settings.blocklist));
  if (verdict.tooLong) throw new InvalidRequestError(TOO_LONG_TO_SCREEN);
  if (verdict.blocked) {
    throw new InvalidRequestError(`That ${what} contains a word or phrase that is blocked on this server. Please rephrase it.`);
  }
}

/** "day:images:cost", as the job store refunds it (FairQueue.refundPlan). */
function chargeOf(admission: { images: number; cost: number; now: number }): string {
  return `${quotaDay(admission.now).day}:${admission.images}:${Math.ceil(admission.cost)}`;
}
