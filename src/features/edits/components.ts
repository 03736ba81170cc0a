import {
  ComponentType,
  TextInputStyle,
  type APIModalInteractionResponseCallbackData,
  type ButtonInteraction,
  type ModalSubmitInteraction,
} from 'discord.js';
import type { BotContext } from '../../bot/context.js';
import type { ComponentHandler } from '../../bot/components/index.js';
import { imageBytes } from '../../bot/components/generation.js';
import { nearestAspect } from '../../queues.js';
import { queuedMessage } from '../../bot/messages.js';
import { InvalidRequestError, extractInlineFlags, isBlankPrompt, resolvePromptOptions, type PromptOptions } from '../../bot/prompt.js';
import { replyQueued } from '../../bot/queued-reply.js';
import { requesterOf } from '../../bot/requester.js';
import { recordAsClicked } from '../../bot/result-files.js';
import { enqueueGeneration, type GenerationInput } from '../../bot/requests.js';
import { inThisServer } from '../../bot/server-scope.js';
import { PROMPT_MAX } from '../../queues.js';
import type { JobRecord } from '../../store/jobs.js';
import type { ImageRecord } from '../pictures/images.js';
import { parseEditId, regionFormId, type EditAction } from './ids.js';
import { parseRegion, panPlan, planRefusal, regionPlan, squarePlan, zoomPlan, type EditPlan } from './geometry.js';

/**
 * The controls on a single picture (a one-picture result or an upscale): ⬅ ➡ ⬆ ⬇ pan, 🔍 zoom
 * out 1.5× and 2×, make square, Vary (Subtle), Vary (Strong) and Vary (Region), whose form asks
 * where and what to draw. Like every custom_id, theirs only name a job; everything is re-read and
 * re-checked on each click.
 */

/** How far Vary (Subtle) and Vary (Strong) move from the picture (img2img strength). */
export const SUBTLE_STRENGTH = 0.3;
export const STRONG_STRENGTH = 0.75;

export const editComponents: ComponentHandler = {
  prefix: 'edit',
  async handle(interaction, ctx) {
    const id = parseEditId(interaction.customId);
    if (!id) return false;
    if (id.kind === 'button' && interaction.isButton()) {
      await handleEditButton(interaction, id.action, id.jobId, ctx);
      return true;
    }
    if (id.kind === 'region-form' && interaction.isModalSubmit()) {
      await submitRegion(interaction, id.jobId, ctx);
      return true;
    }
    return false;
  },
};

/**
 * The one picture a custom_id's job holds, if the job belongs to this server, was delivered, and
 * holds exactly one picture that still exists. Another server's job reads like an unknown one.
 */
async function singlePicture(
  ctx: BotContext,
  jobId: string,
  interaction: ButtonInteraction | ModalSubmitInteraction,
): Promise<{ record: JobRecord; image: ImageRecord }> {
  // Clicked the moment it was posted: the message shows it is delivered before the record says so.
  const record = await recordAsClicked(ctx, jobId, interaction.message);
  if (!record || record.status !== 'delivered' || !inThisServer(record, interaction)) {
    throw new InvalidRequestError('I no longer know that picture (it may be too old).');
  }
  if (record.imageIds.length !== 1) throw new InvalidRequestError('These controls work on a single picture: upscale one first.');
  const image = await ctx.images.getRecord(record.imageIds[0]!);
  if (!image || !inThisServer(image, interaction)) throw new InvalidRequestError('I no longer know that picture (it may be too old).');
  if (image.deletedAt) throw new InvalidRequestError('That picture was deleted.');
  return { record, image };
}

async function handleEditButton(interaction: ButtonInteraction, action: EditAction, jobId: string, ctx: BotContext) {
  const { record, image } = await singlePicture(ctx, jobId, interaction);
  // A custom_id replayed on another message is refused: the controls act on the picture they sit under.
  if (interaction.message.id !== record.resultMessageId) throw new InvalidRequestError('That button does not belong to this message.');
  if (action === 'region') {
    return interaction.showModal(regionModal(record.id));
  }
  if (action === 'subtle' || action === 'strong') {
    return queue(interaction, ctx, record, image, {
      kind: 'variation',
      strength: action === 'subtle' ? SUBTLE_STRENGTH : STRONG_STRENGTH,
    });
  }
  const plan = outpaintPlan(action, image.width, image.height);
  return queue(interaction, ctx, record, image, { kind: 'outpaint', plan });
}

function outpaintPlan(action: Exclude<EditAction, 'subtle' | 'strong' | 'region'>, width: number, height: number): EditPlan {
  switch (action) {
    case 'panl':
      return panPlan('left', width, height);
    case 'panr':
      return panPlan('right', width, height);
    case 'panu':
      return panPlan('up', width, height);
    case 'pand':
      return panPlan('down', width, height);
    case 'zoom15':
      return zoomPlan(1.5, width, height);
    case 'zoom2':
      return zoomPlan(2, width, height);
    case 'square':
      if (width === height) throw new InvalidRequestError('That picture is square already.');
      return squarePlan(width, height);
  }
}

type Edit = { kind: 'variation'; strength: number } | { kind: 'outpaint' | 'inpaint'; plan: EditPlan };

