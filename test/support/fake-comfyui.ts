import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { closeNow, listenOnLoopback } from './loopback.js';
import sharp from 'sharp';
import { gradient } from './fake-replicate.js';

/**
 * A local stand-in for a ComfyUI server's HTTP API (/prompt, /history, /view, /upload/image,
 * /queue, /interrupt, /object_info), with ComfyUI's response shapes and error bodies.
 *
 * It checks submitted workflows the way ComfyUI's validator does (API format, known node types,
 * required inputs, links as [node id, output index] of the right type, numbers in range, values
 * in lists such as checkpoint names and uploaded images), a little more strictly in two places
 * so template mistakes cannot pass by luck: numbers must be JSON numbers (ComfyUI would coerce
 * "512"), and any whole-string "{{placeholder}}" left in is an error. Prompts run one at a time,
 * each taking `delayMs`, and "execute" the graph far enough to render real PNGs of the right
 * size and batch: gradients for sampled latents, the uploaded image resized for pure image paths.
 */
export type ComfyFailure = 'http500' | 'node_errors' | 'execution_error';

export interface RecordedRequest {
  method: string;
  /** Path and query, e.g. /history/abc. */
  path: string;
  headers: Record<string, string | string[] | undefined>;
  /** Parsed JSON body; for multipart uploads {fields, file: {name, type, size}}. */
  body: any;
}

type Workflow = Record<string, { class_type: string; inputs: Record<string, unknown> }>;

interface QueueItem {
  number: number;
  id: string;
  prompt: Workflow;
  clientId: string | undefined;
  outputs: string[];
  fail: boolean;
}

interface StoredFile {
  data: Buffer;
  contentType: string;
}

type InputSpec =
  | { type: 'INT' | 'FLOAT'; min: number; max: number }
  | { type: 'STRING' }
  | { type: 'BOOLEAN' }
  | { type: 'COMBO'; options: (fake: FakeComfyUI) => string[] }
  | { type: 'MODEL' | 'CLIP' | 'VAE' | 'CONDITIONING' | 'LATENT' | 'IMAGE' | 'MASK' | 'FL2MODEL' };

interface NodeSpec {
  inputs: Record<string, InputSpec>;
  outputs: string[];
  output?: boolean;
}

const SAMPLERS = ['euler', 'euler_ancestral', 'dpmpp_2m', 'dpmpp_2m_sde', 'dpmpp_sde', 'ddim', 'uni_pc'];
const SCHEDULERS = ['normal', 'karras', 'exponential', 'sgm_uniform', 'simple', 'ddim_uniform', 'beta'];
const UPSCALE_METHODS = ['nearest-exact', 'bilinear', 'area', 'bicubic', 'lanczos'];
const MAX_SIZE = 16384;
const TILINGS = ['enable', 'x_only', 'y_only', 'disable'];

