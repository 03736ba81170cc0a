import Replicate, { parseProgressFromLogs, type Prediction } from 'replicate';
import {
  GenerationCancelledError,
  ProviderRateLimitedError,
  ProviderRefusedError,
  type GeneratedImage,
  type DescribeRequest,
  type GenerationRequest,
  type ImageProvider,
} from './types.js';
import { suggestionsFromCaption, withReferences } from './references.js';
import {
  boundedDownload,
  clamp,
  contentTypeFor,
  describe,
  guidanceFor,
  imageInfo,
  MAX_DOWNLOAD_BYTES,
  MAX_OUTPUT_PIXELS,
  retryAfterMs,
  sleep,
  sniffContentType,
  type DownloadLimits,
} from './shared.js';
import { ConfigError } from '../../config.js';

export interface ReplicateProviderOptions {
  apiToken: string;
  /** Usually https://api.replicate.com/v1; tests point it at a local fake. */
  baseUrl: string;
  /** Fallback for txt2img when a request carries no model ref. */
  txt2imgModel: string;
  /** Every model members may pick (IMAGE_MODELS), resolved at start with the three defaults. */
  models?: string[];
  img2imgModel: string;
  upscaleModel: string;
  /** Pan, zoom out, make square and Vary (Region): a model taking `image`, `mask` and `prompt` (Flux Fill and the like). */
  inpaintModel?: string;
  /** txt2img with --draft (a fast model); unset: the request's own model, at the smaller draft size. */
  draftModel?: string;
  /** txt2img with --tile (a model that makes seamless textures); unset: the request's own model. */
  tileModel?: string;
  /** /blend: a model with multi-image conditioning (`image_input`); without one, blends run on img2imgModel. */
  blendModel?: string;
  /** /describe: an image captioning model; without one, describe is not offered. */
  captionModel?: string;
  pollMs: number;
  /** How long one prediction may take before it is cancelled and retried (default 15 min). */
  timeoutMs?: number;
  /** How long polls may fail in a row (5xx, network) before the attempt fails and the queue retries it (default 60 s). */
  pollOutageMs?: number;
  /** Hosts outputs may be downloaded from besides the API's own (default replicate.delivery). */
  downloadHosts?: string[];
  /** Largest output accepted (default 128 MB). */
  maxDownloadBytes?: number;
  fetch?: typeof fetch;
}

const DEFAULT_STRENGTH = 0.6;
const VARIATION_STRENGTH = 0.35;
const DEFAULT_RETRY_AFTER_MS = 10_000;
const FLUX_GUIDANCE = 3.5;
const SD_GUIDANCE = 7.5;
/** Steps of a --draft: what fast models (Flux Schnell) use anyway, and a quick pass for others. */
const DRAFT_STEPS = 4;
const DEFAULT_TIMEOUT_MS = 15 * 60_000;
const DEFAULT_POLL_OUTAGE_MS = 60_000;
/** One API request may take this long; a hung connection is a transient failure, not a hang. */
const API_TIMEOUT_MS = 60_000;
const START_LOOKUP_TRIES = 3;
/** Larger source images go through the files API: Replicate asks for that above about 256 KB. */
const INLINE_INPUT_BYTES = 256 * 1024;
const DOWNLOAD_TIMEOUT_MS = 120_000;
const TERMINAL = new Set(['succeeded', 'failed', 'canceled', 'aborted']);
/** How Replicate's models word a safety-checker refusal ("NSFW content detected", "flagged as sensitive (E005)"). */
const SAFETY_ERROR = /nsfw|safety|sensitive/i;

/**
 * Runs jobs on Replicate through the official client. Predictions are created without
 * `Prefer: wait` and polled by us, so progress can be reported and a cancelled job cancels its
 * prediction (which stops the billing) instead of leaving it running.
 */
