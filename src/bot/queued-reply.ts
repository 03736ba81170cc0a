import {
  MessageFlags,
  type ButtonInteraction,
  type ChatInputCommandInteraction,
  type MessageContextMenuCommandInteraction,
  type ModalSubmitInteraction,
} from 'discord.js';
import type { JobRecord } from '../store/jobs.js';
import type { BotContext } from './context.js';
import type { MessageBody } from './messages.js';
import { catchUpProgress, PROGRESS_FIRST_EDIT_MS } from './progress.js';

type Answerable = ChatInputCommandInteraction | ButtonInteraction | ModalSubmitInteraction | MessageContextMenuCommandInteraction;

/**
 * Answers with the visible "Queued" message and records that it exists (and its id), which
 * delivery waits for. If Discord refuses the answer (expired interaction), delivery is told to go
 * straight to the channel instead.
 */
export async function replyQueued(
  interaction: Answerable,
  ctx: BotContext,
  queued: Pick<JobRecord, 'id' | 'createdAt'>,
  body: MessageBody,
): Promise<void> {
  const jobId = queued.id;
  try {
    const response = await interaction.reply({
      content: body.content,
      components: body.components,
      allowedMentions: body.allowed_mentions,
      flags: body.flags,
      withResponse: true,
    });
    const isPrivate = ((body.flags ?? 0) & MessageFlags.Ephemeral) !== 0;
    await ctx.jobs.update(jobId, { ackedAt: ctx.now(), messageId: response.resource?.message?.id, private: isPrivate ? '1' : undefined });
  } catch (error) {
    await ctx.jobs.update(jobId, { ackFailed: '1' });
    throw error;
  } finally {
    ctx.answers.emit(jobId);
  }
  // A job starts after it was queued, so an answer within PROGRESS_FIRST_EDIT_MS of that has no
  // progress to catch up with (the 'active' event's timer makes the first edit): nothing to ask.
  if (ctx.now() - queued.createdAt < PROGRESS_FIRST_EDIT_MS) return;
  await catchUpProgress(ctx, jobId).catch((error) => ctx.logger.debug({ err: error, jobId }, 'progress catch-up failed'));
}
