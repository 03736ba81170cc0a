import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import {
  GenerationCancelledError,
  ProviderRefusedError,
  type GeneratedImage,
  type DescribeRequest,
  type GenerationKind,
  type GenerationRequest,
  type ImageProvider,
} from './types.js';
import {
  boundedDownload,
  clamp,
  contentTypeFor,
  describe,
  guidanceFor,
  imageInfo,
  MAX_DOWNLOAD_BYTES,
  MAX_OUTPUT_PIXELS,
  sleep,
  sniffContentType,
  type DownloadLimits,
} from './shared.js';
import { suggestionsFromCaption, withReferences } from './references.js';

export interface ComfyProviderOptions {
  /** Base URL of the ComfyUI server, e.g. http://gpu-box:8188 */
  url: string;
  /** Folder holding txt2img.json, img2img.json, upscale.json, outpaint.json and inpaint.json (relative to the working directory). */
  workflowDir: string;
  pollMs: number;
  /** How long one prompt may take, queue included, before it is taken back and retried (default 15 min). */
  timeoutMs?: number;
  /** Largest output accepted (default 128 MB). */
  maxDownloadBytes?: number;
  fetch?: typeof fetch;
}

const DEFAULT_STRENGTH = 0.6;
const VARIATION_STRENGTH = 0.35;
/** Progress shown once our prompt leaves the queue and reaches the GPU (ComfyUI gives no step count over HTTP). */
const RUNNING_PROGRESS = 0.1;
const DEFAULT_TIMEOUT_MS = 15 * 60_000;
/** One HTTP request may take this long; a ComfyUI that hangs is treated like one that fails. */
const REQUEST_TIMEOUT_MS = 60_000;
const DOWNLOAD_TIMEOUT_MS = 120_000;
const PLACEHOLDER = /^\{\{(\w+)\}\}$/;
const NUMERIC_PLACEHOLDERS = new Set(['seed', 'width', 'height', 'count', 'strength', 'steps', 'cfg', 'chaos', 'stylize']);
/** Sampler steps of a full render and of a --draft. */
const STEPS = 30;
const DRAFT_STEPS = 12;
/** The templates' usual CFG, which --stylize and --chaos move (see guidanceFor). */
const BASE_CFG = 7;
/** A --tile txt2img uses this template (seamless-tiling nodes) instead of txt2img.json. */
const TILE_TEMPLATE = 'txt2img-tile.json';

const TEMPLATE_FOR: Record<GenerationKind, string> = {
  txt2img: 'txt2img.json',
  img2img: 'img2img.json',
  variation: 'img2img.json',
  upscale: 'upscale.json',
  outpaint: 'outpaint.json',
  inpaint: 'inpaint.json',
};

/**
 * Runs jobs on a self-hosted ComfyUI over its HTTP API: fill a workflow template, upload the
 * source image if there is one, queue the prompt, poll its history, fetch the images.
 */
/** Polls in a row in which a prompt is neither in the history nor in the queue before it counts as lost. */
const LOST_AFTER_POLLS = 5;

