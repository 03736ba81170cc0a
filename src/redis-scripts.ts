import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';

const shas = new Map<string, string>();

/**
 * Runs a Lua script by its SHA1 (EVALSHA), sending the script's text only when Redis does not
 * know it yet (after a restart or a SCRIPT FLUSH). The hot path runs several scripts per job, and
 * some are kilobytes long: sending each one's text every time cost both processes and Redis CPU.
 */
export async function runScript(redis: Redis, script: string, numKeys: number, ...args: Array<string | number | Buffer>): Promise<unknown> {
  let sha = shas.get(script);
  if (sha === undefined) {
    sha = createHash('sha1').update(script).digest('hex');
    shas.set(script, sha);
  }
  try {
    return await redis.evalsha(sha, numKeys, ...args);
  } catch (error) {
    if (!(error instanceof Error) || !error.message.startsWith('NOSCRIPT')) throw error;
    return redis.eval(script, numKeys, ...args);
  }
}
