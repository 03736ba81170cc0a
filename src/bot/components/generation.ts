import {
  ComponentType,
  PermissionFlagsBits,
  TextInputStyle,
  type APIModalInteractionResponseCallbackData,
  type ButtonInteraction,
  type ModalSubmitInteraction,
} from 'discord.js';
import type { JobRecord } from '../../store/jobs.js';
import { PROMPT_MAX, cancelChannel, generateJobId, parseEditArea } from '../../queues.js';
import { downloadImage } from '../attachments.js';
import type { BotContext } from '../context.js';
import { editJobMessage, withMessageLock } from '../discord-messages.js';
import { cancelledMessage, queuedMessage } from '../messages.js';
import { InvalidRequestError, resolvePromptOptions } from '../prompt.js';
import { replyQueued } from '../queued-reply.js';
import { requesterOf } from '../requester.js';
import { recordAsClicked } from '../result-files.js';
import { enqueueGeneration, type GenerationInput } from '../requests.js';
import { inThisServer } from '../server-scope.js';
import { editPromptModalId, type GenerationButton } from './ids.js';
import { remixModeOn } from '../../features/preferences/store.js';
import { upscaleRefusal } from '../../generation.js';
import { carriedReferences } from '../../features/styles/reroll.js';

type Answerable = ButtonInteraction | ModalSubmitInteraction;

/** The remix-mode form's one field. */
const EDITED_PROMPT_FIELD = 'prompt';

/** Remix mode: the prompt to edit before a reroll or a variation goes ahead. */
function editPromptModal(button: GenerationButton, prompt: string): APIModalInteractionResponseCallbackData {
  const what = button.action === 'reroll' ? 'Reroll' : `Variation of picture ${button.image}`;
  return {
    custom_id: editPromptModalId(button),
    title: `${what}: edit the prompt`,
    components: [
      {
        type: ComponentType.Label,
        label: 'Prompt',
        description: 'Inline --chaos, --stylize, --tile and --draft work here too.',
        component: {
          type: ComponentType.TextInput,
          custom_id: EDITED_PROMPT_FIELD,
          style: TextInputStyle.Paragraph,
          value: prompt.slice(0, PROMPT_MAX) || undefined,
          required: true,
          max_length: PROMPT_MAX,
        },
      },
    ],
  };
}

/** Moderators (Manage Messages) may cancel and delete what others made. */
export function isModerator(interaction: { memberPermissions: { has(flag: bigint): boolean } | null }): boolean {
  return interaction.memberPermissions?.has(PermissionFlagsBits.ManageMessages) ?? false;
}

/** 🔁 Reroll, ✖ Cancel, U1–U4 and V1–V4 on a generation's message. */
export async function handleGenerationButton(interaction: ButtonInteraction, button: GenerationButton, ctx: BotContext) {
  // The custom_id only names a job: everything else is read from the store. A result clicked the
  // moment it was posted is delivered as far as its buttons go (see recordAsClicked).
  const record = await recordAsClicked(ctx, button.jobId, interaction.message);
  // The id must name a job of this server: a forged custom_id cannot reach another server's pictures.
  if (!record || !inThisServer(record, interaction)) {
    throw new InvalidRequestError('I no longer know that picture (it may be too old). Try `/imagine` again.');
  }
  switch (button.action) {
    case 'cancel':
      return cancel(interaction, record, ctx);
    case 'enhance':
      return enhance(interaction, record, ctx);
    case 'upscale':
      return fromImage(interaction, record, button.action, button.image!, ctx);
    case 'reroll':
    case 'vary':
      break;
  }
  // With remix mode on, a reroll or a variation first opens a form to edit the prompt.
  if (await remixModeOn(ctx.db, interaction.user.id)) {
    if (button.action === 'vary') checkImage(record, button.image!);
    if (button.action === 'reroll') checkRerollable(record);
    return interaction.showModal(editPromptModal(button, record.prompt));
  }
  return button.action === 'reroll' ? reroll(interaction, record, ctx) : fromImage(interaction, record, 'vary', button.image!, ctx);
}