export function createReplicateProvider(options: ReplicateProviderOptions): ImageProvider {
  // Without a token the client silently falls back to process.env.REPLICATE_API_TOKEN.
  if (!options.apiToken) throw new Error('REPLICATE_API_TOKEN is not set');
  // Every model the configuration names, beside the members' choices (IMAGE_MODELS).
  const configuredRefs = [
    options.txt2imgModel,
    options.img2imgModel,
    options.upscaleModel,
    options.inpaintModel,
    options.draftModel,
    options.tileModel,
    options.blendModel,
    options.captionModel,
  ].filter((ref): ref is string => ref !== undefined);
  for (const ref of configuredRefs) {
    if (!parseModelRef(ref)) throw new Error(`"${ref}" is not a Replicate model ref (owner/name or owner/name:version)`);
  }
  const fetchImpl = options.fetch ?? globalThis.fetch;
  const downloads: DownloadLimits = {
    hosts: [new URL(options.baseUrl).host, ...(options.downloadHosts ?? ['replicate.delivery'])],
    maxBytes: options.maxDownloadBytes ?? MAX_DOWNLOAD_BYTES,
    timeoutMs: DOWNLOAD_TIMEOUT_MS,
  };
  /** Until when this worker sends Replicate nothing, after a 429 (the queue pauses the other workers). */
  let pausedUntil = 0;

  /**
   * Every API call goes through here, with a client of its own whose fetch goes to the network
   * once. The client's own retry loop (429 on any call, 5xx on GETs) ignores Retry-After and
   * retries about 1 ms apart; given the same first answer back each time, it gives up at once
   * and the answer reaches callApi, where the project decides: 429 pauses, 5xx is retried later.
   */
  async function api<T>(call: (client: Replicate) => Promise<T>, what: string, notFound?: () => Error): Promise<T> {
    const wait = pausedUntil - Date.now();
    if (wait > 0) await sleep(wait);
    const client = new Replicate({
      auth: options.apiToken,
      baseUrl: options.baseUrl,
      fetch: singleShot(fetchImpl),
      // FileOutput streams would hide the URLs; we download the outputs ourselves.
      useFileOutput: false,
    });
    try {
      return await callApi(() => call(client), what, notFound);
    } catch (error) {
      if (error instanceof ProviderRateLimitedError) pausedUntil = Math.max(pausedUntil, Date.now() + error.retryAfterMs);
      throw error;
    }
  }

  async function generate(asked: GenerationRequest): Promise<GeneratedImage[]> {
    const request = await withReferences(asked, Boolean(options.blendModel));
    const { signal } = request;
    throwIfCancelled(signal);
    const modelRef = modelFor(request, options);
    const ref = await runnable(modelRef);
    const init = request.kind === 'txt2img' ? undefined : requireInit(request);

    // A retry of this job picks up the prediction an earlier attempt started, if it is still usable.
    let prediction: Prediction =
      (await resumable(request)) ??
      (await createPrediction(request, modelRef, ref, {
        ...buildInput(sizedFor(request, modelRef, options), init && (await fileInput(init)), request.mask && (await fileInput(request.mask))),
        // Multi-image conditioning: every picture of the blend, in order.
        ...(request.blend ? { image_input: await Promise.all(request.blend.map(fileInput)) } : {}),
      }));
    request.onProgress(0);

    let reported = 0;
    // A prediction stuck for longer than this is cancelled (it stops the billing) and retried.
    const deadline = Date.now() + (options.timeoutMs ?? DEFAULT_TIMEOUT_MS);
    let failingSince: number | undefined;
    let failedPolls = 0;
    while (!TERMINAL.has(prediction.status)) {
      // Polls back off while Replicate fails (up to 8 poll intervals); the sleep returns at once on abort.
      await sleep(options.pollMs * Math.min(2 ** failedPolls, 8), signal);
      if (signal.aborted) await cancelAndThrow(prediction.id);
      if (Date.now() > deadline) {
        await api((client) => client.predictions.cancel(prediction.id), 'cancelling').catch(() => undefined);
        throw new Error(`Replicate prediction ${prediction.id} did not finish in time; cancelled it`);
      }
      const id: string = prediction.id;
      try {
        prediction = await api((client) => client.predictions.get(id), `polling prediction ${id}`);
        failingSince = undefined;
        failedPolls = 0;
      } catch (error) {
        // A 5xx or a network failure is Replicate's problem, not the prediction's: keep polling for a
        // while, then fail the attempt. Its retry resumes this prediction (resumable), never pays twice.
        if (!(error instanceof TransientError)) throw error;
        failingSince ??= Date.now();
        failedPolls += 1;
        if (Date.now() - failingSince > (options.pollOutageMs ?? DEFAULT_POLL_OUTAGE_MS)) throw error;
        continue;
      }
      // Multi-image models restart their progress bar per image; never show the bar going back.
      // 1 is kept for when the images are downloaded.
      const fraction = Math.min(parseProgressFromLogs(prediction)?.percentage ?? 0, 0.99);
      if (fraction > reported) {
        reported = fraction;
        request.onProgress(fraction);
      }
    }

    if (prediction.status !== 'succeeded') throw predictionFailure(prediction, signal);
    const urls = outputUrls(prediction.output);
    if (urls.length === 0) throw new Error(`Replicate prediction ${prediction.id} succeeded without an image`);
    const images = await Promise.all(urls.map((url) => download(url, fetchImpl, downloads, signal)));
    request.onProgress(1);
    return images;
  }

  async function createPrediction(request: GenerationRequest, modelRef: string, ref: ModelRef, input: Record<string, unknown>): Promise<Prediction> {
    // No job signal here: aborting the POST could leave a prediction running that we hold no id
    // for. Only the request time limit (API_TIMEOUT_MS) cuts it, so that a hung create never
    // holds the job forever; Replicate answers a create in well under a second.
    const created = await api(
      (client) => client.predictions.create(ref.version ? { version: ref.version, input } : { model: ref.model, input }),
      `creating a prediction on ${modelRef}`,
      // Retrying cannot make a model appear.
      () => new ProviderRefusedError(`Replicate has no model "${modelRef}"`, 'invalid_input'),
    );
    await request.run?.save(created.id);
    return created;
  }

  /**
   * How a source image reaches the model: small ones inline as a data URI, larger ones (above
   * about 256 KB, as Replicate asks) uploaded through its files API, passed by URL.
   */
  async function fileInput(bytes: Buffer): Promise<string> {
    if (bytes.length <= INLINE_INPUT_BYTES) return dataUri(bytes);
    const type = sniffContentType(bytes) ?? 'application/octet-stream';
    const file = new File([new Uint8Array(bytes)], `source.${type.split('/')[1] ?? 'bin'}`, { type });
    const uploaded = (await api((client) => client.files.create(file), 'uploading the source image')) as { urls?: { get?: unknown } };
    if (typeof uploaded.urls?.get !== 'string') throw new TransientError('Replicate stored the source image without giving its URL');
    return uploaded.urls.get;
  }

  /**
   * How a model ref is run. Replicate runs a model by name (POST /models/{owner}/{name}/predictions)
   * only when it is an official one; any other model needs a version, so an owner/name ref is
   * looked up once (GET /models/{owner}/{name}) and pinned to its latest version for as long as
   * this worker runs. owner/name:version refs are used as they are.
   */
  const resolved = new Map<string, Promise<ModelRef>>();
  function runnable(modelRef: string): Promise<ModelRef> {
    let ref = resolved.get(modelRef);
    if (!ref) {
      ref = resolve(modelRef);
      resolved.set(modelRef, ref);
      // A failed lookup (Replicate down) is asked again next time.
      ref.catch(() => resolved.delete(modelRef));
    }
    return ref;
  }

  async function resolve(modelRef: string): Promise<ModelRef> {
    const ref = parseModelRef(modelRef);
    if (!ref) throw new ProviderRefusedError(`"${modelRef}" is not a Replicate model`, 'invalid_input');
    if (ref.version) return ref;
    const [owner, name] = ref.model.split('/') as [string, string];
    const model = (await api(
      (client) => client.models.get(owner, name),
      `looking up model ${modelRef}`,
      () => new ProviderRefusedError(`Replicate has no model "${modelRef}"`, 'invalid_input'),
    )) as { is_official?: boolean; latest_version?: { id?: string } | null };
    if (model.is_official) return ref;
    const version = model.latest_version?.id;
    if (!version) throw new ProviderRefusedError(`Replicate's model "${modelRef}" has no version to run`, 'invalid_input');
    return { model: ref.model, version };
  }

  /** Resolves every configured model, so a model that cannot be run stops start-up, naming it. */
  async function start(): Promise<void> {
    const configured = new Set([...(options.models ?? []), ...configuredRefs]);
    for (const modelRef of configured) {
      for (let attempt = 1; ; attempt++) {
        try {
          await runnable(modelRef);
          break;
        } catch (error) {
          if (error instanceof ProviderRefusedError) {
            throw new ConfigError(
              `${error.message} (check IMAGE_MODELS, REPLICATE_IMG2IMG_MODEL, REPLICATE_UPSCALE_MODEL, REPLICATE_INPAINT_MODEL, REPLICATE_DRAFT_MODEL and REPLICATE_TILE_MODEL)`,
            );
          }
          // Replicate briefly unreachable is not a configuration mistake: ask a few times.
          if (attempt >= START_LOOKUP_TRIES) {
            throw new ConfigError(`could not look up the Replicate model "${modelRef}": ${(error as Error).message}`);
          }
          await sleep(error instanceof ProviderRateLimitedError ? error.retryAfterMs : 1000 * attempt);
        }
      }
    }
  }

  /**
   * The earlier attempt's prediction when it is still running or succeeded; failed ones are not
   * reused. Only a 404 means Replicate no longer has it: a lookup that fails otherwise (5xx, 429,
   * network) fails this attempt, and the queue asks again later, because creating a prediction
   * while the old one may still run would pay twice. Every prediction that is not finished is
   * resumed, so a new one is only ever created once the old one has ended.
   */
  async function resumable(request: GenerationRequest): Promise<Prediction | undefined> {
    const id = await request.run?.load();
    if (!id) return undefined;
    const gone = new Error('gone');
    const earlier = await api(
      (client) => client.predictions.get(id),
      `looking up prediction ${id}`,
      () => gone,
    ).catch((error: unknown) => {
      if (error === gone) return undefined;
      throw error;
    });
    if (!earlier || earlier.status === 'failed' || earlier.status === 'canceled' || earlier.status === 'aborted') return undefined;
    return earlier;
  }

  async function cancelAndThrow(id: string): Promise<never> {
    try {
      await api((client) => client.predictions.cancel(id), 'cancelling');
    } catch {
      // Best effort: the prediction finishes on its own and we ignore its output.
    }
    throw new GenerationCancelledError(`cancelled; Replicate prediction ${id} was cancelled`);
  }

  /**
   * /describe: one prediction on the captioning model, polled to its end. Its caption (text, or a
   * list of text) becomes the first suggestion; the others are the same subject in three looks.
   */
  async function describeImage(request: DescribeRequest): Promise<string[]> {
    const modelRef = options.captionModel;
    if (!modelRef) throw new ProviderRefusedError('describing pictures needs REPLICATE_CAPTION_MODEL', 'invalid_input');
    const ref = await runnable(modelRef);
    const input = { image: await fileInput(request.image) };
    let prediction: Prediction = await api(
      (client) => client.predictions.create(ref.version ? { version: ref.version, input } : { model: ref.model, input }),
      `creating a prediction on ${modelRef}`,
      () => new ProviderRefusedError(`Replicate has no model "${modelRef}"`, 'invalid_input'),
    );
    const deadline = Date.now() + (options.timeoutMs ?? DEFAULT_TIMEOUT_MS);
    while (!TERMINAL.has(prediction.status)) {
      await sleep(options.pollMs, request.signal);
      if (request.signal.aborted) await cancelAndThrow(prediction.id);
      if (Date.now() > deadline) {
        await api((client) => client.predictions.cancel(prediction.id), 'cancelling').catch(() => undefined);
        throw new Error(`Replicate prediction ${prediction.id} did not finish in time; cancelled it`);
      }
      const id: string = prediction.id;
      prediction = await api((client) => client.predictions.get(id), `polling prediction ${id}`);
    }
    if (prediction.status !== 'succeeded') throw predictionFailure(prediction, request.signal);
    const caption = captionText(prediction.output);
    if (!caption) throw new Error(`Replicate prediction ${prediction.id} succeeded without a caption`);
    return suggestionsFromCaption(caption);
  }

  return { name: 'replicate', generate, start, ...(options.captionModel ? { describe: describeImage } : {}) };
}

