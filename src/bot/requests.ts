import { SnowflakeUtil } from 'discord.js';
import {
  generateJobId,
  aspectSizes,
  draftSize,
  generateJobOptions,
  formatEditArea,
  parseEditArea,
  type AspectRatio,
  type EditArea,
  type GenerateJob,
  type GenerationParams,
} from '../queues.js';
import type { JobRecord } from '../store/jobs.js';
import { estimateWait } from '../store/stats.js';
import { inputBlobId } from '../generation.js';
import { admitGeneration } from './admission.js';
import { ageRestriction } from './age-restriction.js';
import type { BotContext } from './context.js';
import { InvalidRequestError, randomSeed, type PromptOptions } from './prompt.js';
import { recordRequest, recordRequestOutcome } from '../features/pictures/store.js';

/** Who asked and where: taken from the interaction that asked. */
export interface Requester {
  interactionId: string;
  interactionToken: string;
  attachmentSizeLimit: number;
  userId: string;
  userName: string;
  guildId?: string;
  channelId: string;
  /** The member's roles (role quotas). */
  roleIds?: string[];
  /** Whether the channel (or a thread's parent) is age-restricted; undefined when the client could not tell. */
  channelNsfw?: boolean;
  /** A thread's parent channel (allowed channels apply to it). */
  parentChannelId?: string;
}

export interface GenerationInput {
  kind: GenerateJob['kind'];
  options: PromptOptions;
  parentImageId?: string;
  strength?: number;
  /** Source bytes for img2img, variation and upscale. */
  input?: Buffer;
  /** /blend: every source picture (stored images) in order; the first is also parentImageId. */
  blendImageIds?: string[];
  /** --sref: the stored picture whose style to draw in, and --sw. */
  style?: { imageId: string; weight: number };
  /** Upscales keep the parent's size (the provider doubles it); edits give their canvas. */
  size?: { width: number; height: number };
  /** Outpaint and inpaint: the rectangle they work with, inside `size`. */
  area?: EditArea;
  /**
   * What the request keeps only once it is admitted (a member's upload becoming a family root):
   * run after every rule passed and before the request is recorded, so a refusal leaves nothing.
   */
  onAdmitted?: () => Promise<void>;
  /** The feature waiting for this picture (see JobRecord.partOf). */
  partOf?: 'series' | 'session';
  /**
   * Queued ahead of ordinary requests (a live session's entries, which a round waits for): BullMQ
   * serves its plain waiting list before any prioritized job, and a job without priority goes there.
   */
  urgent?: boolean;
}

export interface QueuePlace {
  position: number;
  total: number;
  etaMs?: number;
}

/** Discord's default when an interaction does not say (servers without boosts). */
export const DEFAULT_ATTACHMENT_LIMIT = 10 * 1024 * 1024;

/** When Discord created the interaction (its id is a snowflake): its token dies 15 minutes later. */
export function interactionCreatedAt(interactionId: string): number {
  return Number(SnowflakeUtil.timestampFrom(interactionId));
}

/**
 * Records a request and queues it, with the interaction id as job id: a double-submitted
 * interaction is one job. Every server rule is checked here first (channels, blocklist,
 * NSFW policy, queue limits, quotas; see admitGeneration), so a refused request changes nothing.
 * Returns where it stands in the queue.
 */
