import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { MessageFlags } from 'discord.js';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { generateJobId } from '../../src/queues.js';
import { startPrivateRedis, type PrivateRedis } from '../../src/redis-server.js';
import { eventually } from '../support/context.js';
import type { FakeInteraction } from '../support/fake-discord.js';
import { useStack, type Stack } from '../support/stack.js';

/** This file's own redis-server, which the tests stop, restart and pause. */
let server: PrivateRedis | undefined;
let dataDir: string | undefined;

// Registered before useStack(): after-hooks run in reverse, so the bot is closed before its Redis goes.
afterEach(async () => {
  if (server?.process.exitCode === null) server.process.kill('SIGCONT');
  await server?.stop();
  server = undefined;
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  dataDir = undefined;
});

const start = useStack();

async function startRedis(port?: number): Promise<PrivateRedis> {
  dataDir ??= mkdtempSync(join(tmpdir(), 'atelier-outage-'));
  // Append-only on: what was written before the outage is still there after the restart.
  server = await startPrivateRedis({ dataDir, port, appendOnly: true });
  return server;
}

const imagine = (s: Stack, prompt: string, userId: string) => s.discord.slashCommand({ name: 'imagine', options: { prompt }, userId });

async function expectTryAgain(interaction: FakeInteraction) {
  const response = await interaction.response();
  expect(response.data.flags, JSON.stringify(response.data)).toBe(MessageFlags.Ephemeral);
  expect(response.data.content).toMatch(/try again/i);
}

/** Nothing of a refused request exists or happens once Redis is back: no record, no job, no later message. */
async function expectNothingRan(s: Stack, refused: FakeInteraction[]) {
  for (const interaction of refused) {
    expect(await s.ctx.jobs.get(interaction.id)).toBeUndefined();
    expect(await s.ctx.generateQueue.getJob(generateJobId(interaction.id))).toBeUndefined();
    expect(interaction.original()!.edits).toBe(0);
    expect(interaction.followUps()).toEqual([]);
  }
}

describe('Redis down or stalled', () => {
  it('answers every interaction privately in time while Redis is down, and runs none of them once it is back', async () => {
    const redis = await startRedis();
    const logged: Array<{ msg: string; connection?: string }> = [];
    const sink = new Writable({
      write(chunk, _encoding, done) {
        logged.push(JSON.parse(String(chunk)));
        done();
      },
    });
    const s = await start({ noWorker: true, bot: { redisUrl: redis.url, logger: pino({ level: 'warn' }, sink) } });
    expect((await imagine(s, 'before the outage', '730000000000000001').response()).data.content).toContain('Queued');

    await redis.stop();
    await eventually(() => s.ctx.redis.status !== 'ready', 10_000, 'the bot to see Redis go');
    const refused = [
      imagine(s, 'a lighthouse in fog', '730000000000000002'),
      imagine(s, 'a fox in snow', '730000000000000003'),
      s.discord.slashCommand({ name: 'profile', userId: '730000000000000004' }),
      s.discord.slashCommand({ name: 'queue', userId: '730000000000000005' }),
    ];
    for (const interaction of refused) await expectTryAgain(interaction);
    // Every connection of the bot reports the outage through its error listener (none goes unhandled).
    const lost = () => new Set(logged.filter((line) => line.msg === 'redis connection lost; reconnecting').map((line) => line.connection));
    await eventually(
      () => ['commands', 'delivery worker', 'challenge worker', 'queue events'].every((name) => lost().has(name)),
      10_000,
      'the outage logged',
    );

    await startRedis(redis.port);
    await eventually(() => s.ctx.redis.status === 'ready', 20_000, 'the bot to reconnect');
    const after = imagine(s, 'after the outage', '730000000000000006');
    expect((await after.response()).data.content).toContain('Queued');
    await expectNothingRan(s, refused);
    expect(await s.ctx.jobs.get(after.id)).toBeDefined();
  });

  it('answers in time while Redis is stalled, and what stalled does not run once it answers again', async () => {
    const redis = await startRedis();
    const s = await start({ noWorker: true, bot: { redisUrl: redis.url } });
    expect((await imagine(s, 'before the stall', '740000000000000001').response()).data.content).toContain('Queued');

    // A stalled Redis keeps its connections open but answers nothing.
    redis.process.kill('SIGSTOP');
    const refused = [imagine(s, 'a slow river', '740000000000000002'), s.discord.slashCommand({ name: 'profile', userId: '740000000000000003' })];
    try {
      for (const interaction of refused) await expectTryAgain(interaction);
    } finally {
      redis.process.kill('SIGCONT');
    }

    await eventually(async () => (await s.ctx.redis.ping().catch(() => undefined)) === 'PONG', 10_000, 'Redis to answer again');
    const after = imagine(s, 'after the stall', '740000000000000004');
    expect((await after.response()).data.content).toContain('Queued');
    await expectNothingRan(s, refused);
  });
});
