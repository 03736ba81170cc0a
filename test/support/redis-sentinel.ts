import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import type { RedisNode } from '../../src/redis-connections.js';
import { freePort, startPrivateRedis, type PrivateRedis } from '../../src/redis-server.js';
import { pollUntil } from './redis-cluster.js';

export const SENTINEL_MASTER_NAME = 'atelier-test';

export interface TestSentinelSet {
  /** REDIS_SENTINELS of this set. */
  sentinels: RedisNode[];
  name: string;
  primary: PrivateRedis;
  replica: PrivateRedis;
  /** The primary's port as the sentinels see it now. */
  primaryPort(): Promise<number>;
  /** Resolves once the sentinels promoted another server than `formerPort`, with the new primary's port. */
  failedOver(formerPort: number, timeoutMs: number): Promise<number>;
  stop(): Promise<void>;
}

interface SentinelProcess {
  port: number;
  process: ChildProcess;
  dir: string;
}

/**
 * A sentinel on a free port watching the primary, with short timeouts so a failover takes seconds:
 * the primary counts as down after 1 s without an answer. Resolves once it monitors the primary.
 */
async function startSentinel(primaryPort: number, attempt = 0): Promise<SentinelProcess> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'atelier-sentinel-'));
  const config = join(dir, 'sentinel.conf');
  writeFileSync(
    config,
    [
      `port ${port}`,
      'bind 127.0.0.1',
      `dir ${dir}`,
      `sentinel monitor ${SENTINEL_MASTER_NAME} 127.0.0.1 ${primaryPort} 2`,
      `sentinel down-after-milliseconds ${SENTINEL_MASTER_NAME} 1000`,
      `sentinel failover-timeout ${SENTINEL_MASTER_NAME} 4000`,
      `sentinel parallel-syncs ${SENTINEL_MASTER_NAME} 1`,
      '',
    ].join('\n'),
  );
  const child = spawn('redis-server', [config, '--sentinel'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let timer: NodeJS.Timeout | undefined;
  try {
    await new Promise<void>((resolve, fail) => {
      let seen = '';
      child.stdout?.on('data', (chunk: Buffer) => {
        seen = (seen + chunk.toString('utf8')).slice(-4096);
        if (/\+monitor master/.test(seen)) resolve();
      });
      child.once('exit', (code) => fail(new Error(`sentinel exited with code ${code}: ${seen}`)));
      child.once('error', fail);
      timer = setTimeout(() => fail(new Error('sentinel did not start within 10 s')), 10_000);
    });
  } catch (error) {
    child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
    // The free port may have been taken before the bind: another one.
    if (attempt < 3) return startSentinel(primaryPort, attempt + 1);
    throw error;
  } finally {
    clearTimeout(timer);
  }
  return { port, process: child, dir };
}

async function stopSentinel(sentinel: SentinelProcess): Promise<void> {
  if (sentinel.process.exitCode === null && sentinel.process.signalCode === null) {
    const gone = new Promise((resolve) => sentinel.process.once('exit', resolve));
    sentinel.process.kill('SIGTERM');
    await gone;
  }
  rmSync(sentinel.dir, { recursive: true, force: true });
}

/**
 * A primary, its replica and three sentinels (quorum 2), all private processes on free ports.
 * Resolves once the replica is in sync and every sentinel knows the replica and the two other
 * sentinels: from then on a dead primary is replaced within a few seconds.
 */
export async function startSentinelSet(): Promise<TestSentinelSet> {
  const primary = await startPrivateRedis({ ephemeral: true });
  const replica = await startPrivateRedis({ ephemeral: true, extraArgs: ['--replicaof', '127.0.0.1', String(primary.port)] });
  const sentinels: SentinelProcess[] = [];
  const clients: Redis[] = [];
  const stop = async () => {
    for (const client of clients) client.disconnect();
    await Promise.all(sentinels.map(stopSentinel));
    await Promise.all([primary.stop(), replica.stop()]);
  };
  try {
    const replicaClient = new Redis(replica.port, '127.0.0.1', { maxRetriesPerRequest: 1 });
    clients.push(replicaClient);
    await pollUntil(async () => /master_link_status:up/.test(await replicaClient.info('replication')), 20_000, 'the replica to sync');
    for (let i = 0; i < 3; i++) sentinels.push(await startSentinel(primary.port));
    for (const sentinel of sentinels) {
      const client = new Redis(sentinel.port, '127.0.0.1', { maxRetriesPerRequest: 1 });
      clients.push(client);
      await pollUntil(
        async () => {
          const [others, replicas] = (await Promise.all([
            client.call('SENTINEL', 'SENTINELS', SENTINEL_MASTER_NAME),
            client.call('SENTINEL', 'REPLICAS', SENTINEL_MASTER_NAME),
          ])) as [unknown[], unknown[]];
          return others.length === 2 && replicas.length === 1;
        },
        30_000,
        `sentinel ${sentinel.port} to know the replica and the other sentinels`,
      );
    }
  } catch (error) {
    await stop();
    throw error;
  }
  const asker = clients[1]!;
  const primaryPort = async () => {
    const [, port] = (await asker.call('SENTINEL', 'GET-MASTER-ADDR-BY-NAME', SENTINEL_MASTER_NAME)) as [string, string];
    return Number(port);
  };
  return {
    sentinels: sentinels.map((sentinel) => ({ host: '127.0.0.1', port: sentinel.port })),
    name: SENTINEL_MASTER_NAME,
    primary,
    replica,
    primaryPort,
    async failedOver(formerPort, timeoutMs) {
      let now = formerPort;
      await pollUntil(
        async () => {
          now = await primaryPort();
          return now !== formerPort;
        },
        timeoutMs,
        'the sentinels to promote the replica',
      );
      return now;
    },
    stop,
  };
}
