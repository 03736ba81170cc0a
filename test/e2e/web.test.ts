import { once } from 'node:events';
import { ApplicationCommandOptionType, Events, InteractionResponseType } from 'discord.js';
import type { FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { createMetrics, type Metrics } from '../../src/metrics.js';
import { createWebServer } from '../../src/web/server.js';
import { eventually, quietLogger } from '../support/context.js';
import type { FakeMessage } from '../support/fake-discord.js';
import { adminQuery } from '../support/postgres.js';
import { useStack, type Stack } from '../support/stack.js';

const start = useStack();
const VOTER = '700000000000000042';

let server: FastifyInstance | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

/** The stack with one metrics registry for bot and worker, served over HTTP as `npm start` does. */
async function startServed(): Promise<{ s: Stack; metrics: Metrics; base: string }> {
  const metrics = createMetrics();
  const s = await start({ bot: { metrics }, worker: { metrics } });
  server = await createWebServer({ logger: quietLogger(), metrics, readiness: [...s.bot.readiness, ...s.workers[0]!.readiness] });
  const address = await server.listen({ port: 0, host: '127.0.0.1' });
  return { s, metrics, base: address };
}

async function get(base: string, path: string): Promise<{ status: number; type: string; text: string }> {
  const response = await fetch(`${base}${path}`);
  return { status: response.status, type: response.headers.get('content-type') ?? '', text: await response.text() };
}

/** The value of one sample line of the Prometheus text, e.g. `atelier_votes_total{outcome="added"}`. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

async function imagine(s: Stack, prompt: string): Promise<{ id: string; result: FakeMessage }> {
  const interaction = s.discord.slashCommand({
    name: 'imagine',
    options: [{ name: 'prompt', type: ApplicationCommandOptionType.String, value: prompt }],
  });
  const result = await s.discord.waitFor(() => {
    const message = s.discord.messages(s.discord.defaultChannelId).find((m) => m.interactionId === interaction.id);
    return message && message.attachments.length > 0 && message.content.startsWith('✅') ? message : undefined;
  }, 20_000);
  return { id: interaction.id, result };
}

describe('health, readiness and metrics over HTTP', () => {
  it('says alive on /healthz and ready on /readyz once Redis and the gateway are up', async () => {
    const { base } = await startServed();
    const health = await get(base, '/healthz');
    expect(health.status).toBe(200);
    expect(JSON.parse(health.text)).toEqual({ status: 'ok' });

    const ready = await get(base, '/readyz');
    expect(ready.status).toBe(200);
    expect(JSON.parse(ready.text)).toEqual({ status: 'ready', checks: { redis: 'ok', postgres: 'ok', discord: 'ok' } });
  });

  it('answers 503 naming the Discord gateway when Discord closed the connection for good', async () => {
    const { s, base } = await startServed();
    // 4004 (authentication failed, e.g. a reset token): discord.js does not reconnect.
    const closed = once(s.bot.client, Events.ShardDisconnect);
    s.discord.closeGateway(4004);
    await closed;
    const ready = await get(base, '/readyz');
    expect(ready.status).toBe(503);
    const body = JSON.parse(ready.text) as { status: string; checks: Record<string, string> };
    expect(body.status).toBe('not ready');
    expect(body.checks.redis).toBe('ok');
    expect(body.checks.discord).toMatch(/^gateway is /);
    // Alive all the same: a liveness probe must not restart a process that is reconnecting.
    expect((await get(base, '/healthz')).status).toBe(200);
  });

  it('answers 503 naming the database while it refuses connections, and ready again once it takes them', async () => {
    const { s, base } = await startServed();
    const name = s.database.name;
    // What a restarting or failed-over server looks like to the bot: its connections are cut and new ones refused.
    await adminQuery(`ALTER DATABASE ${name} ALLOW_CONNECTIONS false`);
    await adminQuery(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '${name}'`);
    const down = await get(base, '/readyz');
    expect(down.status).toBe(503);
    const body = JSON.parse(down.text) as { status: string; checks: Record<string, string> };
    expect(body.checks.postgres).toMatch(/not currently accepting connections/);
    expect(body.checks.redis).toBe('ok');
    expect((await get(base, '/healthz')).status).toBe(200);

    await adminQuery(`ALTER DATABASE ${name} ALLOW_CONNECTIONS true`);
    expect((await get(base, '/readyz')).status).toBe(200);
  });

  it('counts a delivered job, its timings, Discord responses and a vote, with no server or member label', async () => {
    const { s, base } = await startServed();
    const { id, result } = await imagine(s, 'a lighthouse in fog');
    const vote = await s.discord.button({ customId: `img:vote:${id}`, message: result, userId: VOTER }).response();
    expect(vote.type).toBe(InteractionResponseType.DeferredMessageUpdate);

    // The delivery job finishes its follow-up work (families, panels) after the result is posted.
    const metrics = await eventually(
      async () => {
        const scraped = await get(base, '/metrics');
        return sample(scraped.text, 'atelier_queue_jobs{queue="deliver",state="active"}') === 0 && scraped;
      },
      10_000,
      'the delivery job to finish',
    );
    expect(metrics.status).toBe(200);
    expect(metrics.type).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = metrics.text;
    expect(sample(text, 'atelier_jobs_completed_total{provider="local",kind="txt2img"}')).toBe(1);
    expect(sample(text, 'atelier_jobs_failed_total{provider="local",kind="txt2img"}')).toBeUndefined();
    expect(sample(text, 'atelier_generation_duration_seconds_count{provider="local",kind="txt2img"}')).toBe(1);
    expect(sample(text, 'atelier_delivery_latency_seconds_count{kind="txt2img"}')).toBe(1);
    expect(sample(text, 'atelier_votes_total{outcome="added"}')).toBe(1);
    expect(sample(text, 'atelier_discord_rest_responses_total{status="200"}')).toBeGreaterThan(0);
    // Queue sizes are read at scrape time: the job is done, nothing waits.
    for (const queue of ['generate', 'deliver', 'challenge']) {
      for (const state of ['waiting', 'active', 'delayed', 'failed']) {
        expect(sample(text, `atelier_queue_jobs{queue="${queue}",state="${state}"}`), `${queue} ${state}`).toBe(0);
      }
    }
    // Process metrics from prom-client.
    expect(text).toMatch(/^process_cpu_user_seconds_total \d/m);
    expect(text).toMatch(/^nodejs_heap_size_used_bytes \d/m);

    // Bounded cardinality: no label names a server, channel, member, message or job, and no
    // label value is a Discord id.
    const labelNames = [...text.matchAll(/[{,](\w+)="/g)].map((match) => match[1]!);
    expect(labelNames.filter((name) => /guild|server|user|member|channel|message|job|interaction/i.test(name))).toEqual([]);
    expect(text).not.toMatch(/="\d{17,20}"/);
    expect(text).not.toContain(id);
  });
});
