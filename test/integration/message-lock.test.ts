import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { withMessageLock } from '../../src/bot/discord-messages.js';
import { eventually } from '../support/context.js';
import { closeTestBed, openTestBed, type TestBed } from '../support/test-bed.js';

let bed: TestBed;

beforeEach(async () => {
  bed = await openTestBed();
});

afterEach(async () => {
  await closeTestBed(bed);
});

describe('the lock around a job message', () => {
  it('is renewed while a long delivery runs, so a second worker cannot start the same post', { timeout: 30_000 }, async () => {
    const { ctx, redis, prefix } = bed;
    const key = `${prefix}:lock:message:900000000000000010`;
    const outcome = await withMessageLock(ctx, '900000000000000010', false, async () => {
      // The work outlasts a good part of the lock's life: the holder must push its end further out.
      let lowest = await redis.pttl(key);
      await eventually(
        async () => {
          const left = await redis.pttl(key);
          lowest = Math.min(lowest, left);
          return left > lowest + 1000;
        },
        20_000,
        'the lock to be renewed',
      );
      const second = await withMessageLock(ctx, '900000000000000010', false, async () => 'second worker');
      expect(second).toBeUndefined();
      return 'first worker';
    });
    expect(outcome).toBe('first worker');
    // Released once the work is done.
    expect(await redis.exists(key)).toBe(0);
  });
});
