/**
 * The one interface every image backend implements. The worker knows nothing else about them.
 */
export type GenerationKind = 'txt2img' | 'img2img' | 'variation' | 'upscale' | 'outpaint' | 'inpaint';

export interface GenerationRequest {
  kind: GenerationKind;
  prompt: string;
  negative?: string;
  /** Pixel size, already derived from the aspect ratio (multiples of 64). */
  width: number;
  height: number;
  seed: number;
  /** How many images to make (1–4). Upscale always makes one. */
  count: number;
  /** The provider-specific model reference (see ModelChoice.ref). */
  model: string;
  /** Source image for img2img, variation and upscale (PNG/JPEG/WebP bytes). */
  init?: Buffer;
  /** img2img and variation: how far to move from the source, 0.1–1.0. */
  strength?: number;
  /**
   * Outpaint and inpaint: a greyscale PNG the size of `init` (which is then the prepared canvas),
   * white where the provider draws and black where the picture stays. The worker puts the kept
   * pixels back afterwards, so a provider may return the whole canvas redrawn, at any size.
   */
  mask?: Buffer;
  /** 0–100: how different the pictures of one request are from each other (absent: the provider's usual). */
  chaos?: number;
  /** 0–1000: how strongly the model's own style is applied (100 is the usual strength). */
  stylize?: number;
  /** The picture repeats seamlessly: its left edge continues its right, its top its bottom. */
  tile?: boolean;
  /** A fast preview: fewer steps (the size is already the smaller draft size). */
  draft?: boolean;
  /**
   * A blend: every source picture in order (2–5; `init` is the first). Providers with multi-image
   * conditioning take them all; the others work from blendComposite(...) as an img2img init.
   */
  blend?: Buffer[];
  /** --sref: draw in this picture's style, `weight` 0–1000 (--sw; 100 is the usual). */
  style?: { image: Buffer; weight: number };
  /** Aborted when the job is cancelled or the worker shuts down. */
  signal: AbortSignal;
  /** Fraction done in [0, 1]; providers call it as often as they like, the worker throttles. */
  onProgress: (fraction: number) => void;
  /**
   * Where a provider that runs work remotely keeps the id of that work (a Replicate prediction),
   * so that a retry of the same job (after a poll failed, or its worker died) picks the running
   * work up again instead of starting, and paying for, a second one.
   */
  run?: RemoteRun;
}

export interface RemoteRun {
  load(): Promise<string | undefined>;
  save(id: string): Promise<void>;
}

export interface GeneratedImage {
  data: Buffer;
  /** 'image/png', 'image/jpeg' or 'image/webp'. */
  contentType: string;
  width: number;
  height: number;
}

export interface ImageProvider {
  readonly name: string;
  /** Checks what can be checked before the first job (e.g. that the configured models exist); throws to stop start-up. */
  start?(): Promise<void>;
  generate(request: GenerationRequest): Promise<GeneratedImage[]>;
  /** /describe: about four prompts that would draw something like this picture (absent: not offered). */
  describe?(request: DescribeRequest): Promise<string[]>;
}

export interface DescribeRequest {
  image: Buffer;
  signal: AbortSignal;
}

/** The provider refused the request (safety checker, invalid input): retrying cannot help. */
export class ProviderRefusedError extends Error {
  override name = 'ProviderRefusedError';
  constructor(
    message: string,
    /** Shown to the member who asked. */
    readonly reason: 'safety' | 'invalid_input',
    /** The provider's own explanation, when it words one for people (OpenAI's safety system does). */
    readonly memberReason?: string,
  ) {
    super(message);
  }
}

/** The provider asked us to slow down; the worker pauses the whole queue for `retryAfterMs`. */
export class ProviderRateLimitedError extends Error {
  override name = 'ProviderRateLimitedError';
  constructor(readonly retryAfterMs: number) {
    super(`provider rate limited; retry after ${retryAfterMs} ms`);
  }
}

/** The job was cancelled (by its author, a moderator, or shutdown) while the provider worked. */
export class GenerationCancelledError extends Error {
  override name = 'GenerationCancelledError';
}
