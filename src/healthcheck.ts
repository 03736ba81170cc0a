import { parseConfig } from './config.js';
import { loadEnvFile } from './env-file.js';

/**
 * Container health check: `node dist/src/healthcheck.js bot|worker` asks the process's own
 * /healthz (WEB_PORT for the bot and `npm start`, METRICS_PORT for a worker) and exits 0 or 1.
 * Written in Node because the slim image has neither curl nor wget.
 */
const role = process.argv[2] === 'worker' ? 'worker' : 'bot';
loadEnvFile();
const config = parseConfig();
const [variable, port] = role === 'worker' ? ['METRICS_PORT', config.METRICS_PORT] : ['WEB_PORT', config.WEB_PORT];
if (port === 0) {
  console.error(`healthcheck: ${variable}=0 turns the health server off, so there is nothing to ask`);
  process.exit(1);
}
const response = await fetch(`http://127.0.0.1:${port}/healthz`, { signal: AbortSignal.timeout(4_000) }).catch((error: unknown) => {
  console.error(`healthcheck: ${error instanceof Error ? error.message : String(error)}`);
  return undefined;
});
if (response && !response.ok) console.error(`healthcheck: /healthz answered ${response.status}`);
process.exit(response?.ok ? 0 : 1);
