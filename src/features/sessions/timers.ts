import type { JobsOptions, Queue } from 'bullmq';
import type { SessionJob } from '../../queues.js';
import type { Session } from './store.js';

/**
 * A session's phases end by BullMQ delayed jobs, so the clock survives restarts of every process.
 * Each job id names the session, round, phase and epoch: adding the same deadline again (the
 * restart sweep does) is a no-op, and the phase change it triggers is a compare-and-set anyway.
 */
export type SessionQueue = Queue<SessionJob>;

export type TimedPhase = SessionJob['phase'];

/** Phase changes post to Discord: keep trying through a short outage, then keep the failure. */
const sessionJobOptions: JobsOptions = {
  attempts: 8,
  backoff: { type: 'exponential', delay: 1_000 },
  removeOnComplete: { age: 24 * 3600 },
  removeOnFail: { age: 7 * 24 * 3600 },
};

export const sessionJobId = (job: SessionJob) => `session-${job.sessionId}-r${job.round}-${job.phase}-e${job.epoch}`;

/** The deadline job of the phase the session is in now (none when it ended or is paused). */
export function currentJob(session: Session): SessionJob | undefined {
  if (session.phase === 'ended' || session.pausedAt) return undefined;
  return { sessionId: session.id, round: session.round, phase: session.phase, epoch: session.epoch };
}

/** Ends the session's current phase at its deadline (at once when that has passed). */
export async function scheduleCurrentPhase(queue: SessionQueue, session: Session, now: number): Promise<void> {
  const job = currentJob(session);
  if (!job) return;
  const delay = Math.max(0, (session.phaseEndsAt ?? now) - now);
  await queue.add('phase', job, { ...sessionJobOptions, jobId: sessionJobId(job), delay });
}

/** Removes the waiting deadline of the current phase (pause, end); one already running finds the phase moved. */
export async function removeCurrentPhase(queue: SessionQueue, session: Session): Promise<void> {
  const job = currentJob({ ...session, pausedAt: undefined });
  if (job) await queue.remove(sessionJobId(job)).catch(() => undefined);
}

/**
 * Ends the current phase now (/session next, or every late entry arrived): promotes the waiting
 * deadline, or queues it when there is none. The phase change checks the phase itself, so a
 * deadline that fires later changes nothing.
 */
export async function endPhaseNow(queue: SessionQueue, session: Session): Promise<void> {
  const data = currentJob(session);
  if (!data) return;
  const jobId = sessionJobId(data);
  const job = await queue.getJob(jobId);
  const state = job ? await job.getState() : undefined;
  if (job && state === 'delayed') return job.promote();
  if (job && state === 'failed') return job.retry();
  if (job && (state === 'waiting' || state === 'active' || state === 'prioritized')) return;
  if (job) await job.remove();
  await queue.add('phase', data, { ...sessionJobOptions, jobId });
}
