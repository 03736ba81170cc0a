import { createHash, randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { deflateSync } from 'node:zlib';
import { closeNow, listenOnLoopback } from './loopback.js';
import sharp, { type Sharp } from 'sharp';

/**
 * A local stand-in for api.replicate.com, close enough that the official `replicate` client talks
 * to it unchanged: the same routes, status codes, problem+json error bodies and prediction objects
 * as Replicate's OpenAPI description (prediction lifecycle starting → processing → terminal, tqdm
 * progress lines in `logs`, outputs as URLs of files it serves itself under /files/).
 *
 * Time is computed lazily from the creation time, so no timers are left behind: a prediction is
 * `starting` for the first fifth of `delayMs`, then `processing`, then done.
 */
export type ReplicateFailure = 'http500' | 'http429' | 'nsfw' | 'invalid' | 'failed';

export interface RecordedRequest {
  method: string;
  /** Path and query, e.g. /v1/predictions/abc. */
  path: string;
  headers: Record<string, string | string[] | undefined>;
  /** Parsed JSON body, or undefined. */
  body: any;
  /** When the fake received it (Date.now()). */
  at: number;
}

export interface FakeModel {
  /** 'caption': an image captioning model (takes `image`, answers text, as BLIP does). */
  kind: 'image' | 'upscale' | 'inpaint' | 'caption';
  /** Version ids (64 hex characters) that POST /v1/predictions accepts; the first is the latest. */
  versions: string[];
  /** Official models alone may be run by name (POST /v1/models/{owner}/{name}/predictions). */
  official?: boolean;
}

type Outcome = 'succeed' | 'nsfw' | 'failed';

interface FakePrediction {
  id: string;
  model: string;
  version: string;
  input: Record<string, any>;
  createdAt: number;
  outcome: Outcome;
  /** Set when cancelled: the state freezes there. */
  canceledAt?: number;
  /** Rendered as soon as the prediction is created, awaited when it completes. */
  files: Promise<Array<{ name: string; data: Buffer; contentType: string }>>;
}

export const NSFW_ERROR = 'NSFW content detected. Try running it again, or try a different prompt.';
export const GENERIC_ERROR = 'CUDA out of memory. Tried to allocate 2.00 GiB (GPU 0; 39.39 GiB total capacity)';
const STEPS = 20;

export class FakeReplicate {
  readonly token = `r8_fake${randomBytes(12).toString('hex')}`;
  /** How long a prediction takes from creation to its terminal state. */
  delayMs = 100;
  /** What the Retry-After header of an 'http429' failure says, in seconds. */
  retryAfterSeconds = 7;
  readonly requests: RecordedRequest[] = [];
  /** When each 429 was answered, and the Retry-After it asked for (ms). */
  readonly throttled: Array<{ at: number; retryAfterMs: number }> = [];
  /** Predictions created (failures injected before creation, like http500 or invalid, do not count). */
  created = 0;
  /**
   * When set, what succeeded predictions give as output instead of their own files: hostile
   * outputs for tests, e.g. fake.outputOverride = (origin) => [`${origin}/hostile/streamed-huge`].
   * Routes: /hostile/claimed-huge (Content-Length of 1 GB), /hostile/streamed-huge (1 GB, chunked),
   * /hostile/redirect (to the same files under "localhost", another host), /hostile/bomb.png
   * (a few kilobytes claiming 16000 × 16000 pixels).
   */
  outputOverride: ((origin: string, predictionId: string) => unknown) | undefined;
  /** Emits 'created' (prediction json) and 'canceled' (prediction id). */
  readonly events = new EventEmitter();
  readonly models = new Map<string, FakeModel>([
    ['black-forest-labs/flux-schnell', { kind: 'image', versions: [hex64('flux-schnell')], official: true }],
    ['black-forest-labs/flux-dev', { kind: 'image', versions: [hex64('flux-dev')], official: true }],
    // Seamless textures (--tile): an SD 1.5 model, run by version like any community model.
    ['tstramer/material-diffusion', { kind: 'image', versions: ['a42692c54c0f407f803a0a8a9066160976baedb77c91171a01730f9b0d7beeff'] }],
    ['stability-ai/sdxl', { kind: 'image', versions: ['7762fd07cf82c948538e41f63f77d685e02b063e37e496e96eefd46c929f9bdc'] }],
    ['black-forest-labs/flux-fill-dev', { kind: 'inpaint', versions: [hex64('flux-fill-dev')], official: true }],
    ['nightmareai/real-esrgan', { kind: 'upscale', versions: ['f121d640bd286e1fdc67f9799164c1d5be36ff74576ee11c803ae5b665dd46aa'] }],
    // A model with multi-image conditioning (`image_input`: a list of pictures), and a captioner.
    ['google/nano-banana', { kind: 'image', versions: [hex64('nano-banana')], official: true }],
    ['salesforce/blip', { kind: 'caption', versions: [hex64('blip')] }],
  ]);

  private server: Server | undefined;
  private origin = '';
  private readonly predictions = new Map<string, FakePrediction>();
  /** Files uploaded through POST /v1/files, by id. */
  readonly files = new Map<string, { data: Buffer; contentType: string; name: string }>();
  private readonly failures: Array<{ kind: ReplicateFailure; on: 'create' | 'poll' }> = [];

  get baseUrl(): string {
    return `${this.origin}/v1`;
  }

  /** The prediction ids in creation order. */
  get predictionIds(): string[] {
    return [...this.predictions.keys()];
  }

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      this.handle(req, res).catch((error: unknown) => {
        if (!res.headersSent) problem(res, 500, 'Internal Server Error', String(error));
      });
    });
    this.origin = await listenOnLoopback(this.server!);
  }

  async close(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    await closeNow(server);
  }

  /**
   * The next `n` matching calls fail. http500 / http429 / invalid hit prediction creation (or, with
   * on: 'poll', GET /v1/predictions/{id} for the 5xx/429 kinds); nsfw / failed make the next `n`
   * created predictions end in `failed`.
   */
  failNext(n: number, kind: ReplicateFailure, on: 'create' | 'poll' = 'create'): void {
    for (let i = 0; i < n; i++) this.failures.push({ kind, on });
  }

  /** Ends an outage: failures queued by failNext that have not happened yet are dropped. */
  clearFailures(): void {
    this.failures.length = 0;
  }

  /** Requests whose method and path match, e.g. fake.requestsTo('POST', /\/cancel$/). */
  requestsTo(method: string, path: RegExp): RecordedRequest[] {
    return this.requests.filter((r) => r.method === method && path.test(r.path));
  }

  /** The current public JSON of a prediction, as GET /v1/predictions/{id} would return it. */
  async prediction(id: string): Promise<Record<string, unknown> | undefined> {
    const p = this.predictions.get(id);
    return p && this.toJson(p);
  }

  // -------------------------------------------------------------------------------------------

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', this.origin);
    const raw = await readBody(req);
    let body: any;
    if (raw.length > 0) {
      try {
        body = JSON.parse(raw.toString('utf8'));
      } catch {
        body = undefined;
      }
    }
    this.requests.push({ method: req.method ?? 'GET', path: url.pathname + url.search, headers: { ...req.headers }, body, at: Date.now() });

    if (url.pathname.startsWith('/hostile/') && req.method === 'GET') return this.serveHostile(req, res, url);
    // Output files stand in for replicate.delivery, which needs no token.
    const file = /^\/files\/([^/]+)\/([^/]+)$/.exec(url.pathname);
    if (file && req.method === 'GET') return this.serveFile(res, file[1]!, file[2]!);

    if (!url.pathname.startsWith('/v1/')) return problem(res, 404, 'Not found', 'The requested resource could not be found.');
    if (req.headers.authorization !== `Bearer ${this.token}`) {
      return problem(res, 401, 'Unauthenticated', 'You did not pass a valid authentication token');
    }

    let match: RegExpExecArray | null;
    if (req.method === 'POST' && (match = /^\/v1\/models\/([^/]+)\/([^/]+)\/predictions$/.exec(url.pathname))) {
      if (this.injectHttpFailure(res, 'create')) return;
      const model = `${match[1]}/${match[2]}`;
      const known = this.models.get(model);
      // Like Replicate, only official models run by name; any other needs POST /v1/predictions with a version.
      if (!known?.official) return problem(res, 404, 'Not found', 'The requested resource could not be found.');
      return this.create(res, model, known, known.versions[0]!, body);
    }
    if (req.method === 'GET' && (match = /^\/v1\/models\/([^/]+)\/([^/]+)$/.exec(url.pathname))) {
      const known = this.models.get(`${match[1]}/${match[2]}`);
      if (!known) return problem(res, 404, 'Not found', 'The requested resource could not be found.');
      return json(res, 200, {
        url: `https://replicate.com/${match[1]}/${match[2]}`,
        owner: match[1],
        name: match[2],
        description: null,
        visibility: 'public',
        is_official: known.official ?? false,
        run_count: this.created,
        // Official models are run by name; Replicate still lists their current version.
        latest_version: { id: known.versions[0], created_at: new Date(0).toISOString(), cog_version: '0.9.0', openapi_schema: {} },
      });
    }
    if (req.method === 'POST' && url.pathname === '/v1/files') {
      if (this.injectHttpFailure(res, 'create')) return;
      const form = await new Request(this.origin, { method: 'POST', headers: { 'content-type': String(req.headers['content-type']) }, body: raw })
        .formData()
        .catch(() => undefined);
      const content = form?.get('content');
      if (!(content instanceof Blob)) return invalid(res, [{ type: 'required', field: 'content', description: 'content is required' }]);
      const id = randomBytes(16).toString('hex').slice(0, 26);
      const data = Buffer.from(await content.arrayBuffer());
      const name = (content as File).name || 'file';
      this.files.set(id, { data, contentType: content.type || 'application/octet-stream', name });
      const now = new Date();
      return json(res, 201, {
        id,
        name,
        content_type: content.type || 'application/octet-stream',
        size: data.length,
        etag: randomBytes(16).toString('hex'),
        checksums: { sha256: createHash('sha256').update(data).digest('hex'), md5: createHash('md5').update(data).digest('hex') },
        metadata: {},
        created_at: now.toISOString(),
        expires_at: new Date(now.getTime() + 24 * 3600_000).toISOString(),
        urls: { get: `${this.baseUrl}/files/${id}` },
      });
    }
    if (req.method === 'POST' && url.pathname === '/v1/predictions') {
      if (this.injectHttpFailure(res, 'create')) return;
      const version = typeof body?.version === 'string' ? body.version.split(':').pop() : undefined;
      const entry = [...this.models].find(([, m]) => m.versions.includes(version));
      if (!entry) {
        return problem(res, 422, 'Invalid version', "The specified version does not exist (or perhaps you don't have permission to use it?)");
      }
      return this.create(res, entry[0], entry[1], version, body);
    }
    if (req.method === 'GET' && (match = /^\/v1\/predictions\/([^/]+)$/.exec(url.pathname))) {
      if (this.injectHttpFailure(res, 'poll')) return;
      const prediction = this.predictions.get(match[1]!);
      if (!prediction) return problem(res, 404, 'Not found', 'The requested resource could not be found.');
      return json(res, 200, await this.toJson(prediction));
    }
    if (req.method === 'POST' && (match = /^\/v1\/predictions\/([^/]+)\/cancel$/.exec(url.pathname))) {
      const prediction = this.predictions.get(match[1]!);
      if (!prediction) return problem(res, 404, 'Not found', 'The requested resource could not be found.');
      const state = this.state(prediction);
      if (state.status === 'starting' || state.status === 'processing') {
        prediction.canceledAt = Date.now();
        this.events.emit('canceled', prediction.id);
      }
      return json(res, 200, await this.toJson(prediction));
    }
    return problem(res, 404, 'Not found', 'The requested resource could not be found.');
  }

  private injectHttpFailure(res: ServerResponse, on: 'create' | 'poll'): boolean {
    const index = this.failures.findIndex(
      (f) => f.on === on && (f.kind === 'http500' || f.kind === 'http429' || (on === 'create' && f.kind === 'invalid')),
    );
    if (index === -1) return false;
    const [failure] = this.failures.splice(index, 1);
    if (failure!.kind === 'http500') {
      problem(res, 500, 'Internal Server Error', 'An unexpected error occurred.');
    } else if (failure!.kind === 'http429') {
      this.throttled.push({ at: Date.now(), retryAfterMs: this.retryAfterSeconds * 1000 });
      problem(res, 429, 'Request was throttled.', `Request was throttled. Expected available in ${this.retryAfterSeconds} seconds.`, {
        'retry-after': String(this.retryAfterSeconds),
      });
    } else {
      json(
        res,
        422,
        {
          detail: '- input.prompt: The prompt was flagged by the input checker\n',
          status: 422,
          title: 'Input validation failed',
          invalid_fields: [{ type: 'value_error', field: 'input.prompt', description: 'The prompt was flagged by the input checker' }],
        },
        'application/problem+json',
      );
    }
    return true;
  }

  private create(res: ServerResponse, model: string, known: FakeModel, version: string, body: any): void {
    if (!body || typeof body.input !== 'object' || body.input === null || Array.isArray(body.input)) {
      return invalid(res, [{ type: 'required', field: 'input', description: 'input is required' }]);
    }
    const input = body.input as Record<string, any>;
    const errors =
      known.kind === 'upscale'
        ? validateUpscaleInput(input)
        : known.kind === 'inpaint'
          ? validateInpaintInput(input)
          : known.kind === 'caption'
            ? validateCaptionInput(input)
            : validateImageInput(input);
    if (errors.length > 0) return invalid(res, errors);

    const failureIndex = this.failures.findIndex((f) => f.kind === 'nsfw' || f.kind === 'failed');
    const outcome: Outcome = failureIndex === -1 ? 'succeed' : (this.failures.splice(failureIndex, 1)[0]!.kind as 'nsfw' | 'failed');
    const id = randomBytes(16).toString('hex').slice(0, 26);
    const files = renderOutputs(known.kind, input, (uri) => this.fileBytes(uri));
    files.catch(() => undefined); // surfaced when the prediction completes
    const prediction: FakePrediction = { id, model, version, input, createdAt: Date.now(), outcome, files };
    this.predictions.set(id, prediction);
    this.created += 1;
    this.toJson(prediction).then(
      (state) => {
        this.events.emit('created', state);
        json(res, 201, state);
      },
      (error: unknown) => problem(res, 500, 'Internal Server Error', String(error)),
    );
  }

  /** The bytes an input URI stands for: a data URI, or a file uploaded here. */
  private fileBytes(uri: string): Buffer {
    if (uri.startsWith('data:')) return decodeDataUri(uri);
    const id = /\/v1\/files\/([^/?]+)$/.exec(uri)?.[1];
    const file = id && uri.startsWith(this.baseUrl) ? this.files.get(id) : undefined;
    if (!file) throw new Error(`cannot fetch ${uri}`);
    return file.data;
  }

  private state(p: FakePrediction): { status: string; elapsed: number } {
    const elapsed = (p.canceledAt ?? Date.now()) - p.createdAt;
    if (p.canceledAt !== undefined) return { status: 'canceled', elapsed };
    if (elapsed >= this.delayMs) return { status: p.outcome === 'succeed' ? 'succeeded' : 'failed', elapsed };
    return { status: elapsed < this.delayMs / 5 ? 'starting' : 'processing', elapsed };
  }

  private async toJson(p: FakePrediction): Promise<Record<string, unknown>> {
    const { status, elapsed } = this.state(p);
    const startDelay = this.delayMs / 5;
    const iso = (offset: number) => new Date(p.createdAt + offset).toISOString();
    const terminal = status !== 'starting' && status !== 'processing';
    const running = Math.max(0, Math.min(elapsed, this.delayMs) - startDelay);
    const fraction = status === 'succeeded' || status === 'failed' ? 1 : running / Math.max(1, this.delayMs - startDelay);

    let output: unknown = null;
    let error: string | null = null;
    if (status === 'succeeded') {
      const files = await p.files;
      const urls = files.map((f) => `${this.origin}/files/${p.id}/${f.name}`);
      // Image models return a list of URLs, upscalers a single URL: the provider must take both.
      const kind = this.models.get(p.model)?.kind;
      output = kind === 'upscale' ? urls[0] : kind === 'caption' ? files[0]!.data.toString() : urls;
      if (this.outputOverride) output = this.outputOverride(this.origin, p.id);
    } else if (status === 'failed') {
      error = p.outcome === 'nsfw' ? NSFW_ERROR : GENERIC_ERROR;
    }

    return {
      id: p.id,
      model: p.model,
      version: p.version,
      input: p.input,
      logs: status === 'starting' ? '' : progressLogs(p.input.seed, fraction, status === 'succeeded'),
      output,
      data_removed: false,
      error,
      status,
      source: 'api',
      created_at: iso(0),
      ...(status !== 'starting' ? { started_at: iso(Math.min(startDelay, elapsed)) } : {}),
      ...(terminal ? { completed_at: iso(elapsed) } : {}),
      urls: {
        web: `https://replicate.com/p/${p.id}`,
        get: `${this.baseUrl}/predictions/${p.id}`,
        cancel: `${this.baseUrl}/predictions/${p.id}/cancel`,
        stream: `${this.origin}/stream/${p.id}`,
      },
      ...(terminal ? { metrics: { predict_time: running / 1000, total_time: elapsed / 1000 } } : {}),
    };
  }

  private serveHostile(req: IncomingMessage, res: ServerResponse, url: URL): void {
    const GB = 1024 ** 3;
    switch (url.pathname) {
      case '/hostile/claimed-huge':
        // Claims 1 GB; a careful client never reads it. Sends a first chunk and keeps the socket open.
        res.writeHead(200, { 'content-type': 'image/png', 'content-length': String(GB) });
        res.write(Buffer.alloc(64 * 1024));
        return;
      case '/hostile/streamed-huge': {
        // No length given: 1 GB of chunks, as fast as the client reads, until it hangs up.
        res.writeHead(200, { 'content-type': 'image/png' });
        const chunk = Buffer.alloc(256 * 1024);
        let sent = 0;
        const pump = () => {
          while (sent < GB && !res.destroyed) {
            sent += chunk.length;
            if (!res.write(chunk)) return void res.once('drain', pump);
          }
          res.end();
        };
        res.on('close', () => (sent = GB));
        pump();
        return;
      }
      case '/hostile/redirect': {
        const target = new URL(url.searchParams.get('to') ?? '/', this.origin);
        target.hostname = 'localhost';
        res.writeHead(302, { location: target.toString() }).end();
        return;
      }
      case '/hostile/bomb.png':
        // Under sharp's own default limit (268 Mpx): only a limit of our own refuses it.
        res.writeHead(200, { 'content-type': 'image/png' }).end(pngBomb(16_000, 16_000));
        return;
      default:
        res.writeHead(404).end();
    }
    void req;
  }

  private async serveFile(res: ServerResponse, id: string, name: string): Promise<void> {
    const prediction = this.predictions.get(id);
    const file = prediction && this.state(prediction).status === 'succeeded' ? (await prediction.files).find((f) => f.name === name) : undefined;
    if (!file) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('Not Found');
      return;
    }
    res.writeHead(200, { 'content-type': file.contentType, 'content-length': file.data.length }).end(file.data);
  }
}

