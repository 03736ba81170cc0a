import { existsSync } from 'node:fs';
import { ConfigError } from './config.js';

/**
 * Reads `.env` from the working directory (or the file ENV_FILE names; ENV_FILE set but empty reads
 * none) into the environment. Variables already in the environment win over the file. Missing is fine.
 */
export function loadEnvFile(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const path = env.ENV_FILE ?? '.env';
  if (path === '' || !existsSync(path)) return undefined;
  try {
    process.loadEnvFile(path);
  } catch (error) {
    throw new ConfigError(`ENV_FILE: cannot read ${path}: ${error instanceof Error ? error.message : String(error)}`);
  }
  return path;
}
