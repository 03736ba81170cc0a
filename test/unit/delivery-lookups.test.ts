import { describe, expect, it } from 'vitest';
import { neverShown } from '../../src/bot/delivery.js';
import { mayBePartOf } from '../../src/store/jobs.js';

describe('whether a result can have been shown before its delivery', () => {
  const now = 1_800_000_000_000;
  const ctx = { now: () => now };

  it('is new on the first attempt right after it was drawn: no votes are looked up', () => {
    expect(neverShown(ctx, { attemptsStarted: 1 }, { finishedAt: now - 2_000 })).toBe(true);
  });

  it('may have been shown when an earlier attempt ran (a crash or an error after the post)', () => {
    expect(neverShown(ctx, { attemptsStarted: 2 }, { finishedAt: now - 2_000 })).toBe(false);
  });

  it('may have been shown when it was drawn long ago (a delivery the recovery sweep queued again)', () => {
    expect(neverShown(ctx, { attemptsStarted: 1 }, { finishedAt: now - 10 * 60_000 })).toBe(false);
  });

  it('counts as shown when the record does not say when it was drawn', () => {
    expect(neverShown(ctx, { attemptsStarted: 1 }, { finishedAt: undefined })).toBe(false);
  });
});

describe("which features' post-delivery hooks look at a request", () => {
  it('only the feature it was made for, or every one for a record from before requests said so', () => {
    expect(mayBePartOf({ partOf: 'series' }, 'series')).toBe(true);
    expect(mayBePartOf({ partOf: 'series' }, 'session')).toBe(false);
    expect(mayBePartOf({ partOf: 'none' }, 'series')).toBe(false);
    expect(mayBePartOf({ partOf: 'none' }, 'session')).toBe(false);
    expect(mayBePartOf({ partOf: undefined }, 'series')).toBe(true);
    expect(mayBePartOf({ partOf: undefined }, 'session')).toBe(true);
  });
});