export function createComfyProvider(options: ComfyProviderOptions): ImageProvider {
  const fetchImpl = options.fetch ?? globalThis.fetch;
  const base = options.url.replace(/\/+$/, '');
  // Outputs come from ComfyUI itself, never from wherever a redirect points.
  const downloads: DownloadLimits = {
    hosts: [new URL(base).host],
    maxBytes: options.maxDownloadBytes ?? MAX_DOWNLOAD_BYTES,
    timeoutMs: DOWNLOAD_TIMEOUT_MS,
  };
  // ComfyUI tags websocket messages with it; one per worker keeps its prompts recognisable in the queue.
  const clientId = randomUUID();

  /** Every call goes through here: network failures become plain (retryable) Errors. */
  async function call(path: string, init: RequestInit, what: string): Promise<Response> {
    let response: Response;
    const limit = AbortSignal.timeout(REQUEST_TIMEOUT_MS);
    try {
      response = await fetchImpl(`${base}${path}`, { ...init, signal: init.signal ? AbortSignal.any([init.signal, limit]) : limit });
    } catch (error) {
      if (init.signal?.aborted) throw new GenerationCancelledError(`cancelled while ${what}`);
      throw new Error(`ComfyUI unreachable while ${what}: ${describe(error)}`);
    }
    return response;
  }

  async function callOk(path: string, init: RequestInit, what: string): Promise<Response> {
    const response = await call(path, init, what);
    if (!response.ok) {
      const text = await response.text().catch(() => '');
      throw new Error(`ComfyUI answered HTTP ${response.status} while ${what}: ${text.slice(0, 300)}`);
    }
    return response;
  }

  async function upload(init: Buffer, signal: AbortSignal): Promise<string> {
    const type = sniffContentType(init) ?? 'image/png';
    const form = new FormData();
    // A unique name per job: concurrent jobs never read each other's source image.
    form.append('image', new Blob([init], { type }), `atelier-${randomUUID()}.${type.split('/')[1]}`);
    form.append('type', 'input');
    form.append('overwrite', 'true');
    const response = await callOk('/upload/image', { method: 'POST', body: form, signal }, 'uploading the source image');
    const body = (await response.json()) as { name?: unknown; subfolder?: unknown };
    if (typeof body.name !== 'string') throw new Error('ComfyUI upload answered without a file name');
    // LoadImage takes paths relative to the input folder.
    return typeof body.subfolder === 'string' && body.subfolder ? `${body.subfolder}/${body.name}` : body.name;
  }

  async function submit(workflow: Workflow): Promise<string> {
    // Not abortable: once sent, we need the prompt id to take the prompt back off the GPU.
    const response = await call(
      '/prompt',
      { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ prompt: workflow, client_id: clientId }) },
      'queueing the prompt',
    );
    const text = await response.text();
    const body = parseJson(text) as { prompt_id?: unknown; error?: unknown; node_errors?: unknown } | undefined;
    if (response.status === 400 && body && (body.error || body.node_errors)) {
      throw new ProviderRefusedError(`ComfyUI rejected the workflow: ${validationMessage(body.error, body.node_errors)}`, 'invalid_input');
    }
    if (!response.ok) throw new Error(`ComfyUI answered HTTP ${response.status} while queueing the prompt: ${text.slice(0, 300)}`);
    if (typeof body?.prompt_id !== 'string') throw new Error('ComfyUI accepted the prompt without a prompt_id');
    return body.prompt_id;
  }

  async function waitForHistory(promptId: string, request: Pick<GenerationRequest, 'signal' | 'onProgress'>): Promise<HistoryEntry> {
    const { signal } = request;
    let running = false;
    let missing = 0;
    // A prompt stuck in ComfyUI's queue or on its GPU is taken back and the attempt fails, so the
    // queue retries it (or tells the member) instead of waiting forever.
    const deadline = Date.now() + (options.timeoutMs ?? DEFAULT_TIMEOUT_MS);
    for (;;) {
      if (signal.aborted) await cancel(promptId);
      if (Date.now() > deadline) {
        await cancel(promptId).catch(() => undefined);
        throw new Error(`ComfyUI prompt ${promptId} did not finish in time; took it back`);
      }
      const response = await callOk(`/history/${encodeURIComponent(promptId)}`, {}, 'polling the history');
      const history = (await response.json()) as Record<string, HistoryEntry | undefined>;
      // ComfyUI writes the history entry once the prompt has finished, successfully or not.
      const entry = history[promptId];
      if (entry) return entry;
      const queue = await queueState();
      const inRunning = queue?.queue_running?.some((item) => item[1] === promptId) ?? false;
      const inPending = queue?.queue_pending?.some((item) => item[1] === promptId) ?? false;
      if (!running && inRunning) {
        running = true;
        request.onProgress(RUNNING_PROGRESS);
      }
      // Neither finished nor queued, poll after poll: ComfyUI restarted and forgot it. Retry it.
      missing = queue && !inRunning && !inPending ? missing + 1 : 0;
      if (missing >= LOST_AFTER_POLLS) throw new Error(`ComfyUI no longer knows prompt ${promptId} (restarted?)`);
      await sleep(options.pollMs, signal);
    }
  }

  async function queueState(): Promise<QueueState | undefined> {
    const response = await call('/queue', {}, 'reading the queue').catch(() => undefined);
    if (!response?.ok) return undefined;
    return (await response.json().catch(() => undefined)) as QueueState | undefined;
  }

  /**
   * Takes our prompt back: still queued → delete it from the queue; running → interrupt it. The
   * interrupt names the prompt, so recent ComfyUI leaves a different job alone if ours just ended.
   */
  async function cancel(promptId: string): Promise<never> {
    const post = (path: string, body: unknown) =>
      call(path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }, 'cancelling').catch(
        () => undefined, // best effort
      );
    const queue = await queueState();
    const pending = queue?.queue_pending?.some((item) => item[1] === promptId);
    const running = queue?.queue_running?.some((item) => item[1] === promptId);
    if (pending || !queue) await post('/queue', { delete: [promptId] });
    if (running || !queue) await post('/interrupt', { prompt_id: promptId });
    throw new GenerationCancelledError(`cancelled; ComfyUI prompt ${promptId} was taken back`);
  }

  async function download(image: OutputImage, signal: AbortSignal): Promise<GeneratedImage> {
    const query = new URLSearchParams({ filename: image.filename, subfolder: image.subfolder ?? '', type: image.type ?? 'output' });
    let data: Buffer;
    try {
      data = await boundedDownload(`${base}/view?${query}`, fetchImpl, downloads, signal);
    } catch (error) {
      if (signal.aborted) throw new GenerationCancelledError(`cancelled while downloading ${image.filename}`);
      throw new Error(`could not download ComfyUI output ${image.filename}: ${describe(error)}`);
    }
    const meta = await imageInfo(data, MAX_OUTPUT_PIXELS).catch((error: unknown) => {
      throw new Error(`ComfyUI output ${image.filename} refused: ${describe(error)}`);
    });
    if (!meta) throw new Error(`ComfyUI output ${image.filename} is not an image`);
    return { data, contentType: contentTypeFor(meta.format), width: meta.width, height: meta.height };
  }

  /**
   * The prompt an earlier attempt of this job queued, while ComfyUI still has it (queued, running
   * or done). Only a ComfyUI that answers and knows the prompt nowhere has forgotten it; when the
   * history or the queue cannot be read, this attempt fails and the queue asks again later rather
   * than queueing the prompt a second time.
   */
  async function resumablePrompt(request: GenerationRequest): Promise<string | undefined> {
    const promptId = await request.run?.load();
    if (!promptId) return undefined;
    const history = await callOk(`/history/${encodeURIComponent(promptId)}`, {}, 'looking for an earlier prompt');
    const entry = ((await history.json()) as Record<string, HistoryEntry | undefined>)[promptId];
    if (entry) return entry.status?.status_str === 'error' ? undefined : promptId;
    const queue = await queueState();
    if (!queue) throw new Error(`ComfyUI did not say whether it still has prompt ${promptId}; trying again later`);
    const known = [...(queue.queue_running ?? []), ...(queue.queue_pending ?? [])].some((item) => item[1] === promptId);
    return known ? promptId : undefined;
  }

  async function generate(asked: GenerationRequest): Promise<GeneratedImage[]> {
    // Stock ComfyUI has no multi-image or style-reference nodes: blends and --sref run through img2img.json.
    const request = await withReferences(asked, false);
    const { signal } = request;
    if (signal.aborted) throw new GenerationCancelledError('cancelled before it started');
    const resumed = await resumablePrompt(request);
    if (resumed) return finish(resumed, request);
    const template = await loadTemplate(options.workflowDir, request.tile && request.kind === 'txt2img' ? TILE_TEMPLATE : TEMPLATE_FOR[request.kind]);

    const values: Record<string, string | number | undefined> = {
      prompt: request.prompt,
      negative: request.negative ?? '',
      model: request.model,
      seed: request.seed,
      width: request.width,
      height: request.height,
      count: request.kind === 'upscale' ? 1 : request.count,
      strength: clamp(request.strength ?? (request.kind === 'variation' ? VARIATION_STRENGTH : DEFAULT_STRENGTH), 0.1, 1),
      image: undefined, // set below once uploaded
      mask: undefined,
      steps: request.draft ? DRAFT_STEPS : STEPS,
      cfg: guidanceFor(BASE_CFG, request.stylize, request.chaos),
      chaos: request.chaos ?? 100,
      stylize: request.stylize ?? 100,
      // Low chaos: every picture of the batch starts from the same noise (LatentBatchSeedBehavior).
      batch_seeds: request.chaos !== undefined && request.chaos < 50 ? 'fixed' : 'random',
    };
    if (request.kind !== 'txt2img') {
      if (!request.init) throw new ProviderRefusedError(`a ${request.kind} job needs a source image`, 'invalid_input');
      values.image = await upload(request.init, signal);
    }
    if (request.kind === 'outpaint' || request.kind === 'inpaint') {
      if (!request.mask) throw new ProviderRefusedError(`a ${request.kind} job needs a mask`, 'invalid_input');
      values.mask = await upload(request.mask, signal);
    }
    const workflow = fillTemplate(template.workflow, values, template.file);

    if (signal.aborted) throw new GenerationCancelledError('cancelled before it was queued');
    const promptId = await submit(workflow);
    // A retry of this job (a poll failed, the worker died) waits for this prompt instead of queueing another.
    await request.run?.save(promptId);
    return finish(promptId, request);
  }

  async function finish(promptId: string, request: GenerationRequest): Promise<GeneratedImage[]> {
    const { signal } = request;
    request.onProgress(0);
    const entry = await waitForHistory(promptId, request);
    if (entry.status?.status_str === 'error') throw executionFailure(promptId, entry, signal);

    const images = outputImages(entry.outputs);
    if (images.length === 0) throw new Error(`ComfyUI prompt ${promptId} finished without an image (does the workflow save one?)`);
    const results = await Promise.all(images.map((image) => download(image, signal)));
    request.onProgress(1);
    return results;
  }

  /**
   * /describe: describe.json (a captioning workflow; its text output nodes, e.g. ShowText, carry the
   * caption) run on the picture; the caption becomes four prompts.
   */
  async function describeImage(request: DescribeRequest): Promise<string[]> {
    const { signal } = request;
    const template = await loadTemplate(options.workflowDir, 'describe.json');
    const workflow = fillTemplate(template.workflow, { image: await upload(request.image, signal) }, template.file);
    if (signal.aborted) throw new GenerationCancelledError('cancelled before it was queued');
    const promptId = await submit(workflow);
    const entry = await waitForHistory(promptId, { signal, onProgress: () => undefined });
    if (entry.status?.status_str === 'error') throw executionFailure(promptId, entry, signal);
    const caption = outputTexts(entry.outputs).join(' ').trim();
    if (!caption) throw new Error(`ComfyUI prompt ${promptId} finished without text (does describe.json end in a text output node?)`);
    return suggestionsFromCaption(caption);
  }

  return { name: 'comfyui', generate, describe: describeImage };
}

