import {
  ComponentType,
  MessageFlags,
  Routes,
  TextInputStyle,
  type APIModalInteractionResponseCallbackData,
  type ButtonInteraction,
  type ChatInputCommandInteraction,
  type ModalSubmitInteraction,
} from 'discord.js';
import { imageSize } from '../../images/meta.js';
import type { ImageRecord } from '../../store/images.js';
import type { JobRecord } from '../../store/jobs.js';
import type { JobRef } from '../../store/votes.js';
import { PROMPT_MAX, aspectRatios, aspectSizes, type AspectRatio } from '../../queues.js';
import type { BotContext } from '../context.js';
import { familyPicture, familyText, loadFamily } from '../family.js';
import { noMentions, queuedMessage, resultMessage } from '../messages.js';
import { InvalidRequestError, resolvePromptOptions } from '../prompt.js';
import { replyQueued } from '../queued-reply.js';
import { requesterOf } from '../requester.js';
import { enqueueGeneration } from '../requests.js';
import { parseCommunityId, remixJobModalId, type CommunityButtonAction } from './community-ids.js';
import type { ComponentHandler } from './index.js';
import { imageBytes, isModerator } from './generation.js';

export const DEFAULT_STRENGTH = 0.6;

/** 👍 Vote, 🔀 Remix, 🌳 Family and 🗑 on a result. */
export async function handleCommunityButton(interaction: ButtonInteraction, action: CommunityButtonAction, jobId: string, ctx: BotContext) {
  const record = await deliveredJob(ctx, jobId);
  // The buttons act on the message they sit on: a custom_id replayed on another message is refused.
  if (interaction.message.id !== record.resultMessageId) throw new InvalidRequestError('That button does not belong to this message.');
  switch (action) {
    case 'vote':
      return vote(interaction, record, ctx);
    case 'remix':
      return interaction.showModal(remixModal(remixJobModalId(record.id), record.prompt, record.imageIds.length));
    case 'family':
      return showFamily(interaction, record.imageIds[0]!, ctx, true);
    case 'delete':
      return deleteResult(interaction, record, ctx);
  }
}

async function deliveredJob(ctx: BotContext, jobId: string): Promise<JobRecord> {
  const record = await ctx.jobs.get(jobId);
  if (!record || record.status !== 'delivered' || record.imageIds.length === 0) {
    throw new InvalidRequestError('I no longer know that picture (it may be too old).');
  }
  return record;
}

/** What a vote on this result counts towards: the job, where it was made, and its author. */
const voteTarget = (record: JobRecord): JobRef => ({
  jobId: record.id,
  guildId: record.guildId,
  channelId: record.channelId,
  userId: record.userId,
  createdAt: record.createdAt,
});

async function vote(interaction: ButtonInteraction, record: JobRecord, ctx: BotContext) {
  if (interaction.user.id === record.userId && !(await ctx.settings.get(record.guildId)).allowSelfVote) {
    throw new InvalidRequestError('You cannot vote for your own pictures here.');
  }
  const { outcome, votes } = await ctx.votes.toggle(
    voteTarget(record),
    interaction.user.id,
    ctx.now(),
  );
  if (outcome === 'added' || outcome === 'removed') ctx.metrics?.votes.inc({ outcome });
  if (outcome === 'closed') throw new InvalidRequestError('That picture was deleted; it cannot be voted for any more.');
  // Rebuilt from the record, never from the clicked message: what members see is what Redis holds.
  await interaction.update({ components: resultMessage(record, [], { votes }).components, allowedMentions: noMentions });
  await settleVoteCount(ctx, record, votes).catch((error) => ctx.logger.debug({ err: error, jobId: record.id }, 'vote count settle failed'));
}

/**
 * Concurrent clicks answer concurrently, and Discord applies their updates in whatever order they
 * arrive: an update carrying an older count can land last. Each click therefore looks again once
 * its own update is in, and redraws the buttons if the count moved meanwhile; the last click to
 * look sees the final count.
 */
