import { afterEach, describe, expect, it } from 'vitest';
import { twoServers, type FakeGuildOptions } from '../support/fake-discord.js';
import { FAULT_TIMEOUT_MS, FaultHarness } from './harness.js';

let harness: FaultHarness | undefined;

afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

/** A guild id whose events Discord sends on `shard` of `count`: `(id >> 22) % count === shard`. */
function guildIdOnShard(shard: number, count: number, base = 1_200_000_000n): string {
  return (((base * BigInt(count) + BigInt(shard)) << 22n) | 7n).toString();
}

describe('two gateway shards in two bot processes', () => {
  it('each process answers its shard’s server, and either delivers the results of both', { timeout: FAULT_TIMEOUT_MS * 2 }, async () => {
    const [first, second] = twoServers() as [FakeGuildOptions, FakeGuildOptions];
    const guilds = [
      { ...first, id: guildIdOnShard(0, 2) },
      { ...second, id: guildIdOnShard(1, 2) },
    ];
    // Two shards recommended; max_concurrency 2 lets both identify at once, and an identify
    // closer than 5 s to another in its bucket would be a violation.
    const h = (harness = await FaultHarness.start({ guilds, shards: 2, maxConcurrency: 2, identifyWindowMs: 5_000 }));
    const [guildA, guildB] = h.discord.guilds;
    expect(h.discord.shardOf(guildA!.id)).toBe(0);
    expect(h.discord.shardOf(guildB!.id)).toBe(1);

    // Shard 0 takes the count from Discord's recommendation; shard 1 is told it.
    const botA = await h.startBot({ SHARD_IDS: '0' });
    const botB = await h.startBot({ SHARD_IDS: '1', SHARD_COUNT: '2' });
    await h.expectation(h.discord.waitFor(() => h.discord.connectedShards.length === 2, 30_000, 'both shards to connect'));
    expect(h.discord.identifies.map((identify) => identify.shard).sort()).toEqual([
      [0, 2],
      [1, 2],
    ]);
    const worker = h.startWorker();

    const imagineIn = (guild: typeof guildA, prompt: string) =>
      h.discord.slashCommand({ name: 'imagine', options: { prompt }, guildId: guild!.id, channelId: guild!.channels[0]!.id });

    // /imagine works on both shards: each process hears only its own server's interactions.
    const onA = imagineIn(guildA, 'a lighthouse on shard zero');
    const onB = imagineIn(guildB, 'a harbour on shard one');
    await h.expectation(Promise.all([onA.response(), onB.response()]));
    await h.expectation(Promise.all([h.waitForResult(onA.id), h.waitForResult(onB.id)]));

    // Work accepted on both shards, then shard 0's process dies before any of it is made.
    await worker.kill('SIGKILL');
    const laterA = imagineIn(guildA, 'a fox on shard zero');
    const laterB = imagineIn(guildB, 'an owl on shard one');
    await h.expectation(Promise.all([laterA.response(), laterB.response()]));
    await botA.kill('SIGKILL');
    h.startWorker();

    // The surviving process (shard 1) finishes both: delivery needs only REST, not the shard.
    const [resultA, resultB] = await h.expectation(Promise.all([h.waitForResult(laterA.id), h.waitForResult(laterB.id)]));
    expect(resultA.id).toBe(laterA.originalMessageId);
    expect(resultA.content).toContain('a fox on shard zero');
    expect(resultB.id).toBe(laterB.originalMessageId);
    expect(h.resultMessages(laterA.id)).toHaveLength(1);
    expect(h.resultMessages(laterB.id)).toHaveLength(1);
    expect(botB.running).toBe(true);
    expect(h.discord.connectedShards).toEqual([1]);
    expect(h.discord.validationErrors).toEqual([]);
  });
});
