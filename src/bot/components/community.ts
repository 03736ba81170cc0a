import {
  ComponentType,
  MessageFlags,
  TextInputStyle,
  type APIAttachment,
  type APIModalInteractionResponseCallbackData,
  type ButtonInteraction,
  type ChatInputCommandInteraction,
  type ModalSubmitInteraction,
} from 'discord.js';
import { imageSize } from '../../images/meta.js';
import { mixReference, UnreadableReferenceError } from '../../images/reference.js';
import { assertDownloadableImage, downloadImage } from '../attachments.js';
import { fetchChannelMessage } from '../discord-messages.js';
import type { ImageRecord } from '../../features/pictures/images.js';
import type { JobRecord } from '../../store/jobs.js';
import { PROMPT_MAX, nearestAspect } from '../../queues.js';
import { uploadId, uploadRecord } from '../image-sources.js';
import type { BotContext } from '../context.js';
import { ageRestriction } from '../age-restriction.js';
import { familyPicture, familyText, hideAgeRestricted, loadFamily } from '../../features/lineage/family.js';
import { noMentions, queuedMessage } from '../messages.js';
import { InvalidRequestError, resolvePromptOptions } from '../prompt.js';
import { replyQueued } from '../queued-reply.js';
import { requesterOf } from '../requester.js';
import { recordAsClicked } from '../result-files.js';
import { enqueueGeneration } from '../requests.js';
import { imageOfThisServer, inThisServer } from '../server-scope.js';
import { parseCommunityId, remixJobModalId, type CommunityButtonAction } from './community-ids.js';
import type { ComponentHandler } from './index.js';
import { imageBytes, isModerator } from './generation.js';
import { voteButton } from '../../features/votes/components.js';
import { takeDownGalleryPictures } from '../../features/challenges/transitions.js';

export const DEFAULT_STRENGTH = 0.6;

/** 👍 Vote, 🔀 Remix, 🌳 Family and 🗑 on a result. */
export async function handleCommunityButton(interaction: ButtonInteraction, action: CommunityButtonAction, jobId: string, ctx: BotContext) {
  // Votes are read from the archive alone, so the button on an old message keeps working.
  if (action === 'vote') return voteButton(interaction, jobId, ctx);
  const record = await deliveredJob(ctx, jobId, interaction);
  // The buttons act on the message they sit on: a custom_id replayed on another message is refused.
  if (interaction.message.id !== record.resultMessageId) throw new InvalidRequestError('That button does not belong to this message.');
  switch (action) {
    case 'remix':
      return interaction.showModal(remixModal(remixJobModalId(record.id), record.prompt, record.imageIds.length));
    case 'family':
      return showFamily(interaction, record.imageIds[0]!, ctx, true);
    case 'delete':
      return deleteResult(interaction, record, ctx);
  }
}

/**
 * The delivered result a custom_id names, if it belongs to the server the click came from; that
 * includes a result clicked the moment it was posted (see recordAsClicked).
 */
async function deliveredJob(ctx: BotContext, jobId: string, interaction: ButtonInteraction | ModalSubmitInteraction): Promise<JobRecord> {
  const record = await recordAsClicked(ctx, jobId, interaction.message);
  if (!record || record.status !== 'delivered' || record.imageIds.length === 0 || !inThisServer(record, interaction)) {
    throw new InvalidRequestError('I no longer know that picture (it may be too old).');
  }
  return record;
}

/**
 * Author or moderator: the images leave the message and the store; the family keeps a tombstone.
 * A delivery still being archived when this runs leaves the tombstone as it is (see upsertImages).
 */
async function deleteResult(interaction: ButtonInteraction, record: JobRecord, ctx: BotContext) {
  if (interaction.user.id !== record.userId && !isModerator(interaction)) {
    throw new InvalidRequestError('Only the person who made this picture, or a moderator, can delete it.');
  }
  const images = await ctx.images.getRecords(record.imageIds);
  if (images.some((image) => image.deletedAt)) throw new InvalidRequestError('That picture is already deleted.');
  const now = ctx.now();
  await ctx.votes.close({ jobId: record.id }, now);
  // The rows become tombstones; the bytes leave image storage (folder or bucket) and Redis.
  await ctx.images.tombstone(record.imageIds, interaction.user.id, now);
  const by = interaction.user.id === record.userId ? 'its author' : 'a moderator';
  await interaction.update({
    content: `🗑 This picture was deleted by ${by}. Its place in the family tree is kept.`,
    components: [],
    attachments: [],
    allowedMentions: noMentions,
  });
  ctx.logger.info({ jobId: record.id, by: interaction.user.id }, 'result deleted');
  // After the answer, which Discord wants within 3 s: a challenge gallery showing the picture lets it go too.
  await takeDownGalleryPictures(ctx, { imageIds: record.imageIds }).catch((error: unknown) =>
    ctx.logger.warn({ err: error, jobId: record.id }, 'could not take a deleted picture out of a challenge gallery'),
  );
}