// ---------------------------------------------------------------------------------------------
// Validation, shaped like Replicate's 422 "Input validation failed" responses.

interface InvalidField {
  type: string;
  field: string;
  description: string;
}

const ASPECT_RATIOS = ['1:1', '16:9', '21:9', '3:2', '2:3', '4:5', '5:4', '3:4', '4:3', '9:16', '9:21'];

function validateImageInput(input: Record<string, any>): InvalidField[] {
  const errors: InvalidField[] = [];
  if (typeof input.prompt !== 'string') errors.push({ type: 'required', field: 'input.prompt', description: 'prompt is required' });
  checkInteger(errors, input, 'num_outputs', 1, 4);
  checkInteger(errors, input, 'width', 256, 1440);
  checkInteger(errors, input, 'height', 256, 1440);
  checkInteger(errors, input, 'seed', 0, 2 ** 53);
  checkNumber(errors, input, 'prompt_strength', 0, 1);
  checkNumber(errors, input, 'guidance', 0, 10);
  checkNumber(errors, input, 'guidance_scale', 1, 50);
  checkInteger(errors, input, 'num_inference_steps', 1, 50);
  if (input.aspect_ratio !== undefined && !ASPECT_RATIOS.includes(input.aspect_ratio)) {
    errors.push({
      type: 'enum',
      field: 'input.aspect_ratio',
      description: `aspect_ratio must be one of the following: ${ASPECT_RATIOS.map((r) => `"${r}"`).join(', ')}`,
    });
  }
  if (input.output_format !== undefined && !['webp', 'jpg', 'png'].includes(input.output_format)) {
    errors.push({ type: 'enum', field: 'input.output_format', description: 'output_format must be one of the following: "webp", "jpg", "png"' });
  }
  if (input.image !== undefined && !isFileUri(input.image)) {
    errors.push({ type: 'format', field: 'input.image', description: "Does not match format 'uri'" });
  }
  if (input.image_input !== undefined && (!Array.isArray(input.image_input) || !input.image_input.every(isFileUri))) {
    errors.push({ type: 'format', field: 'input.image_input', description: "Expected: array of items matching format 'uri'" });
  }
  return errors;
}

