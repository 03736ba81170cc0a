import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import sharp from 'sharp';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { aspectRatioFor, type ReplicateProviderOptions } from '../../src/worker/providers/replicate.js';
import {
  GenerationCancelledError,
  ProviderRateLimitedError,
  ProviderRefusedError,
  type GenerationRequest,
  type ImageProvider,
} from '../../src/worker/providers/types.js';
import { FakeReplicate, gradient, NSFW_ERROR } from '../support/fake-replicate.js';
import { replicateProviderOn } from '../support/replicate-provider.js';
import { ConfigError } from '../../src/config.js';
import { spawnAtelier } from '../support/processes.js';
import { SnowflakeUtil } from 'discord.js';
import { enqueueGeneration, type Requester } from '../../src/bot/requests.js';
import { startWorker, type RunningWorker } from '../../src/worker/worker.js';
import { closeTestBed, openTestBed, type TestBed } from '../support/test-bed.js';
import { eventually, quietLogger } from '../support/context.js';
import { redisUrl } from '../support/redis.js';

const SDXL = 'stability-ai/sdxl:7762fd07cf82c948538e41f63f77d685e02b063e37e496e96eefd46c929f9bdc';

let fake: FakeReplicate;

beforeEach(async () => {
  fake = new FakeReplicate();
  fake.delayMs = 150;
  await fake.start();
});

afterEach(async () => {
  await fake.close();
});

function provider(overrides: Partial<ReplicateProviderOptions> = {}): ImageProvider {
  return replicateProviderOn(fake, overrides);
}

function request(overrides: Partial<GenerationRequest> = {}): GenerationRequest & { progress: number[] } {
  const progress: number[] = [];
  return {
    kind: 'txt2img',
    prompt: 'a lighthouse at dusk, oil painting',
    width: 576,
    height: 320,
    seed: 42,
    count: 2,
    model: 'black-forest-labs/flux-schnell',
    signal: new AbortController().signal,
    onProgress: (fraction) => progress.push(fraction),
    progress,
    ...overrides,
  };
}

async function png(width: number, height: number, seed = 1): Promise<Buffer> {
  return gradient(width, height, seed).png().toBuffer();
}

const creations = () => fake.requestsTo('POST', /predictions$/);

