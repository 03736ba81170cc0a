import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ProcessGroup, spawnAtelier } from '../support/processes.js';
import { redisUrl } from '../support/redis.js';

const processes = new ProcessGroup();
const folders: string[] = [];
afterEach(async () => {
  await processes.killAll();
  for (const folder of folders.splice(0)) rmSync(folder, { recursive: true, force: true });
});

function folderWith(files: Record<string, string>): string {
  const folder = mkdtempSync(join(tmpdir(), 'atelier-runtime-'));
  folders.push(folder);
  for (const [name, text] of Object.entries(files)) writeFileSync(join(folder, name), text);
  return folder;
}

/** pino's JSON lines of a process's output. */
function logLines(output: string): Array<Record<string, unknown>> {
  return output
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

describe('the entry points read .env by themselves', () => {
  it('a worker started in a folder with a .env takes its settings from it (a bad value stops it, naming the variable)', async () => {
    const cwd = folderWith({ '.env': '# settings\nWORKER_CONCURRENCY=lots\n' });
    // Unset ENV_FILE: the default, .env in the working directory.
    const worker = processes.add(spawnAtelier('worker', 'src/worker/main.ts', { ENV_FILE: undefined }, cwd));
    expect(await worker.exited).toBe(78);
    expect(worker.output()).toContain('WORKER_CONCURRENCY');
  });

  it('the environment wins over the file, and the file fills in the rest', async () => {
    // The provider is only looked at when a job runs: nothing needs to answer on COMFYUI_URL.
    const cwd = folderWith({
      'atelier.env': `WORKER_CONCURRENCY=lots\nREDIS_URL=${redisUrl()}\nIMAGE_PROVIDER=comfyui\nCOMFYUI_URL=http://127.0.0.1:9\nLOG_LEVEL=info\n`,
    });
    const worker = processes.add(spawnAtelier('worker', 'src/worker/main.ts', { ENV_FILE: 'atelier.env', WORKER_CONCURRENCY: '3' }, cwd));
    const started = await new Promise<Record<string, unknown>>((resolve, reject) => {
      const look = () => {
        const line = logLines(worker.output()).find((entry) => entry.msg === 'worker started');
        if (line) resolve(line);
      };
      worker.child.stdout!.on('data', look);
      void worker.exited.then((code) => reject(new Error(`worker exited (${code}):\n${worker.output()}`)));
    });
    expect(started.concurrency).toBe(3);
    expect(started.provider).toBe('comfyui');
    await worker.kill('SIGTERM');
  });
});

describe('crashes', () => {
  for (const crash of ['rejection', 'exception'] as const) {
    it(`an unhandled ${crash} is logged through pino, without tokens, and the process exits non-zero`, async () => {
      const child = processes.add(spawnAtelier(crash, 'test/fixtures/crash.ts', { CRASH: crash }));
      const code = await child.exited;
      expect(code).toBe(70);
      const lines = logLines(child.output());
      expect(lines.map((line) => line.msg)).toContain('started');
      const fatal = lines.find((line) => line.level === 60);
      expect(fatal, child.output()).toBeDefined();
      expect(fatal!.msg).toBe(crash === 'rejection' ? 'unhandled promise rejection; exiting' : 'uncaught exception; exiting');
      expect((fatal!.err as { message: string }).message).toContain('/webhooks/123456789012345678/[redacted]');
      expect(child.output()).not.toContain('interaction-secret');
    });
  }
});
