import { once } from 'node:events';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createComfyProvider, type ComfyProviderOptions } from '../../src/worker/providers/comfyui.js';
import { GenerationCancelledError, ProviderRefusedError, type GenerationRequest, type ImageProvider } from '../../src/worker/providers/types.js';
import { EXECUTION_ERROR, FakeComfyUI } from '../support/fake-comfyui.js';
import { gradient } from '../support/fake-replicate.js';

const CHECKPOINT = 'sd_xl_base_1.0.safetensors';

let fake: FakeComfyUI;
let scratch: string | undefined;

beforeEach(async () => {
  fake = new FakeComfyUI();
  fake.delayMs = 60;
  await fake.start();
});

afterEach(async () => {
  await fake.close();
  if (scratch) await rm(scratch, { recursive: true, force: true });
  scratch = undefined;
});

function provider(overrides: Partial<ComfyProviderOptions> = {}): ImageProvider {
  // The project's own templates, found relative to the working directory like in production.
  return createComfyProvider({ url: fake.url, workflowDir: 'workflows', pollMs: 20, ...overrides });
}

function request(overrides: Partial<GenerationRequest> = {}): GenerationRequest & { progress: number[] } {
  const progress: number[] = [];
  return {
    kind: 'txt2img',
    prompt: 'a lighthouse at dusk, oil painting',
    negative: 'blurry',
    width: 512,
    height: 384,
    seed: 42,
    count: 2,
    model: CHECKPOINT,
    signal: new AbortController().signal,
    onProgress: (fraction) => progress.push(fraction),
    progress,
    ...overrides,
  };
}

/** A copy of the templates that a test may edit. */
async function scratchWorkflows(): Promise<string> {
  scratch = await mkdtemp(join(tmpdir(), 'atelier-workflows-'));
  await cp('workflows', scratch, { recursive: true });
  return scratch;
}

const png = (width: number, height: number) => gradient(width, height, 3).png().toBuffer();
const nodesOf = (workflow: Record<string, { class_type: string; inputs: Record<string, unknown> }>, type: string) =>
  Object.values(workflow).filter((node) => node.class_type === type);

