import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { closeNow, listenOnLoopback } from './loopback.js';
import { gradient } from './fake-replicate.js';
import sharp from 'sharp';

/**
 * A local stand-in for OpenAI's Images API, close enough that the official `openai` client talks
 * to it unchanged: POST /v1/images/generations (JSON) and /v1/images/edits (multipart), Bearer
 * keys, the sizes and counts each model takes, `{ error: { message, type, param, code } }` error
 * bodies, base64 images in `data[].b64_json`, and 429s with Retry-After.
 */
export type OpenAIFailure = 'http429' | 'http500' | 'moderation';

export interface OpenAIRequest {
  method: string;
  path: string;
  headers: Record<string, string | string[] | undefined>;
  /** JSON body, or for multipart the text fields plus `image` as { name, type, size, data }. */
  body: any;
  /** When the fake received it (Date.now()). */
  at: number;
}

export const MODERATION_MESSAGE =
  'Your request was rejected by the safety system. If you believe this is an error, contact us at help.openai.com and include the request ID req_123.';

const SIZES: Record<string, string[]> = {
  'gpt-image-1': ['1024x1024', '1536x1024', '1024x1536', 'auto'],
  'gpt-image-1-mini': ['1024x1024', '1536x1024', '1024x1536', 'auto'],
  'dall-e-3': ['1024x1024', '1792x1024', '1024x1792'],
  'dall-e-2': ['256x256', '512x512', '1024x1024'],
};

export class FakeOpenAI {
  readonly apiKey = `sk-fake-${randomBytes(16).toString('hex')}`;
  /** What Retry-After says on an 'http429' failure, in seconds. */
  retryAfterSeconds = 7;
  readonly requests: OpenAIRequest[] = [];
  /** When each 429 was answered, and the Retry-After it asked for (ms). */
  readonly throttled: Array<{ at: number; retryAfterMs: number }> = [];
  /** Images drawn (failed requests draw none). */
  drawn = 0;

  private server: Server | undefined;
  private origin = '';
  private readonly failures: OpenAIFailure[] = [];

