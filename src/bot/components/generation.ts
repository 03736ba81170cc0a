import { PermissionFlagsBits, type ButtonInteraction } from 'discord.js';
import type { JobRecord } from '../../store/jobs.js';
import { cancelChannel, generateJobId } from '../../queues.js';
import { downloadImage } from '../attachments.js';
import type { BotContext } from '../context.js';
import { editJobMessage, withMessageLock } from '../discord-messages.js';
import { cancelledMessage, queuedMessage } from '../messages.js';
import { InvalidRequestError } from '../prompt.js';
import { replyQueued } from '../queued-reply.js';
import { requesterOf } from '../requester.js';
import { enqueueGeneration, type GenerationInput } from '../requests.js';
import { inThisServer } from '../server-scope.js';
import type { GenerationButton } from './ids.js';
import { upscaleRefusal } from '../../worker/generate.js';
import { carriedReferences } from '../../features/styles/reroll.js';

/** Moderators (Manage Messages) may cancel and delete what others made. */
export function isModerator(interaction: { memberPermissions: { has(flag: bigint): boolean } | null }): boolean {
  return interaction.memberPermissions?.has(PermissionFlagsBits.ManageMessages) ?? false;
}

/** 🔁 Reroll, ✖ Cancel, U1–U4 and V1–V4 on a generation's message. */
export async function handleGenerationButton(interaction: ButtonInteraction, button: GenerationButton, ctx: BotContext) {
  // The custom_id only names a job: everything else is read from the store.
  const record = await ctx.jobs.get(button.jobId);
  // The id must name a job of this server: a forged custom_id cannot reach another server's pictures.
  if (!record || !inThisServer(record, interaction)) {
    throw new InvalidRequestError('I no longer know that picture (it may be too old). Try `/imagine` again.');
  }
  switch (button.action) {
    case 'cancel':
      return cancel(interaction, record, ctx);
    case 'reroll':
      return reroll(interaction, record, ctx);
    case 'upscale':
    case 'vary':
      return fromImage(interaction, record, button.action, button.image!, ctx);
  }
}

async function cancel(interaction: ButtonInteraction, record: JobRecord, ctx: BotContext) {
  if (interaction.user.id !== record.userId && !isModerator(interaction)) {
    throw new InvalidRequestError('Only the person who asked for this picture, or a moderator, can cancel it.');
  }
  await cancelJob(ctx, record.id, interaction.user.id);

  const body = cancelledMessage({ ...record, status: 'cancelled' }, interaction.user.id);
  await withMessageLock(ctx, record.id, true, async () => {
    if (interaction.message.id === record.messageId) {
      await interaction.update({ content: body.content, components: [], allowedMentions: body.allowed_mentions });
      return;
    }
    // Cancelled from /queue: answer there, and update the picture's own message too.
    await interaction.reply({ content: 'Cancelled.', flags: 64, allowedMentions: body.allowed_mentions });
    await editJobMessage(ctx, record, body).catch((error) =>
      ctx.logger.debug({ err: error, jobId: record.id }, 'could not mark the message as cancelled'),
    );
  });
}

/** Cancels a queued or running job; refuses (with the reason) one that already finished. */
export async function cancelJob(ctx: BotContext, jobId: string, byUserId: string): Promise<void> {
  const moved = await ctx.jobs.transition(jobId, ['queued', 'running'], 'cancelled', { cancelledBy: byUserId });
  if (!moved.ok) {
    const state = moved.previous === 'cancelled' ? 'was already cancelled' : 'has already finished';
    throw new InvalidRequestError(`Too late to cancel: this picture ${state}.`);
  }
  // A waiting job is removed; a running one is stopped by its worker when it hears the news.
  const job = await ctx.generateQueue.getJob(generateJobId(jobId));
  await job?.remove().catch(() => undefined);
  await ctx.redis.publish(cancelChannel(ctx.prefix), jobId);
  ctx.logger.info({ jobId, by: byUserId }, 'job cancelled');
}

function optionsOf(record: JobRecord, seed?: number): GenerationInput['options'] {
  return {
    prompt: record.prompt,
    negative: record.negative,
    aspect: record.aspect,
    count: record.count,
    model: record.model,
    seed,
  };
}

async function reroll(interaction: ButtonInteraction, record: JobRecord, ctx: BotContext) {
  if (record.kind === 'upscale') throw new InvalidRequestError('An upscale cannot be rerolled; reroll the original instead.');
  const input: GenerationInput = { kind: record.kind, options: optionsOf(record), strength: record.strength };
  // A blend rerolls as a blend, a --sref picture in the same style.
  Object.assign(input, await carriedReferences(ctx, record, interaction));
  if (record.kind !== 'txt2img' && record.parentImageId) {
    input.parentImageId = record.parentImageId;
    input.input = await imageBytes(ctx, record.parentImageId);
  } else {
    input.kind = 'txt2img';
  }
  await queueFromButton(interaction, ctx, input);
}

async function fromImage(interaction: ButtonInteraction, record: JobRecord, action: 'upscale' | 'vary', number: number, ctx: BotContext) {
  const imageId = record.imageIds[number - 1];
  if (!imageId || record.status !== 'delivered') throw new InvalidRequestError(`There is no picture ${number} on that message.`);
  const image = await ctx.images.getRecord(imageId);
  if (!image) throw new InvalidRequestError('I no longer know that picture.');
  const tooLarge = action === 'upscale' ? upscaleRefusal(image.width, image.height) : undefined;
  if (tooLarge) throw new InvalidRequestError(tooLarge);
  const bytes = await imageBytes(ctx, imageId);
  const input: GenerationInput =
    action === 'upscale'
      ? {
          kind: 'upscale',
          options: { ...optionsOf(record, image.seed), count: 1 },
          size: { width: image.width, height: image.height },
        }
      : { kind: 'variation', options: optionsOf(record), strength: 0.35 };
  input.parentImageId = imageId;
  input.input = bytes;
  await queueFromButton(interaction, ctx, input);
}

/** The picture's bytes: from this machine's store, or from its attachment on Discord's CDN. */
export async function imageBytes(ctx: BotContext, imageId: string): Promise<Buffer> {
  const record = await ctx.images.getRecord(imageId);
  if (record?.deletedAt) throw new InvalidRequestError('That picture was deleted.');
  const local = await ctx.images.bytes(imageId);
  if (local) return local;
  if (record?.attachmentUrl) return downloadImage(record.attachmentUrl, ctx.cdnHosts);
  throw new InvalidRequestError('That picture is no longer available to work from.');
}

async function queueFromButton(interaction: ButtonInteraction, ctx: BotContext, input: GenerationInput) {
  const { record, place, duplicate } = await enqueueGeneration(ctx, requesterOf(interaction), input);
  if (duplicate) return;
  await replyQueued(interaction, ctx, record.id, queuedMessage(record, place));
}
