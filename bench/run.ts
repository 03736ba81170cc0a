import { existsSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { parseArgs } from 'node:util';
import { startPrivateRedis } from '../src/redis-server.js';
import { acknowledgeScenario } from './acknowledge.js';
import { galleryScenario } from './gallery.js';
import { gpuScenario } from './gpu.js';
import { imagesScenario } from './images.js';
import { skipped, type BenchOptions, type Scenario, type ScenarioResult } from './lib.js';
import { memoryScenario } from './memory.js';
import { sharedLimitScenario } from './shared-limit.js';
import { overheadScenario } from './overhead.js';
import { rankingsScenario } from './rankings.js';
import { sessionsScenario } from './sessions.js';
import { redisPerJobScenario } from './redis-per-job.js';
import { throughputScenario } from './throughput.js';
import { votesScenario } from './votes.js';

/**
 * `npm run bench [-- --quick] [-- --only <name>] [-- --check]`: every scenario against a private
 * redis-server, the real bot process on a local fake Discord, and real worker processes. One JSON
 * line per scenario on stdout, then a table. With --check, a missed target exits with 1.
 */

/** The fair-queue scenario lives in its own file, written alongside the fair queue. */
const fairnessScenario: Scenario = async ({ redisUrl }) => {
  const file = new URL('./fairness.ts', import.meta.url);
  if (!existsSync(file)) return skipped('fairness', 'bench/fairness.ts is not there yet');
  const specifier = './fairness.js';
  const module = (await import(specifier)) as { fairnessScenario?: (options: { redisUrl: string; prefix: string }) => Promise<unknown> };
  if (typeof module.fairnessScenario !== 'function') return skipped('fairness', 'bench/fairness.ts exports no fairnessScenario');
  const outcome = await module.fairnessScenario({ redisUrl, prefix: `bench-fairness-${Date.now()}` });
  if (outcome && typeof outcome === 'object' && 'name' in outcome) return outcome as ScenarioResult;
  return {
    name: 'fairness',
    parameters: {},
    unit: 'job slots',
    median: null,
    p99: null,
    baseline: null,
    ratio: null,
    target: null,
    pass: null,
    extra: { outcome },
  };
};

const scenarios: Record<string, Scenario> = {
  acknowledge: acknowledgeScenario,
  overhead: overheadScenario,
  throughput: throughputScenario,
  'gpu-busy': gpuScenario,
  votes: votesScenario,
  rankings: rankingsScenario,
  fairness: fairnessScenario,
  memory: memoryScenario,
  'redis-per-job': redisPerJobScenario,
  'shared-rate-limit': sharedLimitScenario,
  images: imagesScenario,
  gallery: galleryScenario,
  sessions: sessionsScenario,
};

const { values } = parseArgs({
  options: { quick: { type: 'boolean', default: false }, only: { type: 'string', multiple: true }, check: { type: 'boolean', default: false } },
});
const names = values.only?.length ? values.only : Object.keys(scenarios);
const unknown = names.filter((name) => !scenarios[name]);
if (unknown.length > 0) {
  console.error(`bench: no scenario called ${unknown.join(', ')}; there are ${Object.keys(scenarios).join(', ')}`);
  process.exit(64);
}

const redis = await startPrivateRedis({ ephemeral: true });
const machine = `${cpus().length} × ${cpus()[0]?.model.trim() ?? 'cpu'}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}`;
console.error(`bench: ${values.quick ? 'quick' : 'full'} run on ${machine}`);
const results: ScenarioResult[] = [];
try {
  for (const name of names) {
    const options: BenchOptions = { quick: values.quick ?? false, redisUrl: redis.url, redisPid: redis.process.pid };
    const started = Date.now();
    let result: ScenarioResult;
    try {
      result = await scenarios[name]!(options);
    } catch (error) {
      result = { ...skipped(name, `failed: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}`), pass: false };
      console.error(error);
    }
    results.push(result);
    console.log(JSON.stringify({ ...result, seconds: Math.round((Date.now() - started) / 100) / 10 }));
  }
} finally {
  await redis.stop();
}

const show = (value: unknown) => (value === null || value === undefined ? '—' : String(value));
const rows = results.map((r) => [
  r.name,
  r.skipped ? `skipped: ${r.skipped}` : `${show(r.median)} ${r.unit}`,
  show(r.p99),
  show(r.baseline),
  show(r.ratio),
  show(r.target),
  r.pass === null ? '—' : r.pass ? 'yes' : 'NO',
]);
const header = ['scenario', 'median (or value)', 'p99', 'baseline', 'ratio', 'target', 'pass'];
const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
const line = (cells: string[]) => cells.map((cell, i) => cell.padEnd(widths[i]!)).join('  ');
console.log(`\n${machine}\n${line(header)}\n${widths.map((w) => '-'.repeat(w)).join('  ')}\n${rows.map(line).join('\n')}`);

const missed = results.filter((r) => r.pass === false);
if (values.check && missed.length > 0) {
  console.error(`bench: target missed by ${missed.map((r) => r.name).join(', ')}`);
  process.exit(1);
}