// ---------------------------------------------------------------------------------------------
// Templates

type Workflow = Record<string, { class_type: string; inputs: Record<string, unknown> }>;

/** Read per job, so admins can edit the workflows without restarting the worker. */
async function loadTemplate(workflowDir: string, name: string): Promise<{ file: string; workflow: Workflow }> {
  const file = resolve(process.cwd(), workflowDir, name);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new Error(`cannot read the ComfyUI workflow ${file}: ${describe(error)}`);
  }
  const workflow = parseJson(text);
  if (!workflow || typeof workflow !== 'object' || Array.isArray(workflow)) {
    throw new Error(`the ComfyUI workflow ${file} is not a JSON object in API format`);
  }
  return { file, workflow: workflow as Workflow };
}

/**
 * Replaces whole-string placeholders ("{{seed}}") with their values, numbers as JSON numbers.
 * Only the template is scanned, never the values, so a prompt that happens to contain "{{x}}"
 * is passed through untouched.
 */
export function fillTemplate(workflow: Workflow, values: Record<string, string | number | undefined>, file = 'workflow'): Workflow {
  const fill = (node: unknown): unknown => {
    if (typeof node === 'string') {
      const name = PLACEHOLDER.exec(node)?.[1];
      if (name === undefined) return node;
      if (!(name in values)) throw new Error(`${file} uses an unknown placeholder {{${name}}}`);
      const value = values[name];
      if (value === undefined) throw new Error(`${file} uses {{${name}}}, which this kind of job does not provide`);
      return NUMERIC_PLACEHOLDERS.has(name) ? Number(value) : String(value);
    }
    if (Array.isArray(node)) return node.map(fill);
    if (node && typeof node === 'object') return Object.fromEntries(Object.entries(node).map(([k, v]) => [k, fill(v)]));
    return node;
  };
  return fill(workflow) as Workflow;
}

