import { composeGrid } from '../src/images/grid.js';
import { createLocalProvider } from '../src/worker/providers/local.js';
import { median, percentile, round, type BenchOptions, type ScenarioResult } from './lib.js';

/** The offline renderer drawing one 1024×1024 picture, and a 2×2 grid of four of them. */
export async function imagesScenario({ quick }: BenchOptions): Promise<ScenarioResult> {
  const runs = quick ? 5 : 20;
  const provider = createLocalProvider();
  const render = (seed: number) =>
    provider.generate({
      kind: 'txt2img',
      prompt: 'a lighthouse in fog, deep ocean teal',
      width: 1024,
      height: 1024,
      seed,
      count: 1,
      model: 'painterly',
      signal: new AbortController().signal,
      onProgress: () => undefined,
    });
  await render(0); // warm-up: sharp and the SVG rasteriser initialise on first use
  const renderTimes: number[] = [];
  const four: Buffer[] = [];
  for (let i = 1; i <= runs; i += 1) {
    const start = performance.now();
    const [image] = await render(i);
    renderTimes.push(performance.now() - start);
    if (four.length < 4) four.push(image!.data);
  }
  while (four.length < 4) four.push(four[0]!);
  await composeGrid(four, { labels: true });
  const gridTimes: number[] = [];
  for (let i = 0; i < runs; i += 1) {
    const start = performance.now();
    await composeGrid(four, { labels: true });
    gridTimes.push(performance.now() - start);
  }
  return {
    name: 'images',
    parameters: { runs, render: '1024×1024 painterly', grid: '2×2 of 1024×1024, labelled' },
    unit: 'ms',
    median: round(median(renderTimes)),
    p99: round(percentile(renderTimes, 99)),
    baseline: null,
    ratio: null,
    target: null,
    pass: null,
    extra: { grid_median_ms: round(median(gridTimes)), grid_p99_ms: round(percentile(gridTimes, 99)) },
  };
}