describe('ComfyUI provider', () => {
  it('fills the txt2img template with numbers and strings of the right types and returns `count` PNGs', async () => {
    const job = request();
    const images = await provider().generate(job);

    expect(images).toHaveLength(2);
    for (const image of images) {
      expect(image.contentType).toBe('image/png');
      expect([image.width, image.height]).toEqual([512, 384]);
      const meta = await sharp(image.data).metadata();
      expect([meta.format, meta.width, meta.height]).toEqual(['png', 512, 384]);
    }
    expect(fake.requestsTo('GET', /^\/view\?/)).toHaveLength(2);

    const posted = fake.requestsTo('POST', /^\/prompt$/)[0]!.body;
    expect(typeof posted.client_id).toBe('string');
    const workflow = posted.prompt;
    expect(nodesOf(workflow, 'KSampler')[0]!.inputs.seed).toBe(42);
    expect(nodesOf(workflow, 'EmptyLatentImage')[0]!.inputs).toEqual({ width: 512, height: 384, batch_size: 2 });
    expect(nodesOf(workflow, 'CheckpointLoaderSimple')[0]!.inputs.ckpt_name).toBe(CHECKPOINT);
    expect(nodesOf(workflow, 'CLIPTextEncode').map((n) => n.inputs.text)).toEqual(['a lighthouse at dusk, oil painting', 'blurry']);
    expect(JSON.stringify(workflow)).not.toContain('{{');
  });

  it('waits for the prompt an earlier attempt queued instead of queueing it again', async () => {
    fake.delayMs = 200;
    let saved: string | undefined;
    const run = { load: async () => saved, save: async (id: string) => void (saved = id) };
    // The first attempt loses its connection while polling, as a worker whose network blinked.
    const flaky: typeof fetch = async (input, init) => {
      if (String(input).includes('/history/')) throw new TypeError('fetch failed');
      return fetch(input, init);
    };
    await expect(provider({ fetch: flaky }).generate(request({ run }))).rejects.toThrow(/unreachable/);
    expect(saved).toBeDefined();
    const images = await provider().generate(request({ run }));
    expect(images).toHaveLength(2);
    expect(fake.accepted).toHaveLength(1);
  });

  it('does not queue the prompt again when the retry cannot read the history either', async () => {
    fake.delayMs = 50;
    let saved: string | undefined;
    const run = { load: async () => saved, save: async (id: string) => void (saved = id) };
    const historyDown: typeof fetch = async (input, init) => {
      if (String(input).includes('/history/')) return new Response('Internal Server Error', { status: 500 });
      return fetch(input, init);
    };
    const finished = once(fake.events, 'finished');
    await expect(provider({ fetch: historyDown }).generate(request({ run }))).rejects.toThrow(/HTTP 500/);
    // The prompt finishes meanwhile, so it is in no queue: only the history could tell.
    await finished;
    await expect(provider({ fetch: historyDown }).generate(request({ run }))).rejects.toThrow(/HTTP 500/);
    expect(fake.accepted).toHaveLength(1);

    const images = await provider().generate(request({ run }));
    expect(images).toHaveLength(2);
    expect(fake.accepted).toHaveLength(1);
  });

  it('takes back a prompt that runs past its time limit and fails the attempt so the queue retries it', async () => {
    fake.delayMs = 60_000;
    const interrupted = once(fake.events, 'interrupted');
    const error = await provider({ timeoutMs: 200 })
      .generate(request())
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Error);
    expect(error).not.toBeInstanceOf(GenerationCancelledError);
    expect((error as Error).message).toMatch(/did not finish in time/);
    await interrupted;
  });

  describe('hostile downloads', () => {
    /** ComfyUI as a compromised or misconfigured server would answer /view. */
    function viewAnswers(answer: (url: URL) => Response): typeof fetch {
      return async (input, init) => {
        const url = new URL(String(input));
        return url.pathname === '/view' ? answer(url) : fetch(input, init);
      };
    }

    it('does not follow a redirect away from ComfyUI', async () => {
      const elsewhere = viewAnswers((url) => {
        const target = new URL(url);
        target.hostname = 'localhost';
        return new Response(null, { status: 302, headers: { location: target.toString() } });
      });
      const error = await provider({ fetch: elsewhere })
        .generate(request({ count: 1 }))
        .catch((e: unknown) => e);
      expect((error as Error).message).toMatch(/refused to download from localhost:\d+/);
      expect(fake.requests.filter((r) => String(r.headers.host).startsWith('localhost'))).toEqual([]);
    });

    it('refuses an output that claims 1 GB, and cuts off one that streams past the limit', async () => {
      const claimed = viewAnswers(
        () => new Response(new ReadableStream({ pull: () => new Promise(() => undefined) }), { headers: { 'content-length': String(1024 ** 3) } }),
      );
      const error = await provider({ fetch: claimed })
        .generate(request({ count: 1 }))
        .catch((e: unknown) => e);
      expect((error as Error).message).toMatch(/claims 1073741824 bytes/);

      let streamed = 0;
      const endless = viewAnswers(
        () =>
          new Response(
            new ReadableStream({
              pull(controller) {
                streamed += 65_536;
                controller.enqueue(new Uint8Array(65_536));
              },
            }),
          ),
      );
      const cut = await provider({ fetch: endless, maxDownloadBytes: 1024 * 1024 })
        .generate(request({ count: 1 }))
        .catch((e: unknown) => e);
      expect((cut as Error).message).toMatch(/larger than the 1048576 bytes allowed/);
      expect(streamed).toBeLessThan(4 * 1024 * 1024);
    });
  });

  it('gives up on a prompt ComfyUI forgot (a restart), so the queue can retry it', async () => {
    fake.delayMs = 60_000;
    const queued = new Promise((resolve) => fake.events.once('running', resolve));
    const attempt = provider().generate(request());
    await queued;
    fake.restart();
    await expect(attempt).rejects.toThrow(/no longer knows prompt/);
  });

  it('reports progress from 0 to 1', async () => {
    const job = request({ count: 1 });
    await provider().generate(job);

    expect(job.progress[0]).toBe(0);
    expect(job.progress.at(-1)).toBe(1);
    expect([...job.progress].sort((a, b) => a - b)).toEqual(job.progress);
  });

  it('passes a prompt that itself contains braces through untouched, and an empty negative as ""', async () => {
    await provider().generate(request({ prompt: 'a sign that reads {{hello}}', negative: undefined, count: 1 }));

    const workflow = fake.accepted[0]!;
    expect(nodesOf(workflow, 'CLIPTextEncode').map((n) => n.inputs.text)).toEqual(['a sign that reads {{hello}}', '']);
  });

  it('uploads the source image for img2img and uses its name, the strength as denoise and the count as batch', async () => {
    const init = await png(300, 200);
    const images = await provider().generate(request({ kind: 'img2img', init, strength: 0.7, count: 3, width: 448, height: 320 }));

    expect(images.map((i) => [i.width, i.height])).toEqual([
      [448, 320],
      [448, 320],
      [448, 320],
    ]);
    const uploads = fake.requestsTo('POST', /^\/upload\/image$/);
    expect(uploads).toHaveLength(1);
    expect(uploads[0]!.body.fields).toMatchObject({ type: 'input', overwrite: 'true' });
    expect(uploads[0]!.body.file).toMatchObject({ type: 'image/png', size: init.length });
    const uploadedName = uploads[0]!.body.file.name as string;
    expect(fake.uploads.get(uploadedName)?.equals(init)).toBe(true);

    const workflow = fake.accepted[0]!;
    expect(nodesOf(workflow, 'LoadImage')[0]!.inputs.image).toBe(uploadedName);
    expect(nodesOf(workflow, 'KSampler')[0]!.inputs.denoise).toBe(0.7);
    expect(nodesOf(workflow, 'RepeatLatentBatch')[0]!.inputs.amount).toBe(3);
    // The upload precedes the prompt that uses it.
    const order = fake.requests.map((r) => r.path);
    expect(order.indexOf('/upload/image')).toBeLessThan(order.indexOf('/prompt'));
  });

  it('uses the img2img template for variations: a low denoise, or the strength Vary (Subtle / Strong) asks for', async () => {
    await provider().generate(request({ kind: 'variation', init: await png(256, 256), count: 1 }));
    expect(nodesOf(fake.accepted[0]!, 'KSampler')[0]!.inputs.denoise).toBe(0.35);
    await provider().generate(request({ kind: 'variation', init: await png(256, 256), strength: 0.75, count: 1 }));
    expect(nodesOf(fake.accepted[1]!, 'KSampler')[0]!.inputs.denoise).toBe(0.75);
  });

  it('upscales the uploaded image by 2', async () => {
    const images = await provider().generate(request({ kind: 'upscale', init: await png(200, 150), count: 1 }));

    expect(images).toHaveLength(1);
    expect([images[0]!.width, images[0]!.height]).toEqual([400, 300]);
    expect(nodesOf(fake.accepted[0]!, 'ImageScaleBy')[0]!.inputs).toMatchObject({ upscale_method: 'lanczos', scale_by: 2 });
  });

  it('collects the images of every output node', async () => {
    const dir = await scratchWorkflows();
    const file = join(dir, 'txt2img.json');
    const workflow = JSON.parse(await readFile(file, 'utf8'));
    workflow['20'] = { class_type: 'ImageScaleBy', inputs: { image: ['8', 0], upscale_method: 'bicubic', scale_by: 0.5 } };
    workflow['21'] = { class_type: 'SaveImage', inputs: { images: ['20', 0], filename_prefix: 'atelier-small' } };
    await writeFile(file, JSON.stringify(workflow));

    const images = await provider({ workflowDir: dir }).generate(request({ count: 2 }));

    expect(images.map((i) => [i.width, i.height])).toEqual([
      [512, 384],
      [512, 384],
      [256, 192],
      [256, 192],
    ]);
    expect(fake.requestsTo('GET', /^\/view\?/)).toHaveLength(4);
  });

  it('reads the template for every job, so edits apply without a restart', async () => {
    const dir = await scratchWorkflows();
    const comfy = provider({ workflowDir: dir });
    await comfy.generate(request({ count: 1 }));

    const file = join(dir, 'txt2img.json');
    const workflow = JSON.parse(await readFile(file, 'utf8'));
    workflow['3'].inputs.steps = 12;
    await writeFile(file, JSON.stringify(workflow));
    await comfy.generate(request({ count: 1 }));

    expect(fake.accepted.map((w) => nodesOf(w, 'KSampler')[0]!.inputs.steps)).toEqual([30, 12]);
  });

  it('refuses with invalid_input and a readable message when ComfyUI answers node_errors', async () => {
    fake.failNext(1, 'node_errors');
    const error = await provider()
      .generate(request())
      .catch((e: unknown) => e);

    expect(error).toBeInstanceOf(ProviderRefusedError);
    expect((error as ProviderRefusedError).reason).toBe('invalid_input');
    expect((error as Error).message).toBe(
      `ComfyUI rejected the workflow: CheckpointLoaderSimple #4: Value not in list: ckpt_name: '${CHECKPOINT}' not in []`,
    );
  });

  it("passes on ComfyUI's own validation (a checkpoint the server does not have)", async () => {
    const error = await provider()
      .generate(request({ model: 'missing.safetensors' }))
      .catch((e: unknown) => e);

    expect(error).toBeInstanceOf(ProviderRefusedError);
    expect((error as Error).message).toContain("ckpt_name: 'missing.safetensors' not in");
  });

  it('throws a plain, retryable Error naming the node when execution fails', async () => {
    fake.failNext(1, 'execution_error');
    const error = await provider()
      .generate(request())
      .catch((e: unknown) => e);

    expect(error).toBeInstanceOf(Error);
    expect(error).not.toBeInstanceOf(ProviderRefusedError);
    expect((error as Error).message).toMatch(/failed in KSampler #3: CUDA out of memory/);
    expect((error as Error).message).toContain(EXECUTION_ERROR);
  });

  it('throws a plain Error on HTTP 500, and the next attempt works', async () => {
    fake.failNext(1, 'http500');
    const comfy = provider();
    const error = await comfy.generate(request()).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(Error);
    expect(error).not.toBeInstanceOf(ProviderRefusedError);
    expect((error as Error).message).toContain('HTTP 500');
    await expect(comfy.generate(request())).resolves.toHaveLength(2);
  });

  it('throws a plain Error when ComfyUI cannot be reached', async () => {
    const url = fake.url;
    await fake.close();
    const error = await provider({ url })
      .generate(request())
      .catch((e: unknown) => e);

    expect(error).toBeInstanceOf(Error);
    expect(error).not.toBeInstanceOf(ProviderRefusedError);
    expect((error as Error).message).toMatch(/unreachable.*ECONNREFUSED/);
  });

  it('fails a job whose template uses an unknown placeholder, before queueing anything', async () => {
    const dir = await scratchWorkflows();
    const file = join(dir, 'txt2img.json');
    const workflow = JSON.parse(await readFile(file, 'utf8'));
    workflow['3'].inputs.sampler_name = '{{sampler}}';
    await writeFile(file, JSON.stringify(workflow));

    const error = await provider({ workflowDir: dir })
      .generate(request())
      .catch((e: unknown) => e);
    expect((error as Error).message).toMatch(/unknown placeholder \{\{sampler\}\}/);
    expect(fake.requestsTo('POST', /^\/prompt$/)).toHaveLength(0);
  });

  it('interrupts its running prompt when the job is aborted', async () => {
    fake.delayMs = 30_000;
    const controller = new AbortController();
    const running = once(fake.events, 'running');
    const result = provider()
      .generate(request({ signal: controller.signal }))
      .catch((e: unknown) => e);

    const [id] = await running;
    controller.abort();
    expect(await result).toBeInstanceOf(GenerationCancelledError);
    expect(fake.requestsTo('POST', /^\/interrupt$/).map((r) => r.body)).toEqual([{ prompt_id: id }]);
  });

  it('takes a still-queued prompt off the queue instead of interrupting the one running', async () => {
    fake.delayMs = 30_000;
    const comfy = provider();
    const first = new AbortController();
    const second = new AbortController();
    const firstRunning = once(fake.events, 'running');
    const firstResult = comfy.generate(request({ signal: first.signal })).catch((e: unknown) => e);
    await firstRunning;

    const secondQueued = once(fake.events, 'queued');
    const secondResult = comfy.generate(request({ signal: second.signal })).catch((e: unknown) => e);
    const [secondId] = await secondQueued;
    second.abort();

    expect(await secondResult).toBeInstanceOf(GenerationCancelledError);
    expect(fake.requestsTo('POST', /^\/queue$/).map((r) => r.body)).toEqual([{ delete: [secondId] }]);
    expect(fake.requestsTo('POST', /^\/interrupt$/)).toHaveLength(0);

    first.abort();
    expect(await firstResult).toBeInstanceOf(GenerationCancelledError);
  });
});

