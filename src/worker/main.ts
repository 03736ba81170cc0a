import { createMetrics } from '../metrics.js';
import { loadConfigOrExit, onShutdown, orExit, resolveRedis, serveWeb, workerOptionsFrom } from '../runtime.js';
import { createProvider } from './providers/index.js';
import { startWorker } from './worker.js';

/** `npm run worker`: one GPU worker process. Run as many as you like against one Redis. */
const { config, logger } = await loadConfigOrExit();
// The provider's own checks (its models exist) first: a mistake there is named at once, whatever
// Redis is doing (the Redis key prefix may need Redis to answer before it is known).
const provider = createProvider(config);
await orExit(async () => provider.start?.());
const redis = await orExit(() => resolveRedis(config, logger, { embedded: false }));
const metrics = createMetrics();
const worker = await orExit(() => startWorker({ ...workerOptionsFrom(config, redis, logger, metrics, provider), providerStarted: true }));
const web = await orExit(() => serveWeb({ logger, metrics, readiness: worker.readiness }, config.METRICS_PORT, 'METRICS_PORT'));
onShutdown(logger, async () => {
  await web.close();
  await worker.close();
});
