import type { JobsOptions, Queue } from 'bullmq';
import type { ChallengePhase, ChallengeSchedule } from './model.js';

/**
 * When challenges move: BullMQ does the timekeeping, so the schedule survives restarts of every
 * process and each due moment is handled once however many bot processes are running.
 * - The weekly start is a job scheduler per server (cron with the server's timezone).
 * - Each phase deadline is a delayed job whose id names the challenge and the phase it ends;
 *   adding it twice is a no-op, and the transition it triggers is a compare-and-set anyway.
 */
export const CHALLENGE_QUEUE = 'challenge';

export type ChallengeJob =
  { name: 'weekly-start'; data: { guildId: string } } | { name: 'transition'; data: { challengeId: string; phase: TimedPhase } };
export type ChallengeJobData = ChallengeJob['data'];
export type ChallengeQueue = Queue<ChallengeJobData>;

/** The phases a job ends: announce (runs at once), submissions and voting (at their deadlines). */
export type TimedPhase = Extract<ChallengePhase, 'announce' | 'submissions' | 'voting'>;

/** Transitions post to Discord: keep trying through an outage (about an hour), then keep the failure. */
const challengeJobOptions: JobsOptions = {
  attempts: 12,
  backoff: { type: 'exponential', delay: 2_000 },
  removeOnComplete: { age: 7 * 24 * 3600 },
  removeOnFail: { age: 30 * 24 * 3600 },
};

export const weeklySchedulerId = (guildId: string) => `challenge-weekly-${guildId}`;
export const transitionJobId = (challengeId: string, phase: TimedPhase) => `challenge-${challengeId}-${phase}`;

/** "MM HH * * D" for the weekday (0 = Sunday) and "HH:MM". */
export function cronFor(schedule: Pick<ChallengeSchedule, 'weekday' | 'time'>): string {
  const [hours, minutes] = schedule.time.split(':').map(Number);
  return `${minutes} ${hours} * * ${schedule.weekday}`;
}

/** Whether the runtime knows this IANA timezone ("Europe/Berlin"). */
export function isTimezone(timezone: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone: timezone });
    return true;
  } catch {
    return false;
  }
}

/** Creates or replaces the server's weekly start. Returns when it will next fire. */
export async function scheduleWeekly(queue: ChallengeQueue, guildId: string, schedule: ChallengeSchedule): Promise<number | undefined> {
  await queue.upsertJobScheduler(
    weeklySchedulerId(guildId),
    { pattern: cronFor(schedule), tz: schedule.timezone },
    { name: 'weekly-start', data: { guildId }, opts: challengeJobOptions },
  );
  return (await queue.getJobScheduler(weeklySchedulerId(guildId)))?.next;
}

export async function unscheduleWeekly(queue: ChallengeQueue, guildId: string): Promise<boolean> {
  return queue.removeJobScheduler(weeklySchedulerId(guildId));
}

/** Ends `phase` of the challenge at `at` (ms, on the bot's clock); at once when that has passed. */
export async function scheduleTransition(queue: ChallengeQueue, challengeId: string, phase: TimedPhase, at: number, now: number): Promise<void> {
  await queue.add(
    'transition',
    { challengeId, phase },
    { ...challengeJobOptions, jobId: transitionJobId(challengeId, phase), delay: Math.max(0, at - now) },
  );
}

/** Removes the challenge's waiting deadlines; one already running finds the phase moved (or the pause) and does nothing. */
export async function removeTransitions(queue: ChallengeQueue, challengeId: string): Promise<void> {
  for (const phase of ['announce', 'submissions', 'voting'] as TimedPhase[]) {
    await queue.remove(transitionJobId(challengeId, phase)).catch(() => undefined);
  }
}

/**
 * Ends `phase` now (/challenge end): promotes the waiting deadline job, or queues one when there is
 * none. The transition itself checks the phase, so a deadline that fires later changes nothing.
 */
export async function endPhaseNow(queue: ChallengeQueue, challengeId: string, phase: TimedPhase): Promise<void> {
  const jobId = transitionJobId(challengeId, phase);
  const job = await queue.getJob(jobId);
  const state = job ? await job.getState() : undefined;
  if (job && state === 'delayed') return job.promote();
  if (job && state === 'failed') return job.retry();
  if (job && (state === 'waiting' || state === 'active' || state === 'prioritized')) return;
  if (job) await job.remove();
  await queue.add('transition', { challengeId, phase }, { ...challengeJobOptions, jobId });
}