describe('Replicate provider', () => {
  it('turns a txt2img job into `count` PNGs of the requested size through the official model route', async () => {
    const job = request();
    const images = await provider().generate(job);

    expect(images).toHaveLength(2);
    for (const image of images) {
      expect(image.contentType).toBe('image/png');
      expect([image.width, image.height]).toEqual([576, 320]);
      const meta = await sharp(image.data).metadata();
      expect([meta.format, meta.width, meta.height]).toEqual(['png', 576, 320]);
    }
    // Different seeds per output: the two images differ.
    expect(images[0]!.data.equals(images[1]!.data)).toBe(false);

    expect(creations()).toHaveLength(1);
    const created = creations()[0]!;
    expect(created.path).toBe('/v1/models/black-forest-labs/flux-schnell/predictions');
    expect(created.headers.authorization).toBe(`Bearer ${fake.token}`);
    // No Prefer: wait — we poll so progress and cancellation work.
    expect(created.headers.prefer).toBeUndefined();
    expect(created.body).toEqual({
      input: {
        prompt: 'a lighthouse at dusk, oil painting',
        width: 576,
        height: 320,
        aspect_ratio: '16:9',
        seed: 42,
        num_outputs: 2,
        output_format: 'png',
      },
    });
    expect(fake.requestsTo('GET', /^\/v1\/predictions\//).length).toBeGreaterThan(1);
  });

  it('reports progress parsed from the logs, never going backwards, ending at 1', async () => {
    fake.delayMs = 300;
    const job = request({ count: 1 });
    await provider().generate(job);

    expect(job.progress[0]).toBe(0);
    expect(job.progress.at(-1)).toBe(1);
    expect(job.progress.some((f) => f > 0 && f < 1)).toBe(true);
    expect([...job.progress].sort((a, b) => a - b)).toEqual(job.progress);
  });

  it('sends the negative prompt only when there is one, and uses the version route for owner/name:version refs', async () => {
    await provider().generate(request({ model: SDXL, negative: 'blurry', count: 1, width: 512, height: 512 }));

    const created = creations()[0]!;
    expect(created.path).toBe('/v1/predictions');
    expect(created.body.version).toBe(SDXL.split(':')[1]);
    expect(created.body.input).toMatchObject({ negative_prompt: 'blurry', aspect_ratio: '1:1' });
  });

  it('sends img2img jobs to the img2img model with the image as a data URI and the strength', async () => {
    const init = await png(256, 256);
    const images = await provider().generate(request({ kind: 'img2img', init, strength: 0.7, count: 1, width: 384, height: 256 }));

    expect(images).toHaveLength(1);
    expect([images[0]!.width, images[0]!.height]).toEqual([384, 256]);
    const created = creations()[0]!;
    expect(created.path).toBe('/v1/models/black-forest-labs/flux-dev/predictions');
    expect(created.body.input.image).toBe(`data:image/png;base64,${init.toString('base64')}`);
    expect(created.body.input.prompt_strength).toBe(0.7);
    expect(created.body.input.aspect_ratio).toBe('3:2');
  });

  it('uploads a source image above 256 KB through the files API and passes its URL, not a data URI', async () => {
    // Noise does not compress: about 270 KB as a PNG.
    const init = await sharp(randomBytes(300 * 300 * 3), { raw: { width: 300, height: 300, channels: 3 } })
      .png()
      .toBuffer();
    expect(init.length).toBeGreaterThan(256 * 1024);
    const images = await provider().generate(request({ kind: 'upscale', init, count: 1 }));

    expect([images[0]!.width, images[0]!.height]).toEqual([600, 300 * 2]);
    const uploads = fake.requestsTo('POST', /^\/v1\/files$/);
    expect(uploads).toHaveLength(1);
    expect(String(uploads[0]!.headers['content-type'])).toMatch(/^multipart\/form-data; boundary=/);
    const [id, file] = [...fake.files][0]!;
    expect(file.data.equals(init)).toBe(true);
    expect(file.contentType).toBe('image/png');
    expect(creations()[0]!.body.input.image).toBe(`${fake.baseUrl}/files/${id}`);
  });

  it('uses a low strength for variations, or the one Vary (Subtle / Strong) asks for', async () => {
    await provider().generate(request({ kind: 'variation', init: await png(256, 256), count: 1 }));
    expect(creations()[0]!.body.input.prompt_strength).toBe(0.35);
    await provider().generate(request({ kind: 'variation', init: await png(256, 256), strength: 0.75, count: 1 }));
    expect(creations()[1]!.body.input.prompt_strength).toBe(0.75);
  });

  it('upscales by 2 through the upscale model (which answers with a single URL, not a list)', async () => {
    const init = await png(200, 150);
    const images = await provider().generate(request({ kind: 'upscale', init, count: 1 }));

    expect(images).toHaveLength(1);
    expect([images[0]!.width, images[0]!.height]).toEqual([400, 300]);
    const created = creations()[0]!;
    // Real-ESRGAN is not an official model: Replicate runs it only by version.
    expect(created.path).toBe('/v1/predictions');
    expect(created.body.version).toBe(fake.models.get('nightmareai/real-esrgan')!.versions[0]);
    expect(created.body.input).toEqual({ image: `data:image/png;base64,${init.toString('base64')}`, scale: 2 });
  });

  it('resolves every configured model once at start: official ones run by name, others by their latest version', async () => {
    const replicate = provider({ models: ['black-forest-labs/flux-schnell', 'stability-ai/sdxl'] });
    await replicate.start!();
    const lookups = fake
      .requestsTo('GET', /^\/v1\/models\//)
      .map((r) => r.path)
      .sort();
    expect(lookups).toEqual([
      '/v1/models/black-forest-labs/flux-dev',
      '/v1/models/black-forest-labs/flux-schnell',
      '/v1/models/nightmareai/real-esrgan',
      '/v1/models/stability-ai/sdxl',
    ]);

    await replicate.generate(request({ model: 'stability-ai/sdxl', count: 1, width: 512, height: 512 }));
    await replicate.generate(request({ count: 1 }));
    const [sdxl, schnell] = creations();
    expect(sdxl!.path).toBe('/v1/predictions');
    expect(sdxl!.body.version).toBe(fake.models.get('stability-ai/sdxl')!.versions[0]);
    expect(schnell!.path).toBe('/v1/models/black-forest-labs/flux-schnell/predictions');
    // No second lookup: the versions were kept.
    expect(fake.requestsTo('GET', /^\/v1\/models\//)).toHaveLength(4);
  });

  it('a worker process with an unknown model exits at start with one line naming it', { timeout: 60_000 }, async () => {
    const worker = spawnAtelier('worker', 'src/worker/main.ts', {
      IMAGE_PROVIDER: 'replicate',
      REPLICATE_API_TOKEN: fake.token,
      REPLICATE_BASE_URL: fake.baseUrl,
      IMAGE_MODELS: 'mine=acme/my-own-model',
      // Nothing is listening here: the model check comes before Redis is needed.
      REDIS_URL: 'redis://127.0.0.1:1',
      LOG_LEVEL: 'warn',
    });
    expect(await worker.exited).toBe(78);
    expect(worker.output()).toContain('atelier: Replicate has no model "acme/my-own-model" (check IMAGE_MODELS');
  });

  it('stops start-up with a message naming a configured model Replicate does not have', async () => {
    const error = await provider({ upscaleModel: 'acme/no-such-upscaler' }).start!().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toContain('acme/no-such-upscaler');
    expect((error as Error).message).toContain('REPLICATE_UPSCALE_MODEL');
  });

  it('refuses for safety when the prediction fails with an NSFW error, without creating another prediction', async () => {
    fake.failNext(1, 'nsfw');
    const error = await provider()
      .generate(request())
      .catch((e: unknown) => e);

    expect(error).toBeInstanceOf(ProviderRefusedError);
    expect((error as ProviderRefusedError).reason).toBe('safety');
    expect((error as Error).message).toBe(NSFW_ERROR);
    expect(fake.created).toBe(1);
  });

  it("refuses with invalid_input and Replicate's detail on a 422", async () => {
    fake.failNext(1, 'invalid');
    const error = await provider()
      .generate(request())
      .catch((e: unknown) => e);

    expect(error).toBeInstanceOf(ProviderRefusedError);
    expect((error as ProviderRefusedError).reason).toBe('invalid_input');
    expect((error as Error).message).toContain('input.prompt: The prompt was flagged by the input checker');
    expect(fake.created).toBe(0);
  });

  it('passes on the real input validation of the API (num_outputs above 4)', async () => {
    const error = await provider()
      .generate(request({ count: 5 }))
      .catch((e: unknown) => e);

    expect(error).toBeInstanceOf(ProviderRefusedError);
    expect((error as Error).message).toBe('Replicate rejected the input: input.num_outputs: Must be less than or equal to 4');
  });

  it('refuses a model Replicate does not know instead of retrying', async () => {
    const error = await provider()
      .generate(request({ model: 'acme/no-such-model' }))
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ProviderRefusedError);
    expect((error as ProviderRefusedError).reason).toBe('invalid_input');
  });

  it('throws a plain, retryable Error when creating the prediction gets a 500 (the client does not retry POSTs), and the retry works', async () => {
    fake.failNext(1, 'http500');
    const replicate = provider();
    const error = await replicate.generate(request()).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(Error);
    expect(error).not.toBeInstanceOf(ProviderRefusedError);
    expect(error).not.toBeInstanceOf(ProviderRateLimitedError);
    expect((error as Error).message).toContain('HTTP 500');
    expect(creations()).toHaveLength(1);
    expect(fake.created).toBe(0);

    // What the queue's retry does next:
    await expect(replicate.generate(request())).resolves.toHaveLength(2);
    expect(fake.created).toBe(1);
  });

  it('rides out 500s while polling, and creates only one prediction', async () => {
    fake.failNext(2, 'http500', 'poll');
    const images = await provider().generate(request());

    expect(images).toHaveLength(2);
    expect(fake.created).toBe(1);
  });

  it('stops at the first 429 and hands its Retry-After to the worker, without retrying by itself', async () => {
    fake.retryAfterSeconds = 12;
    fake.failNext(1, 'http429');
    const error = await provider()
      .generate(request())
      .catch((e: unknown) => e);

    expect(error).toBeInstanceOf(ProviderRateLimitedError);
    expect((error as ProviderRateLimitedError).retryAfterMs).toBe(12_000);
    // One request, not the client's own burst of retries a millisecond apart.
    expect(creations()).toHaveLength(1);
    expect(fake.created).toBe(0);
  });

  it('a 500 on a poll is not retried by the client at once: the next poll waits a poll interval or more', async () => {
    fake.failNext(1, 'http500', 'poll');
    await provider({ pollMs: 50 }).generate(request({ count: 1 }));

    const polls = fake.requestsTo('GET', /^\/v1\/predictions\//);
    const failed = polls[0]!;
    expect(polls[1]!.at - failed.at).toBeGreaterThanOrEqual(50);
  });

  it('cancels the prediction and throws GenerationCancelledError when the job is aborted mid-prediction', async () => {
    fake.delayMs = 1_000;
    const controller = new AbortController();
    const canceled = once(fake.events, 'canceled');
    const job = request({
      signal: controller.signal,
      // Abort once the model is visibly working.
      onProgress: (fraction) => {
        if (fraction > 0) controller.abort();
      },
    });
    const error = await provider()
      .generate(job)
      .catch((e: unknown) => e);

    expect(error).toBeInstanceOf(GenerationCancelledError);
    const [id] = await canceled;
    expect(fake.requestsTo('POST', /\/cancel$/).map((r) => r.path)).toEqual([`/v1/predictions/${id}/cancel`]);
    expect((await fake.prediction(id))?.status).toBe('canceled');
  });

  it('resumes the prediction an earlier attempt started instead of paying for a second one', async () => {
    fake.delayMs = 200;
    let saved: string | undefined;
    const run = { load: async () => saved, save: async (id: string) => void (saved = id) };
    // Polls failing for longer than pollOutageMs fail the attempt.
    fake.failNext(2, 'http500', 'poll');
    const first = await provider({ pollOutageMs: 1 })
      .generate(request({ run }))
      .catch((e: unknown) => e);
    expect(first).toBeInstanceOf(Error);
    expect(saved).toBeDefined();
    const images = await provider().generate(request({ run }));
    expect(images).toHaveLength(2);
    expect(fake.created).toBe(1);
  });

  it("never pays for a second prediction when polls and the retry's lookup both fail for a while", async () => {
    fake.delayMs = 200;
    let saved: string | undefined;
    const run = { load: async () => saved, save: async (id: string) => void (saved = id) };
    // Replicate answers 500 to every lookup for longer than one attempt keeps polling.
    fake.failNext(10_000, 'http500', 'poll');
    await expect(provider({ pollOutageMs: 50 }).generate(request({ run }))).rejects.toThrow(/HTTP 500/);
    // The queue's retry cannot look the prediction up either: it fails again instead of starting anew.
    await expect(provider({ pollOutageMs: 50 }).generate(request({ run }))).rejects.toThrow(/HTTP 500/);
    expect(fake.created).toBe(1);

    fake.clearFailures();
    const images = await provider().generate(request({ run }));
    expect(images).toHaveLength(2);
    expect(fake.created).toBe(1);
  });

  it('starts a new prediction when Replicate says the earlier one does not exist (404)', async () => {
    let saved: string | undefined = 'qwertyuiopasdfghjklzxcvbnm';
    const run = { load: async () => saved, save: async (id: string) => void (saved = id) };
    await expect(provider().generate(request({ run }))).resolves.toHaveLength(2);
    expect(fake.created).toBe(1);
    expect(saved).not.toBe('qwertyuiopasdfghjklzxcvbnm');
  });

  it("starts afresh when the earlier attempt's prediction failed", async () => {
    fake.delayMs = 10;
    let saved: string | undefined;
    const run = { load: async () => saved, save: async (id: string) => void (saved = id) };
    fake.failNext(1, 'failed');
    await expect(provider().generate(request({ run }))).rejects.toThrow();
    const images = await provider().generate(request({ run }));
    expect(images).toHaveLength(2);
    expect(fake.created).toBe(2);
  });

  it('cancels a prediction that runs past its time limit and fails the attempt so the queue retries it', async () => {
    fake.delayMs = 60_000;
    const canceled = once(fake.events, 'canceled');
    const error = await provider({ timeoutMs: 150 })
      .generate(request())
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Error);
    expect(error).not.toBeInstanceOf(GenerationCancelledError);
    expect((error as Error).message).toMatch(/did not finish in time/);
    const [id] = await canceled;
    expect((await fake.prediction(id))?.status).toBe('canceled');
  });

  it('does not create a prediction for a job cancelled before it started', async () => {
    const controller = new AbortController();
    controller.abort();
    await expect(provider().generate(request({ signal: controller.signal }))).rejects.toBeInstanceOf(GenerationCancelledError);
    expect(fake.requests).toHaveLength(0);
  });

  it("retries other prediction failures (plain Error carrying the model's error)", async () => {
    fake.failNext(1, 'failed');
    const error = await provider()
      .generate(request())
      .catch((e: unknown) => e);

    expect(error).toBeInstanceOf(Error);
    expect(error).not.toBeInstanceOf(ProviderRefusedError);
    expect((error as Error).message).toContain('CUDA out of memory');
  });

  it('explains a rejected token without repeating it', async () => {
    const wrong = 'r8_wrongtoken1234567890';
    const error = await provider({ apiToken: wrong })
      .generate(request())
      .catch((e: unknown) => e);

    expect(error).toBeInstanceOf(Error);
    expect(error).not.toBeInstanceOf(ProviderRefusedError);
    expect((error as Error).message).toContain('REPLICATE_API_TOKEN');
    expect((error as Error).message).toContain('401');
    expect((error as Error).message).not.toContain(wrong);
    expect(JSON.stringify(error)).not.toContain(wrong);
  });

  it('throws a plain Error when Replicate cannot be reached', async () => {
    const baseUrl = fake.baseUrl;
    await fake.close();
    const error = await provider({ baseUrl })
      .generate(request())
      .catch((e: unknown) => e);

    expect(error).toBeInstanceOf(Error);
    expect(error).not.toBeInstanceOf(ProviderRefusedError);
    expect((error as Error).message).toMatch(/unreachable.*ECONNREFUSED/);
  });

  describe('hostile outputs', () => {
    async function outputFailure(path: (origin: string, id: string) => string, overrides: Partial<ReplicateProviderOptions> = {}) {
      fake.delayMs = 20;
      fake.outputOverride = (origin, id) => [path(origin, id)];
      return provider(overrides)
        .generate(request({ count: 1 }))
        .catch((e: unknown) => e);
    }

    it('refuses a download that claims 1 GB without reading it', async () => {
      const error = await outputFailure((origin) => `${origin}/hostile/claimed-huge`);
      expect(error).toBeInstanceOf(Error);
      expect((error as Error).message).toMatch(/claims 1073741824 bytes, more than the \d+ allowed/);
    });

    it('stops reading a download that streams past the size limit', async () => {
      const error = await outputFailure((origin) => `${origin}/hostile/streamed-huge`, { maxDownloadBytes: 1024 * 1024 });
      expect((error as Error).message).toMatch(/larger than the 1048576 bytes allowed/);
    });

    it('does not follow a redirect to another host, nor download from one', async () => {
      const redirected = await outputFailure((origin, id) => `${origin}/hostile/redirect?to=/files/${id}/out-0.png`);
      expect((redirected as Error).message).toMatch(/refused to download from localhost:\d+, which is not the provider's/);
      const elsewhere = await outputFailure(() => 'https://example.com/out-0.png');
      expect((elsewhere as Error).message).toMatch(/refused to download from example.com/);
      expect(fake.requests.filter((r) => String(r.headers.host).startsWith('localhost'))).toEqual([]);
    });

    it('refuses an output PNG that claims more pixels than any upscale makes (a decompression bomb)', async () => {
      const error = await outputFailure((origin) => `${origin}/hostile/bomb.png`);
      expect((error as Error).message).toMatch(/more than the \d+ pixels allowed/);
    });

    it('accepts outputs from replicate.delivery-style hosts it is told about', async () => {
      fake.delayMs = 20;
      const own = new URL(fake.baseUrl);
      // The API host is always allowed; here it stands in for a delivery host under another name.
      fake.outputOverride = (_origin, id) => [`http://localhost:${own.port}/files/${id}/out-0.png`];
      const images = await provider({ downloadHosts: ['localhost'] }).generate(request({ count: 1 }));
      expect(images).toHaveLength(1);
    });
  });

  it('picks the nearest supported aspect ratio', () => {
    expect(aspectRatioFor(1024, 1024)).toBe('1:1');
    expect(aspectRatioFor(1344, 768)).toBe('16:9');
    expect(aspectRatioFor(768, 1344)).toBe('9:16');
    expect(aspectRatioFor(1152, 896)).toBe('4:3');
    expect(aspectRatioFor(832, 1216)).toBe('2:3');
    expect(aspectRatioFor(2048, 512)).toBe('16:9');
  });
});

describe('Replicate behind the queue', () => {
  let bed: TestBed;
  const workers: RunningWorker[] = [];

  beforeEach(async () => {
    bed = await openTestBed();
    bed.ctx.models = [{ name: 'schnell', ref: 'black-forest-labs/flux-schnell' }];
  });

  afterEach(async () => {
    await closeTestBed(bed, workers);
  });

  async function worker(): Promise<RunningWorker> {
    const running = await startWorker({
      redisUrl: redisUrl(),
      prefix: bed.prefix,
      provider: provider(),
      concurrency: 1,
      imageStoreDir: bed.imageDir,
      logger: quietLogger(),
      progressIntervalMs: 0,
    });
    workers.push(running);
    return running;
  }

  function requester(userId: string): Requester {
    return {
      interactionId: SnowflakeUtil.generate().toString(),
      interactionToken: 'token-' + Math.random(),
      attachmentSizeLimit: 10 * 1024 * 1024,
      userId,
      userName: 'ada',
      guildId: '300000000000000001',
      channelId: '400000000000000001',
    };
  }

  const options = { prompt: 'a lighthouse in fog', aspect: '1:1' as const, count: 1 };

  it('sends Replicate nothing, from any worker, until the Retry-After of a 429 has passed', async () => {
    fake.retryAfterSeconds = 1;
    fake.failNext(1, 'http429');
    await worker();
    await worker();
    const first = await enqueueGeneration(bed.ctx, requester('200000000000000001'), { kind: 'txt2img', options });
    await eventually(() => fake.throttled.length === 1);
    // Queued while the pause lasts: the idle worker must hold it back too.
    const second = await enqueueGeneration(bed.ctx, requester('200000000000000002'), { kind: 'txt2img', options });
    for (const { record } of [first, second]) {
      await eventually(async () => (await bed.ctx.jobs.get(record.id))?.status === 'done', 15_000);
    }

    const [{ at, retryAfterMs }] = fake.throttled as [{ at: number; retryAfterMs: number }];
    const after = fake.requests.filter((r) => r.at > at);
    expect(after.length).toBeGreaterThan(0);
    for (const request of after) expect(request.at - at).toBeGreaterThanOrEqual(retryAfterMs);
    expect(fake.created).toBe(2);
  });
});