async function settleVoteCount(ctx: BotContext, record: JobRecord, shown: number) {
  const latest = await ctx.votes.count(record.id);
  if (latest === shown || !record.resultMessageId) return;
  await ctx.rest.patch(Routes.channelMessage(record.resultChannelId ?? record.channelId, record.resultMessageId), {
    body: { components: resultMessage(record, [], { votes: latest }).components },
  });
}

/** Author or moderator: the images leave the message and the store; the family keeps a tombstone. */
async function deleteResult(interaction: ButtonInteraction, record: JobRecord, ctx: BotContext) {
  if (interaction.user.id !== record.userId && !isModerator(interaction)) {
    throw new InvalidRequestError('Only the person who made this picture, or a moderator, can delete it.');
  }
  const images = (await Promise.all(record.imageIds.map((id) => ctx.images.getRecord(id)))).filter((r): r is ImageRecord => !!r);
  if (images.some((image) => image.deletedAt)) throw new InvalidRequestError('That picture is already deleted.');
  const now = ctx.now();
  await ctx.votes.close(voteTarget(record));
  for (const image of images) await ctx.images.tombstone(image.id, interaction.user.id, now);
  const by = interaction.user.id === record.userId ? 'its author' : 'a moderator';
  await interaction.update({
    content: `🗑 This picture was deleted by ${by}. Its place in the family tree is kept.`,
    components: [],
    attachments: [],
    allowedMentions: noMentions,
  });
  ctx.logger.info({ jobId: record.id, by: interaction.user.id }, 'result deleted');
}

/** The family tree, privately (from a button) or for the channel (from /lineage). */
export async function showFamily(
  interaction: ButtonInteraction | ChatInputCommandInteraction,
  imageId: string,
  ctx: BotContext,
  privately: boolean,
) {
  const image = await ctx.images.getRecord(imageId);
  if (!image) throw new InvalidRequestError('I no longer know that picture.');
  await interaction.deferReply(privately ? { flags: MessageFlags.Ephemeral } : {});
  const { root, size } = await loadFamily(ctx, image);
  const heading = `🌳 **Family tree** · ${size} ${size === 1 ? 'picture' : 'pictures'}`;
  const text = `${heading}\n${familyText(root, 1900 - heading.length)}`;
  const picture = await familyPicture(ctx, root).catch((error) => {
    ctx.logger.warn({ err: error, imageId }, 'family tree picture failed; sending the text alone');
    return undefined;
  });
  await interaction.editReply({
    content: text,
    files: picture ? [{ attachment: picture, name: 'family.png' }] : [],
    allowedMentions: noMentions,
  });
}

// ---- remix ---------------------------------------------------------------------------------

/** The remix form: prompt (pre-filled), strength, and which picture when a result has several. */
export function remixModal(customId: string, prompt: string, images: number): APIModalInteractionResponseCallbackData {
  const input = (customId: string, label: string, style: TextInputStyle, extra: Record<string, unknown>) => ({
    type: ComponentType.ActionRow as const,
    components: [{ type: ComponentType.TextInput as const, custom_id: customId, label, style, ...extra }],
  });
  const components = [
    input('prompt', 'Prompt', TextInputStyle.Paragraph, { value: prompt.slice(0, PROMPT_MAX) || undefined, required: true, max_length: PROMPT_MAX }),
    input('strength', 'Strength: how far to move away (0.1–1.0)', TextInputStyle.Short, {
      value: String(DEFAULT_STRENGTH),
      required: true,
      max_length: 4,
    }),
  ];
  if (images > 1) {
    components.push(input('image', `Which picture (1–${images})`, TextInputStyle.Short, { value: '1', required: true, max_length: 1 }));
  }
  return { custom_id: customId, title: 'Remix', components };
}

