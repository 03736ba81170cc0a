import type { BaseInteraction } from 'discord.js';
import type { ImageRecord } from '../pictures/images.js';
import { ageRestriction } from '../../bot/age-restriction.js';
import type { BotContext } from '../../bot/context.js';
import { keepReference } from '../../bot/image-sources.js';
import type { GenerationInput } from '../../bot/requests.js';
import { InvalidRequestError } from '../../bot/prompt.js';
import { imageOfThisServer } from '../../bot/server-scope.js';
import { resolveImageRef } from '../lineage/family.js';
import { StyleStore, styleCodePattern } from './store.js';
import { FORMER_MEMBER } from '../pictures/store.js';

/** --sw when only --sref is given (as Midjourney's default). */
export const DEFAULT_STYLE_WEIGHT = 100;
export const STYLE_WEIGHT_MAX = 1000;

/**
 * Pulls `--sref <code or link>` and `--sw <0–1000>` out of a prompt, leaving everything else
 * (other flags included) for the prompt parser. Kept apart from prompt.ts: these two flags name a
 * picture, which only the bot can check.
 */
export function extractStyleFlags(text: string): { prompt: string; sref?: string; sw?: string } {
  let sref: string | undefined;
  let sw: string | undefined;
  const prompt = text.replace(/(^|\s)--(sref|sw)(?:\s+(\S+))?(?=\s|$)/gi, (_match, lead: string, name: string, value: string | undefined) => {
    if (name.toLowerCase() === 'sref') sref = value ?? '';
    else sw = value ?? '';
    return lead;
  });
  return { prompt: prompt.replace(/\s+/g, ' ').trim(), sref, sw };
}

export interface BorrowedStyle {
  image: ImageRecord;
  weight: number;
}

/**
 * The picture a --sref names (a style code, an image id or a message link) if it is one of this
 * server's pictures that may be shown here, with the weight. Anything else is a clear refusal.
 */
export async function resolveStyle(
  ctx: BotContext,
  flags: { sref?: string; sw?: string },
  interaction: BaseInteraction,
): Promise<BorrowedStyle | undefined> {
  if (flags.sref === undefined) {
    if (flags.sw !== undefined) throw new InvalidRequestError('`--sw` sets how strongly a `--sref` style applies; give a `--sref` too.');
    return undefined;
  }
  let weight = DEFAULT_STYLE_WEIGHT;
  if (flags.sw !== undefined) {
    if (!/^\d{1,4}$/.test(flags.sw) || Number(flags.sw) > STYLE_WEIGHT_MAX) {
      throw new InvalidRequestError('`--sw` takes a whole number from 0 to 1000 (100 is the usual).');
    }
    weight = Number(flags.sw);
  }
  const ref = flags.sref.trim();
  if (!ref) throw new InvalidRequestError('`--sref` takes a style code (shown under every picture) or a link to a picture.');
  const place = { guildId: interaction.guildId, channelId: interaction.channelId };
  let image: ImageRecord | undefined;
  if (styleCodePattern.test(ref.toLowerCase())) {
    const ids = await new StyleStore(ctx.db).findByCode(ref.toLowerCase());
    for (const id of ids) {
      image = await imageOfThisServer(ctx, id, place);
      if (image) break;
    }
    if (!image) throw new InvalidRequestError(`I know no picture with the style code \`${ref.toLowerCase()}\` on this server.`);
  } else {
    image = await resolveImageRef(ctx, ref, place).catch(() => {
      throw new InvalidRequestError(
        '`--sref` takes a style code (like `3f9a0c12de`, shown under every picture) or a link to an Atelier picture of this server.',
      );
    });
  }
  if (image.deletedAt) throw new InvalidRequestError('That picture was deleted; its style cannot be borrowed.');
  const restriction = ageRestriction(ctx);
  if (!(await restriction.mayShow(image, await restriction.ofInteraction(interaction, false)))) {
    throw new InvalidRequestError('That picture was made in an age-restricted channel: borrow its style in one.');
  }
  return { image, weight };
}

/**
 * What a request borrowing a style adds: the picture for the worker, and, once the request is
 * admitted, a copy of its bytes in image storage and the credit to its author.
 */
export function borrowStyle(ctx: BotContext, interaction: BaseInteraction, style: BorrowedStyle): Pick<GenerationInput, 'style' | 'onAdmitted'> {
  return {
    style: { imageId: style.image.id, weight: style.weight },
    onAdmitted: async () => {
      await keepReference(ctx, interaction.id, style.image.id);
      await new StyleStore(ctx.db).recordBorrow({
        requestId: interaction.id,
        styleImageId: style.image.id,
        authorId: style.image.userId === FORMER_MEMBER ? undefined : style.image.userId,
        borrowerId: interaction.user.id,
        guildId: interaction.guildId ?? undefined,
        weight: style.weight,
      });
    },
  };
}
