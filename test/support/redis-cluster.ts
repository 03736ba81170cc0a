import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import type { RedisNode } from '../../src/redis-connections.js';
import { freePort, startPrivateRedis, type PrivateRedis } from '../../src/redis-server.js';

const run = promisify(execFile);

/** Asks `check` every 50 ms until it holds; fails with `what` after `timeoutMs`. */
export async function pollUntil(check: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check().catch(() => false))) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

export interface TestRedisCluster {
  /** The masters, as REDIS_CLUSTER_NODES names them. */
  nodes: RedisNode[];
  servers: PrivateRedis[];
  stop(): Promise<void>;
}

/**
 * A real Redis Cluster of `masters` masters (no replicas), each a private redis-server on a free
 * port with its data in a temporary folder, joined with `redis-cli --cluster create`. Resolves once
 * every node reports the cluster ok, with all 16384 slots served.
 */
export async function startRedisCluster(masters = 3): Promise<TestRedisCluster> {
  const servers: PrivateRedis[] = [];
  try {
    for (let i = 0; i < masters; i++) {
      // The cluster bus gets a free port of its own (the default, port + 10000, may be past 65535).
      const busPort = await freePort();
      servers.push(
        await startPrivateRedis({
          ephemeral: true,
          extraArgs: [
            '--cluster-enabled',
            'yes',
            '--cluster-config-file',
            'nodes.conf',
            '--cluster-port',
            String(busPort),
            '--cluster-node-timeout',
            '2000',
          ],
        }),
      );
    }
    const addresses = servers.map((server) => `127.0.0.1:${server.port}`);
    await run('redis-cli', ['--cluster', 'create', ...addresses, '--cluster-replicas', '0', '--cluster-yes'], { timeout: 30_000 });
    for (const server of servers) {
      const client = new Redis(server.port, '127.0.0.1', { maxRetriesPerRequest: 1 });
      try {
        await pollUntil(
          async () => {
            const info = String(await client.cluster('INFO'));
            return /cluster_state:ok/.test(info) && /cluster_slots_ok:16384/.test(info) && new RegExp(`cluster_known_nodes:${masters}\\b`).test(info);
          },
          20_000,
          `node ${server.port} to see the whole cluster`,
        );
      } finally {
        client.disconnect();
      }
    }
  } catch (error) {
    await Promise.all(servers.map((server) => server.stop()));
    throw error;
  }
  return {
    nodes: servers.map((server) => ({ host: '127.0.0.1', port: server.port })),
    servers,
    async stop() {
      await Promise.all(servers.map((server) => server.stop()));
    },
  };
}
