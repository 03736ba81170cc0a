import type { FakeInteraction } from '../test/support/fake-discord.js';
import { Installation, percentile, round, sleep, type BenchOptions, type ScenarioResult } from './lib.js';

const TARGET_P99_MS = 50;

/**
 * Interaction dispatched by the fake Discord → the bot's first response reaching it, with
 * `/imagine` arriving at a steady 50 per second from different members.
 */
export async function acknowledgeScenario({ quick, redisUrl }: BenchOptions): Promise<ScenarioResult> {
  const rate = 50;
  const seconds = quick ? 8 : 30;
  const warmUp = 25;
  const installation = await Installation.start({ redisUrl });
  try {
    const latencies: number[] = [];
    installation.discord.on('interactionCallback', (interaction: FakeInteraction) => {
      if (interaction.callback) latencies.push(interaction.callback.at - interaction.dispatchedAt);
    });
    const total = warmUp + rate * seconds;
    const sent: FakeInteraction[] = [];
    const start = performance.now();
    for (let i = 0; i < total; i += 1) {
      // Paced against the start time, so a slow tick does not lower the rate.
      const due = start + (i * 1000) / rate;
      const wait = due - performance.now();
      if (wait > 0) await sleep(wait);
      sent.push(installation.imagine(i));
    }
    await Promise.all(sent.map((interaction) => interaction.response(30_000)));
    const measured = sent.slice(warmUp).map((i) => i.callback!.at - i.dispatchedAt);
    const p99 = percentile(measured, 99);
    return {
      name: 'acknowledge',
      parameters: { rate_per_s: rate, interactions: measured.length, warm_up: warmUp, command: '/imagine' },
      unit: 'ms',
      median: round(percentile(measured, 50)),
      p99: round(p99),
      baseline: null,
      ratio: null,
      target: `p99 ≤ ${TARGET_P99_MS} ms`,
      pass: p99 <= TARGET_P99_MS,
      extra: { max: round(Math.max(...measured)), seen_callbacks: latencies.length },
    };
  } finally {
    await installation.close();
  }
}
