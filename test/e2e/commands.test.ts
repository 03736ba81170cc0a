import { MessageFlags } from 'discord.js';
import { afterEach, describe, expect, it } from 'vitest';
import { startBot } from '../../src/bot/bot.js';
import { quietLogger } from '../support/context.js';
import { redisUrl } from '../support/redis.js';
import { ScriptedProvider } from '../support/scripted-provider.js';
import { Stack } from '../support/stack.js';

let stack: Stack | undefined;
afterEach(async () => {
  if (stack) expect(stack.discord.validationErrors).toEqual([]);
  await stack?.close();
  stack = undefined;
});

describe('commands as members and admins meet them', () => {
  it('registers the commands on first start, and not again when Discord already has them', async () => {
    stack = await Stack.start({ noWorker: true });
    const puts = () => stack!.discord.requests.filter((r) => r.method === 'PUT' && r.path.endsWith('/commands'));
    expect(puts()).toHaveLength(1);
    expect(
      stack.discord
        .commands()
        .map((c) => c.name)
        .sort(),
    ).toEqual(expect.arrayContaining(['help', 'imagine', 'queue']));

    const second = await startBot({
      token: stack.discord.token,
      applicationId: stack.discord.applicationId,
      apiUrl: stack.discord.apiUrl,
      cdnUrl: stack.discord.cdnUrl,
      redisUrl: redisUrl(),
      db: stack.database.db,
      prefix: stack.prefix,
      models: stack.ctx.models,
      imageStoreDir: stack.imageDir,
      logger: quietLogger(),
    });
    await second.close();
    expect(puts()).toHaveLength(1);
  });

  it('/queue lists only the member’s waiting and running jobs with positions and Cancel buttons', async () => {
    const provider = new ScriptedProvider();
    const hold = provider.holdNext();
    stack = await Stack.start({ provider, worker: { concurrency: 1 } });
    await stack.discord.ready;
    const started = provider.nextRequest();
    const running = stack.discord.slashCommand({ name: 'imagine', options: { prompt: 'first, running' } });
    await running.response();
    await started;
    const waiting = stack.discord.slashCommand({ name: 'imagine', options: { prompt: 'second, waiting' } });
    await waiting.response();
    const other = stack.discord.slashCommand({ name: 'imagine', options: { prompt: 'someone else' }, userId: '777777777777777777' });
    await other.response();

    const queue = await stack.discord.slashCommand({ name: 'queue' }).response();
    expect(queue.data.flags).toBe(MessageFlags.Ephemeral);
    expect(queue.data.content).toMatch(/1\.\*\* 🎨 generating — first, running/);
    // Fair share: the other member's first picture goes before this member's second.
    expect(queue.data.content).toMatch(/2\.\*\* ⏳ position 3 of 3 — second, waiting/);
    expect(queue.data.content).not.toContain('someone else');
    const ids = queue.data.components.flatMap((row: { components: Array<{ custom_id: string }> }) => row.components.map((c) => c.custom_id));
    expect(ids).toEqual([`gen:cancel:${running.id}`, `gen:cancel:${waiting.id}`]);
    hold.release();
  });

  it('/queue says so when there is nothing queued, and /help explains the commands privately', async () => {
    stack = await Stack.start({ noWorker: true });
    await stack.discord.ready;
    const empty = await stack.discord.slashCommand({ name: 'queue' }).response();
    expect(empty.data).toMatchObject({ flags: MessageFlags.Ephemeral, content: expect.stringMatching(/nothing in the queue/) });
    const help = await stack.discord.slashCommand({ name: 'help' }).response();
    expect(help.data.flags).toBe(MessageFlags.Ephemeral);
    expect(help.data.content).toMatch(/\/imagine/);
    expect(help.data.content).toMatch(/--ar 16:9/);
    expect(help.data.content).toMatch(/painterly, geometric/);
  });

  it('cancelling from /queue answers there and marks the job’s own message as cancelled', async () => {
    const provider = new ScriptedProvider();
    stack = await Stack.start({ noWorker: true, provider });
    await stack.discord.ready;
    const job = stack.discord.slashCommand({ name: 'imagine', options: { prompt: 'changed my mind' } });
    await job.response();
    const queue = stack.discord.slashCommand({ name: 'queue' });
    await queue.response();
    const listing = stack.discord.messages(stack.discord.defaultChannelId).find((m) => m.interactionId === queue.id)!;
    const click = stack.discord.button({ customId: `gen:cancel:${job.id}`, message: listing });
    const answer = await click.response();
    expect(answer.data).toMatchObject({ flags: MessageFlags.Ephemeral, content: 'Cancelled.' });
    await stack.discord.waitFor(() =>
      stack!.discord
        .messages(stack!.discord.defaultChannelId)
        .find((m) => m.interactionId === job.id)
        ?.content.includes('Cancelled'),
    );
    expect(await stack.ctx.generateQueue.getJobCounts('waiting', 'prioritized')).toMatchObject({ waiting: 0, prioritized: 0 });
    expect((await stack.ctx.jobs.get(job.id))?.status).toBe('cancelled');
  });
});