/** The remix-mode form, sent: the reroll or variation the button asked for, with the edited prompt. */
export async function handleEditedPrompt(interaction: ModalSubmitInteraction, button: GenerationButton, ctx: BotContext) {
  const record = await ctx.jobs.get(button.jobId);
  if (!record || !inThisServer(record, interaction)) {
    throw new InvalidRequestError('I no longer know that picture (it may be too old). Try `/imagine` again.');
  }
  let prompt: string;
  try {
    prompt = interaction.fields.getTextInputValue(EDITED_PROMPT_FIELD);
  } catch {
    throw new InvalidRequestError('The form came back without a prompt.');
  }
  // The edited prompt is checked like any other (length, emptiness); its inline flags apply too.
  const edited = resolvePromptOptions(
    { prompt },
    ctx.models.map((model) => model.name),
  );
  const options: GenerationInput['options'] = {
    ...optionsOf(record),
    prompt: edited.prompt,
    negative: edited.negative ?? record.negative,
    ...withoutUndefined({ chaos: edited.chaos, stylize: edited.stylize, tile: edited.tile, draft: edited.draft }),
  };
  if (button.action === 'reroll') return reroll(interaction, record, ctx, options);
  return fromImage(interaction, record, 'vary', button.image!, ctx, options);
}

function withoutUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
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

/** What a request asked for, to ask again (its creative parameters included). */
function optionsOf(record: JobRecord, seed?: number): GenerationInput['options'] {
  return {
    prompt: record.prompt,
    negative: record.negative,
    aspect: record.aspect,
    count: record.count,
    model: record.model,
    seed,
    chaos: record.chaos,
    stylize: record.stylize,
    tile: record.tile,
    draft: record.draft,
  };
}

function checkRerollable(record: JobRecord): void {
  if (record.kind === 'upscale') throw new InvalidRequestError('An upscale cannot be rerolled; reroll the original instead.');
}

async function reroll(interaction: Answerable, record: JobRecord, ctx: BotContext, options = optionsOf(record)) {
  checkRerollable(record);
  const input: GenerationInput = { kind: record.kind, options, strength: record.strength };
  // A blend rerolls as a blend, a --sref picture in the same style.
  Object.assign(input, await carriedReferences(ctx, record, interaction));
  if (record.kind !== 'txt2img' && record.parentImageId) {
    input.parentImageId = record.parentImageId;
    input.input = await imageBytes(ctx, record.parentImageId);
    if (record.kind === 'outpaint' || record.kind === 'inpaint') {
      // An edit rerolled is the same edit again (same canvas, same area) with a new seed.
      const area = parseEditArea(record.area);
      const size = record.width && record.height ? { width: record.width, height: record.height } : record.images[0];
      if (!area || !size) throw new InvalidRequestError('I no longer know how that picture was made; use the buttons on its parent instead.');
      input.area = area;
      input.size = { width: size.width, height: size.height };
      input.options.count = 1;
    }
  } else {
    input.kind = 'txt2img';
  }
  await queueFromButton(interaction, ctx, input);
}

/** 🔍 Enhance on a --draft result: the same request (same seed) again, in full size. */
async function enhance(interaction: ButtonInteraction, record: JobRecord, ctx: BotContext) {
  if (!record.draft || record.kind === 'upscale') throw new InvalidRequestError('Only a draft (`--draft`) can be enhanced.');
  if (record.status !== 'delivered') throw new InvalidRequestError('That draft is not finished yet.');
  const input: GenerationInput = { kind: record.kind, options: { ...optionsOf(record, record.seed), draft: undefined }, strength: record.strength };
  if (record.kind !== 'txt2img' && record.parentImageId) {
    input.parentImageId = record.parentImageId;
    input.input = await imageBytes(ctx, record.parentImageId);
  }
  await queueFromButton(interaction, ctx, input);
}

function checkImage(record: JobRecord, number: number): string {
  const imageId = record.imageIds[number - 1];
  if (!imageId || record.status !== 'delivered') throw new InvalidRequestError(`There is no picture ${number} on that message.`);
  return imageId;
}

async function fromImage(
  interaction: Answerable,
  record: JobRecord,
  action: 'upscale' | 'vary',
  number: number,
  ctx: BotContext,
  options = optionsOf(record),
) {
  const imageId = checkImage(record, number);
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
      : { kind: 'variation', options, strength: 0.35 };
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

async function queueFromButton(interaction: Answerable, ctx: BotContext, input: GenerationInput) {
  const { record, place, duplicate } = await enqueueGeneration(ctx, requesterOf(interaction), input);
  if (duplicate) return;
  await replyQueued(interaction, ctx, record, queuedMessage(record, place));
}
