import { mkdir } from 'node:fs/promises';
import { PGlite } from '@electric-sql/pglite';
import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import Cursor from 'pg-cursor';
import type { Logger } from 'pino';
import { lockDataDir } from './embedded-lock.js';
import { PGliteDialect } from './pglite-dialect.js';
import { preparingClient, StatementNames } from './prepared.js';
import type { DB } from './schema.js';

export type Database = Kysely<DB>;

/** Where the embedded database keeps its files when DATABASE_URL is unset. */
export const EMBEDDED_DATA_DIR = 'data/postgres';

export type DatabaseTarget =
  /** A PostgreSQL server (DATABASE_URL). */
  | { url: string; maxConnections?: number; logger?: Pick<Logger, 'warn'> }
  /** The embedded PostgreSQL (PGlite) with its files in this folder; `memory://` for none. */
  | { dataDir: string };

export interface OpenDatabase {
  db: Database;
  kind: 'server' | 'embedded';
  /** Ends the pool or closes the embedded database, after what is running has finished. */
  close(): Promise<void>;
}

const INT8 = 20;

/**
 * bigint (and count(*), which is bigint) reads as a number on both databases, as PGlite does by
 * default; beyond 2^53 it stays exact as a BigInt rather than silently rounding.
 */
function parseInt8(value: string): number | bigint {
  const big = BigInt(value);
  return big > BigInt(Number.MAX_SAFE_INTEGER) || big < BigInt(Number.MIN_SAFE_INTEGER) ? big : Number(big);
}

/** Opens the configured database: a server when a URL is given, otherwise the embedded one. */
export async function openDatabase(target: DatabaseTarget): Promise<OpenDatabase> {
  if ('url' in target) {
    const pool = new pg.Pool({
      // Parameterised statements are prepared once per connection (see src/db/prepared.ts).
      Client: preparingClient(new StatementNames()),
      connectionString: target.url,
      max: target.maxConnections ?? 10,
      // Per pool, not pg's global type registry: nothing else in the process is affected.
      types: {
        getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
          oid === INT8 ? parseInt8 : pg.types.getTypeParser(oid, format)) as typeof pg.types.getTypeParser,
      },
    });
    // An idle connection the server closes (restart, failover, pg_terminate_backend) is dropped
    // from the pool and replaced on next use; without a listener it would end the process.
    pool.on('error', (error) => target.logger?.warn({ err: error }, 'an idle database connection was closed by the server'));
    const db = new Kysely<DB>({ dialect: new PostgresDialect({ pool, cursor: Cursor }) });
    return { db, kind: 'server', close: () => db.destroy() };
  }
  let unlock = async () => {};
  if (!target.dataDir.startsWith('memory://')) {
    await mkdir(target.dataDir, { recursive: true });
    unlock = await lockDataDir(target.dataDir);
  }
  try {
    const pglite = await PGlite.create(target.dataDir);
    const db = new Kysely<DB>({ dialect: new PGliteDialect(pglite) });
    return {
      db,
      kind: 'embedded',
      close: async () => {
        await db.destroy();
        await unlock();
      },
    };
  } catch (error) {
    await unlock();
    throw error;
  }
}

/** DATABASE_URL when set; otherwise the embedded database under ./data. */
export function databaseTargetFrom(config: { DATABASE_URL?: string | undefined }, dataDir = EMBEDDED_DATA_DIR): DatabaseTarget {
  return config.DATABASE_URL ? { url: config.DATABASE_URL } : { dataDir };
}

/**
 * SQLSTATEs of a database that cannot serve right now: shutting down or restarting (57P01–57P03),
 * not accepting connections (55000), or out of connection slots (53300).
 */
const UNAVAILABLE_STATES = new Set(['57P01', '57P02', '57P03', '55000', '53300']);

/** Whether `error` says the database is away for now (down, restarting, cut off), not that a query was wrong. */
export function isDatabaseUnavailable(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string' && UNAVAILABLE_STATES.has(code)) return true;
  return /^(Connection terminated|timeout exceeded when trying to connect)|\b(ECONNREFUSED|ECONNRESET|ETIMEDOUT|EHOSTUNREACH)\b/.test(error.message);
}

/** PostgreSQL's unique_violation, from either database, optionally on one named constraint. */
export function isUniqueViolation(error: unknown, constraint?: string): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const { code, constraint: name } = error as { code?: unknown; constraint?: unknown };
  return code === '23505' && (constraint === undefined || name === constraint);
}