/** The family tree, privately (from a button) or for the channel (from /lineage). */
export async function showFamily(interaction: ButtonInteraction | ChatInputCommandInteraction, imageId: string, ctx: BotContext, privately: boolean) {
  const image = await ctx.images.getRecord(imageId);
  if (!image) throw new InvalidRequestError('I no longer know that picture.');
  const restriction = ageRestriction(ctx);
  const here = await restriction.ofInteraction(interaction, false);
  if (!(await restriction.mayShow(image, here))) {
    throw new InvalidRequestError('That picture was made in an age-restricted channel: its family is shown only in age-restricted channels.');
  }
  await interaction.deferReply(privately ? { flags: MessageFlags.Ephemeral } : {});
  const { root, size } = await loadFamily(ctx, image);
  await hideAgeRestricted(root, restriction, here);
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
  // Discord's File Upload component (inside a Label): an optional picture to mix in.
  const reference = {
    type: ComponentType.Label as const,
    label: 'Reference image (optional)',
    description: `A PNG, JPEG or WebP of up to ${MAX_REFERENCE_BYTES / 1024 / 1024} MB, mixed into the picture to guide the remix.`,
    component: { type: ComponentType.FileUpload as const, custom_id: REFERENCE_FIELD, required: false, min_values: 0, max_values: 1 },
  };
  return { custom_id: customId, title: 'Remix', components: [...components, reference] };
}

/** The remix form's File Upload component. */
export const REFERENCE_FIELD = 'reference';
/** Largest reference image the remix form takes. */
export const MAX_REFERENCE_BYTES = 8 * 1024 * 1024;
const REFERENCE_TYPES = /^image\/(png|jpeg|webp)$/;

/**
 * The reference image uploaded in a remix form, if any, checked before anything is fetched (type
 * and size as Discord reports them) and again once downloaded (only Discord's CDN, bounded).
 */
async function uploadedReference(interaction: ModalSubmitInteraction, ctx: BotContext): Promise<Buffer | undefined> {
  let files: ReturnType<ModalSubmitInteraction['fields']['getUploadedFiles']>;
  try {
    files = interaction.fields.getUploadedFiles(REFERENCE_FIELD, false);
  } catch {
    return undefined; // a form sent before the upload existed
  }
  if (!files || files.size === 0) return undefined;
  if (files.size > 1) throw new InvalidRequestError('Upload one reference image at most.');
  const file = files.first()!;
  const type = (file.contentType ?? '').split(';')[0]!.trim();
  if (!REFERENCE_TYPES.test(type)) throw new InvalidRequestError('The reference must be a PNG, JPEG or WebP image.');
  if (file.size > MAX_REFERENCE_BYTES) {
    throw new InvalidRequestError(`The reference image is too large: at most ${MAX_REFERENCE_BYTES / 1024 / 1024} MB.`);
  }
  return downloadImage(file.url, ctx.cdnHosts, MAX_REFERENCE_BYTES);
}

export function parseStrength(raw: string): number {
  const text = raw.trim().replace(',', '.');
  const value = /^(?:0|1)?(?:\.\d{1,2})?$/.test(text) && text !== '' && text !== '.' ? Number(text) : NaN;
  if (!(value >= 0.1 && value <= 1))
    throw new InvalidRequestError('Strength must be a number from 0.1 (close to the original) to 1.0 (far from it), e.g. `0.6`.');
  return value;
}

/** Which picture a remix form is about: a result's (picked in the form), a known image, or a member's upload. */
export type RemixSource = { jobId: string } | { imageId: string } | { upload: { messageId: string; attachmentId: string } };

