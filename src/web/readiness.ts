import type { Redis } from 'ioredis';
import { sql } from 'kysely';
import type { Database } from '../db/connection.js';

/**
 * One thing the process needs before it can do its work (Redis, the Discord gateway, later the
 * database). `check` resolves when ready and throws, saying why, when not. Each part of Atelier
 * contributes its own checks; /readyz runs them all.
 */
export interface ReadinessCheck {
  name: string;
  check(): Promise<void> | void;
}

export class NotReadyError extends Error {
  override name = 'NotReadyError';
}

/** How long one check may take before it counts as failed (a load balancer should not hang). */
export const CHECK_TIMEOUT_MS = 2_000;

/**
 * Redis answers PING. The connection state is looked at first: with `maxRetriesPerRequest: null`
 * (what BullMQ needs) a command sent while Redis is down waits for the reconnect instead of failing.
 */
export function redisReadiness(redis: Redis, name = 'redis'): ReadinessCheck {
  return {
    name,
    async check() {
      if (redis.status !== 'ready') throw new NotReadyError(`connection is ${redis.status}`);
      await redis.ping();
    },
  };
}

/** The database answers a query (a pool whose server went away fails here, and reconnects on its own). */
export function databaseReadiness(db: Database, name = 'postgres'): ReadinessCheck {
  return {
    name,
    async check() {
      await sql`select 1`.execute(db);
    },
  };
}

export interface CheckResult {
  name: string;
  ok: boolean;
  error?: string;
}

/**
 * Why a check failed, as /readyz (on the public port) says it: Atelier's own words, or the
 * server's (PostgreSQL's, say); a connection error gives its code, not the address it tried.
 */
function publicReason(error: unknown): string {
  if (error instanceof NotReadyError) return error.message;
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && /^E[A-Z]+$/.test(code)) return `unreachable (${code})`;
  return error instanceof Error ? error.message : String(error);
}

/** Runs every check at once, each with a time limit. */
export async function runReadinessChecks(checks: readonly ReadinessCheck[], timeoutMs = CHECK_TIMEOUT_MS): Promise<CheckResult[]> {
  return Promise.all(
    checks.map(async ({ name, check }) => {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new NotReadyError(`no answer within ${timeoutMs} ms`)), timeoutMs);
      });
      try {
        await Promise.race([Promise.resolve().then(check), timeout]);
        return { name, ok: true };
      } catch (error) {
        return { name, ok: false, error: publicReason(error) };
      } finally {
        clearTimeout(timer);
      }
    }),
  );
}
