import { CHALLENGE_QUEUE } from '../../src/features/challenges/timers.js';
import { VOTE_LABEL_QUEUE } from '../../src/features/votes/jobs.js';
import { DELIVER_QUEUE, DESCRIBE_QUEUE, DESCRIBED_QUEUE, GENERATE_QUEUE, PRIVACY_QUEUE, SESSION_QUEUE } from '../../src/queues.js';

/** Every BullMQ queue Atelier runs. Their keys are BullMQ's to manage (a queue's own keys live without a TTL). */
export const bullmqQueues = [
  GENERATE_QUEUE,
  DELIVER_QUEUE,
  PRIVACY_QUEUE,
  CHALLENGE_QUEUE,
  VOTE_LABEL_QUEUE,
  SESSION_QUEUE,
  DESCRIBE_QUEUE,
  DESCRIBED_QUEUE,
] as const;

/** Whether a key (under this prefix) belongs to one of those queues. */
export function isBullmqKey(prefix: string, key: string): boolean {
  return bullmqQueues.some((queue) => key.startsWith(`${prefix}:${queue}:`));
}
