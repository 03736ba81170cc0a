/**
 * PostgreSQL goes away while a picture is being drawn (a restart, a failover) and comes back. What
 * was accepted before is delivered once it is back, exactly once; what arrives meanwhile is refused
 * privately and changes nothing.
 */
import { MessageFlags } from 'discord.js';
import { describe, expect, it } from 'vitest';
import { generateJobId } from '../../src/queues.js';
import { eventually } from '../support/context.js';
import { adminQuery } from '../support/postgres.js';
import { ScriptedProvider } from '../support/scripted-provider.js';
import { useStack, type Stack } from '../support/stack.js';

const start = useStack();

/** Every connection to the stack's database is cut, and new ones are refused, until `back()`. */
async function cutDatabase(s: Stack): Promise<{ back: () => Promise<void> }> {
  const name = s.database.name;
  await adminQuery(`ALTER DATABASE ${name} ALLOW_CONNECTIONS false`);
  await adminQuery(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '${name}'`);
  return { back: () => adminQuery(`ALTER DATABASE ${name} ALLOW_CONNECTIONS true`) };
}

describe('a database outage', () => {
  it('delivers a picture accepted before it exactly once after it, and refuses new requests meanwhile without a trace', async () => {
    const provider = new ScriptedProvider();
    const hold = provider.holdNext();
    const s = await start({ provider });
    const channel = s.discord.defaultChannelId;
    const accepted = s.discord.slashCommand({ name: 'imagine', options: { prompt: 'a lighthouse in fog' } });
    expect((await accepted.response()).data.content).toMatch(/Queued/);
    await eventually(() => provider.requests.length === 1, 10_000, 'the worker drawing it');

    const database = await cutDatabase(s);
    const refused = s.discord.slashCommand({ name: 'imagine', options: { prompt: 'a harbour at night' } });
    try {
      const answer = await refused.response();
      expect(answer.data.flags).toBe(MessageFlags.Ephemeral);
      expect(answer.data.content).toBe('⚠️ I cannot reach my storage right now, so I did nothing with that. Please try again in a minute.');
      expect(answer.data.allowed_mentions).toEqual({ parse: [] });
      expect(await s.ctx.jobs.live(refused.id)).toBeUndefined();
      expect(await s.ctx.generateQueue.getJob(generateJobId(refused.id))).toBeUndefined();

      // The picture is drawn; its delivery cannot record it, so nothing is posted yet.
      hold.release();
      await eventually(
        async () => ((await s.ctx.deliverQueue.getJob(`deliver-${accepted.id}`))?.attemptsMade ?? 0) >= 1,
        20_000,
        'a delivery attempt during the outage',
      );
      expect(s.discord.messages(channel).filter((m) => m.attachments.length > 0)).toEqual([]);
    } finally {
      await database.back();
    }

    const result = await s.discord.waitFor(
      () => {
        const message = s.discord.messages(channel).find((m) => m.interactionId === accepted.id);
        return message && message.attachments.length > 0 ? message : undefined;
      },
      30_000,
      'the result once the database is back',
    );
    expect(result.content).toMatch(/^✅/);
    await eventually(async () => (await s.ctx.jobs.get(accepted.id))?.status === 'delivered', 10_000, 'delivered');
    expect(s.discord.messages(channel).filter((m) => m.attachments.length > 0)).toHaveLength(1);
    const row = await s.database.db
      .selectFrom('requests')
      .select(['status', 'result_message_id'])
      .where('id', '=', accepted.id)
      .executeTakeFirstOrThrow();
    expect(row).toEqual({ status: 'delivered', result_message_id: result.id });
    // The request refused during the outage left nothing behind, in the archive either.
    expect(await s.database.db.selectFrom('requests').select('id').where('id', '=', refused.id).execute()).toEqual([]);
  });
});
