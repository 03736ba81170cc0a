import type { Attachment, ChatInputCommandInteraction } from 'discord.js';
import type { BotContext } from '../../bot/context.js';
import { keepSources, linkTokens, sourceFromAttachment, sourceFromLink, type ImageSource } from '../../bot/image-sources.js';
import { queuedMessage } from '../../bot/messages.js';
import { InvalidRequestError, resolvePromptOptions } from '../../bot/prompt.js';
import { replyQueued } from '../../bot/queued-reply.js';
import { requesterOf } from '../../bot/requester.js';
import { enqueueGeneration } from '../../bot/requests.js';
import { BlendStore } from './store.js';

export const BLEND_MIN = 2;
export const BLEND_MAX = 5;
/** How far a blend moves from its pictures averaged: halfway keeps every one of them recognisable. */
export const BLEND_STRENGTH = 0.5;

export interface BlendRequest {
  /** Message links or image ids, in order, then the attached files. */
  links: string | null;
  files: Attachment[];
  aspect: string | null;
  prompt: string | null;
}

/**
 * /blend: mixes 2–5 pictures into one. Every source is checked before anything is kept or
 * queued (count, links, files, age restriction, then the server's rules in enqueueGeneration), so
 * a refusal changes nothing. The pictures' family records every parent.
 */
export async function runBlend(interaction: ChatInputCommandInteraction, ctx: BotContext, asked: BlendRequest): Promise<void> {
  const links = linkTokens(asked.links);
  const total = links.length + asked.files.length;
  if (total < BLEND_MIN || total > BLEND_MAX) {
    throw new InvalidRequestError(`A blend takes ${BLEND_MIN} to ${BLEND_MAX} pictures (attachments or message links); you gave ${total}.`);
  }
  const sources: ImageSource[] = [];
  for (const link of links) sources.push(await sourceFromLink(ctx, interaction, link));
  for (const file of asked.files) sources.push(await sourceFromAttachment(ctx, interaction, file));
  if (new Set(sources.map((source) => source.record.id)).size !== sources.length) {
    throw new InvalidRequestError('The same picture is in that blend twice; give each picture once.');
  }

  const options = resolvePromptOptions(
    {
      prompt: asked.prompt?.trim() || `a blend of ${sources.length} pictures`,
      aspect: asked.aspect,
      count: 1,
    },
    ctx.models.map((model) => model.name),
  );
  const parents = sources.map((source) => source.record.id);
  const blends = new BlendStore(ctx.db);
  const { record, place, duplicate } = await enqueueGeneration(ctx, requesterOf(interaction), {
    kind: 'img2img',
    options,
    strength: BLEND_STRENGTH,
    parentImageId: parents[0],
    blendImageIds: parents,
    onAdmitted: async () => {
      await keepSources(ctx, interaction.id, sources);
      await blends.recordParents(interaction.id, parents);
    },
  });
  if (duplicate) return;
  await replyQueued(interaction, ctx, record, queuedMessage(record, place));
}
