import type { Queue } from 'bullmq';
import type { REST } from 'discord.js';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

/** Queue states reported per queue at scrape time. */
const QUEUE_STATES = ['waiting', 'active', 'delayed', 'failed'] as const;
/** How long a scrape waits for one queue's counts. */
const QUEUE_COUNTS_MS = 1_000;

function withinTime<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms)));
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

/**
 * Atelier's Prometheus metrics, one set per process (bot, worker, or both under `npm start`).
 * Labels are deliberately few and bounded (provider, kind, status, outcome, queue): never a server,
 * channel or member id, which would make one series per community.
 */
export interface Metrics {
  registry: Registry;
  /** Generations that finished with images (worker side). */
  jobsCompleted: Counter<'provider' | 'kind'>;
  /** Generations BullMQ gave up on: refused, out of attempts, or stalled too often. */
  jobsFailed: Counter<'provider' | 'kind'>;
  /** Time a provider took for one successful generation attempt. */
  generationSeconds: Histogram<'provider' | 'kind'>;
  /** From the member's interaction to the result posted on Discord. */
  deliverySeconds: Histogram<'kind'>;
  discordResponses: Counter<'status'>;
  discordRateLimits: Counter<'scope'>;
  votes: Counter<'outcome'>;
  /** Queues whose job counts are read at every scrape (each once, however often added). */
  watchQueues(queues: readonly Queue[]): void;
}

export function createMetrics(): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const watched = new Map<string, Queue>();

  new Gauge({
    name: 'atelier_queue_jobs',
    help: 'Jobs per BullMQ queue and state, read when scraped',
    labelNames: ['queue', 'state'] as const,
    registers: [registry],
    async collect() {
      this.reset();
      // Read at once, each with a time limit: while Redis is away a scrape still answers with every
      // other metric (the queues' gauges are then left out), instead of failing or hanging.
      await Promise.all(
        [...watched].map(async ([name, queue]) => {
          const counts = await withinTime(queue.getJobCounts(...QUEUE_STATES), QUEUE_COUNTS_MS).catch(() => undefined);
          if (!counts) return;
          for (const state of QUEUE_STATES) this.set({ queue: name, state }, counts[state] ?? 0);
        }),
      );
    },
  });

  return {
    registry,
    jobsCompleted: new Counter({
      name: 'atelier_jobs_completed_total',
      help: 'Generations finished with images, by provider and kind',
      labelNames: ['provider', 'kind'] as const,
      registers: [registry],
    }),
    jobsFailed: new Counter({
      name: 'atelier_jobs_failed_total',
      help: 'Generations that failed for good (refused, out of attempts or stalled), by provider and kind',
      labelNames: ['provider', 'kind'] as const,
      registers: [registry],
    }),
    generationSeconds: new Histogram({
      name: 'atelier_generation_duration_seconds',
      help: 'Time one successful generation attempt took, by provider and kind',
      labelNames: ['provider', 'kind'] as const,
      buckets: [0.25, 0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300],
      registers: [registry],
    }),
    deliverySeconds: new Histogram({
      name: 'atelier_delivery_latency_seconds',
      help: 'From the interaction to the result posted on Discord, by kind',
      labelNames: ['kind'] as const,
      buckets: [1, 2, 5, 10, 20, 30, 60, 120, 300, 600, 1800],
      registers: [registry],
    }),
    discordResponses: new Counter({
      name: 'atelier_discord_rest_responses_total',
      help: 'Responses of the Discord REST API, by HTTP status',
      labelNames: ['status'] as const,
      registers: [registry],
    }),
    discordRateLimits: new Counter({
      name: 'atelier_discord_rate_limited_total',
      help: 'Requests the Discord REST client held back for a rate limit, by scope (global, shared, user)',
      labelNames: ['scope'] as const,
      registers: [registry],
    }),
    votes: new Counter({
      name: 'atelier_votes_total',
      help: 'Vote button clicks that changed a vote, by outcome (added or removed)',
      labelNames: ['outcome'] as const,
      registers: [registry],
    }),
    watchQueues(queues) {
      for (const queue of queues) if (!watched.has(queue.name)) watched.set(queue.name, queue);
    },
  };
}

/** Counts every Discord REST response by status (429s included) and every rate-limit wait by scope. */
export function observeDiscordRest(rest: REST, metrics: Metrics): void {
  rest.on('response', (_request, response) => metrics.discordResponses.inc({ status: String(response.status) }));
  rest.on('rateLimited', (info) => metrics.discordRateLimits.inc({ scope: info.scope }));
}
