import sharp from 'sharp';
import OpenAI, { APIConnectionError, APIError, APIUserAbortError, toFile } from 'openai';
import type { ImagesResponse } from 'openai/resources/images';
import { withReferences } from './references.js';
import { createLocalProvider } from './local.js';
import { contentTypeFor, describe, imageInfo, MAX_OUTPUT_PIXELS, retryAfterMs, sniffContentType } from './shared.js';
import {
  GenerationCancelledError,
  ProviderRateLimitedError,
  ProviderRefusedError,
  type GeneratedImage,
  type GenerationRequest,
  type ImageProvider,
} from './types.js';

export interface OpenAIProviderOptions {
  apiKey: string;
  /** Usually https://api.openai.com/v1; tests point it at a local fake. */
  baseUrl: string;
  /** Fallback for txt2img when a request carries no model (the first of IMAGE_MODELS). */
  model: string;
  /** How long one request may take (default 3 min: a large GPT image can take a minute or more). */
  timeoutMs?: number;
  fetch?: typeof fetch;
}

const DEFAULT_RETRY_AFTER_MS = 10_000;
const DEFAULT_TIMEOUT_MS = 180_000;
/** How OpenAI marks a prompt or picture its safety system refused (GPT image models, then DALL·E). */
const SAFETY_CODES = new Set(['moderation_blocked', 'content_policy_violation', 'image_content_policy_violation']);

/** The sizes each model draws; a request gets the one closest to its aspect ratio. */
const SIZES: Record<string, Array<[number, number]>> = {
  'dall-e-2': [[1024, 1024]],
  'dall-e-3': [
    [1024, 1024],
    [1792, 1024],
    [1024, 1792],
  ],
  // gpt-image-1, gpt-image-1-mini, gpt-image-1.5 and later GPT image models
  gpt: [
    [1024, 1024],
    [1536, 1024],
    [1024, 1536],
  ],
};

/**
 * Runs jobs on OpenAI's Images API through the official client: text to image with
 * images.generate, remixes and variations with images.edit (the picture as input, the prompt as
 * the change), pan, zoom out and Vary (Region) with images.edit and a mask. OpenAI has no upscaler, so upscales use the offline resize. The client's own
 * retries are off: a 429 pauses the queue for its Retry-After, a 5xx fails the attempt and the
 * queue retries it with backoff, as for the other providers.
 */
export function createOpenAIProvider(options: OpenAIProviderOptions): ImageProvider {
  // Without a key the client silently falls back to process.env.OPENAI_API_KEY.
  if (!options.apiKey) throw new Error('OPENAI_API_KEY is not set');
  const client = new OpenAI({
    apiKey: options.apiKey,
    baseURL: options.baseUrl,
    maxRetries: 0,
    timeout: options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
    fetch: options.fetch,
    // Errors reach the worker's logger (which redacts); the client must not print on its own.
    logLevel: 'off',
  });
  const offline = createLocalProvider();

  async function generate(asked: GenerationRequest): Promise<GeneratedImage[]> {
    // Blends (averaged) and --sref styles (the style picture) reach images.edit as one source picture.
    const request = await withReferences(asked, false);
    const { signal } = request;
    if (signal.aborted) throw new GenerationCancelledError('cancelled before it started');
    if (request.kind === 'upscale') return offline.generate(request);

    const model = request.kind === 'txt2img' ? request.model || options.model : options.model;
    const size = sizeFor(model, request.width, request.height);
    const prompt = request.negative ? `${request.prompt}\n\nAvoid: ${request.negative}` : request.prompt;
    // DALL·E 3 draws one picture per request; the others take n.
    const perCall = model === 'dall-e-3' ? 1 : request.count;
    const calls = Math.ceil(request.count / perCall);
    request.onProgress(0);

    const images: GeneratedImage[] = [];
    for (let call = 0; call < calls; call++) {
      const n = Math.min(perCall, request.count - images.length);
      const params = {
        model,
        prompt,
        n,
        size: `${size[0]}x${size[1]}` as never,
        ...(isDallE(model) ? { response_format: 'b64_json' as const } : {}),
      };
      const response = await callApi(signal, async () => {
        if (request.kind === 'txt2img') return client.images.generate(params, { signal });
        if (!request.init) throw new ProviderRefusedError(`a ${request.kind} job needs a source image`, 'invalid_input');
        const type = sniffContentType(request.init) ?? 'image/png';
        const image = await toFile(request.init, `source.${type.split('/')[1]}`, { type });
        if (request.kind === 'outpaint' || request.kind === 'inpaint') {
          if (!request.mask) throw new ProviderRefusedError(`a ${request.kind} job needs a mask`, 'invalid_input');
          const mask = await toFile(await transparentWhereDrawn(request.mask), 'mask.png', { type: 'image/png' });
          return client.images.edit({ ...params, image, mask }, { signal });
        }
        return client.images.edit({ ...params, image }, { signal });
      });
      images.push(...(await decode(response)));
      request.onProgress(images.length / request.count);
    }
    if (images.length === 0) throw new Error('OpenAI answered without an image');
    request.onProgress(1);
    return images;
  }

  return { name: 'openai', generate };
}

