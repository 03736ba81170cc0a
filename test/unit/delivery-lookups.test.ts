import { EventEmitter } from 'node:events';
import type { ChatInputCommandInteraction } from 'discord.js';
import { describe, expect, it } from 'vitest';
import type { BotContext } from '../../src/bot/context.js';
import { neverShown } from '../../src/bot/delivery.js';
import { PROGRESS_FIRST_EDIT_MS } from '../../src/bot/progress.js';
import { replyQueued } from '../../src/bot/queued-reply.js';
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

describe('catching up with progress after the "Queued" answer', () => {
  const now = 1_800_000_000_000;
  /** What replyQueued touches: the answer, the record's update, and the BullMQ job's fields when it asks. */
  function setting() {
    const asked: string[] = [];
    const ctx = {
      now: () => now,
      jobs: { update: async () => true },
      answers: new EventEmitter(),
      redis: {
        hmget: async (key: string) => {
          asked.push(key);
          return [null, null, null];
        },
      },
      generateQueue: { toKey: (type: string) => `generate:${type}` },
      logger: { debug: () => undefined },
    } as unknown as BotContext;
    const interaction = { reply: async () => ({ resource: { message: { id: '1' } } }) } as unknown as ChatInputCommandInteraction;
    return { ctx, interaction, asked };
  }
  const body = { content: 'Queued', components: [], allowed_mentions: { parse: [] } };

  it('asks nothing for an answer within a second of queueing: the job cannot have run longer than that', async () => {
    const { ctx, interaction, asked } = setting();
    await replyQueued(interaction, ctx, { id: '42', createdAt: now - PROGRESS_FIRST_EDIT_MS + 1 }, body);
    expect(asked).toEqual([]);
  });

  it('looks at the job once the answer came later than that (a slow Discord, a repeated interaction)', async () => {
    const { ctx, interaction, asked } = setting();
    await replyQueued(interaction, ctx, { id: '42', createdAt: now - PROGRESS_FIRST_EDIT_MS }, body);
    expect(asked).toEqual(['generate:gen-42']);
  });
});