/** The subset of ComfyUI's node library the Atelier workflows use. */
const NODES: Record<string, NodeSpec> = {
  CheckpointLoaderSimple: {
    inputs: { ckpt_name: { type: 'COMBO', options: (fake) => fake.checkpoints } },
    outputs: ['MODEL', 'CLIP', 'VAE'],
  },
  CLIPTextEncode: { inputs: { text: { type: 'STRING' }, clip: { type: 'CLIP' } }, outputs: ['CONDITIONING'] },
  EmptyLatentImage: {
    inputs: {
      width: { type: 'INT', min: 16, max: MAX_SIZE },
      height: { type: 'INT', min: 16, max: MAX_SIZE },
      batch_size: { type: 'INT', min: 1, max: 4096 },
    },
    outputs: ['LATENT'],
  },
  KSampler: {
    inputs: {
      model: { type: 'MODEL' },
      seed: { type: 'INT', min: 0, max: 0xffffffffffffffff },
      steps: { type: 'INT', min: 1, max: 10000 },
      cfg: { type: 'FLOAT', min: 0, max: 100 },
      sampler_name: { type: 'COMBO', options: () => SAMPLERS },
      scheduler: { type: 'COMBO', options: () => SCHEDULERS },
      positive: { type: 'CONDITIONING' },
      negative: { type: 'CONDITIONING' },
      latent_image: { type: 'LATENT' },
      denoise: { type: 'FLOAT', min: 0, max: 1 },
    },
    outputs: ['LATENT'],
  },
  VAEDecode: { inputs: { samples: { type: 'LATENT' }, vae: { type: 'VAE' } }, outputs: ['IMAGE'] },
  VAEEncode: { inputs: { pixels: { type: 'IMAGE' }, vae: { type: 'VAE' } }, outputs: ['LATENT'] },
  RepeatLatentBatch: { inputs: { samples: { type: 'LATENT' }, amount: { type: 'INT', min: 1, max: 64 } }, outputs: ['LATENT'] },
  LoadImage: { inputs: { image: { type: 'COMBO', options: (fake) => [...fake.uploads.keys()] } }, outputs: ['IMAGE', 'MASK'] },
  LoadImageMask: {
    inputs: {
      image: { type: 'COMBO', options: (fake) => [...fake.uploads.keys()] },
      channel: { type: 'COMBO', options: () => ['alpha', 'red', 'green', 'blue'] },
    },
    outputs: ['MASK'],
  },
  VAEEncodeForInpaint: {
    inputs: { pixels: { type: 'IMAGE' }, vae: { type: 'VAE' }, mask: { type: 'MASK' }, grow_mask_by: { type: 'INT', min: 0, max: 64 } },
    outputs: ['LATENT'],
  },
  ImageScale: {
    inputs: {
      image: { type: 'IMAGE' },
      upscale_method: { type: 'COMBO', options: () => UPSCALE_METHODS },
      width: { type: 'INT', min: 0, max: MAX_SIZE },
      height: { type: 'INT', min: 0, max: MAX_SIZE },
      crop: { type: 'COMBO', options: () => ['disabled', 'center'] },
    },
    outputs: ['IMAGE'],
  },
  ImageScaleBy: {
    inputs: {
      image: { type: 'IMAGE' },
      upscale_method: { type: 'COMBO', options: () => UPSCALE_METHODS },
      scale_by: { type: 'FLOAT', min: 0.01, max: 8 },
    },
    outputs: ['IMAGE'],
  },
  /** Core node: 'fixed' gives every latent of the batch the same noise. */
  LatentBatchSeedBehavior: {
    inputs: { samples: { type: 'LATENT' }, seed_behavior: { type: 'COMBO', options: () => ['random', 'fixed'] } },
    outputs: ['LATENT'],
  },
  /** From the ComfyUI-seamless-tiling custom nodes (the --tile template). */
  SeamlessTile: {
    inputs: {
      model: { type: 'MODEL' },
      tiling: { type: 'COMBO', options: () => TILINGS },
      copy_model: { type: 'COMBO', options: () => ['Make a copy', 'Modify in place'] },
    },
    outputs: ['MODEL'],
  },
  CircularVAEDecode: {
    inputs: { samples: { type: 'LATENT' }, vae: { type: 'VAE' }, tiling: { type: 'COMBO', options: () => TILINGS } },
    outputs: ['IMAGE'],
  },
  SaveImage: { inputs: { images: { type: 'IMAGE' }, filename_prefix: { type: 'STRING' } }, outputs: [], output: true },
  // Captioning for /describe: ComfyUI-Florence2's nodes, and pysssss' ShowText to bring the text out.
  DownloadAndLoadFlorence2Model: {
    inputs: {
      model: {
        type: 'COMBO',
        options: () => ['microsoft/Florence-2-base', 'microsoft/Florence-2-large', 'MiaoshouAI/Florence-2-base-PromptGen-v2.0'],
      },
      precision: { type: 'COMBO', options: () => ['fp16', 'bf16', 'fp32'] },
      attention: { type: 'COMBO', options: () => ['flash_attention_2', 'sdpa', 'eager'] },
    },
    outputs: ['FL2MODEL'],
  },
  Florence2Run: {
    inputs: {
      image: { type: 'IMAGE' },
      florence2_model: { type: 'FL2MODEL' },
      text_input: { type: 'STRING' },
      task: { type: 'COMBO', options: () => ['caption', 'detailed_caption', 'more_detailed_caption', 'prompt_gen_tags'] },
      fill_mask: { type: 'BOOLEAN' },
      keep_model_loaded: { type: 'BOOLEAN' },
      max_new_tokens: { type: 'INT', min: 1, max: 4096 },
      num_beams: { type: 'INT', min: 1, max: 64 },
      do_sample: { type: 'BOOLEAN' },
      output_mask_select: { type: 'STRING' },
      seed: { type: 'INT', min: 1, max: 0xffffffffffffffff },
    },
    outputs: ['IMAGE', 'MASK', 'STRING', 'JSON'],
  },
  'ShowText|pysssss': { inputs: { text: { type: 'STRING' } }, outputs: ['STRING'], output: true },
  PreviewImage: { inputs: { images: { type: 'IMAGE' } }, outputs: [], output: true },
};

