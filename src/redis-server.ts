import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export interface PrivateRedis {
  url: string;
  port: number;
  process: ChildProcess;
  stop(): Promise<void>;
}

export class RedisServerMissingError extends Error {
  override name = 'RedisServerMissingError';
  constructor() {
    super(
      'No Redis answers on 127.0.0.1:6379 and there is no redis-server on the PATH. Install one ' +
        '(Debian/Ubuntu: sudo apt-get install redis-server; macOS: brew install redis) or run ' +
        '`docker compose up -d redis`, or set REDIS_URL.',
    );
  }
}

/** True when something accepts TCP connections on host:port within the timeout. */
export function isListening(port: number, host = '127.0.0.1', timeoutMs = 500): Promise<boolean> {
  return new Promise((done) => {
    const socket = new Socket();
    const finish = (ok: boolean) => {
      socket.destroy();
      done(ok);
    };
    socket.setTimeout(timeoutMs, () => finish(false));
    socket.once('error', () => finish(false));
    socket.connect(port, host, () => finish(true));
  });
}

export function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const server = createServer();
    server.once('error', fail);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => done(port));
    });
  });
}

export interface StartOptions {
  /** Temporary data folder, removed on stop (tests). Otherwise `dataDir` is kept. */
  ephemeral?: boolean;
  dataDir?: string;
  port?: number;
  /** Append-only file on: a restart keeps every job. */
  appendOnly?: boolean;
  /** More redis-server arguments (a replica's `--replicaof`, a cluster node's settings). */
  extraArgs?: string[];
}

/** Starts `redis-server` from the PATH as a child process and resolves once it accepts connections. */
export async function startPrivateRedis(options: StartOptions = {}, attempt = 0): Promise<PrivateRedis> {
  const port = options.port ?? (await freePort());
  const dir = options.ephemeral ? mkdtempSync(join(tmpdir(), 'atelier-redis-')) : resolve(options.dataDir ?? 'data/redis');
  mkdirSync(dir, { recursive: true });
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--protected-mode', 'yes'];
  args.push('--appendonly', options.appendOnly === false || (options.ephemeral && options.appendOnly !== true) ? 'no' : 'yes');
  args.push(...(options.extraArgs ?? []));
  const child = spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const spawnError = new Promise<never>((_, fail) =>
    child.once('error', (error: NodeJS.ErrnoException) => fail(error.code === 'ENOENT' ? new RedisServerMissingError() : error)),
  );
  const exited = new Promise<never>((_, fail) =>
    child.once('exit', (code) => fail(new Error(`redis-server exited with code ${code} before accepting connections`))),
  );
  // Ready when this redis-server says so, not when something answers on the port: between
  // freePort() and the bind another process may take the port, and a client would then talk to it.
  let timer: NodeJS.Timeout | undefined;
  const ready = new Promise<void>((resolve, fail) => {
    let seen = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      seen = (seen + chunk.toString('utf8')).slice(-4096);
      if (/ready to accept connections/i.test(seen)) resolve();
    });
    timer = setTimeout(() => fail(new Error('redis-server did not start listening within 10 s')), 10_000);
  }).finally(() => clearTimeout(timer));
  ready.catch(() => undefined);
  try {
    await Promise.race([ready, spawnError, exited]);
  } catch (error) {
    clearTimeout(timer);
    child.kill('SIGKILL');
    if (options.ephemeral) rmSync(dir, { recursive: true, force: true });
    // A port chosen here and taken by someone else before the bind: try another one.
    if (options.port === undefined && attempt < 3 && !(error instanceof RedisServerMissingError)) return startPrivateRedis(options, attempt + 1);
    throw error;
  }
  exited.catch(() => undefined);
  // Whatever ends this process (a crash included), the private Redis goes with it: a second one
  // on the same append-only file at the next start would be worse than a restart.
  const killOnExit = () => child.kill('SIGTERM');
  process.once('exit', killOnExit);
  child.once('exit', () => process.off('exit', killOnExit));
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    process: child,
    async stop() {
      // A process killed by a signal has no exit code, only the signal.
      if (child.exitCode === null && child.signalCode === null) {
        const gone = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        await gone;
      }
      if (options.ephemeral) rmSync(dir, { recursive: true, force: true });
    },
  };
}
