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
];

export function createLogger(level: string = 'info', destination?: pino.DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: 'atelier' },
      redact: { paths: redactPaths, censor: '[redacted]' },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    destination,
  );
}

export type { Logger };