export const EXECUTION_ERROR = 'CUDA out of memory. Tried to allocate 1.50 GiB (GPU 0; 7.79 GiB total capacity)';

export class FakeComfyUI {
  /** How long each prompt runs once it reaches the (single) GPU. */
  delayMs = 50;
  /** Checkpoint files CheckpointLoaderSimple accepts. */
  checkpoints = ['sd_xl_base_1.0.safetensors', 'dreamshaper_8.safetensors'];
  readonly requests: RecordedRequest[] = [];
  /** Every workflow /prompt accepted, in order. */
  readonly accepted: Workflow[] = [];
  /** Emits 'queued', 'running', 'finished' and 'interrupted', each with the prompt id. */
  readonly events = new EventEmitter();
  /** Files in the input folder, keyed as LoadImage names them ("sub/name.png" or "name.png"). */
  readonly uploads = new Map<string, Buffer>();

  private server: Server | undefined;
  private origin = '';
  private readonly failures: ComfyFailure[] = [];
  private readonly pending: QueueItem[] = [];
  private running: { item: QueueItem; timer: NodeJS.Timeout } | undefined;
  private readonly history = new Map<string, unknown>();
  private readonly files = new Map<string, StoredFile>();
  private promptNumber = 0;
  private fileCounter = 0;

