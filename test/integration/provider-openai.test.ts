import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createOpenAIProvider, sizeFor, type OpenAIProviderOptions } from '../../src/worker/providers/openai.js';
import { ProviderRateLimitedError, ProviderRefusedError, type GenerationRequest, type ImageProvider } from '../../src/worker/providers/types.js';
import { FakeOpenAI, MODERATION_MESSAGE } from '../support/fake-openai.js';
import { gradient } from '../support/fake-replicate.js';

let fake: FakeOpenAI;

beforeEach(async () => {
  fake = new FakeOpenAI();
  await fake.start();
});

afterEach(async () => {
  await fake.close();
});

function provider(overrides: Partial<OpenAIProviderOptions> = {}): ImageProvider {
  return createOpenAIProvider({ apiKey: fake.apiKey, baseUrl: fake.baseUrl, model: 'gpt-image-1', ...overrides });
}

function request(overrides: Partial<GenerationRequest> = {}): GenerationRequest {
  return {
    kind: 'txt2img',
    prompt: 'a lighthouse at dusk, oil painting',
    width: 1344,
    height: 768,
    seed: 42,
    count: 2,
    model: 'gpt-image-1',
    signal: new AbortController().signal,
    onProgress: () => undefined,
    ...overrides,
  };
}

const generations = () => fake.requestsTo(/^\/v1\/images\/generations$/);

describe('OpenAI Images provider', () => {
  it('draws a txt2img job with images.generate at the supported size nearest its aspect ratio', async () => {
    const images = await provider().generate(request());

    expect(images.map((i) => [i.width, i.height, i.contentType])).toEqual([
      [1536, 1024, 'image/png'],
      [1536, 1024, 'image/png'],
    ]);
    expect(generations()).toHaveLength(1);
    const sent = generations()[0]!;
    expect(sent.headers.authorization).toBe(`Bearer ${fake.apiKey}`);
    // GPT image models always answer in base64 and refuse response_format.
    expect(sent.body).toEqual({ model: 'gpt-image-1', prompt: 'a lighthouse at dusk, oil painting', n: 2, size: '1536x1024' });
  });

  it('maps portraits, squares and each model onto the sizes that model draws', () => {
    expect(sizeFor('gpt-image-1', 768, 1344)).toEqual([1024, 1536]);
    expect(sizeFor('gpt-image-1', 1024, 1024)).toEqual([1024, 1024]);
    expect(sizeFor('gpt-image-1', 1152, 896)).toEqual([1536, 1024]); // 4:3 is nearer 3:2 than 1:1
    expect(sizeFor('gpt-image-1', 1216, 832)).toEqual([1536, 1024]);
    expect(sizeFor('dall-e-3', 1344, 768)).toEqual([1792, 1024]);
    expect(sizeFor('dall-e-2', 1344, 768)).toEqual([1024, 1024]);
  });

  it('passes the negative prompt as words to avoid, and asks DALL·E 3 once per picture', async () => {
    const images = await provider({ model: 'dall-e-3' }).generate(request({ model: 'dall-e-3', negative: 'people, text' }));

    expect(images).toHaveLength(2);
    expect(generations().map((r) => r.body)).toEqual([
      {
        model: 'dall-e-3',
        prompt: 'a lighthouse at dusk, oil painting\n\nAvoid: people, text',
        n: 1,
        size: '1792x1024',
        response_format: 'b64_json',
      },
      {
        model: 'dall-e-3',
        prompt: 'a lighthouse at dusk, oil painting\n\nAvoid: people, text',
        n: 1,
        size: '1792x1024',
        response_format: 'b64_json',
      },
    ]);
  });

  it('remixes and varies a picture through images.edit, with the picture as the input image', async () => {
    const init = await gradient(512, 512, 3).png().toBuffer();
    const images = await provider().generate(request({ kind: 'variation', init, count: 1, width: 1024, height: 1024 }));

    expect(images).toHaveLength(1);
    const edits = fake.requestsTo(/^\/v1\/images\/edits$/);
    expect(edits).toHaveLength(1);
    expect(String(edits[0]!.headers['content-type'])).toMatch(/^multipart\/form-data/);
    expect(edits[0]!.body).toMatchObject({ model: 'gpt-image-1', prompt: 'a lighthouse at dusk, oil painting', n: '1', size: '1024x1024' });
    expect(edits[0]!.body.image.type).toBe('image/png');
    expect((edits[0]!.body.image.data as Buffer).equals(init)).toBe(true);
  });

  it('upscales offline (OpenAI has no upscaler): twice the size, no request', async () => {
    const init = await gradient(300, 200, 3).png().toBuffer();
    const images = await provider().generate(request({ kind: 'upscale', init, count: 1, width: 300, height: 200 }));
    expect([images[0]!.width, images[0]!.height]).toEqual([600, 400]);
    expect(fake.requests).toHaveLength(0);
  });

  it("fails a content-policy refusal at once, for safety, keeping OpenAI's reason for the author", async () => {
    fake.failNext(1, 'moderation');
    const error = await provider()
      .generate(request())
      .catch((e: unknown) => e);

    expect(error).toBeInstanceOf(ProviderRefusedError);
    expect((error as ProviderRefusedError).reason).toBe('safety');
    expect((error as ProviderRefusedError).memberReason).toBe(MODERATION_MESSAGE);
    expect(fake.requests).toHaveLength(1);
  });

  it("hands a 429's Retry-After to the worker after one request (the client does not retry)", async () => {
    fake.retryAfterSeconds = 12;
    fake.failNext(1, 'http429');
    const error = await provider()
      .generate(request())
      .catch((e: unknown) => e);

    expect(error).toBeInstanceOf(ProviderRateLimitedError);
    expect((error as ProviderRateLimitedError).retryAfterMs).toBe(12_000);
    expect(fake.requests).toHaveLength(1);
  });

  it('throws a plain, retryable Error on a 500, after one request', async () => {
    fake.failNext(1, 'http500');
    const error = await provider()
      .generate(request())
      .catch((e: unknown) => e);

    expect(error).toBeInstanceOf(Error);
    expect(error).not.toBeInstanceOf(ProviderRefusedError);
    expect(error).not.toBeInstanceOf(ProviderRateLimitedError);
    expect((error as Error).message).toContain('HTTP 500');
    expect(fake.requests).toHaveLength(1);
  });

  it('explains a rejected key without repeating any of it', async () => {
    const wrong = 'sk-wrongkey1234567890abcdef';
    const error = await provider({ apiKey: wrong })
      .generate(request())
      .catch((e: unknown) => e);

    expect((error as Error).message).toContain('OPENAI_API_KEY');
    for (const part of [wrong, wrong.slice(0, 8), wrong.slice(-4)]) {
      expect((error as Error).message).not.toContain(part);
      expect(JSON.stringify(error)).not.toContain(part);
    }
  });

  it('refuses input OpenAI rejects without retrying it', async () => {
    const error = await provider()
      .generate(request({ model: 'no-such-model' }))
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ProviderRefusedError);
    expect((error as ProviderRefusedError).reason).toBe('invalid_input');
    expect((error as Error).message).toContain("Invalid value: 'no-such-model'");
  });
});
