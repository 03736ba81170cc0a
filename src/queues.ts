import { z } from 'zod';

/** Queue names, shared by bot and worker. */
export const GENERATE_QUEUE = 'generate';
export const DELIVER_QUEUE = 'deliver';
/** `/privacy delete-my-data` (run by the bot). */
export const PRIVACY_QUEUE = 'privacy';

/**
 * BullMQ's event streams feed only live progress (read as they arrive), so a short one does:
 * the default keeps 10,000 events per queue in Redis for nothing.
 */
export const queueStreams = { events: { maxLen: 300 } };

/**
 * BullMQ job id of a generation. BullMQ refuses custom ids that read back as integers, which some
 * Discord snowflakes do, so the record id (the interaction id) gets a prefix here.
 */
export const generateJobId = (recordId: string) => `gen-${recordId}`;

/** The record id behind a generation's BullMQ job id (as QueueEvents report it). */
export const recordIdOf = (bullmqJobId: string) => (bullmqJobId.startsWith('gen-') ? bullmqJobId.slice(4) : bullmqJobId);

/** Pub/sub channel on which a cancelled job's id reaches the worker running it. */
export const cancelChannel = (prefix: string) => `${prefix}:cancel`;

export const PROMPT_MAX = 1000;

export const aspectRatios = ['1:1', '16:9', '9:16', '4:3', '3:4', '3:2', '2:3'] as const;
export type AspectRatio = (typeof aspectRatios)[number];

export const generationKinds = ['txt2img', 'img2img', 'variation', 'upscale', 'outpaint', 'inpaint'] as const;

/**
 * A pixel rectangle an edit works with. Outpaint (pan, zoom out, make square): where the source
 * picture sits on the new canvas (the job's width × height), scaled to w × h. Inpaint (Vary
 * (Region)): the part of the picture (the job's width × height) that is drawn again.
 */
export const editAreaSchema = z.object({
  x: z.number().int().min(0).max(4096),
  y: z.number().int().min(0).max(4096),
  w: z.number().int().min(1).max(4096),
  h: z.number().int().min(1).max(4096),
});
export type EditArea = z.infer<typeof editAreaSchema>;

/** How an area travels in the job record and the archive: "x,y,w,h". */
export const formatEditArea = (area: EditArea): string => `${area.x},${area.y},${area.w},${area.h}`;

export function parseEditArea(text: string | undefined): EditArea | undefined {
  if (!text) return undefined;
  const [x, y, w, h] = text.split(',').map(Number);
  const parsed = editAreaSchema.safeParse({ x, y, w, h });
  return parsed.success ? parsed.data : undefined;
}

const snowflake = z.string().regex(/^\d{1,20}$/);

/** Outpaint and inpaint jobs, and only they, carry an area, and it lies inside their picture. */
function checkEditArea(job: { kind: (typeof generationKinds)[number]; width: number; height: number; area?: EditArea }, ctx: z.RefinementCtx): void {
  const edit = job.kind === 'outpaint' || job.kind === 'inpaint';
  if (edit !== (job.area !== undefined)) {
    ctx.addIssue({ code: 'custom', path: ['area'], message: 'outpaint and inpaint jobs, and only they, carry an area' });
  } else if (job.area && (job.area.x + job.area.w > job.width || job.area.y + job.area.h > job.height)) {
    ctx.addIssue({ code: 'custom', path: ['area'], message: 'the area lies outside the picture' });
  }
}

/** Ranges of the Midjourney-style parameters (`--chaos`, `--stylize`). */
export const CHAOS_MAX = 100;
export const STYLIZE_MAX = 1000;

/**
 * The creative parameters a request may carry besides its prompt: how different its pictures are
 * (chaos), how strongly the model's own style shows (stylize), a seamlessly repeating picture
 * (tile), and a fast smaller preview (draft). Absent means the provider's usual behaviour.
 */
export const generationParamsShape = {
  chaos: z.number().int().min(0).max(CHAOS_MAX).optional(),
  stylize: z.number().int().min(0).max(STYLIZE_MAX).optional(),
  tile: z.boolean().optional(),
  draft: z.boolean().optional(),
};
export type GenerationParams = { chaos?: number; stylize?: number; tile?: boolean; draft?: boolean };

/** A draft is rendered at this fraction of each side (a quarter of the pixels), in multiples of 32. */
export function draftSize(size: { width: number; height: number }): { width: number; height: number } {
  const half = (side: number) => Math.max(64, Math.round(side / 2 / 32) * 32);
  return { width: half(size.width), height: half(size.height) };
}

/**
 * What a GPU worker needs to make one set of images. Deliberately free of Discord credentials:
 * workers may run on other machines with nothing but Redis and a provider key.
 */