/** Flux Fill's inputs: prompt, image and mask (white: fill), no width or height (the image says). */
function validateInpaintInput(input: Record<string, any>): InvalidField[] {
  const errors: InvalidField[] = [];
  if (typeof input.prompt !== 'string') errors.push({ type: 'required', field: 'input.prompt', description: 'prompt is required' });
  for (const name of ['image', 'mask']) {
    if (input[name] === undefined) errors.push({ type: 'required', field: `input.${name}`, description: `${name} is required` });
    else if (!isFileUri(input[name])) errors.push({ type: 'format', field: `input.${name}`, description: "Does not match format 'uri'" });
  }
  for (const name of ['width', 'height', 'aspect_ratio', 'prompt_strength']) {
    if (input[name] !== undefined) errors.push({ type: 'additional', field: `input.${name}`, description: `${name} is not an input of this model` });
  }
  checkInteger(errors, input, 'num_outputs', 1, 4);
  checkInteger(errors, input, 'seed', 0, 2 ** 53);
  if (input.output_format !== undefined && !['webp', 'jpg', 'png'].includes(input.output_format)) {
    errors.push({ type: 'enum', field: 'input.output_format', description: 'output_format must be one of the following: "webp", "jpg", "png"' });
  }
  return errors;
}

function validateCaptionInput(input: Record<string, any>): InvalidField[] {
  return validateUpscaleInput(input);
}

