import {
  MessageFlags,
  type ButtonInteraction,
  type ChatInputCommandInteraction,
  type MessageContextMenuCommandInteraction,
  type ModalSubmitInteraction,
} from 'discord.js';
import type { BotContext } from './context.js';
import type { MessageBody } from './messages.js';
import { catchUpProgress } from './progress.js';

type Answerable = ChatInputCommandInteraction | ButtonInteraction | ModalSubmitInteraction | MessageContextMenuCommandInteraction;

/**
 * Answers with the visible "Queued" message and records that it exists (and its id), which
 * delivery waits for. If Discord refuses the answer (expired interaction), delivery is told to go
 * straight to the channel instead.
 */
export async function replyQueued(interaction: Answerable, ctx: BotContext, jobId: string, body: MessageBody): Promise<void> {
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
  await catchUpProgress(ctx, jobId).catch((error) => ctx.logger.debug({ err: error, jobId }, 'progress catch-up failed'));
}