// ---------------------------------------------------------------------------------------------
// ComfyUI's answers

interface OutputImage {
  filename: string;
  subfolder?: string;
  type?: string;
}

interface HistoryEntry {
  outputs?: Record<string, { images?: OutputImage[]; text?: unknown }>;
  status?: { status_str?: string; completed?: boolean; messages?: Array<[string, Record<string, unknown>]> };
}

/** Items are [number, prompt_id, prompt, extra_data, outputs_to_execute]. */
interface QueueState {
  queue_running?: Array<[number, string, ...unknown[]]>;
  queue_pending?: Array<[number, string, ...unknown[]]>;
}

interface ValidationError {
  type?: string;
  message?: string;
  details?: string;
}

/** Turns /prompt's {error, node_errors} into one line a member can read. */
function validationMessage(error: unknown, nodeErrors: unknown): string {
  const parts: string[] = [];
  if (nodeErrors && typeof nodeErrors === 'object') {
    for (const [id, node] of Object.entries(nodeErrors as Record<string, { class_type?: string; errors?: ValidationError[] }>)) {
      for (const e of node.errors ?? []) {
        parts.push(`${node.class_type ?? 'node'} #${id}: ${[e.message, e.details].filter(Boolean).join(': ')}`);
      }
    }
  }
  if (parts.length === 0 && error && typeof error === 'object') {
    const e = error as ValidationError;
    parts.push([e.message, e.details].filter(Boolean).join(': '));
  }
  return parts.join('; ') || 'invalid workflow';
}