  get url(): string {
    return this.origin;
  }

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      this.handle(req, res).catch((error: unknown) => {
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' }).end(`500 Internal Server Error\n\n${String(error)}`);
      });
    });
    this.origin = await listenOnLoopback(this.server!);
  }

  /** What a ComfyUI restart does to prompts: the queue and the running prompt are forgotten. */
  restart(): void {
    if (this.running) clearTimeout(this.running.timer);
    this.running = undefined;
    this.pending.length = 0;
  }

  async close(): Promise<void> {
    if (this.running) clearTimeout(this.running.timer);
    this.running = undefined;
    this.pending.length = 0;
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    await closeNow(server);
  }

  /** http500 and node_errors hit the next POST /prompt; execution_error fails the next accepted prompt while it runs. */
  failNext(n: number, kind: ComfyFailure): void {
    for (let i = 0; i < n; i++) this.failures.push(kind);
  }

  requestsTo(method: string, path: RegExp): RecordedRequest[] {
    return this.requests.filter((r) => r.method === method && path.test(r.path));
  }

  // -------------------------------------------------------------------------------------------

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', this.origin);
    const raw = await readBody(req);
    const contentType = req.headers['content-type'] ?? '';
    let body: any;
    let form: FormData | undefined;
    if (contentType.startsWith('multipart/form-data')) {
      form = await new Response(raw, { headers: { 'content-type': contentType } }).formData();
      const file = form.get('image');
      body = {
        fields: Object.fromEntries([...form.entries()].filter(([, v]) => typeof v === 'string')),
        file: file instanceof File ? { name: file.name, type: file.type, size: file.size } : undefined,
      };
    } else if (raw.length > 0) {
      try {
        body = JSON.parse(raw.toString('utf8'));
      } catch {
        body = undefined;
      }
    }
    const method = req.method ?? 'GET';
    this.requests.push({ method, path: url.pathname + url.search, headers: { ...req.headers }, body });

    let match: RegExpExecArray | null;
    if (method === 'POST' && url.pathname === '/prompt') return this.postPrompt(res, body);
    if (method === 'GET' && (match = /^\/history\/([^/]+)$/.exec(url.pathname))) {
      const id = decodeURIComponent(match[1]!);
      const entry = this.history.get(id);
      return json(res, 200, entry ? { [id]: entry } : {});
    }
    if (method === 'GET' && url.pathname === '/history') return json(res, 200, Object.fromEntries(this.history));
    if (method === 'GET' && url.pathname === '/view') return this.view(res, url.searchParams);
    if (method === 'POST' && url.pathname === '/upload/image') return this.upload(res, form);
    if (method === 'GET' && url.pathname === '/queue') {
      return json(res, 200, {
        queue_running: this.running ? [queueTuple(this.running.item)] : [],
        queue_pending: this.pending.map(queueTuple),
      });
    }
    if (method === 'POST' && url.pathname === '/queue') {
      if (body?.clear) this.pending.length = 0;
      for (const id of Array.isArray(body?.delete) ? body.delete : []) {
        const index = this.pending.findIndex((item) => item.id === id);
        if (index !== -1) this.pending.splice(index, 1);
      }
      return void res.writeHead(200).end();
    }
    if (method === 'POST' && url.pathname === '/interrupt') {
      // Recent ComfyUI only interrupts the named prompt; without a name it interrupts whatever runs.
      const target = typeof body?.prompt_id === 'string' ? body.prompt_id : undefined;
      if (this.running && (target === undefined || this.running.item.id === target)) this.interrupt();
      return void res.writeHead(200).end();
    }
    if (method === 'GET' && url.pathname === '/object_info') return json(res, 200, objectInfo(this));
    res.writeHead(404, { 'content-type': 'text/plain' }).end('404: Not Found');
  }

  private postPrompt(res: ServerResponse, body: any): void {
    const failure = this.takeFailure('http500', 'node_errors');
    if (failure === 'http500') {
      res.writeHead(500, { 'content-type': 'text/plain' }).end('500 Internal Server Error\n\nServer got itself in trouble');
      return;
    }
    if (!body || typeof body.prompt !== 'object' || body.prompt === null) {
      return json(res, 400, { error: problem('no_prompt', 'No prompt provided', 'No prompt provided'), node_errors: {} });
    }
    const prompt = body.prompt as Workflow;
    const result = validate(prompt, this);
    if ('error' in result) return json(res, 400, result);
    if (failure === 'node_errors') return json(res, 400, injectedNodeErrors(prompt, result.outputs));

    const id = typeof body.prompt_id === 'string' ? body.prompt_id : randomUUID();
    const item: QueueItem = {
      number: this.promptNumber++,
      id,
      prompt,
      clientId: typeof body.client_id === 'string' ? body.client_id : undefined,
      outputs: result.outputs,
      fail: this.takeFailure('execution_error') !== undefined,
    };
    this.accepted.push(prompt);
    this.pending.push(item);
    json(res, 200, { prompt_id: id, number: item.number, node_errors: {} });
    this.events.emit('queued', id);
    this.runNext();
  }

  private takeFailure(...kinds: ComfyFailure[]): ComfyFailure | undefined {
    const index = this.failures.findIndex((f) => kinds.includes(f));
    return index === -1 ? undefined : this.failures.splice(index, 1)[0];
  }

  private runNext(): void {
    if (this.running || !this.server) return;
    const item = this.pending.shift();
    if (!item) return;
    const timer = setTimeout(() => {
      this.finish(item)
        .catch((error: unknown) => this.record(item, 'error', {}, [['execution_error', executionError(item, String(error))]]))
        .finally(() => {
          this.running = undefined;
          this.events.emit('finished', item.id);
          this.runNext();
        });
    }, this.delayMs);
    this.running = { item, timer };
    this.events.emit('running', item.id);
  }

  private interrupt(): void {
    const { item, timer } = this.running!;
    clearTimeout(timer);
    this.running = undefined;
    this.record(item, 'error', {}, [
      ['execution_start', { prompt_id: item.id, timestamp: Date.now() }],
      ['execution_interrupted', { prompt_id: item.id, node_id: item.outputs[0], node_type: 'KSampler', executed: [], timestamp: Date.now() }],
    ]);
    this.events.emit('interrupted', item.id);
    this.runNext();
  }

  private async finish(item: QueueItem): Promise<void> {
    const start: [string, unknown] = ['execution_start', { prompt_id: item.id, timestamp: Date.now() }];
    if (item.fail) {
      this.record(item, 'error', {}, [start, ['execution_error', executionError(item, EXECUTION_ERROR)]]);
      return;
    }
    const outputs: Record<string, { images?: Array<{ filename: string; subfolder: string; type: string }>; text?: string[] }> = {};
    const evaluate = this.evaluator(item.prompt);
    for (const id of item.outputs) {
      const node = item.prompt[id]!;
      if (node.class_type === 'ShowText|pysssss') {
        outputs[id] = { text: [await this.caption(item.prompt, node.inputs.text)] };
        continue;
      }
      const picture = evaluate(node.inputs.images);
      const temp = node.class_type === 'PreviewImage';
      const prefix = temp ? 'ComfyUI_temp' : String(node.inputs.filename_prefix ?? 'ComfyUI');
      const images = [];
      for (let i = 0; i < picture.batch; i++) {
        const filename = `${prefix}_${String(++this.fileCounter).padStart(5, '0')}_.png`;
        const type = temp ? 'temp' : 'output';
        this.files.set(`${type}//${filename}`, { data: await render(picture, i), contentType: 'image/png' });
        images.push({ filename, subfolder: '', type });
      }
      outputs[id] = { images };
    }
    this.record(item, 'success', outputs, [
      start,
      ['execution_cached', { nodes: [], prompt_id: item.id, timestamp: Date.now() }],
      ['execution_success', { prompt_id: item.id, timestamp: Date.now() }],
    ]);
  }

  private record(item: QueueItem, status: 'success' | 'error', outputs: unknown, messages: Array<[string, unknown]>): void {
    this.history.set(item.id, {
      prompt: [item.number, item.id, item.prompt, { client_id: item.clientId }, item.outputs],
      outputs,
      // As in ComfyUI, `completed` is only true for a successful run.
      status: { status_str: status, completed: status === 'success', messages },
      meta: Object.fromEntries(
        Object.keys(outputs as object).map((id) => [id, { node_id: id, display_node: id, parent_node: null, real_node_id: id }]),
      ),
    });
  }

  /** What Florence2Run "sees": the shape of the uploaded picture its caption link leads back to. */
  private async caption(prompt: Workflow, link: unknown): Promise<string> {
    const [runId] = link as [string, number];
    const [loadId] = prompt[runId]!.inputs.image as [string, number];
    const source = this.uploads.get(String(prompt[loadId]!.inputs.image));
    const meta = source ? await sharp(source).metadata() : undefined;
    const shape = !meta ? 'blank' : meta.width! > meta.height! ? 'wide' : meta.width! < meta.height! ? 'tall' : 'square';
    return `A ${shape} photograph of a harbour at night, boats resting on calm water.`;
  }

  /** Follows links back from an output to work out the size, batch and content of its images. */
  private evaluator(prompt: Workflow): (link: unknown) => Picture {
    const evaluate = (link: unknown): Picture => {
      const [id] = link as [string, number];
      const node = prompt[id]!;
      const inputs = node.inputs as Record<string, any>;
      switch (node.class_type) {
        case 'EmptyLatentImage':
          return { width: inputs.width, height: inputs.height, batch: inputs.batch_size };
        case 'LoadImage':
          return { width: 0, height: 0, batch: 1, source: this.uploads.get(inputs.image) };
        case 'KSampler':
          return { ...evaluate(inputs.latent_image), seed: Number(inputs.seed) };
        case 'VAEEncode':
        case 'VAEEncodeForInpaint':
          return evaluate(inputs.pixels);
        case 'VAEDecode':
        case 'CircularVAEDecode':
          return evaluate(inputs.samples);
        case 'LatentBatchSeedBehavior':
          return { ...evaluate(inputs.samples), sameNoise: inputs.seed_behavior === 'fixed' };
        case 'RepeatLatentBatch': {
          const samples = evaluate(inputs.samples);
          return { ...samples, batch: samples.batch * inputs.amount };
        }
        case 'ImageScale':
          return { ...evaluate(inputs.image), width: inputs.width, height: inputs.height, scaleBy: undefined };
        case 'ImageScaleBy': {
          const image = evaluate(inputs.image);
          return { ...image, scaleBy: (image.scaleBy ?? 1) * inputs.scale_by };
        }
        default:
          throw new Error(`FakeComfyUI cannot evaluate ${node.class_type}`);
      }
    };
    return evaluate;
  }

  private async view(res: ServerResponse, query: URLSearchParams): Promise<void> {
    const type = query.get('type') || 'output';
    const key = `${type}/${query.get('subfolder') ?? ''}/${query.get('filename') ?? ''}`;
    const file = type === 'input' ? this.uploadAsFile(query) : this.files.get(key);
    if (!file) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('404: Not Found');
      return;
    }
    res
      .writeHead(200, {
        'content-type': file.contentType,
        'content-length': file.data.length,
        'content-disposition': `filename="${query.get('filename')}"`,
      })
      .end(file.data);
  }

  private uploadAsFile(query: URLSearchParams): StoredFile | undefined {
    const subfolder = query.get('subfolder');
    const data = this.uploads.get(subfolder ? `${subfolder}/${query.get('filename')}` : (query.get('filename') ?? ''));
    return data && { data, contentType: 'application/octet-stream' };
  }

  private async upload(res: ServerResponse, form: FormData | undefined): Promise<void> {
    const file = form?.get('image');
    if (!form || !(file instanceof File)) {
      res.writeHead(400, { 'content-type': 'text/plain' }).end('400: Bad Request');
      return;
    }
    const subfolder = String(form.get('subfolder') ?? '');
    const type = String(form.get('type') ?? 'input');
    const overwrite = ['true', '1'].includes(String(form.get('overwrite') ?? ''));
    const key = (name: string) => (subfolder ? `${subfolder}/${name}` : name);
    // Like ComfyUI: without overwrite, a taken name becomes "name (1).png".
    let name = file.name;
    const dot = name.lastIndexOf('.');
    for (let i = 1; !overwrite && this.uploads.has(key(name)); i++) {
      name = dot === -1 ? `${file.name} (${i})` : `${file.name.slice(0, dot)} (${i})${file.name.slice(dot)}`;
    }
    this.uploads.set(key(name), Buffer.from(await file.arrayBuffer()));
    json(res, 200, { name, subfolder, type });
  }
}

