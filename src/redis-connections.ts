import { once } from 'node:events';
import { Cluster, Redis, type RedisOptions } from 'ioredis';
import type { Logger } from 'pino';

export interface RedisNode {
  host: string;
  port: number;
}

/**
 * Where Atelier's Redis is. Every connection of the bot, the workers and the web server is opened
 * from one of these, here and nowhere else:
 *
 * - a `redis://` URL: one server;
 * - Sentinel: the sentinels that know which server is the primary now, and the name they watch it
 *   under; after a failover every connection finds the promoted replica through them;
 * - Cluster: some of its nodes (the others are discovered). Every key Atelier and BullMQ use
 *   carries the prefix's hash tag (`{atelier}`), so each script and transaction stays in one slot.
 */
export type RedisTarget =
  string | { sentinels: RedisNode[]; name: string; password?: string; sentinelPassword?: string } | { cluster: RedisNode[]; password?: string };

/** A replica that used to be the primary answers writes with READONLY: reconnect (through the sentinels) and send the command again. */
function reconnectOnReadOnly(error: Error): 2 | false {
  return error.message.startsWith('READONLY') ? 2 : false;
}

/**
 * Opens a connection to `target` with these client options.
 *
 * A Cluster is returned typed as a Redis: it takes the same commands, and the code above treats
 * both alike (BullMQ recognises the cluster on its own). Only commands that span several slots
 * would differ, and Atelier sends none: its keys share the prefix's hash tag.
 */
export function openRedis(target: RedisTarget, options: RedisOptions = {}): Redis {
  if (typeof target === 'string') return new Redis(target, options);
  if ('sentinels' in target) {
    return new Redis({
      ...options,
      sentinels: target.sentinels,
      name: target.name,
      password: target.password,
      sentinelPassword: target.sentinelPassword,
      role: 'master',
      // Told by the sentinels the moment the primary changes, rather than at the next failed command.
      failoverDetector: true,
      reconnectOnError: reconnectOnReadOnly,
    });
  }
  const { enableOfflineQueue, enableAutoPipelining, retryStrategy: _ignored, ...nodeOptions } = options;
  const cluster = new Cluster(target.cluster, {
    enableOfflineQueue: enableOfflineQueue ?? true,
    enableAutoPipelining,
    redisOptions: { ...nodeOptions, password: target.password, reconnectOnError: reconnectOnReadOnly },
  });
  return cluster as unknown as Redis;
}

/** Where the target is, for logs and errors: never a password. */
export function describeTarget(target: RedisTarget): string {
  const nodes = (list: RedisNode[]) => list.map((node) => `${node.host}:${node.port}`).join(',');
  if (typeof target !== 'string') {
    return 'sentinels' in target ? `sentinels ${nodes(target.sentinels)} (${target.name})` : `cluster ${nodes(target.cluster)}`;
  }
  try {
    const url = new URL(target);
    url.username = '';
    url.password = '';
    return url.toString();
  } catch {
    return 'redis';
  }
}

/**
 * The two kinds of Redis connection Atelier opens.
 *
 * - A command connection serves members: the stores, and the BullMQ Queues that add jobs. It fails
 *   fast while Redis is down or stalled: no offline queue (a command sent while disconnected fails
 *   at once instead of running minutes later), unanswered commands are not sent again after a
 *   reconnect, and a command that gets no answer within COMMAND_TIMEOUT_MS fails. An interaction
 *   that could not be served is told to try again, within Discord's 3 s, and nothing of it runs
 *   once Redis is back. Commands sent in the same tick of the event loop go out together, in one
 *   write (ioredis's auto-pipelining): many members at once cost Redis, and the bot, a few system
 *   calls rather than one per command. Each command still gets its own answer, or its own error.
 * - A waiting connection carries BullMQ Workers and QueueEvents (and the GPU worker's stores): they
 *   block waiting for jobs and must ride out an outage, so commands wait for the reconnect
 *   (`maxRetriesPerRequest: null`, which BullMQ requires of them).
 *
 * Every connection logs its errors: an outage is a warning and a reconnect, never an unhandled
 * 'error' event.
 */
export const COMMAND_TIMEOUT_MS = 1_500;

export function commandConnection(target: RedisTarget, logger: Logger, name: string, commandTimeoutMs = COMMAND_TIMEOUT_MS): Redis {
  return watchConnection(
    openRedis(target, {
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      autoResendUnfulfilledCommands: false,
      commandTimeout: commandTimeoutMs,
      enableAutoPipelining: true,
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

export function waitingConnection(target: RedisTarget, logger: Logger, name: string): Redis {
  return watchConnection(openRedis(target, { maxRetriesPerRequest: null }), logger, name);
}

/** How long a connection that ended without being closed waits before it is opened again. */
export const REOPEN_AFTER_MS = 500;

/**
 * Logs an outage once when it starts and once when the connection is back (ioredis retries
 * meanwhile), and keeps the connection open until Atelier itself closes it. ioredis gives up on a
 * connection for good ("Connection is closed.") when it is told to disconnect while it is still
 * connecting: under Sentinel, a failover announced while a reconnect asks the sentinels for the
 * primary does exactly that. Such a connection is opened again, so a failover cannot leave the bot
 * answering "try again" for ever.
 */
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
  // Closing it ourselves (quit, or disconnect without reconnecting) is the only way it may end.
  let closing = false;
  const { quit, disconnect } = connection;
  connection.quit = function (this: Redis, ...args: Parameters<Redis['quit']>) {
    closing = true;
    return quit.apply(this, args);
  } as Redis['quit'];
  connection.disconnect = function (this: Redis, reconnect?: boolean) {
    if (!reconnect) closing = true;
    return disconnect.call(this, reconnect);
  } as Redis['disconnect'];
  connection.on('end', () => {
    if (closing) return;
    logger.warn({ connection: name }, 'redis connection ended without being closed; opening it again');
    setTimeout(() => {
      if (!closing && connection.status === 'end') connection.connect().catch(() => undefined);
    }, REOPEN_AFTER_MS).unref();
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
    /\b(ECONNREFUSED|ECONNRESET|EPIPE)\b/.test(error.message) ||
    // A failover under way: the server is a replica for now, still loading, or the cluster is
    // moving slots. Asking again in a moment works.
    /^(READONLY|LOADING|MASTERDOWN|CLUSTERDOWN|TRYAGAIN) /.test(error.message) ||
    // No sentinel could name a primary that answers (yet): ioredis keeps asking them.
    /^All sentinels are unreachable\. Retrying/.test(error.message)
  );
}
