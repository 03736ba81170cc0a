import { Cluster } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { REDIS_PREFIX } from '../../src/runtime.js';
import { startRedisCluster, type TestRedisCluster } from '../support/redis-cluster.js';
import { FAULT_TIMEOUT_MS, FaultHarness } from './harness.js';

let harness: FaultHarness | undefined;
let cluster: TestRedisCluster | undefined;

afterEach(async () => {
  await harness?.close();
  await cluster?.stop();
  harness = undefined;
  cluster = undefined;
});

describe('bot and worker processes configured with REDIS_CLUSTER_NODES', () => {
  it('deliver every job once, with every key under {atelier} on one master', { timeout: FAULT_TIMEOUT_MS }, async () => {
    cluster = await startRedisCluster();
    const h = (harness = await FaultHarness.start());
    // One node named is enough: the others are discovered.
    const redisEnv = { REDIS_URL: '', REDIS_CLUSTER_NODES: `127.0.0.1:${cluster.nodes[1]!.port}` };
    await h.startBot(redisEnv);
    h.startWorker(redisEnv);

    const interactions = ['a quiet cluster', 'three masters', 'one slot'].map((prompt, i) => h.imagine(prompt, `23000000000000000${i}`));
    for (const interaction of interactions) expect((await interaction.response()).data.content).toContain('Queued');
    for (const interaction of interactions) await h.expectation(h.waitForResult(interaction.id));
    for (const interaction of interactions) {
      expect(h.resultMessages(interaction.id)).toHaveLength(1);
      expect(h.resultUploads(interaction.id)).toHaveLength(1);
    }

    const client = new Cluster(cluster.nodes);
    try {
      // Asked first: the client knows the masters once it answered.
      expect(await client.exists(`${REDIS_PREFIX}:generate:meta`)).toBe(1);
      const holders: number[] = [];
      for (const node of client.nodes('master')) {
        const [, keys] = await node.scan('0', 'MATCH', '*', 'COUNT', 10_000);
        if (keys.length > 0) holders.push(Number(node.options.port));
        for (const key of keys) expect(key.startsWith(`${REDIS_PREFIX}:`), key).toBe(true);
      }
      expect(client.nodes('master')).toHaveLength(3);
      expect(holders).toHaveLength(1);
    } finally {
      client.disconnect();
    }
  });
});