// ---------------------------------------------------------------------------------------------
// Validation, shaped like ComfyUI's validate_prompt / validate_inputs answers.

interface ProblemBody {
  type: string;
  message: string;
  details: string;
  extra_info: Record<string, unknown>;
}

function problem(type: string, message: string, details: string, extra_info: Record<string, unknown> = {}): ProblemBody {
  return { type, message, details, extra_info };
}

type NodeErrors = Record<string, { errors: ProblemBody[]; dependent_outputs: string[]; class_type: string }>;

function validate(prompt: Workflow, fake: FakeComfyUI): { outputs: string[] } | { error: ProblemBody; node_errors: NodeErrors } {
  const invalid = (message: string, id: string) => ({ error: problem('invalid_prompt', message, `Node ID '#${id}'`), node_errors: {} });
  for (const [id, node] of Object.entries(prompt)) {
    if (!node || typeof node !== 'object' || typeof node.class_type !== 'string') {
      return invalid('Cannot execute because a node is missing the class_type property.', id);
    }
    if (!NODES[node.class_type]) return invalid(`Cannot execute because node ${node.class_type} does not exist.`, id);
    if (!node.inputs || typeof node.inputs !== 'object' || Array.isArray(node.inputs)) {
      return invalid(`Cannot execute because node ${node.class_type} has no inputs object.`, id);
    }
  }
  const outputs = Object.keys(prompt).filter((id) => NODES[prompt[id]!.class_type]!.output);
  if (outputs.length === 0) return { error: problem('prompt_no_outputs', 'Prompt has no outputs', ''), node_errors: {} };

  const nodeErrors: NodeErrors = {};
  for (const [id, node] of Object.entries(prompt)) {
    const errors = validateNode(prompt, node, fake);
    if (errors.length > 0) nodeErrors[id] = { errors, dependent_outputs: outputs, class_type: node.class_type };
  }
  if (Object.keys(nodeErrors).length > 0) {
    return { error: problem('prompt_outputs_failed_validation', 'Prompt outputs failed validation', ''), node_errors: nodeErrors };
  }
  return { outputs };
}

