import type { BaseInteraction } from 'discord.js';
import type { BotContext } from '../../bot/context.js';
import { imageBytes } from '../../bot/components/generation.js';
import { keepReference } from '../../bot/image-sources.js';
import { InvalidRequestError } from '../../bot/prompt.js';
import type { GenerationInput } from '../../bot/requests.js';
import type { JobRecord } from '../../store/jobs.js';
import { BlendStore } from '../blend/store.js';
import { StyleStore } from './store.js';
import { FORMER_MEMBER } from '../pictures/store.js';

/**
 * What a reroll carries over from the request it repeats: a blend's pictures and a borrowed style
 * (from the live record, or from the archive once it settled), recorded again for the new request
 * once it is admitted, so its family and the style's author see it like the first. Every picture
 * is read here, before admission: a reroll whose blend picture or style was deleted since is
 * refused before anything is charged, and admission then only keeps what was read.
 */
export async function carriedReferences(
  ctx: BotContext,
  record: JobRecord,
  interaction: BaseInteraction,
): Promise<Pick<GenerationInput, 'blendImageIds' | 'style' | 'onAdmitted'>> {
  const blends = new BlendStore(ctx.db);
  const styles = new StyleStore(ctx.db);
  const parents = record.blendImageIds ?? (await blends.parentsOf([record.id])).get(record.id);
  const borrowed = (await styles.borrowsOf([record.id])).get(record.id);
  const style = record.styleImageId
    ? { imageId: record.styleImageId, weight: record.styleWeight ?? borrowed?.weight ?? 100 }
    : borrowed && { imageId: borrowed.styleImageId, weight: borrowed.weight };
  if (!parents && !style) return {};
  const references = new Map<string, Buffer>();
  for (const id of [...(parents ?? []), ...(style ? [style.imageId] : [])]) {
    if (references.has(id)) continue;
    if ((await ctx.images.getRecord(id))?.deletedAt) {
      throw new InvalidRequestError(
        parents?.includes(id)
          ? 'One of the pictures this blend was made from was deleted, so it cannot be rerolled.'
          : 'The picture whose style this borrowed was deleted, so it cannot be rerolled.',
      );
    }
    references.set(id, await imageBytes(ctx, id));
  }
  return {
    blendImageIds: parents,
    style,
    onAdmitted: async () => {
      for (const [id, bytes] of references) await keepReference(ctx, interaction.id, id, bytes);
      if (parents) await blends.recordParents(interaction.id, parents);
      if (style) {
        const author = (await ctx.images.getRecord(style.imageId))?.userId;
        await styles.recordBorrow({
          requestId: interaction.id,
          styleImageId: style.imageId,
          authorId: author === FORMER_MEMBER ? undefined : author,
          borrowerId: interaction.user.id,
          guildId: interaction.guildId ?? undefined,
          weight: style.weight,
        });
      }
    },
  };
}