export function parseStrength(raw: string): number {
  const text = raw.trim().replace(',', '.');
  const value = /^(?:0|1)?(?:\.\d{1,2})?$/.test(text) && text !== '' && text !== '.' ? Number(text) : NaN;
  if (!(value >= 0.1 && value <= 1)) throw new InvalidRequestError('Strength must be a number from 0.1 (close to the original) to 1.0 (far from it), e.g. `0.6`.');
  return value;
}

/** The ratio closest to a picture's shape (uploads come in any size). */
export function nearestAspect(width: number, height: number): AspectRatio {
  if (!(width > 0 && height > 0)) return '1:1';
  const ratio = Math.log(width / height);
  let best: AspectRatio = '1:1';
  for (const aspect of aspectRatios) {
    const size = aspectSizes[aspect];
    if (Math.abs(Math.log(size.width / size.height) - ratio) < Math.abs(Math.log(aspectSizes[best].width / aspectSizes[best].height) - ratio)) best = aspect;
  }
  return best;
}

/** Submitted remix form: queues an img2img job from the chosen picture. */
export async function submitRemix(interaction: ModalSubmitInteraction, source: { jobId: string } | { imageId: string }, ctx: BotContext) {
  const field = (id: string) => {
    try {
      return interaction.fields.getTextInputValue(id);
    } catch {
      return undefined;
    }
  };
  let parent: ImageRecord | undefined;
  let job: JobRecord | undefined;
  if ('jobId' in source) {
    job = await deliveredJob(ctx, source.jobId);
    const number = job.imageIds.length > 1 ? Number((field('image') ?? '1').trim()) : 1;
    if (!Number.isInteger(number) || number < 1 || number > job.imageIds.length) {
      throw new InvalidRequestError(`Pick a picture from 1 to ${job.imageIds.length}.`);
    }
    parent = await ctx.images.getRecord(job.imageIds[number - 1]!);
  } else {
    parent = await ctx.images.getRecord(source.imageId);
  }
  // A custom_id names a picture but proves nothing: pictures of another server stay out of reach.
  if (!parent || (parent.guildId ?? null) !== (interaction.guildId ?? null)) throw new InvalidRequestError('I no longer know that picture.');
  if (parent.deletedAt) throw new InvalidRequestError('That picture was deleted; it cannot be remixed.');
  const strength = parseStrength(field('strength') ?? '');
  const prompt = field('prompt') ?? '';
  const input = await imageBytes(ctx, parent.id);
  // Keep the bot's own copy: later rerolls and family thumbnails read it (CDN links expire).
  if (!(await ctx.images.readFile(parent.id))) await ctx.images.writeFile(parent.id, input);
  const shape = job ? undefined : await imageSize(input).catch(() => undefined);
  const options = resolvePromptOptions(
    {
      prompt,
      negative: job?.negative,
      aspect: job?.aspect ?? nearestAspect(shape?.width ?? parent.width, shape?.height ?? parent.height),
      count: job?.kind === 'upscale' ? 1 : (job?.count ?? 1),
      model: job && ctx.models.some((m) => m.name === job.model) ? job.model : undefined,
    },
    ctx.models.map((model) => model.name),
  );
  const { record, place, duplicate } = await enqueueGeneration(ctx, requesterOf(interaction), {
    kind: 'img2img',
    parentImageId: parent.id,
    input,
    strength,
    options,
  });
  if (duplicate) return;
  await replyQueued(interaction, ctx, record.id, queuedMessage(record, place));
}

/** Routes `img:…` custom_ids: the community buttons and the two remix forms. */
export const communityComponents: ComponentHandler = {
  prefix: 'img',
  async handle(interaction, ctx) {
    const id = parseCommunityId(interaction.customId);
    if (!id) return false;
    if (id.kind === 'button' && interaction.isButton()) {
      await handleCommunityButton(interaction, id.action, id.jobId, ctx);
      return true;
    }
    if (id.kind !== 'button' && interaction.isModalSubmit()) {
      await submitRemix(interaction, id.kind === 'remix-job' ? { jobId: id.jobId } : { imageId: id.imageId }, ctx);
      return true;
    }
    return false;
  },
};
