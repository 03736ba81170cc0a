import { pino, type Logger } from 'pino';

/**
 * Paths that can carry secrets: the bot token, provider keys, interaction tokens (which let anyone
 * post as the bot for 15 minutes) and HTTP authorization headers.
 */
export const redactPaths = [
  'token',
  '*.token',
  '*.*.token',
  'interactionToken',
  '*.interactionToken',
  '*.*.interactionToken',
  'authorization',
  '*.authorization',
  '*.headers.authorization',
  '*.headers.Authorization',
  'DISCORD_TOKEN',
  'REPLICATE_API_TOKEN',
  '*.DISCORD_TOKEN',
  '*.REPLICATE_API_TOKEN',
  'apiToken',
  '*.apiToken',
  'OPENAI_API_KEY',
  '*.OPENAI_API_KEY',
  'apiKey',
  '*.apiKey',
];

/**
 * Interaction tokens also travel inside URLs (`/webhooks/{app}/{token}/…`,
 * `/interactions/{id}/{token}/callback`), and discord.js puts the URL and the request body on its
 * errors: an error is logged with those scrubbed.
 */
export function scrubTokens(text: string): string {
  return text.replace(/\/(webhooks|interactions)\/(\d+)\/[^/?\s"']+/g, '/$1/$2/[redacted]');
}

function serializeError(error: unknown): unknown {
  const serialized = pino.stdSerializers.err(error as Error) as unknown as Record<string, unknown>;
  if (!serialized || typeof serialized !== 'object') return serialized;
  delete serialized.requestBody;
  for (const key of ['url', 'message', 'stack']) {
    if (typeof serialized[key] === 'string') serialized[key] = scrubTokens(serialized[key] as string);
  }
  return serialized;
}

export function createLogger(level: string = 'info', destination?: pino.DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: 'atelier' },
      redact: { paths: redactPaths, censor: '[redacted]' },
      serializers: { err: serializeError },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    destination,
  );
}

export type { Logger };