// ---------------------------------------------------------------------------------------------
// Request building

interface ModelRef {
  /** owner/name */
  model: string;
  version?: string;
}

function parseModelRef(ref: string): ModelRef | undefined {
  const match = /^([\w.-]+)\/([\w.-]+)(?::([\w.-]+))?$/.exec(ref.trim());
  if (!match) return undefined;
  return { model: `${match[1]}/${match[2]}`, version: match[3] };
}

function modelFor(request: GenerationRequest, options: ReplicateProviderOptions): string {
  if (request.blend && options.blendModel) return options.blendModel;
  switch (request.kind) {
    case 'txt2img':
      // A seamless texture needs a model made for it; a draft, a fast one.
      if (request.tile && options.tileModel) return options.tileModel;
      if (request.draft && options.draftModel) return options.draftModel;
      return request.model || options.txt2imgModel;
    case 'img2img':
    case 'variation':
      return options.img2imgModel;
    case 'upscale':
      return options.upscaleModel;
    case 'outpaint':
    case 'inpaint':
      if (!options.inpaintModel) throw new ProviderRefusedError('no inpainting model is configured (REPLICATE_INPAINT_MODEL)', 'invalid_input');
      return options.inpaintModel;
  }
}

/**
 * Texture models (SD 1.5 class, like the default REPLICATE_TILE_MODEL) draw at most 1024 pixels a
 * side: a --tile request is scaled down to that, keeping its shape, in multiples of 64.
 */
