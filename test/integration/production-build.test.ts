import { execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { freePort, startPrivateRedis, type PrivateRedis } from '../../src/redis-server.js';
import { eventually } from '../support/context.js';

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
const run = promisify(execFile);
const children: Array<ReturnType<typeof spawn>> = [];
let redis: PrivateRedis | undefined;
afterEach(async () => {
  for (const child of children.splice(0)) child.kill('SIGKILL');
  await redis?.stop();
  redis = undefined;
});

describe('the production build', () => {
  it(
    'npm run build compiles to dist/, and the compiled worker runs on plain node and passes the container health check',
    { timeout: 180_000 },
    async () => {
      await run('npm', ['run', 'build'], { cwd: repoRoot });
      for (const entry of ['main', 'bot/main', 'worker/main', 'bot/deploy', 'healthcheck'])
        expect(existsSync(`${repoRoot}dist/src/${entry}.js`), entry).toBe(true);

      // Its own Redis: a worker in production's namespace must not meet other tests' queues.
      redis = await startPrivateRedis({ ephemeral: true });
      const port = await freePort();
      const env = {
        PATH: process.env.PATH ?? '',
        HOME: process.env.HOME ?? '',
        ENV_FILE: '',
        REDIS_URL: redis.url,
        METRICS_PORT: String(port),
        LOG_LEVEL: 'warn',
      };
      // Plain `node` on the compiled files: no tsx, no TypeScript, as in the production image.
      const worker = spawn(process.execPath, ['dist/src/worker/main.js'], { cwd: repoRoot, env, stdio: ['ignore', 'pipe', 'pipe'] });
      children.push(worker);
      let output = '';
      worker.stdout.on('data', (chunk: Buffer) => (output += chunk));
      worker.stderr.on('data', (chunk: Buffer) => (output += chunk));

      await eventually(
        async () => (await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => undefined))?.ok,
        60_000,
        `the compiled worker to be ready:\n${output}`,
      );
      const check = await run(process.execPath, ['dist/src/healthcheck.js', 'worker'], { cwd: repoRoot, env });
      expect(check.stderr).toBe('');

      worker.kill('SIGTERM');
      const [code] = await once(worker, 'exit');
      expect(code, output).toBe(0);
      // The health check fails once nothing answers.
      await expect(run(process.execPath, ['dist/src/healthcheck.js', 'worker'], { cwd: repoRoot, env })).rejects.toMatchObject({ code: 1 });
    },
  );
});
