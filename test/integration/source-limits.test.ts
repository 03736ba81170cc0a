import { SnowflakeUtil } from 'discord.js';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { enqueueGeneration, type Requester } from '../../src/bot/requests.js';
import { startWorker, type RunningWorker } from '../../src/worker/worker.js';
import { eventually, quietLogger } from '../support/context.js';
import { gradient, pngBomb } from '../support/fake-replicate.js';
import { redisUrl } from '../support/redis.js';
import { ScriptedProvider } from '../support/scripted-provider.js';
import { closeTestBed, openTestBed, type TestBed } from '../support/test-bed.js';

let bed: TestBed;
let provider: ScriptedProvider;
const workers: RunningWorker[] = [];

beforeEach(async () => {
  bed = await openTestBed();
  provider = new ScriptedProvider();
  workers.push(
    await startWorker({
      redisUrl: redisUrl(),
      prefix: bed.prefix,
      provider,
      concurrency: 1,
      imageStoreDir: bed.imageDir,
      logger: quietLogger(),
      progressIntervalMs: 0,
    }),
  );
});

afterEach(() => closeTestBed(bed, workers));

function requester(): Requester {
  return {
    interactionId: SnowflakeUtil.generate().toString(),
    interactionToken: 'token-' + Math.random(),
    attachmentSizeLimit: 10 * 1024 * 1024,
    userId: '200000000000000001',
    userName: 'ada',
    guildId: '300000000000000001',
    channelId: '400000000000000001',
  };
}

const options = { prompt: 'a lighthouse in fog', aspect: '1:1' as const, count: 1 };

async function failure(kind: 'variation' | 'upscale', input: Buffer, size?: { width: number; height: number }) {
  const { record } = await enqueueGeneration(bed.ctx, requester(), { kind, options, input, size, strength: 0.35 });
  return eventually(async () => {
    const current = await bed.ctx.jobs.get(record.id);
    return current?.status === 'failed' && current;
  });
}

describe('source pictures a worker refuses before any provider sees them', () => {
  it('refuses a decompression bomb (a small PNG claiming 16000 × 16000 pixels) with a clear message, at once', async () => {
    const bomb = pngBomb(16_000, 16_000);
    expect(bomb.length).toBeLessThan(200_000);
    const failed = await failure('variation', bomb);

    expect(failed.errorKind).toBe('refused');
    expect(failed.error).toMatch(/source picture is too large/);
    expect(provider.requests).toHaveLength(0);
  });

  it('refuses to upscale a picture whose upscale would pass 4096 pixels', async () => {
    const large = await gradient(2400, 1200, 3).png().toBuffer();
    const failed = await failure('upscale', large, { width: 2400, height: 1200 });

    expect(failed.errorKind).toBe('refused');
    expect(failed.error).toBe('This picture is already 2400×1200; upscaling it again would pass 4096 pixels, the largest Atelier makes.');
    expect(provider.requests).toHaveLength(0);
  });

  it('still upscales a 2048-pixel picture to 4096', async () => {
    const { record } = await enqueueGeneration(bed.ctx, requester(), {
      kind: 'upscale',
      options,
      input: await gradient(2048, 1024, 3).png().toBuffer(),
      size: { width: 2048, height: 1024 },
    });
    await eventually(async () => (await bed.ctx.jobs.get(record.id))?.status === 'done', 20_000);
    expect(provider.requests).toHaveLength(1);
  });
});