  get baseUrl(): string {
    return `${this.origin}/v1`;
  }

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      this.handle(req, res).catch((error: unknown) => {
        if (!res.headersSent) fail(res, 500, String(error), 'server_error', null);
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

  /** The next `n` image requests fail this way. */
  failNext(n: number, kind: OpenAIFailure): void {
    for (let i = 0; i < n; i++) this.failures.push(kind);
  }

  requestsTo(path: RegExp): OpenAIRequest[] {
    return this.requests.filter((r) => path.test(r.path));
  }

  // -------------------------------------------------------------------------------------------

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', this.origin);
    const raw = await readBody(req);
    const contentType = String(req.headers['content-type'] ?? '');
    let body: any;
    if (contentType.startsWith('multipart/form-data')) {
      const form = await new Request(this.origin, { method: 'POST', headers: { 'content-type': contentType }, body: raw }).formData();
      body = {};
      for (const [key, value] of form) {
        body[key] =
          typeof value === 'string' ? value : { name: value.name, type: value.type, size: value.size, data: Buffer.from(await value.arrayBuffer()) };
      }
    } else if (raw.length > 0) {
      body = JSON.parse(raw.toString('utf8'));
    }
    this.requests.push({ method: req.method ?? 'GET', path: url.pathname, headers: { ...req.headers }, body, at: Date.now() });

    if (req.headers.authorization !== `Bearer ${this.apiKey}`) {
      // Like OpenAI, the message quotes part of the key: a client must never log it as it is.
      const given = String(req.headers.authorization ?? '').replace(/^Bearer /, '');
      return fail(res, 401, `Incorrect API key provided: ${given.slice(0, 8)}****${given.slice(-4)}.`, 'invalid_request_error', 'invalid_api_key');
    }
    const edit = url.pathname === '/v1/images/edits';
    if (req.method !== 'POST' || (url.pathname !== '/v1/images/generations' && !edit)) {
      return fail(res, 404, `Invalid URL (${req.method} ${url.pathname})`, 'invalid_request_error', null);
    }

    const failure = this.failures.shift();
    if (failure === 'http429') {
      this.throttled.push({ at: Date.now(), retryAfterMs: this.retryAfterSeconds * 1000 });
      return fail(
        res,
        429,
        'Rate limit reached for gpt-image-1 on images per minute (IPM): Limit 5, Used 5, Requested 1.',
        'requests',
        'rate_limit_exceeded',
        {
          'retry-after': String(this.retryAfterSeconds),
        },
      );
    }
    if (failure === 'http500')
      return fail(res, 500, 'The server had an error while processing your request. Sorry about that!', 'server_error', null);
    if (failure === 'moderation') return fail(res, 400, MODERATION_MESSAGE, 'image_generation_user_error', 'moderation_blocked');

    const model = typeof body?.model === 'string' ? body.model : 'dall-e-2';
    const problem = validate(model, body, edit);
    if (problem) return fail(res, 400, problem.message, 'invalid_request_error', problem.param);

    const maskProblem = edit && body.mask ? await checkMask(body.image.data as Buffer, body.mask) : undefined;
    if (maskProblem) return fail(res, 400, maskProblem, 'invalid_request_error', 'invalid_image_mask');

    const n = Number(body.n ?? 1);
    const size = String(body.size ?? '1024x1024');
    const [width, height] = (size === 'auto' ? '1024x1024' : size).split('x').map(Number) as [number, number];
    const seed = edit ? (body.image.data as Buffer).length : body.prompt.length;
    const data = await Promise.all(
      Array.from({ length: n }, async (_, i) => ({
        b64_json: (
          await gradient(width, height, seed + i)
            .png()
            .toBuffer()
        ).toString('base64'),
      })),
    );
    this.drawn += n;
    res.writeHead(200, { 'content-type': 'application/json' }).end(
      JSON.stringify({
        created: Math.floor(Date.now() / 1000),
        data: model === 'dall-e-3' ? data.map((d) => ({ ...d, revised_prompt: body.prompt })) : data,
        ...(model.startsWith('gpt')
          ? {
              background: 'opaque',
              output_format: 'png',
              quality: 'high',
              size,
              usage: {
                input_tokens: 50,
                output_tokens: 4160 * n,
                total_tokens: 50 + 4160 * n,
                input_tokens_details: { text_tokens: 50, image_tokens: 0 },
              },
            }
          : {}),
      }),
    );
  }
}

/** Like OpenAI: the mask is a PNG with an alpha channel, exactly the size of the image. */
async function checkMask(image: Buffer, mask: { type?: string; data?: Buffer }): Promise<string | undefined> {
  if (mask.type !== 'image/png' || !mask.data) return "Invalid file 'mask': the mask must be a PNG.";
  const [imageMeta, maskMeta] = await Promise.all([sharp(image).metadata(), sharp(mask.data).metadata()]);
  if (!maskMeta.hasAlpha) return "Invalid file 'mask': the mask must have an alpha channel.";
  if (imageMeta.width !== maskMeta.width || imageMeta.height !== maskMeta.height) {
    return 'Invalid mask image: the mask and the image must have the same dimensions.';
  }
  return undefined;
}

function validate(model: string, body: any, edit: boolean): { message: string; param: string } | undefined {
  if (!SIZES[model])
    return { message: `Invalid value: '${model}'. Value must be one of 'dall-e-2', 'dall-e-3', 'gpt-image-1', 'gpt-image-1-mini'.`, param: 'model' };
  if (typeof body?.prompt !== 'string' || body.prompt.length === 0) return { message: "Missing required parameter: 'prompt'.", param: 'prompt' };
  const maxPrompt = model.startsWith('gpt') ? 32_000 : model === 'dall-e-3' ? 4000 : 1000;
  if (body.prompt.length > maxPrompt)
    return { message: `Invalid 'prompt': string too long. Expected a string with maximum length ${maxPrompt}.`, param: 'prompt' };
  const n = Number(body.n ?? 1);
  const maxN = model === 'dall-e-3' ? 1 : 10;
  if (!Number.isInteger(n) || n < 1 || n > maxN) return { message: `Invalid 'n': must be between 1 and ${maxN}.`, param: 'n' };
  if (body.size !== undefined && !SIZES[model]!.includes(String(body.size))) {
    return {
      message: `Invalid value: '${String(body.size)}'. Supported values are: ${SIZES[model]!.map((s) => `'${s}'`).join(', ')}.`,
      param: 'size',
    };
  }
  if (model.startsWith('gpt') && body.response_format !== undefined)
    return { message: "Unknown parameter: 'response_format'.", param: 'response_format' };
  if (edit) {
    if (model === 'dall-e-3') return { message: 'dall-e-3 does not support image edits.', param: 'model' };
    const image = body.image ?? body['image[]'];
    if (!image || typeof image === 'string') return { message: "Missing required parameter: 'image'.", param: 'image' };
    if (!['image/png', 'image/jpeg', 'image/webp'].includes(image.type)) {
      return {
        message: `Invalid file 'image': unsupported mimetype ('${image.type}'). Supported file formats are 'image/jpeg', 'image/png', and 'image/webp'.`,
        param: 'image',
      };
    }
    body.image = image;
  }
  return undefined;
}

function fail(res: ServerResponse, status: number, message: string, type: string, code: string | null, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(JSON.stringify({ error: { message, type, param: null, code } }));
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}
