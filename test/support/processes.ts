import { spawn, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { FakeDiscord } from './fake-discord.js';

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
const tsxLoader = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
/** What a child keeps of its output, for the failure message of a test that went wrong. */
const OUTPUT_LIMIT = 64 * 1024;

/** An Atelier process (bot or worker) started as a real child process, as in production. */
export interface AtelierProcess {
  readonly name: string;
  readonly child: ChildProcess;
  /** Resolves with the exit code (or the signal's name) once the process is gone. */
  readonly exited: Promise<number | string>;
  readonly running: boolean;
  /** The last 64 KiB of stdout and stderr. */
  output(): string;
  /** Sends the signal and waits for the process to end. */
  kill(signal?: NodeJS.Signals): Promise<void>;
}

/**
 * Starts `node --import tsx <entry>` with only the given environment (plus PATH and HOME), so
 * that nothing of the developer's own configuration leaks in (nor their `.env`: ENV_FILE is empty).
 * The HTTP servers are off unless a test asks for one: several processes of one test would
 * otherwise want the same default port.
 */
export function spawnAtelier(name: string, entry: string, env: Record<string, string | undefined>, cwd = repoRoot): AtelierProcess {
  // tsx by its path, so that a child may run in another working directory.
  const child = spawn(process.execPath, ['--import', tsxLoader, join(repoRoot, entry)], {
    cwd,
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '',
      NODE_ENV: 'production',
      ENV_FILE: '',
      WEB_PORT: '0',
      METRICS_PORT: '0',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString('utf8')).slice(-OUTPUT_LIMIT);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exited = new Promise<number | string>((resolve) => {
    child.once('exit', (code, signal) => resolve(code ?? signal ?? 'unknown'));
    child.once('error', (error) => {
      keep(Buffer.from(String(error)));
      resolve('spawn-error');
    });
  });
  let done = false;
  void exited.then(() => (done = true));
  return {
    name,
    child,
    exited,
    get running() {
      return !done;
    },
    output: () => output,
    async kill(signal: NodeJS.Signals = 'SIGKILL') {
      if (done) return;
      child.kill(signal);
      await exited;
    },
  };
}

/** The environment that points a bot process at a fake Discord. */
export function fakeDiscordEnv(discord: FakeDiscord): Record<string, string> {
  return {
    DISCORD_TOKEN: discord.token,
    DISCORD_APPLICATION_ID: discord.applicationId,
    DISCORD_API_URL: discord.apiUrl,
    DISCORD_AUTHORIZE_URL: `${discord.apiUrl}/oauth2/authorize`,
    DISCORD_CDN_URL: discord.cdnUrl,
  };
}

/**
 * Resolves once a bot started at `since` has logged in and checked its commands, which it does
 * right before it starts delivering results: from then on it handles everything.
 */
export async function waitForBotReady(discord: FakeDiscord, bot: AtelierProcess, since: number, timeoutMs = 60_000): Promise<void> {
  const commandsPath = new RegExp(`^/applications/${discord.applicationId}/commands$`);
  const ready = discord.waitFor(
    () => discord.commands().length > 0 && discord.requests.some((r) => r.at >= since && commandsPath.test(r.path)),
    timeoutMs,
    `${bot.name} to log in and check its commands`,
  );
  const died = bot.exited.then((code) => {
    throw new Error(`${bot.name} exited (${code}) before it was ready:\n${bot.output()}`);
  });
  await Promise.race([ready, died]);
}

/** Every process a test started, so that afterEach can end them all whatever happened. */
export class ProcessGroup {
  private readonly processes: AtelierProcess[] = [];

  add(process: AtelierProcess): AtelierProcess {
    this.processes.push(process);
    return process;
  }

  /** Output of every process, for a failing test's message. */
  describe(): string {
    return this.processes.map((p) => `--- ${p.name} (${p.running ? 'running' : 'exited'})\n${p.output()}`).join('\n');
  }

  async killAll(): Promise<void> {
    await Promise.all(this.processes.splice(0).map((p) => p.kill('SIGKILL')));
  }
}
