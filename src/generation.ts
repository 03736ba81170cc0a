import type { Queue } from 'bullmq';
import { deliverJobOptions, type DeliverJob } from './queues.js';
import type { JobStore } from './store/jobs.js';

/**
 * The steps of a generation's life that both sides take: the bot (admission, the recovery sweep,
 * the buttons) and the GPU worker. Kept here, below both, so neither reaches into the other.
 */

/** The input image for img2img, variation and upscale travels as a blob under this id. */
export const inputBlobId = (jobId: string) => `input-${jobId}`;

/** The longest side an upscale may produce: an upscale of an upscale stops here. */
export const MAX_UPSCALE_SIDE = 4096;

/** Why this picture cannot be upscaled (by 2) any further, or undefined when it can. */
export function upscaleRefusal(width: number, height: number): string | undefined {
  if (Math.max(width, height) * 2 <= MAX_UPSCALE_SIDE) return undefined;
  return `This picture is already ${width}×${height}; upscaling it again would pass ${MAX_UPSCALE_SIDE} pixels, the largest Atelier makes.`;
}

/** Deterministic delivery job id: announcing twice is one delivery. */
export async function announceDelivery(ctx: { deliverQueue: Queue<DeliverJob> }, jobId: string): Promise<void> {
  await ctx.deliverQueue.add('deliver', { jobId }, { ...deliverJobOptions, jobId: `deliver-${jobId}` });
}

/**
 * Called when BullMQ gives up on a job (refused, out of attempts, or stalled too often): the
 * record becomes `failed` and delivery tells the author why.
 */
export async function failGeneration(
  ctx: { jobs: JobStore; deliverQueue: Queue<DeliverJob> },
  jobId: string,
  message: string,
  kind: 'refused' | 'provider_down' | 'internal',
): Promise<boolean> {
  const moved = await ctx.jobs.transition(jobId, ['queued', 'running'], 'failed', {
    error: message.slice(0, 500),
    errorKind: kind,
    finishedAt: Date.now(),
  });
  if (moved.ok) await announceDelivery(ctx, jobId);
  return moved.ok;
}
