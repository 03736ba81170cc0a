import { UnrecoverableError, type Job, type Queue } from 'bullmq';
import type { Logger } from 'pino';
import { checkedGenerateJobSchema, referenceBlobId, type DeliverJob, type GenerateJob } from '../queues.js';
import { announceDelivery, inputBlobId, upscaleRefusal } from '../generation.js';
import type { ImageBytes } from '../features/pictures/images.js';
import type { ImageFacts, JobStore } from '../store/jobs.js';
import type { HeldRunSlot } from '../store/fair-queue.js';
import {
  GenerationCancelledError,
  ProviderRefusedError,
  type GeneratedImage,
  type GenerationRequest,
  type ImageProvider,
} from './providers/types.js';
import { imageInfo, MAX_INPUT_PIXELS, TooManyPixelsError } from './providers/shared.js';
import { keepOriginal, prepareEdit, type PreparedEdit } from '../features/edits/render.js';

export interface GenerateContext {
  jobs: JobStore;
  images: ImageBytes;
  /**
   * Also hand the bytes over through Redis (with a TTL): for a worker on the filesystem backend
   * whose folder the bot cannot read. With S3, or a shared folder, the storage key is enough.
   */
  transferBlobs: boolean;
  /** The member's running slot this attempt holds, if any: the status change to done gives it back. */
  runSlot?: HeldRunSlot;
  /** Where the generation time of each finished job goes (see DurationReport). */
  durations: { add(ms: number): void };
  provider: ImageProvider;
  deliverQueue: Queue<DeliverJob>;
  logger: Logger;
  /** Aborted when a member cancels this job or the worker must stop. */
  signal: AbortSignal;
  /** Minimum time between two progress reports to Redis. */
  progressIntervalMs?: number;
}

export type GenerateResult = { outcome: 'done'; imageIds: string[]; images: ImageFacts[] } | { outcome: 'skipped'; reason: string };

/** Ids are derived from the job, so a retried job overwrites rather than duplicates. */
export const imageIdFor = (jobId: string, index: number) => `${jobId}-${index + 1}`;

/**
 * Turns one queued request into stored images and hands them to delivery. Safe to run twice for
 * the same job (a crash after generating re-runs it): a finished record only re-announces delivery.
 */
export async function processGenerate(job: Job, ctx: GenerateContext): Promise<GenerateResult> {
  const parsed = checkedGenerateJobSchema.safeParse(job.data);
  if (!parsed.success) {
    throw new UnrecoverableError(`invalid job payload: ${parsed.error.issues.map((i) => i.path.join('.')).join(', ')}`);
  }
  const data = parsed.data;
  // The status change is the first look at the record: only a job that cannot start reads it.
  const started = await ctx.jobs.transition(data.jobId, ['queued', 'running'], 'running', { startedAt: Date.now() });
  if (!started.ok) {
    if (started.previous === undefined) throw new UnrecoverableError('the job record is missing');
    const record = started.previous === 'done' ? await ctx.jobs.get(data.jobId) : undefined;
    if (!record || record.status !== 'done') return { outcome: 'skipped', reason: started.previous };
    // Generated already (a crash before delivery was announced): announce it again.
    await announceDelivery(ctx, data.jobId);
    return { outcome: 'done', imageIds: record.imageIds, images: record.images };
  }

  const startedAt = Date.now();
  const init = data.kind === 'txt2img' ? undefined : await loadInput(ctx, data);
  if (init) await checkSource(data.kind, init);
  // Pan, zoom out, make square and Vary (Region): the provider paints on a prepared canvas.
  const edit = (data.kind === 'outpaint' || data.kind === 'inpaint') && init ? await prepareEditOrRefuse(data, init) : undefined;
  const references = await loadReferences(ctx, data);
  let lastReport = 0;
  const interval = ctx.progressIntervalMs ?? 1000;

  let generated: GeneratedImage[];
  try {
    generated = await ctx.provider.generate({
      kind: data.kind,
      prompt: data.prompt,
      negative: data.negative,
      width: data.width,
      height: data.height,
      seed: data.seed,
      count: data.kind === 'upscale' ? 1 : data.count,
      model: data.modelRef,
      init: edit?.canvas ?? init,
      mask: edit?.mask,
      strength: data.strength,
      chaos: data.chaos,
      stylize: data.stylize,
      tile: data.tile,
      draft: data.draft,
      ...references,
      signal: ctx.signal,
      run: {
        load: async () => (await ctx.jobs.get(data.jobId))?.remoteRun,
        save: async (id) => void (await ctx.jobs.update(data.jobId, { remoteRun: id })),
      },
      onProgress: (fraction) => {
        const now = Date.now();
        // Nothing to show at 0 % (the bot's first edit comes from the job starting) nor at 100 % (the result follows).
        if (now - lastReport < interval || fraction <= 0 || fraction >= 1) return;
        lastReport = now;
        job.updateProgress(Math.round(Math.min(Math.max(fraction, 0), 1) * 100)).catch(() => undefined);
      },
    });
  } catch (error) {
    if (error instanceof GenerationCancelledError || ctx.signal.aborted) {
      const current = await ctx.jobs.get(data.jobId);
      if (current?.status === 'cancelled') return { outcome: 'skipped', reason: 'cancelled' };
      // Shutdown, not a member's cancel: put the job back for another worker.
      await ctx.jobs.transition(data.jobId, ['running'], 'queued');
      throw new Error('generation interrupted by worker shutdown');
    }
    if (error instanceof ProviderRefusedError) {
      throw new UnrecoverableError(refusalMessage(error));
    }
    throw error;
  }
  if (generated.length === 0) throw new Error('the provider returned no image');
  if (edit) generated = await Promise.all(generated.map(async (image) => ({ ...(await keepOriginal(image.data, edit)), contentType: 'image/png' })));

  const imageIds = generated.map((_, index) => imageIdFor(data.jobId, index));
  // The bytes go to image storage (the key follows from the id); a worker whose folder the bot
  // cannot read also hands them over in Redis. What the bot archives about each picture travels
  // in the job record: workers need no database.
  await Promise.all(
    generated.map(async (image, index) => {
      const id = imageIds[index]!;
      await Promise.all([ctx.images.writeFile(id, image.data), ctx.transferBlobs ? ctx.images.putBlob(id, image.data) : undefined]);
    }),
  );
  const images: ImageFacts[] = generated.map((image) => ({ width: image.width, height: image.height, contentType: image.contentType }));

  const finished = await ctx.jobs.transition(
    data.jobId,
    ['running'],
    'done',
    { imageIds, images, finishedAt: Date.now(), bytesInRedis: ctx.transferBlobs },
    undefined,
    ctx.runSlot,
  );
  if (!finished.ok) {
    // Cancelled (or failed) while the provider worked: the pictures are never posted, so their
    // bytes go. Any other state means another run of this job (its lock lapsed while Redis was
    // away, and the job was handed out again) finished first: the bytes under these ids are its
    // pictures, on their way to delivery, and stay.
    if (finished.previous === 'cancelled' || finished.previous === 'failed') await ctx.images.deleteBytes(imageIds);
    return { outcome: 'skipped', reason: finished.previous ?? 'missing' };
  }
  ctx.durations.add(Date.now() - startedAt);
  // Only work from a picture had its source handed over as a blob, and a blend or a --sref its references.
  const blobs = [...(data.kind !== 'txt2img' ? [inputBlobId(data.jobId)] : []), ...referenceIds(data).map((id) => referenceBlobId(data.jobId, id))];
  if (blobs.length > 0) await ctx.images.deleteBlobs(blobs);
  await announceDelivery(ctx, data.jobId);
  ctx.logger.info({ images: imageIds.length, ms: Date.now() - startedAt }, 'generated');
  return { outcome: 'done', imageIds, images };
}