function validateUpscaleInput(input: Record<string, any>): InvalidField[] {
  const errors: InvalidField[] = [];
  if (input.image === undefined) errors.push({ type: 'required', field: 'input.image', description: 'image is required' });
  else if (!isFileUri(input.image)) errors.push({ type: 'format', field: 'input.image', description: "Does not match format 'uri'" });
  checkNumber(errors, input, 'scale', 0, 10);
  return errors;
}

function checkInteger(errors: InvalidField[], input: Record<string, any>, name: string, min: number, max: number): void {
  const value = input[name];
  if (value === undefined) return;
  if (!Number.isInteger(value)) errors.push({ type: 'type', field: `input.${name}`, description: 'Invalid type. Expected: integer' });
  else checkRange(errors, name, value, min, max);
}

function checkNumber(errors: InvalidField[], input: Record<string, any>, name: string, min: number, max: number): void {
  const value = input[name];
  if (value === undefined) return;
  if (typeof value !== 'number') errors.push({ type: 'type', field: `input.${name}`, description: 'Invalid type. Expected: number' });
  else checkRange(errors, name, value, min, max);
}

function checkRange(errors: InvalidField[], name: string, value: number, min: number, max: number): void {
  if (value < min) errors.push({ type: 'number_gte', field: `input.${name}`, description: `Must be greater than or equal to ${min}` });
  if (value > max) errors.push({ type: 'number_lte', field: `input.${name}`, description: `Must be less than or equal to ${max}` });
}

