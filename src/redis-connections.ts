import { once } from 'node:events';
import { Redis } from 'ioredis';
import type { Logger } from 'pino';

/**
 * The two kinds of Redis connection Atelier opens.
 *
 * - A command connection serves members: the stores, and the BullMQ Queues that add jobs. It fails
 *   fast while Redis is down or stalled: no offline queue (a command sent while disconnected fails
 *   at once instead of running minutes later), unanswered commands are not sent again after a
 *   reconnect, and a command that gets no answer within COMMAND_TIMEOUT_MS fails. An interaction
 *   that could not be served is told to try again, within Discord's 3 s, and nothing of it runs
 *   once Redis is back.
 * - A waiting connection carries BullMQ Workers and QueueEvents (and the GPU worker's stores): they
 *   block waiting for jobs and must ride out an outage, so commands wait for the reconnect
 *   (`maxRetriesPerRequest: null`, which BullMQ requires of them).
 *
 * Every connection logs its errors: an outage is a warning and a reconnect, never an unhandled
 * 'error' event.
 */
export const COMMAND_TIMEOUT_MS = 1_500;

export function commandConnection(url: string, logger: Logger, name: string, commandTimeoutMs = COMMAND_TIMEOUT_MS): Redis {
  return watchConnection(
    new Redis(url, {
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      autoResendUnfulfilledCommands: false,
      commandTimeout: commandTimeoutMs,
    }),
    logger,
    name,
  );
}

/**
 * How long a BullMQ Worker waits before its main loop tries Redis again after a connection error
 * (BullMQ's default is 15 s). The connection itself already backs off while it reconnects; a
 * shorter pause lets work resume soon after an outage, and a shutdown during one end promptly.
 */
export const WORKER_RUN_RETRY_MS = 1_000;

export function waitingConnection(url: string, logger: Logger, name: string): Redis {
  return watchConnection(new Redis(url, { maxRetriesPerRequest: null }), logger, name);
}

/** Logs an outage once when it starts and once when the connection is back (ioredis retries meanwhile). */
export function watchConnection(connection: Redis, logger: Logger, name: string): Redis {
  let down = false;
  connection.on('error', (error: Error) => {
    if (!down) logger.warn({ err: error, connection: name }, 'redis connection lost; reconnecting');
    down = true;
  });
  connection.on('ready', () => {
    if (down) logger.info({ connection: name }, 'redis connection back');
    down = false;
  });
  return connection;
}

/**
 * An 'error' listener for a BullMQ Queue, Worker or QueueEvents. Their connection's own listener
 * already reports an outage, so connection errors are only debug lines here.
 */
export function logErrors<T extends { on(event: 'error', listener: (error: Error) => void): unknown }>(emitter: T, logger: Logger, name: string): T {
  emitter.on('error', (error: Error) => {
    if (isRedisUnavailable(error)) logger.debug({ err: error, emitter: name }, 'redis unavailable');
    else logger.error({ err: error, emitter: name }, `${name} error`);
  });
  return emitter;
}

/** Resolves once the connection can take commands (a command connection refuses them before). */
export async function connectionReady(connection: Redis): Promise<void> {
  if (connection.status !== 'ready') await once(connection, 'ready');
}

/** Errors that mean "Redis could not be asked" rather than "Redis said no". */
export function isRedisUnavailable(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  return (
    error.name === 'MaxRetriesPerRequestError' ||
    /^(Command timed out|Connection is closed\.|Stream isn't writeable and enableOfflineQueue options is false)$/.test(error.message) ||
    /\b(ECONNREFUSED|ECONNRESET|EPIPE)\b/.test(error.message)
  );
}