function validateNode(prompt: Workflow, node: Workflow[string], fake: FakeComfyUI): ProblemBody[] {
  const errors: ProblemBody[] = [];
  for (const [name, spec] of Object.entries(NODES[node.class_type]!.inputs)) {
    const value = node.inputs[name];
    const extra = { input_name: name, received_value: value };
    if (value === undefined) {
      errors.push(problem('required_input_missing', 'Required input is missing', name, { input_name: name }));
      continue;
    }
    if (typeof value === 'string' && /^\{\{\w+\}\}$/.test(value)) {
      errors.push(problem('unfilled_placeholder', 'Template placeholder was not replaced', `${name}: ${value}`, extra));
      continue;
    }
    if (Array.isArray(value)) {
      const [from, slot] = value;
      if (value.length !== 2 || typeof from !== 'string' || !Number.isInteger(slot)) {
        errors.push(
          problem('bad_linked_input', 'Bad linked input, must be a length-2 list of [string, int]', `${name}, ${JSON.stringify(value)}`, extra),
        );
        continue;
      }
      const source = prompt[from];
      const received = source && NODES[source.class_type]?.outputs[slot as number];
      if (!received) {
        errors.push(
          problem('bad_linked_input', 'Bad linked input, the linked node or output does not exist', `${name}, ${JSON.stringify(value)}`, extra),
        );
      } else if (received !== spec.type) {
        errors.push(
          problem(
            'return_type_mismatch',
            'Return type mismatch between linked nodes',
            `${name}, received_type(${received}) mismatch input_type(${spec.type})`,
            extra,
          ),
        );
      }
      continue;
    }
    switch (spec.type) {
      case 'INT':
      case 'FLOAT':
        if (typeof value !== 'number' || (spec.type === 'INT' && !Number.isInteger(value))) {
          errors.push(
            problem('invalid_input_type', `Failed to convert an input value to a ${spec.type} value`, `${name}, ${JSON.stringify(value)}`, extra),
          );
        } else if (value < spec.min) {
          errors.push(problem('value_smaller_than_min', `Value ${value} smaller than min of ${spec.min}`, name, extra));
        } else if (value > spec.max) {
          errors.push(problem('value_bigger_than_max', `Value ${value} bigger than max of ${spec.max}`, name, extra));
        }
        break;
      case 'BOOLEAN':
        if (typeof value !== 'boolean') {
          errors.push(
            problem('invalid_input_type', 'Failed to convert an input value to a BOOLEAN value', `${name}, ${JSON.stringify(value)}`, extra),
          );
        }
        break;
      case 'STRING':
        if (typeof value !== 'string') {
          errors.push(
            problem('invalid_input_type', 'Failed to convert an input value to a STRING value', `${name}, ${JSON.stringify(value)}`, extra),
          );
        }
        break;
      case 'COMBO': {
        const options = spec.options(fake);
        if (!options.includes(value as string)) {
          errors.push(problem('value_not_in_list', 'Value not in list', `${name}: '${String(value)}' not in ${JSON.stringify(options)}`, extra));
        }
        break;
      }
      default:
        errors.push(problem('bad_linked_input', `Input ${name} of type ${spec.type} must be a link`, `${name}, ${JSON.stringify(value)}`, extra));
    }
  }
  return errors;
}