/**
 * OpenAI reads an edit's mask from its alpha channel: fully transparent where it may draw. Ours
 * is greyscale, white where the provider draws; same size as the image, as OpenAI requires.
 */
async function transparentWhereDrawn(mask: Buffer): Promise<Buffer> {
  const { data, info } = await sharp(mask).greyscale().extractChannel(0).raw().toBuffer({ resolveWithObject: true });
  const rgba = Buffer.alloc(info.width * info.height * 4);
  for (let i = 0; i < data.length; i++) rgba[i * 4 + 3] = data[i]! >= 128 ? 0 : 255;
  return sharp(rgba, { raw: { width: info.width, height: info.height, channels: 4 } })
    .png()
    .toBuffer();
}

function isDallE(model: string): boolean {
  return model.startsWith('dall-e');
}

/** The supported size closest to the requested aspect ratio (compared in log space). */
export function sizeFor(model: string, width: number, height: number): [number, number] {
  const sizes = SIZES[model] ?? SIZES.gpt!;
  const target = Math.log(width / height);
  let best = sizes[0]!;
  for (const size of sizes) {
    if (Math.abs(Math.log(size[0] / size[1]) - target) < Math.abs(Math.log(best[0] / best[1]) - target)) best = size;
  }
  return best;
}

async function decode(response: ImagesResponse): Promise<GeneratedImage[]> {
  return Promise.all(
    (response.data ?? []).map(async (item) => {
      if (typeof item.b64_json !== 'string') throw new Error('OpenAI answered without the image data');
      const data = Buffer.from(item.b64_json, 'base64');
      const meta = await imageInfo(data, MAX_OUTPUT_PIXELS).catch((error: unknown) => {
        throw new Error(`OpenAI's image refused: ${describe(error)}`);
      });
      if (!meta) throw new Error('OpenAI answered with something that is not an image');
      return { data, contentType: contentTypeFor(meta.format), width: meta.width, height: meta.height };
    }),
  );
}

/**
 * Maps what the client throws onto the worker's error kinds. Errors are rebuilt, never passed on:
 * nothing of the request (its Authorization header) travels with them.
 */
async function callApi<T>(signal: AbortSignal, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    if (error instanceof ProviderRefusedError) throw error;
    if (error instanceof APIUserAbortError || signal.aborted) throw new GenerationCancelledError('cancelled while OpenAI drew it');
    if (error instanceof APIConnectionError) throw new Error(`OpenAI unreachable: ${describe(error.cause ?? error)}`);
    if (!(error instanceof APIError) || error.status === undefined) throw new Error(`OpenAI failed: ${describe(error)}`);
    const { status } = error;
    const detail = readableMessage(error);
    if (status === 401 || status === 403) throw new Error(`OpenAI refused the API key (HTTP ${status}): check OPENAI_API_KEY`);
    if (status === 429 && error.code !== 'insufficient_quota') {
      throw new ProviderRateLimitedError(retryAfterOf(error.headers) ?? DEFAULT_RETRY_AFTER_MS);
    }
    if (status === 400 && SAFETY_CODES.has(error.code ?? '')) throw new ProviderRefusedError(detail, 'safety', detail);
    if (status >= 500 || status === 429) throw new Error(`OpenAI answered HTTP ${status}: ${detail}`);
    throw new ProviderRefusedError(`OpenAI rejected the request: ${detail}`, 'invalid_input');
  }
}

function readableMessage(error: APIError): string {
  const body = error.error as { message?: unknown } | undefined;
  const message = typeof body?.message === 'string' ? body.message : error.message;
  return message.slice(0, 300);
}

/** OpenAI sends retry-after-ms besides the usual retry-after. */
function retryAfterOf(headers: Headers | undefined): number | undefined {
  const ms = Number(headers?.get('retry-after-ms') ?? NaN);
  if (Number.isFinite(ms) && ms >= 0) return Math.ceil(ms);
  return retryAfterMs(headers?.get('retry-after'));
}