export async function enqueueGeneration(
  ctx: BotContext,
  requester: Requester,
  input: GenerationInput,
): Promise<{ record: JobRecord; place: QueuePlace | undefined; duplicate: boolean }> {
  const jobId = requester.interactionId;
  // Only Redis is asked: a double-submitted interaction arrives within seconds, and a new request
  // (the hot path) costs no database read.
  const existing = (await ctx.jobs.exists(jobId)) ? await ctx.jobs.live(jobId) : undefined;
  if (existing) return { record: existing, place: await queuePlace(ctx, jobId), duplicate: true };

  const settings = await ctx.settings.get(requester.guildId);
  const wanted = input.options.model ?? settings.defaultModel;
  const model = ctx.models.find((m) => m.name === wanted) ?? ctx.models[0]!;
  const seed = input.options.seed ?? randomSeed();
  const aspect: AspectRatio = input.options.aspect;
  const count = input.kind === 'upscale' ? 1 : input.options.count;
  // An upscale keeps its parent's look: the creative parameters shape new pictures only.
  const params: GenerationParams =
    input.kind === 'upscale'
      ? {}
      : { chaos: input.options.chaos, stylize: input.options.stylize, tile: input.options.tile, draft: input.options.draft };
  const size = input.size ?? (params.draft ? draftSize(aspectSizes[aspect]) : aspectSizes[aspect]);
  // A thread's payload carries no age restriction: its parent's is asked once and serves both the
  // NSFW policy (unknown: not age-restricted) and the pictures' marking (unknown: restricted).
  const channelNsfw = requester.channelNsfw ?? (await ageRestriction(ctx).channel(requester.parentChannelId ?? requester.channelId));
  const nsfw = await madeAgeRestricted(ctx, channelNsfw ?? true, input.parentImageId);
  const { priority, charge } = await admitGeneration(
    ctx,
    { ...requester, channelNsfw },
    { prompt: input.options.prompt, model, images: count },
    settings,
  );
  await input.onAdmitted?.();

  // The archive's row comes first: everything that later refers to this request (votes, series
  // panels, challenge entries) can rely on it.
  const request = {
    id: jobId,
    kind: input.kind,
    prompt: input.options.prompt,
    negative: input.options.negative,
    aspect,
    seed,
    count,
    model: model.name,
    userId: requester.userId,
    guildId: requester.guildId,
    channelId: requester.channelId,
    parentImageId: input.parentImageId,
    strength: input.strength,
    area: input.area && formatEditArea(input.area),
    ...params,
    createdAt: ctx.now(),
  };
  const recorded = await recordRequest(ctx.db, request);
  if (!recorded) {
    // The same interaction again, after its request already settled and left Redis: one job only.
    const settled = await ctx.jobs.get(jobId);
    if (settled && settled.status !== 'queued') return { record: settled, place: await queuePlace(ctx, jobId), duplicate: true };
  }
  // Admission is idempotent per job id, so a twin of this interaction racing us was not charged twice.
  const created = await withArchivedFailure(ctx, recorded ? jobId : undefined, () =>
    ctx.jobs.createRecord({
      ...request,
      userName: requester.userName,
      applicationId: ctx.applicationId,
      interactionToken: requester.interactionToken,
      interactionAt: interactionCreatedAt(requester.interactionId),
      attachmentSizeLimit: requester.attachmentSizeLimit,
      width: size.width,
      height: size.height,
      priority: input.urgent ? 0 : priority,
      charge,
      nsfw,
      partOf: input.partOf ?? 'none',
      blendImageIds: input.blendImageIds,
      styleImageId: input.style?.imageId,
      styleWeight: input.style?.weight,
    }),
  );
  // Created: the record is what was just written. Not created: a twin of this interaction won, read its record.
  const record = created ?? (await ctx.jobs.live(jobId))!;
  if (!created) return { record, place: await queuePlace(ctx, jobId), duplicate: true };

  try {
    if (input.input) await ctx.images.putBlob(inputBlobId(jobId), input.input);
    await addGenerateJob(ctx, record, settings.maxRunning);
  } catch (error) {
    await ctx.jobs.transition(jobId, ['queued'], 'failed', { error: 'could not be queued', errorKind: 'internal' }).catch(() => undefined);
    throw error;
  }
  // Queued now: a failure to read its place must not tell the member that nothing happened.
  const place = await queuePlace(ctx, jobId).catch((error: unknown) => {
    ctx.logger.warn({ err: error, jobId }, 'queued, but its place in the queue could not be read');
    return undefined;
  });
  return { record, place, duplicate: false };
}