/** Submitted remix form: queues an img2img job from the chosen picture. */
export async function submitRemix(interaction: ModalSubmitInteraction, source: RemixSource, ctx: BotContext) {
  const field = (id: string) => {
    try {
      return interaction.fields.getTextInputValue(id);
    } catch {
      return undefined;
    }
  };
  let parent: ImageRecord | undefined;
  let job: JobRecord | undefined;
  let upload: { record: ImageRecord; bytes: Buffer; authorName: string } | undefined;
  if ('jobId' in source) {
    job = await deliveredJob(ctx, source.jobId, interaction);
    const number = job.imageIds.length > 1 ? Number((field('image') ?? '1').trim()) : 1;
    if (!Number.isInteger(number) || number < 1 || number > job.imageIds.length) {
      throw new InvalidRequestError(`Pick a picture from 1 to ${job.imageIds.length}.`);
    }
    parent = await imageOfThisServer(ctx, job.imageIds[number - 1]!, interaction);
  } else if ('upload' in source) {
    const known = await ctx.images.getRecord(uploadId(source.upload.attachmentId));
    parent = known && inThisServer(known, interaction) ? known : undefined;
    if (!known) {
      // Checked before anything is fetched: a bad strength costs no download.
      parseStrength(field('strength') ?? '');
      upload = await readUpload(ctx, interaction, source.upload);
      parent = upload?.record;
    }
  } else {
    parent = await imageOfThisServer(ctx, source.imageId, interaction);
  }
  if (!parent) throw new InvalidRequestError('I no longer know that picture.');
  if (parent.deletedAt) throw new InvalidRequestError('That picture was deleted; it cannot be remixed.');
  const strength = parseStrength(field('strength') ?? '');
  const prompt = field('prompt') ?? '';
  const reference = await uploadedReference(interaction, ctx);
  const original = upload?.bytes ?? (await imageBytes(ctx, parent.id));
  const input = reference
    ? await mixReference(original, reference).catch((error: unknown) => {
        if (error instanceof UnreadableReferenceError) throw new InvalidRequestError('The reference image could not be read as a picture.');
        throw error;
      })
    : original;
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
  const parentRecord = parent;
  const keepSource = async () => {
    if (upload) {
      // The member's picture becomes the root of a family only now that a remix of it was admitted.
      await ctx.images.saveRecord(upload.record);
      await ctx.lineage.rememberName(upload.record.userId, upload.authorName);
    }
    // Keep the bot's own copy: later rerolls and family thumbnails read it (CDN links expire).
    if (!(await ctx.images.readFile(parentRecord.id))) await ctx.images.writeFile(parentRecord.id, original);
  };
  const { record, place, duplicate } = await enqueueGeneration(ctx, requesterOf(interaction), {
    kind: 'img2img',
    parentImageId: parent.id,
    input,
    strength,
    options,
    onAdmitted: keepSource,
  });
  if (duplicate) return;
  await replyQueued(interaction, ctx, record, queuedMessage(record, place));
}

/** A member's upload is known by its attachment. */

const isImageAttachment = (attachment: APIAttachment) =>
  /^image\//.test(attachment.content_type ?? '') || /\.(png|jpe?g|webp|gif)$/i.test(attachment.filename);

/**
 * The picture a "Remix this image" form names, read from its message now (in the channel the form
 * was sent from), with what its image record will say; undefined when the message or the picture is gone.
 */
async function readUpload(
  ctx: BotContext,
  interaction: ModalSubmitInteraction,
  ref: { messageId: string; attachmentId: string },
): Promise<{ record: ImageRecord; bytes: Buffer; authorName: string } | undefined> {
  if (!interaction.channelId) return undefined;
  const message = await fetchChannelMessage(ctx, interaction.channelId, ref.messageId);
  const attachment = message?.attachments.find((a) => a.id === ref.attachmentId && isImageAttachment(a));
  if (!message || !attachment) return undefined;
  assertDownloadableImage(attachment.url, ctx.cdnHosts, { contentType: attachment.content_type, size: attachment.size });
  const bytes = await downloadImage(attachment.url, ctx.cdnHosts);
  const record = await uploadRecord(ctx, interaction, attachment, {
    authorId: message.author.id,
    width: attachment.width ?? 0,
    height: attachment.height ?? 0,
    channelId: message.channel_id,
    messageId: message.id,
    createdAt: Date.parse(message.timestamp),
    attachmentUrl: attachment.url,
  });
  return { record, bytes, authorName: message.author.global_name ?? message.author.username };
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
      const source: RemixSource =
        id.kind === 'remix-job'
          ? { jobId: id.jobId }
          : id.kind === 'remix-upload'
            ? { upload: { messageId: id.messageId, attachmentId: id.attachmentId } }
            : { imageId: id.imageId };
      await submitRemix(interaction, source, ctx);
      return true;
    }
    return false;
  },
};
