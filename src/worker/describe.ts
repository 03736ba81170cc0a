import { UnrecoverableError, type Job, type Queue } from 'bullmq';
import type { Logger } from 'pino';
import type { ImageBytes } from '../features/pictures/images.js';
import { describeJobSchema, PROMPT_MAX, type DescribedJob } from '../queues.js';
import { ProviderRefusedError, type ImageProvider } from './providers/types.js';

export interface DescribeContext {
  images: ImageBytes;
  provider: ImageProvider;
  describedQueue: Queue<DescribedJob>;
  logger: Logger;
  signal: AbortSignal;
}

/** Must match features/describe/jobs.ts (the bot stores the picture there; workers import no bot code). */
const describeBlobId = (id: string) => `describe-${id}`;

/** The answer's job: retried and repeated announcements are one answer. */
export async function announceDescribed(queue: Queue<DescribedJob>, answer: DescribedJob): Promise<void> {
  await queue.add('described', answer, {
    jobId: `described-${answer.id}`,
    attempts: 12,
    backoff: { type: 'exponential', delay: 1_000 },
    removeOnComplete: { age: 3600, count: 100 },
    removeOnFail: { age: 7 * 24 * 3600, count: 1000 },
  });
}

/**
 * /describe on a worker: the provider reads the picture and suggests prompts; the answer (or why
 * there is none) goes back to the bot through the `described` queue. A provider that refuses the
 * picture is not asked again; one that fails is, by the queue's retries (see failDescribe).
 */
export async function processDescribe(job: Job, ctx: DescribeContext): Promise<string[]> {
  const parsed = describeJobSchema.safeParse(job.data);
  if (!parsed.success) throw new UnrecoverableError('invalid describe payload');
  const { id } = parsed.data;
  if (!ctx.provider.describe) {
    await announceDescribed(ctx.describedQueue, { id, suggestions: [], error: `The ${ctx.provider.name} image provider cannot describe pictures.` });
    return [];
  }
  const image = await ctx.images.getBlob(describeBlobId(id));
  if (!image) {
    await announceDescribed(ctx.describedQueue, { id, suggestions: [], error: 'The picture was no longer available. Please try again.' });
    return [];
  }
  let suggestions: string[];
  try {
    suggestions = await ctx.provider.describe({ image, signal: ctx.signal });
  } catch (error) {
    if (error instanceof ProviderRefusedError) {
      // The answer is public: what the provider said (its workflow, its wording) goes to the log only.
      ctx.logger.warn({ describeId: id, reason: error.reason, err: error }, 'the provider refused to describe the picture');
      const said =
        error.reason === 'safety' ? "The image provider's safety filter refused that picture." : 'The image provider could not read that picture.';
      await announceDescribed(ctx.describedQueue, { id, suggestions: [], error: said });
      return [];
    }
    throw error;
  }
  const cleaned = [...new Set(suggestions.map((text) => text.replace(/\s+/g, ' ').trim().slice(0, PROMPT_MAX)).filter(Boolean))].slice(0, 4);
  await announceDescribed(
    ctx.describedQueue,
    cleaned.length > 0 ? { id, suggestions: cleaned } : { id, suggestions: [], error: 'The image provider had nothing to say about it.' },
  );
  ctx.logger.info({ describeId: id, suggestions: cleaned.length }, 'described');
  return cleaned;
}

/** BullMQ gave up on a describe: its author is told. */
export async function failDescribe(queue: Queue<DescribedJob>, id: string): Promise<void> {
  await announceDescribed(queue, {
    id,
    suggestions: [],
    error: 'The image provider is not answering right now, even after several tries. Please try again later.',
  });
}