/**
 * Runs the step that makes a just-archived request live in Redis. When it fails, the member is
 * told so and nothing is queued, so the archive's row ends failed at once; otherwise the recovery
 * sweep would take it for a request Redis lost and tell its author a second time.
 */
async function withArchivedFailure<T>(ctx: BotContext, archivedId: string | undefined, step: () => Promise<T>): Promise<T> {
  try {
    return await step();
  } catch (error) {
    if (archivedId) {
      await recordRequestOutcome(ctx.db, archivedId, { status: 'failed', error: 'could not be queued', errorKind: 'internal' }).catch(
        () => undefined,
      );
    }
    throw error;
  }
}

/**
 * Whether the pictures of a request count as age-restricted: asked for in an age-restricted
 * channel (`here`; a channel nobody could tell about counts as restricted: wrongly hiding a picture
 * from ordinary channels is the lesser harm). Work from an age-restricted picture (remix,
 * variation, upscale, reroll) is refused in an ordinary channel.
 */
async function madeAgeRestricted(ctx: BotContext, here: boolean, parentImageId: string | undefined): Promise<boolean> {
  const parent = parentImageId ? await ctx.images.getRecord(parentImageId) : undefined;
  // Made from an age-restricted picture, the result would show it again here: refused, before
  // anything is charged.
  if (parent && !here && (await ageRestriction(ctx).picture(parent))) {
    throw new InvalidRequestError('That picture was made in an age-restricted channel: work from it in one.');
  }
  return here;
}

/**
 * Queues the generation a record describes (again, for the recovery sweep: the job id makes a
 * second add of a live job a no-op).
 */
export async function addGenerateJob(ctx: BotContext, record: JobRecord, maxRunning: number): Promise<void> {
  const model = ctx.models.find((m) => m.name === record.model) ?? ctx.models[0]!;
  const size = record.width && record.height ? { width: record.width, height: record.height } : aspectSizes[record.aspect];
  const payload: GenerateJob = {
    jobId: record.id,
    kind: record.kind,
    prompt: record.prompt,
    negative: record.negative,
    aspect: record.aspect,
    width: size.width,
    height: size.height,
    seed: record.seed,
    count: record.count,
    model: model.name,
    modelRef: model.ref,
    parentImageId: record.parentImageId,
    strength: record.strength,
    area: parseEditArea(record.area),
    userId: record.userId,
    guildId: record.guildId,
    maxRunning,
    chaos: record.chaos,
    stylize: record.stylize,
    tile: record.tile,
    draft: record.draft,
    blendImageIds: record.blendImageIds,
    styleImageId: record.styleImageId,
    styleWeight: record.styleWeight,
  };
  await ctx.generateQueue.add('generate', payload, {
    ...generateJobOptions,
    ...ctx.generateJobOptions,
    jobId: generateJobId(record.id),
    priority: record.priority ?? 1,
  });
}

/**
 * 1-based position among running and waiting jobs, and a rough wait from recent durations. Asked
 * for on every request: one command reads the queue's sizes and the job's rank (see
 * QueueStats.standing). The plain waiting list is served first, then prioritized jobs lowest first.
 */
export async function queuePlace(ctx: BotContext, jobId: string): Promise<QueuePlace> {
  const [standing, { capacity, typicalMs: typical }] = await Promise.all([
    ctx.stats.standing(ctx.generateQueue, generateJobId(jobId)),
    ctx.stats.forEstimate(),
  ]);
  const { active, waiting, waitIndex, priorityRank } = standing;
  const total = active + waiting + standing.prioritized + standing.delayed;
  // The wait list is pushed on the left and served from the right.
  const ahead = waitIndex !== undefined ? waiting - 1 - waitIndex : priorityRank !== undefined ? waiting + priorityRank : undefined;
  const position = ahead === undefined ? Math.max(1, total) : active + ahead + 1;
  return { position, total: Math.max(total, position), etaMs: estimateWait(position, capacity, typical) };
}