function isFileUri(value: unknown): boolean {
  return typeof value === 'string' && /^(data:[\w/+.-]*(;[\w=.-]+)*;base64,|https?:\/\/)/.test(value);
}

function invalid(res: ServerResponse, fields: InvalidField[]): void {
  json(
    res,
    422,
    {
      detail: fields.map((f) => `- ${f.field}: ${f.description}\n`).join(''),
      status: 422,
      title: 'Input validation failed',
      invalid_fields: fields,
    },
    'application/problem+json',
  );
}

// ---------------------------------------------------------------------------------------------
// Rendering

async function renderOutputs(kind: FakeModel['kind'], input: Record<string, any>, bytesOf: (uri: string) => Buffer) {
  if (kind === 'caption') {
    // BLIP's answer shape: "Caption: …", here naming the picture's shape so tests can tell pictures apart.
    const meta = await sharp(bytesOf(input.image)).metadata();
    const shape = meta.width! > meta.height! ? 'wide' : meta.width! < meta.height! ? 'tall' : 'square';
    return [{ name: 'caption', data: Buffer.from(`Caption: a ${shape} picture of a lighthouse on a cliff`), contentType: 'text/plain' }];
  }
  if (kind === 'upscale') {
    const source = bytesOf(input.image);
    const meta = await sharp(source).metadata();
    const scale = typeof input.scale === 'number' ? input.scale : 4;
    const data = await sharp(source)
      .resize(Math.round(meta.width! * scale), Math.round(meta.height! * scale), { kernel: 'lanczos3' })
      .png()
      .toBuffer();
    return [{ name: 'output.png', data, contentType: 'image/png' }];
  }
  const format = input.output_format === 'jpg' ? 'jpeg' : input.output_format === 'png' ? 'png' : 'webp';
  const extension = format === 'jpeg' ? 'jpg' : format;
  let width = input.width ?? 1024;
  let height = input.height ?? 1024;
  if (kind === 'inpaint') {
    // Like Flux Fill: the image's size, rounded down to multiples of 16.
    const [image, mask] = await Promise.all([sharp(bytesOf(input.image)).metadata(), sharp(bytesOf(input.mask)).metadata()]);
    if (image.width !== mask.width || image.height !== mask.height) throw new Error('the mask and the image differ in size');
    width = Math.max(16, Math.floor(image.width! / 16) * 16);
    height = Math.max(16, Math.floor(image.height! / 16) * 16);
  }
  const seed = input.seed ?? 0;
  return Promise.all(
    Array.from({ length: input.num_outputs ?? 1 }, async (_, i) => ({
      name: `out-${i}.${extension}`,
      data: await gradient(width, height, seed + i)
        .toFormat(format)
        .toBuffer(),
      contentType: `image/${format}`,
    })),
  );
}