/** A failed run (out of memory, missing model file…) may pass on another try or another worker. */
function executionFailure(promptId: string, entry: HistoryEntry, signal: AbortSignal): Error {
  const messages = entry.status?.messages ?? [];
  const failure = messages.find(([event]) => event === 'execution_error')?.[1];
  if (failure) {
    const where = failure.node_type ? ` in ${String(failure.node_type)} #${String(failure.node_id)}` : '';
    return new Error(`ComfyUI prompt ${promptId} failed${where}: ${String(failure.exception_message ?? 'unknown error').trim()}`);
  }
  if (messages.some(([event]) => event === 'execution_interrupted')) {
    if (signal.aborted) return new GenerationCancelledError('cancelled');
    return new Error(`ComfyUI prompt ${promptId} was interrupted on the server`);
  }
  return new Error(`ComfyUI prompt ${promptId} failed without an error message`);
}

/** Text from every output node that shows text (ShowText and the like), in node order. */
function outputTexts(outputs: HistoryEntry['outputs']): string[] {
  const nodes = Object.entries(outputs ?? {}).sort(([a], [b]) => a.localeCompare(b, 'en', { numeric: true }));
  return nodes.flatMap(([, node]) => (Array.isArray(node.text) ? node.text : [node.text])).filter((text): text is string => typeof text === 'string');
}

/**
 * Images from every output node, in node order. SaveImage writes type 'output'; PreviewImage
 * writes 'temp' copies, which would duplicate them, so temp images count only when nothing else does.
 */
function outputImages(outputs: HistoryEntry['outputs']): OutputImage[] {
  const nodes = Object.entries(outputs ?? {}).sort(([a], [b]) => a.localeCompare(b, 'en', { numeric: true }));
  const all = nodes.flatMap(([, node]) => node.images ?? []).filter((image) => typeof image?.filename === 'string');
  const saved = all.filter((image) => (image.type ?? 'output') === 'output');
  return saved.length > 0 ? saved : all;
}

// ---------------------------------------------------------------------------------------------
// Small helpers

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