const TILE_MAX_SIDE = 1024;
function sizedFor(request: GenerationRequest, modelRef: string, options: ReplicateProviderOptions): GenerationRequest {
  if (!request.tile || modelRef !== options.tileModel) return request;
  const scale = Math.min(1, TILE_MAX_SIDE / Math.max(request.width, request.height));
  const side = (value: number) => Math.max(64, Math.floor((value * scale) / 64) * 64);
  return { ...request, width: side(request.width), height: side(request.height) };
}

/**
 * Input names follow the common image models (Flux, SDXL, Real-ESRGAN); models ignore inputs they
 * lack. `image` is the source as Replicate takes it (a data URI or a file URL).
 */
function buildInput(request: GenerationRequest, image: string | undefined, mask: string | undefined): Record<string, unknown> {
  if (request.kind === 'upscale') return { image, scale: 2 };
  if (request.kind === 'outpaint' || request.kind === 'inpaint') {
    // Fill models take their size from the image (the prepared canvas) and draw where the mask is white.
    if (!mask) throw new ProviderRefusedError(`a ${request.kind} job needs a mask`, 'invalid_input');
    const input: Record<string, unknown> = {
      prompt: request.prompt,
      image,
      mask,
      seed: request.seed,
      num_outputs: request.count,
      output_format: 'png',
    };
    if (request.negative) input.negative_prompt = request.negative;
    return input;
  }

  const input: Record<string, unknown> = { prompt: request.prompt };
  if (request.negative) input.negative_prompt = request.negative;
  Object.assign(input, {
    width: request.width,
    height: request.height,
    aspect_ratio: aspectRatioFor(request.width, request.height),
    seed: request.seed,
    num_outputs: request.count,
    output_format: 'png',
  });
  // --stylize and --chaos move the guidance: Flux names it `guidance` (usually 3.5), SD-style
  // models `guidance_scale` (usually 7.5).
  if (request.stylize !== undefined || request.chaos !== undefined) {
    input.guidance = guidanceFor(FLUX_GUIDANCE, request.stylize, request.chaos);
    input.guidance_scale = guidanceFor(SD_GUIDANCE, request.stylize, request.chaos);
  }
  if (request.draft) input.num_inference_steps = DRAFT_STEPS;
  if (request.kind === 'img2img' || request.kind === 'variation') {
    input.image = image;
    input.prompt_strength = clamp(request.strength ?? (request.kind === 'variation' ? VARIATION_STRENGTH : DEFAULT_STRENGTH), 0.1, 1);
  }
  return input;
}