/** A diagonal gradient whose two colours come from the seed: different seeds, visibly different images. */
export function gradient(width: number, height: number, seed: number): Sharp {
  const from = hueToRgb((seed * 47) % 360);
  const to = hueToRgb((seed * 47 + 150) % 360);
  const pixels = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const t = (x / Math.max(1, width - 1) + y / Math.max(1, height - 1)) / 2;
      const offset = (y * width + x) * 3;
      for (let c = 0; c < 3; c++) pixels[offset + c] = Math.round(from[c]! + (to[c]! - from[c]!) * t);
    }
  }
  return sharp(pixels, { raw: { width, height, channels: 3 } });
}

function hueToRgb(hue: number): [number, number, number] {
  const f = (n: number) => {
    const k = (n + hue / 60) % 6;
    return Math.round(255 * (1 - Math.max(0, Math.min(k, 4 - k, 1))));
  };
  return [f(5), f(3), f(1)];
}

function decodeDataUri(uri: string): Buffer {
  const comma = uri.indexOf(',');
  return Buffer.from(uri.slice(comma + 1), 'base64');
}

/** tqdm-style lines, as diffusers prints them, e.g. " 45%|████▌     | 9/20 [00:01<00:01,  8.00it/s]". */
function progressLogs(seed: unknown, fraction: number, finished: boolean): string {
  const done = Math.floor(Math.min(1, Math.max(0, fraction)) * STEPS);
  const lines = [`Using seed: ${String(seed ?? 'random')}`];
  for (let step = 0; step <= done; step++) {
    const percent = Math.floor((step / STEPS) * 100);
    const bar = '█'.repeat(Math.floor(step / 2)).padEnd(10, ' ');
    lines.push(`${String(percent).padStart(3)}%|${bar}| ${step}/${STEPS} [00:0${Math.floor(step / 8)}<00:01,  8.00it/s]`);
  }
  if (finished) lines.push('Total safe images: 1 out of 1');
  return `${lines.join('\n')}\n`;
}

