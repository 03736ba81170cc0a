import { Queue, type ConnectionOptions } from 'bullmq';
import { z } from 'zod';

/**
 * "Redraw this result's 👍 label": a vote cast outside the bot (the web gallery) asks the bot,
 * which holds the Discord token and the message, to bring the label in line with the count in
 * the votes table. The web process only adds jobs; it never talks to Discord itself.
 */
export const VOTE_LABEL_QUEUE = 'vote-label';

export const voteLabelJobSchema = z.object({ requestId: z.string().regex(/^\d{1,20}$/) });
export type VoteLabelJob = z.infer<typeof voteLabelJobSchema>;

export type VoteLabelQueue = Queue<VoteLabelJob>;

export function voteLabelQueue(connection: ConnectionOptions, prefix: string): VoteLabelQueue {
  return new Queue<VoteLabelJob>(VOTE_LABEL_QUEUE, { connection, prefix });
}

/**
 * One job per vote: the bot's redraw coalesces clicks that arrive together and always reads the
 * count when it edits, so a burst of votes costs a few edits and the last one shows the truth.
 * Retried with backoff when Discord or the bot is down; kept out of Redis once done.
 */
export async function requestVoteLabelRefresh(queue: VoteLabelQueue, requestId: string): Promise<void> {
  await queue.add('refresh', voteLabelJobSchema.parse({ requestId }), {
    attempts: 8,
    backoff: { type: 'exponential', delay: 1000 },
    removeOnComplete: true,
    removeOnFail: 1000,
  });
}
