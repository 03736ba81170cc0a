import { loadConfigOrExit, onShutdown, orExit, resolveRedis, workerOptionsFrom } from '../runtime.js';
import { startWorker } from './worker.js';

/** `npm run worker`: one GPU worker process. Run as many as you like against one Redis. */
const { config, logger } = await loadConfigOrExit();
const redis = await orExit(() => resolveRedis(config, logger, { embedded: false }));
const worker = await orExit(() => startWorker(workerOptionsFrom(config, redis.url, logger)));
onShutdown(logger, () => worker.close());