async function loadInput(ctx: GenerateContext, data: GenerateJob): Promise<Buffer> {
  const fromBlob =
    (await ctx.images.getBlob(inputBlobId(data.jobId))) ??
    (data.parentImageId && data.blendImageIds ? await ctx.images.getBlob(referenceBlobId(data.jobId, data.parentImageId)) : undefined);
  if (fromBlob) return fromBlob;
  const fromStore = data.parentImageId ? await ctx.images.bytes(data.parentImageId) : undefined;
  if (fromStore) return fromStore;
  throw new UnrecoverableError('the source image is no longer available');
}

async function prepareEditOrRefuse(data: GenerateJob, source: Buffer): Promise<PreparedEdit> {
  try {
    return await prepareEdit(data.kind as 'outpaint' | 'inpaint', source, data.width, data.height, data.area!);
  } catch (error) {
    // The bytes passed checkSource, so sharp failing on them is not going to change on a retry.
    throw new UnrecoverableError(`The source picture could not be prepared: ${(error as Error).message}`);
  }
}

/**
 * A blend's pictures and a --sref style picture, from image storage: the bot keeps a copy of
 * each before it queues the job, so a retry finds them too.
 */
async function loadReferences(ctx: GenerateContext, data: GenerateJob): Promise<Pick<GenerationRequest, 'blend' | 'style'>> {
  const load = async (id: string) => {
    const bytes = (await ctx.images.getBlob(referenceBlobId(data.jobId, id))) ?? (await ctx.images.bytes(id));
    if (!bytes) throw new UnrecoverableError('A picture this request works from is no longer available.');
    await checkSource('img2img', bytes);
    return bytes;
  };
  const blend = data.blendImageIds ? await Promise.all(data.blendImageIds.map(load)) : undefined;
  const style = data.styleImageId ? { image: await load(data.styleImageId), weight: data.styleWeight ?? 100 } : undefined;
  return { blend, style };
}

const referenceIds = (data: GenerateJob) => [...(data.blendImageIds ?? []), ...(data.styleImageId ? [data.styleImageId] : [])];

/**
 * A source image is read from its header, with a pixel limit, before any provider decodes it or
 * pays to upload it: a small file claiming a gigantic picture is refused, as is an upscale past
 * MAX_UPSCALE_SIDE (the button refuses that too; this catches jobs queued before, or by other paths).
 */
async function checkSource(kind: GenerateJob['kind'], init: Buffer): Promise<void> {
  let info: Awaited<ReturnType<typeof imageInfo>>;
  try {
    info = await imageInfo(init, MAX_INPUT_PIXELS);
  } catch (error) {
    if (!(error instanceof TooManyPixelsError)) throw error;
    throw new UnrecoverableError(`The source picture is too large: Atelier reads pictures of up to ${MAX_INPUT_PIXELS.toLocaleString('en')} pixels.`);
  }
  if (!info) throw new UnrecoverableError('The source picture is not an image Atelier can read (PNG, JPEG or WebP).');
  const refusal = kind === 'upscale' ? upscaleRefusal(info.width, info.height) : undefined;
  if (refusal) throw new UnrecoverableError(refusal);
}

export function refusalMessage(error: ProviderRefusedError): string {
  if (error.reason !== 'safety') return `The image provider could not use this request: ${error.message}`;
  const why = error.memberReason ? ` It said: “${error.memberReason}”` : '';
  return `The image provider's safety filter refused this prompt. Try rephrasing it.${why}`;
}