/** As if the checkpoint file had been removed from the server between two jobs. */
function injectedNodeErrors(prompt: Workflow, outputs: string[]) {
  const id = Object.keys(prompt).find((key) => prompt[key]!.class_type === 'CheckpointLoaderSimple') ?? Object.keys(prompt)[0]!;
  const node = prompt[id]!;
  const value = node.class_type === 'CheckpointLoaderSimple' ? String(node.inputs.ckpt_name) : '';
  return {
    error: problem('prompt_outputs_failed_validation', 'Prompt outputs failed validation', ''),
    node_errors: {
      [id]: {
        errors: [problem('value_not_in_list', 'Value not in list', `ckpt_name: '${value}' not in []`, { input_name: 'ckpt_name' })],
        dependent_outputs: outputs,
        class_type: node.class_type,
      },
    },
  };
}

function executionError(item: QueueItem, message: string) {
  const id = Object.keys(item.prompt).find((key) => item.prompt[key]!.class_type === 'KSampler') ?? item.outputs[0]!;
  return {
    prompt_id: item.id,
    node_id: id,
    node_type: item.prompt[id]!.class_type,
    executed: [],
    exception_message: `${message}\n`,
    exception_type: 'torch.OutOfMemoryError',
    traceback: ['  File "/ComfyUI/execution.py", line 496, in execute\n'],
    current_inputs: {},
    current_outputs: {},
    timestamp: Date.now(),
  };
}