export const generateJobSchema = z.object({
  jobId: snowflake,
  kind: z.enum(generationKinds),
  prompt: z.string().min(1).max(PROMPT_MAX),
  negative: z.string().max(PROMPT_MAX).optional(),
  aspect: z.enum(aspectRatios),
  width: z.number().int().min(64).max(4096),
  height: z.number().int().min(64).max(4096),
  seed: z.number().int().min(0).max(4_294_967_295),
  count: z.number().int().min(1).max(4),
  /** The name members picked, and what the provider runs for it. */
  model: z.string().min(1).max(50),
  modelRef: z.string().min(1).max(200),
  parentImageId: z.string().max(40).optional(),
  strength: z.number().min(0.1).max(1).optional(),
  userId: snowflake,
  /** The server it was asked on: the member's running limit counts per server. */
  guildId: snowflake.optional(),
  /** Jobs of this member that may run at once (the server's setting when it was queued); absent: no cap. */
  maxRunning: z.number().int().min(1).max(64).optional(),
  /** Outpaint and inpaint: the rectangle they work with (see editAreaSchema), inside width × height. */
  area: editAreaSchema.optional(),
  ...generationParamsShape,
  /** /blend: every source picture in order (the first is also parentImageId); read from image storage. */
  blendImageIds: z.array(z.string().max(40)).min(2).max(5).optional(),
  /** --sref: the picture whose style to draw in (read from image storage), and --sw. */
  styleImageId: z.string().max(40).optional(),
  styleWeight: z.number().int().min(0).max(1000).optional(),
});
/** The payload as the worker checks it: its fields, and then that an edit's area fits its picture. */
export const checkedGenerateJobSchema = generateJobSchema.superRefine(checkEditArea);
export type GenerateJob = z.infer<typeof generateJobSchema>;

/**
 * A blend's or a --sref's picture handed to the worker through Redis as well as image storage: a
 * worker with a folder of its own cannot read the bot's.
 */
export const referenceBlobId = (jobId: string, imageId: string) => `ref-${jobId}-${imageId}`;

/** `/describe`: the worker reads the picture (transfer blob `describe-<id>`) and suggests prompts. */
export const DESCRIBE_QUEUE = 'describe';
/** The worker's answer to a /describe, brought to Discord by the bot. */
export const DESCRIBED_QUEUE = 'described';

export const describeJobSchema = z.object({ id: snowflake });
export type DescribeJob = z.infer<typeof describeJobSchema>;

/** Four suggestions, or why there are none (shown to the member who asked). */
export const describedJobSchema = z.object({
  id: snowflake,
  suggestions: z.array(z.string().min(1).max(PROMPT_MAX)).max(4),
  error: z.string().max(500).optional(),
});
export type DescribedJob = z.infer<typeof describedJobSchema>;

/** A finished (or failed) generation that the bot must bring to Discord. */
export const deliverJobSchema = z.object({ jobId: snowflake });
export type DeliverJob = z.infer<typeof deliverJobSchema>;

/** Pixel sizes per aspect ratio: about one megapixel, multiples of 64 (what SDXL-class models like). */
export const aspectSizes: Record<AspectRatio, { width: number; height: number }> = {
  '1:1': { width: 1024, height: 1024 },
  '16:9': { width: 1344, height: 768 },
  '9:16': { width: 768, height: 1344 },
  '4:3': { width: 1152, height: 896 },
  '3:4': { width: 896, height: 1152 },
  '3:2': { width: 1216, height: 832 },
  '2:3': { width: 832, height: 1216 },
};

/** The ratio closest to a picture's shape (uploads come in any size). */
export function nearestAspect(width: number, height: number): AspectRatio {
  if (!(width > 0 && height > 0)) return '1:1';
  const ratio = Math.log(width / height);
  let best: AspectRatio = '1:1';
  for (const aspect of aspectRatios) {
    const size = aspectSizes[aspect];
    if (Math.abs(Math.log(size.width / size.height) - ratio) < Math.abs(Math.log(aspectSizes[best].width / aspectSizes[best].height) - ratio))
      best = aspect;
  }
  return best;
}

/** Default retry policy for generation: transient provider faults back off exponentially. */
export const generateJobOptions: {
  attempts: number;
  backoff: { type: 'exponential' | 'fixed'; delay: number };
  removeOnComplete: { age: number; count: number };
  removeOnFail: { age: number; count: number };
} = {
  attempts: 4,
  backoff: { type: 'exponential', delay: 2_000 },
  removeOnComplete: { age: 3600, count: 20 },
  removeOnFail: { age: 7 * 24 * 3600, count: 5000 },
};

/** Delivery keeps trying through a Discord outage: 12 attempts over roughly an hour. */
export const deliverJobOptions = {
  attempts: 12,
  backoff: { type: 'exponential' as const, delay: 1_000 },
  removeOnComplete: { age: 3600, count: 20 },
  removeOnFail: { age: 7 * 24 * 3600, count: 5000 },
};

/** Live sessions' phase deadlines (consumed by the bot: a phase change posts to Discord). */
export const SESSION_QUEUE = 'session';

/** One phase deadline of a live session: `epoch` names the run of the phase (a resumed phase is a new one). */
export const sessionJobSchema = z.object({
  sessionId: snowflake,
  round: z.number().int().min(1).max(10),
  phase: z.enum(['entries', 'drawing', 'voting']),
  epoch: z.number().int().min(0).max(1_000_000),
});
export type SessionJob = z.infer<typeof sessionJobSchema>;
