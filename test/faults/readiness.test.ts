import { afterEach, describe, expect, it } from 'vitest';
import { freePort } from '../../src/redis-server.js';
import { eventually } from '../support/context.js';
import { FAULT_TIMEOUT_MS, FaultHarness, WAIT_MS } from './harness.js';

let harness: FaultHarness | undefined;

afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

interface Probe {
  status: number;
  body: { status: string; checks: Record<string, string> };
}

async function probe(port: number, path: string): Promise<Probe | undefined> {
  try {
    const response = await fetch(`http://127.0.0.1:${port}${path}`);
    return { status: response.status, body: (await response.json()) as Probe['body'] };
  } catch {
    return undefined; // not listening yet
  }
}

async function scrape(port: number): Promise<{ status: number; text: string }> {
  const response = await fetch(`http://127.0.0.1:${port}/metrics`, { signal: AbortSignal.timeout(WAIT_MS) });
  return { status: response.status, text: await response.text() };
}

/** Polls until the endpoint answers with `status`, and returns that answer. */
function answers(h: FaultHarness, port: number, path: string, status: number): Promise<Probe> {
  return h.expectation(
    eventually(
      async () => {
        const answer = await probe(port, path);
        return answer?.status === status && answer;
      },
      WAIT_MS,
      `${path} on port ${port} to answer ${status}`,
    ),
  );
}

describe('health and readiness of the production processes', () => {
  it(
    'bot (WEB_PORT) and worker (METRICS_PORT) turn not ready while Redis is down, and ready again after',
    { timeout: FAULT_TIMEOUT_MS },
    async () => {
      const h = (harness = await FaultHarness.start());
      const webPort = await freePort();
      const metricsPort = await freePort();
      await h.startBot({ WEB_PORT: String(webPort) });
      h.startWorker({ METRICS_PORT: String(metricsPort) });

      expect((await answers(h, webPort, '/readyz', 200)).body).toEqual({ status: 'ready', checks: { redis: 'ok', postgres: 'ok', discord: 'ok' } });
      expect((await answers(h, metricsPort, '/readyz', 200)).body).toEqual({ status: 'ready', checks: { redis: 'ok' } });

      await h.stopRedis();
      for (const port of [webPort, metricsPort]) {
        const down = await answers(h, port, '/readyz', 503);
        expect(down.body.status).toBe('not ready');
        expect(down.body.checks.redis).not.toBe('ok');
        // Still alive: an orchestrator should wait, not restart the process.
        expect((await probe(port, '/healthz'))?.status).toBe(200);
      }
      expect((await probe(webPort, '/readyz'))?.body.checks.discord).toBe('ok');
      // Metrics still answer at once, without the queues' counts (which need Redis).
      for (const port of [webPort, metricsPort]) {
        const metrics = await scrape(port);
        expect(metrics.status).toBe(200);
        expect(metrics.text).toContain('process_cpu_user_seconds_total');
        expect(metrics.text).not.toMatch(/^atelier_queue_jobs\{/m);
      }

      await h.startRedisAgain();
      await answers(h, webPort, '/readyz', 200);
      await answers(h, metricsPort, '/readyz', 200);
      for (const port of [webPort, metricsPort])
        expect((await scrape(port)).text).toMatch(/^atelier_queue_jobs\{queue="generate",state="waiting"\} \d+/m);
    },
  );
});