function objectInfo(fake: FakeComfyUI) {
  return Object.fromEntries(
    Object.entries(NODES).map(([name, spec]) => [
      name,
      {
        input: {
          required: Object.fromEntries(
            Object.entries(spec.inputs).map(([input, s]) => [
              input,
              s.type === 'COMBO' ? [s.options(fake)] : 'min' in s ? [s.type, { min: s.min, max: s.max }] : [s.type],
            ]),
          ),
        },
        output: spec.outputs,
        output_node: spec.output === true,
        name,
        display_name: name,
        category: 'atelier-fake',
      },
    ]),
  );
}

// ---------------------------------------------------------------------------------------------
// Rendering

interface Picture {
  width: number;
  height: number;
  batch: number;
  /** Set once a sampler ran: the image is "generated". */
  seed?: number;
  /** Uploaded bytes when the path starts at LoadImage. */
  source?: Buffer;
  scaleBy?: number;
  /** LatentBatchSeedBehavior 'fixed': every picture of the batch comes from the same noise. */
  sameNoise?: boolean;
}

async function render(picture: Picture, index: number): Promise<Buffer> {
  let width = picture.width;
  let height = picture.height;
  if ((!width || !height) && picture.source) {
    const meta = await sharp(picture.source).metadata();
    width ||= height ? Math.round((height * meta.width!) / meta.height!) : meta.width!;
    height ||= Math.round((width * meta.height!) / meta.width!);
  }
  width = Math.round(width * (picture.scaleBy ?? 1));
  height = Math.round(height * (picture.scaleBy ?? 1));
  if (picture.seed === undefined && picture.source) {
    return sharp(picture.source).resize(width, height, { fit: 'cover', kernel: 'lanczos3' }).png().toBuffer();
  }
  return gradient(width, height, (picture.seed ?? 0) + (picture.sameNoise ? 0 : index))
    .png()
    .toBuffer();
}

function queueTuple(item: QueueItem): unknown[] {
  return [item.number, item.id, item.prompt, { client_id: item.clientId }, item.outputs];
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8' }).end(JSON.stringify(body));
}
