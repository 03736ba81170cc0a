import pg from 'pg';
import { Installation, round, sendAsFastAsAcknowledged, sleep, type BenchOptions, type ScenarioResult } from './lib.js';

const TARGET_RATIO = 0.95;
const IMAGE_MS = 200;

/**
 * A provider that takes 200 ms per image and serves `c` at once, the queue full before it starts:
 * images per second between the first job starting and the last one finishing, against the ideal
 * c / 0.2 s. The worker runs one job more than the GPU serves (as README advises for
 * WORKER_CONCURRENCY), so the next job is already waiting at the GPU while a finished one is
 * being stored and handed to delivery.
 */
export async function gpuScenario({ quick, redisUrl }: BenchOptions): Promise<ScenarioResult> {
  const capacity = 4;
  const jobs = capacity * (quick ? 15 : 50);
  const workerConcurrency = capacity + 1;
  const installation = await Installation.start({ redisUrl, workerConcurrency, providerDelayMs: IMAGE_MS, providerCapacity: capacity });
  // Delivered requests leave Redis: when each was drawn is read from the archive.
  const archive = new pg.Client({ connectionString: installation.database!.url });
  await archive.connect();
  try {
    const sent = Installation.accepted(await sendAsFastAsAcknowledged(jobs, 16, (i) => installation.imagine(i)));
    installation.startWorker();
    await installation.discord.waitFor(() => sent.every((interaction) => installation.result(interaction.id)), 300_000, 'every result');
    const ids = sent.map((interaction) => interaction.id);
    // Archived once the result is posted; the last few may still be on their way.
    const deadline = Date.now() + 30_000;
    let drawn: { drawn: string; started: Date; finished: Date };
    for (;;) {
      const { rows } = await archive.query<{ drawn: string; started: Date; finished: Date }>(
        'SELECT count(started_at) AS drawn, min(started_at) AS started, max(finished_at) AS finished FROM requests WHERE id = ANY($1)',
        [ids],
      );
      drawn = rows[0]!;
      if (Number(drawn.drawn) === ids.length) break;
      if (Date.now() > deadline) throw new Error(`only ${drawn.drawn} of ${ids.length} requests were archived`);
      await sleep(50);
    }
    const rate = sent.length / ((drawn.finished.getTime() - drawn.started.getTime()) / 1000);
    const ideal = capacity / (IMAGE_MS / 1000);
    return {
      name: 'gpu-busy',
      parameters: { c: capacity, jobs, image_ms: IMAGE_MS, worker_concurrency: workerConcurrency },
      unit: 'images/s',
      median: round(rate, 2),
      p99: null,
      baseline: ideal,
      ratio: round(rate / ideal, 3),
      target: `≥ ${TARGET_RATIO * 100} % of c / 0.2 s`,
      pass: rate / ideal >= TARGET_RATIO,
      extra: { refused: jobs - sent.length },
    };
  } finally {
    await archive.end();
    await installation.close();
  }
}