const ASPECT_RATIOS: Array<[string, number]> = [
  ['1:1', 1],
  ['16:9', 16 / 9],
  ['9:16', 9 / 16],
  ['4:3', 4 / 3],
  ['3:4', 3 / 4],
  ['3:2', 3 / 2],
  ['2:3', 2 / 3],
];

/** The closest ratio Flux-style models accept; compared in log space so 2:1 and 1:2 are equally far from 1:1. */
export function aspectRatioFor(width: number, height: number): string {
  const target = Math.log(width / height);
  let best = ASPECT_RATIOS[0]!;
  for (const candidate of ASPECT_RATIOS) {
    if (Math.abs(Math.log(candidate[1]) - target) < Math.abs(Math.log(best[1]) - target)) best = candidate;
  }
  return best[0];
}

/** A caption model answers with text, a list of text, or {caption}/{text}. */
function captionText(output: unknown): string | undefined {
  if (typeof output === 'string') return output.replace(/^caption:\s*/i, '').trim() || undefined;
  if (Array.isArray(output)) return captionText(output.filter((item) => typeof item === 'string').join(' '));
  if (output && typeof output === 'object') {
    const { caption, text } = output as { caption?: unknown; text?: unknown };
    return captionText(caption ?? text);
  }
  return undefined;
}

