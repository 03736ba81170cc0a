import type { DeliveredMessage } from './delivery.js';
import type { EventEmitter } from 'node:events';
import type { REST } from 'discord.js';
import type { Queue } from 'bullmq';
import type { PrivacyQueue } from './privacy.js';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { ModelChoice } from '../config.js';
import type { Database } from '../db/connection.js';
import type { Metrics } from '../metrics.js';
import type { DeliverJob, DescribeJob, GenerateJob, generateJobOptions } from '../queues.js';
import type { ChallengeStore } from '../features/challenges/store.js';
import type { ChallengeQueue } from '../features/challenges/timers.js';
import type { ImageStore } from '../features/pictures/images.js';
import type { JobRecord, JobStore } from '../store/jobs.js';
import type { LineageStore } from '../features/lineage/store.js';
import type { SeriesStore } from '../features/series/store.js';
import type { SessionStore } from '../features/sessions/store.js';
import type { SessionQueue } from '../features/sessions/timers.js';
import type { SettingsStore } from '../features/settings/store.js';
import type { RateLimit } from '../store/rate-limit.js';
import type { QueueStats } from '../store/stats.js';
import type { MemberDataDeleter } from './privacy.js';
import type { VoteStore } from '../features/votes/store.js';

/** Everything a command, button or delivery needs; passed in, never imported as a global. */
export interface BotContext {
  redis: Redis;
  /** PostgreSQL (or the embedded database): the records that must last. */
  db: Database;
  /** Namespace for Atelier's keys and BullMQ's queues. */
  prefix: string;
  applicationId: string;
  /**
   * The bot user's id: the author of what the bot posts (its interaction replies also carry the
   * application's id as their webhook). The same as applicationId, except for some older
   * applications; set once the bot knows who it is.
   */
  botUserId: string;
  rest: REST;
  logger: Logger;
  models: readonly ModelChoice[];
  jobs: JobStore;
  images: ImageStore;
  stats: QueueStats;
  settings: SettingsStore;
  votes: VoteStore;
  lineage: LineageStore;
  series: SeriesStore;
  generateQueue: Queue<GenerateJob>;
  /** Where finished generations wait to be posted (the recovery sweep re-announces from here). */
  deliverQueue: Queue<DeliverJob>;
  /** `/describe`: pictures for the workers to suggest prompts for (absent: /describe is not offered). */
  describeQueue?: Queue<DescribeJob>;
  /** `/privacy delete-my-data` runs as a job here (absent: it runs at once, in the interaction). */
  privacyQueue?: PrivacyQueue;
  challenges: ChallengeStore;
  /** Weekly starts and phase deadlines of challenges (consumed by the bot: transitions post to Discord). */
  challengeQueue: ChallengeQueue;
  /** Live sessions (src/features/sessions) and their phase deadlines (consumed by the bot). */
  sessions: SessionStore;
  sessionQueue: SessionQueue;
  /** Hosts the bot may download attachments from (Discord's CDN and DISCORD_CDN_URL). */
  cdnHosts: readonly string[];
  now: () => number;
  /** Emits a job id once its "Queued" answer was sent (or refused): delivery waits for it. */
  answers: EventEmitter;
  /** Overrides of the generation retry policy (tests shorten the backoff). */
  generateJobOptions?: Partial<typeof generateJobOptions>;
  /** Cost units every server together may spend per UTC day (OPERATOR_DAILY_BUDGET); 0 or absent: no cap. */
  operatorDailyBudget?: number;
  /** WEB_PUBLIC_URL without a trailing slash: results link to their gallery page, /gallery answers with it. */
  webPublicUrl?: string;
  /** Per-member allowance of requests for pictures (default: 5 at once, refilled over 10 s). */
  rateLimit?: RateLimit;
  /** Per-member allowance of every other command, button and form (default: 30 at once, refilled over 30 s). */
  interactionRateLimit?: RateLimit;
  /**
   * What `/privacy delete-my-data` erases, in order (default: `memberDataDeleters`). Features that
   * keep member data (votes, series, challenges) add theirs.
   */
  dataDeleters?: readonly MemberDataDeleter[];
  /**
   * Run after a result reached Discord (features that build on results, e.g. series panels).
   * A failing hook is logged; it never undoes or repeats the delivery.
   */
  onDelivered?: Array<(record: JobRecord, message: DeliveredMessage) => Promise<void>>;
  /** Prometheus metrics of this process (absent in tests that do not look at them). */
  metrics?: Metrics;
}
