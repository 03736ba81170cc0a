import type { REST } from 'discord.js';
import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { ModelChoice } from '../config.js';
import type { GenerateJob, generateJobOptions } from '../queues.js';
import type { ImageStore } from '../store/images.js';
import type { JobStore } from '../store/jobs.js';
import type { SettingsStore } from '../store/settings.js';
import type { QueueStats } from '../store/stats.js';

/** Everything a command, button or delivery needs; passed in, never imported as a global. */
export interface BotContext {
  redis: Redis;
  /** Namespace for Atelier's keys and BullMQ's queues. */
  prefix: string;
  applicationId: string;
  rest: REST;
  logger: Logger;
  models: readonly ModelChoice[];
  jobs: JobStore;
  images: ImageStore;
  stats: QueueStats;
  settings: SettingsStore;
  generateQueue: Queue<GenerateJob>;
  /** Hosts the bot may download attachments from (Discord's CDN and DISCORD_CDN_URL). */
  cdnHosts: readonly string[];
  now: () => number;
  /** Overrides of the generation retry policy (tests shorten the backoff). */
  generateJobOptions?: Partial<typeof generateJobOptions>;
}