function requireInit(request: GenerationRequest): Buffer {
  if (!request.init) throw new ProviderRefusedError(`a ${request.kind} job needs a source image`, 'invalid_input');
  return request.init;
}

/** Replicate accepts small files inline as data URIs. */
function dataUri(bytes: Buffer): string {
  return `data:${sniffContentType(bytes) ?? 'application/octet-stream'};base64,${bytes.toString('base64')}`;
}

// ---------------------------------------------------------------------------------------------
// Errors

/**
 * The client's ApiError is not exported at runtime, so it is recognised by shape. Its message is
 * "Request to <url> failed with status <code> <text>: <body>." and the body has already been read,
 * so the message is the only place the problem details survive.
 */
interface ApiErrorLike extends Error {
  response: Response;
}

function isApiError(error: unknown): error is ApiErrorLike {
  return error instanceof Error && error.name === 'ApiError' && (error as Partial<ApiErrorLike>).response instanceof Response;
}

interface ProblemDetails {
  title?: string;
  detail?: string;
  invalid_fields?: Array<{ field?: string; description?: string }>;
}

function problemDetails(error: ApiErrorLike): ProblemDetails {
  const body = /failed with status \d+[^:]*: ([\s\S]*)\.$/.exec(error.message)?.[1] ?? '';
  try {
    const parsed: unknown = JSON.parse(body);
    return parsed && typeof parsed === 'object' ? (parsed as ProblemDetails) : {};
  } catch {
    return { detail: body.slice(0, 200) || undefined };
  }
}

/** "- input.prompt: Field required\n- input.seed: ..." → "input.prompt: Field required; input.seed: ..." */
function readableDetail(problem: ProblemDetails): string {
  const fromFields = problem.invalid_fields
    ?.map((f) => [f.field, f.description].filter(Boolean).join(': '))
    .filter(Boolean)
    .join('; ');
  const fromDetail = problem.detail
    ?.split('\n')
    .map((line) => line.replace(/^\s*-\s*/, '').trim())
    .filter(Boolean)
    .join('; ');
  return fromDetail || fromFields || problem.title || 'no details given';
}

/** Replicate failed (5xx, network, timeout) but may answer later: a plain, retryable Error for the worker. */
class TransientError extends Error {
  override name = 'TransientError';
}