describe('FakeComfyUI itself', () => {
  const post = (prompt: unknown) =>
    fetch(`${fake.url}/prompt`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ prompt }) });

  it('rejects numbers given as strings, broken links and leftover placeholders, as node_errors', async () => {
    const workflow = JSON.parse(await readFile('workflows/txt2img.json', 'utf8'));
    workflow['4'].inputs.ckpt_name = CHECKPOINT;
    workflow['5'].inputs = { width: '512', height: 512, batch_size: 1 };
    workflow['6'].inputs.text = 'x';
    workflow['7'].inputs.text = '{{negative}}';
    workflow['3'].inputs.seed = 1;
    Object.assign(workflow['3'].inputs, { steps: 20, cfg: 7 });
    workflow['10'].inputs.seed_behavior = 'random';
    workflow['8'].inputs.vae = ['99', 0];

    const response = await post(workflow);
    expect(response.status).toBe(400);
    const body = (await response.json()) as { error: { type: string }; node_errors: Record<string, { errors: Array<{ type: string }> }> };
    expect(body.error.type).toBe('prompt_outputs_failed_validation');
    expect(Object.fromEntries(Object.entries(body.node_errors).map(([id, n]) => [id, n.errors.map((e) => e.type)]))).toEqual({
      '5': ['invalid_input_type'],
      '7': ['unfilled_placeholder'],
      '8': ['bad_linked_input'],
    });
  });

  it('rejects a workflow that is not in API format', async () => {
    const response = await post({ nodes: [], links: [] });
    expect(response.status).toBe(400);
    expect(((await response.json()) as { error: { type: string } }).error.type).toBe('invalid_prompt');
  });
});