/**
 * Queues the edit for the member who clicked, with every rule of the server applied (admission),
 * the picture as parent (its family records it), and the source prompt and negative unless the
 * form gave its own (a `--no` in the form replaces the source's negative, as in the remix form).
 */
async function queue(
  interaction: ButtonInteraction | ModalSubmitInteraction,
  ctx: BotContext,
  record: JobRecord,
  image: ImageRecord,
  edit: Edit,
  asked?: RegionPrompt,
) {
  const plan = edit.kind === 'variation' ? undefined : edit.plan;
  const refusal = plan && planRefusal(plan);
  if (refusal) throw new InvalidRequestError(refusal);
  const input: GenerationInput = {
    kind: edit.kind,
    options: {
      prompt: asked?.prompt ?? record.prompt,
      negative: asked?.negative ?? record.negative,
      seed: asked?.seed,
      chaos: asked?.chaos,
      stylize: asked?.stylize,
      aspect: plan ? nearestAspect(plan.width, plan.height) : record.aspect,
      // Variations of a single picture make as many as its request did; edits make one, so they chain.
      count: edit.kind === 'variation' && record.kind !== 'upscale' ? record.count : 1,
      model: ctx.models.some((m) => m.name === record.model) ? record.model : undefined,
    },
    parentImageId: image.id,
    input: await imageBytes(ctx, image.id),
  };
  if (edit.kind === 'variation') {
    // At the request's own size, like V1–V4 (an upscale is varied at the size it was made at).
    input.strength = edit.strength;
  } else {
    input.size = { width: edit.plan.width, height: edit.plan.height };
    input.area = edit.plan.area;
  }
  const { record: queued, place, duplicate } = await enqueueGeneration(ctx, requesterOf(interaction), input);
  if (duplicate) return;
  await replyQueued(interaction, ctx, queued, queuedMessage(queued, place));
}

// ---- Vary (Region) -----------------------------------------------------------------------------

export function regionModal(jobId: string): APIModalInteractionResponseCallbackData {
  const input = (customId: string, label: string, style: TextInputStyle, extra: Record<string, unknown>) => ({
    type: ComponentType.ActionRow as const,
    components: [{ type: ComponentType.TextInput as const, custom_id: customId, label, style, ...extra }],
  });
  return {
    custom_id: regionFormId(jobId),
    title: 'Vary (Region)',
    components: [
      input('region', 'Region (grid cell, or x, y, w, h in %)', TextInputStyle.Short, {
        placeholder: 'top-left … centre … bottom-right, or 10, 20, 50, 40',
        required: true,
        max_length: 100,
      }),
      input('prompt', 'What to draw there', TextInputStyle.Paragraph, { required: true, max_length: PROMPT_MAX }),
    ],
  };
}

async function submitRegion(interaction: ModalSubmitInteraction, jobId: string, ctx: BotContext) {
  const field = (id: string) => {
    try {
      return interaction.fields.getTextInputValue(id);
    } catch {
      return '';
    }
  };
  const { record, image } = await singlePicture(ctx, jobId, interaction);
  const region = parseRegion(field('region'));
  if (!region) {
    throw new InvalidRequestError(
      'I could not read that region. Name a cell of a 3×3 grid (top-left, top, top-right, left, centre, right, bottom-left, bottom, bottom-right) ' +
        'or give a rectangle in per cent as x, y, width, height (e.g. `10, 20, 50, 40`).',
    );
  }
  if ('error' in region) throw new InvalidRequestError(region.error);
  const asked = regionPrompt(field('prompt'), ctx);
  await queue(interaction, ctx, record, image, { kind: 'inpaint', plan: regionPlan(region, image.width, image.height) }, asked);
}

type RegionPrompt = Pick<PromptOptions, 'prompt' | 'negative' | 'seed' | 'chaos' | 'stylize'>;

/**
 * What to draw in the region, checked like every other prompt (length, invisible characters,
 * inline flags). `--no`, `--seed`, `--chaos` and `--stylize` apply as they do elsewhere; a region is
 * redrawn inside the picture as it is, so the flags that change a whole picture's shape or size
 * (`--ar`, `--tile`, `--draft`) are refused rather than quietly ignored.
 */
function regionPrompt(text: string, ctx: BotContext): RegionPrompt {
  if (text.length > PROMPT_MAX) throw new InvalidRequestError(`What to draw can be at most ${PROMPT_MAX} characters long.`);
  const { prompt, flags } = extractInlineFlags(text);
  const misplaced = [flags.aspect !== undefined && '`--ar`', flags.tile && '`--tile`', flags.draft && '`--draft`'].filter(
    (flag): flag is string => typeof flag === 'string',
  );
  if (misplaced.length > 0) {
    throw new InvalidRequestError(
      `${misplaced.join(', ')} cannot be used in Vary (Region): it redraws part of the picture as it is, at its own size. ` +
        `Leave ${misplaced.length > 1 ? 'them' : 'it'} out (the zoom, pan and square buttons change the picture's shape).`,
    );
  }
  if (isBlankPrompt(prompt)) throw new InvalidRequestError('Say what to draw in the region.');
  const options = resolvePromptOptions(
    { prompt: text },
    ctx.models.map((model) => model.name),
  );
  return { prompt: options.prompt, negative: options.negative, seed: options.seed, chaos: options.chaos, stylize: options.stylize };
}