/**
 * A fetch that goes to the network once: later calls (the client's retry loop) get the same
 * answer, so the client never retries by itself. Each request also gets a time limit.
 */
function singleShot(fetchImpl: typeof fetch): typeof fetch {
  let first: Promise<Response> | undefined;
  return (input, init) => {
    const signal = init?.signal ? AbortSignal.any([init.signal, AbortSignal.timeout(API_TIMEOUT_MS)]) : AbortSignal.timeout(API_TIMEOUT_MS);
    first ??= fetchImpl(input, { ...init, signal });
    return first;
  };
}

/**
 * Maps what the client throws onto the worker's error kinds: 429 pauses (for its Retry-After),
 * 5xx and network failures are transient, 4xx are the request's fault. Errors are rebuilt rather
 * than wrapped: the ApiError carries the request, Authorization and all.
 */
async function callApi<T>(call: () => Promise<T>, what: string, notFound?: () => Error): Promise<T> {
  try {
    return await call();
  } catch (error) {
    if (!isApiError(error)) throw new TransientError(`Replicate unreachable while ${what}: ${describe(error)}`);
    const status = error.response.status;
    const problem = problemDetails(error);
    if (status === 401 || status === 403) {
      throw new Error(`Replicate refused the API token (HTTP ${status}) while ${what}: check REPLICATE_API_TOKEN`);
    }
    if (status === 422) throw new ProviderRefusedError(`Replicate rejected the input: ${readableDetail(problem)}`, 'invalid_input');
    if (status === 404 && notFound) throw notFound();
    if (status === 429) throw new ProviderRateLimitedError(retryAfterMs(error.response.headers.get('retry-after')) ?? DEFAULT_RETRY_AFTER_MS);
    if (status >= 500) throw new TransientError(`Replicate answered HTTP ${status} while ${what}: ${readableDetail(problem)}`);
    throw new Error(`Replicate answered HTTP ${status} while ${what}: ${readableDetail(problem)}`);
  }
}

function predictionFailure(prediction: Prediction, signal: AbortSignal): Error {
  if (prediction.status === 'canceled' && signal.aborted) return new GenerationCancelledError('cancelled');
  const message = typeof prediction.error === 'string' ? prediction.error : JSON.stringify(prediction.error ?? null);
  if (prediction.status === 'failed' && SAFETY_ERROR.test(message)) return new ProviderRefusedError(message, 'safety');
  // Other failures (out of memory, a cold boot gone wrong, canceled on the website) may pass on a retry.
  return new Error(`Replicate prediction ${prediction.id} ${prediction.status}: ${message}`);
}

// ---------------------------------------------------------------------------------------------
// Output

function outputUrls(output: unknown): string[] {
  const values = Array.isArray(output) ? output : [output];
  return values.filter((v): v is string => typeof v === 'string' && /^(https?|data):/.test(v));
}

/**
 * Output files live on replicate.delivery; like the official client's FileOutput we fetch them
 * without the API token, which must not travel to any host but the API.
 */
async function download(url: string, fetchImpl: typeof fetch, limits: DownloadLimits, signal: AbortSignal): Promise<GeneratedImage> {
  const where = url.slice(0, 120);
  let data: Buffer;
  try {
    data = await boundedDownload(url, fetchImpl, limits, signal);
  } catch (error) {
    if (signal.aborted) throw new GenerationCancelledError('cancelled while downloading the output');
    throw new Error(`could not download Replicate output ${where}: ${describe(error)}`);
  }
  const meta = await imageInfo(data, MAX_OUTPUT_PIXELS).catch((error: unknown) => {
    throw new Error(`Replicate output ${where} refused: ${describe(error)}`);
  });
  if (!meta) throw new Error(`Replicate output ${where} is not an image`);
  return { data, contentType: contentTypeFor(meta.format), width: meta.width, height: meta.height };
}

// ---------------------------------------------------------------------------------------------
// Small helpers

function throwIfCancelled(signal: AbortSignal): void {
  if (signal.aborted) throw new GenerationCancelledError('cancelled before it started');
}