// ---------------------------------------------------------------------------------------------
// HTTP helpers

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function json(res: ServerResponse, status: number, body: unknown, contentType = 'application/json', headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': contentType, ...headers }).end(JSON.stringify(body));
}

function problem(res: ServerResponse, status: number, title: string, detail: string, headers: Record<string, string> = {}): void {
  json(res, status, { title, detail, status }, 'application/problem+json', headers);
}

/** A stable fake version id derived from a name. */
function hex64(name: string): string {
  let out = '';
  let h = 2166136261;
  while (out.length < 64) {
    for (const ch of name + out.length) h = Math.imul(h ^ ch.charCodeAt(0), 16777619) >>> 0;
    out += h.toString(16).padStart(8, '0');
  }
  return out.slice(0, 64);
}

/**
 * A PNG that claims 100000 × 100000 pixels (10 gigapixels, 30 GB once decoded) in a few hundred
 * bytes: a header and one compressed row. Anything that decodes it before checking its size falls over.
 */
export function pngBomb(width = 100_000, height = 100_000): Buffer {
  const chunk = (type: string, data: Buffer) => {
    const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
    const length = Buffer.alloc(4);
    length.writeUInt32BE(data.length);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(body));
    return Buffer.concat([length, body, crc]);
  };
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header[8] = 8; // bit depth
  header[9] = 2; // RGB
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', header),
    chunk('IDAT', deflateSync(Buffer.alloc(1 + width * 3))),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

function crc32(bytes: Buffer): number {
  let crc = 0xffffffff;
  for (const byte of bytes) {
    crc ^= byte;
    for (let k = 0; k < 8; k++) crc = crc & 1 ? (crc >>> 1) ^ 0xedb88320 : crc >>> 1;
  }
  return (crc ^ 0xffffffff) >>> 0;
}
