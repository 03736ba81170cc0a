import { imageLink } from '../../bot/community.js';
import type { BotContext } from '../../bot/context.js';
import { FORMER_MEMBER } from '../pictures/store.js';
import type { JobRecord } from '../../store/jobs.js';
import { styleCodeOf } from './store.js';

/** "🎨 style `3f9a0c12de`" (or one code per picture), for a result's message. */
export function styleCodesLine(imageIds: readonly string[]): string | undefined {
  if (imageIds.length === 0) return undefined;
  if (imageIds.length === 1) return `🎨 style \`${styleCodeOf(imageIds[0]!)}\` · borrow it with \`--sref ${styleCodeOf(imageIds[0]!)}\``;
  return `🎨 styles ${imageIds.map((id, i) => `${i + 1} \`${styleCodeOf(id)}\``).join(' · ')}`;
}

/** "🎨 style from <link> by @author" for a result drawn in another picture's style. */
export async function styleFromLine(ctx: BotContext, record: Pick<JobRecord, 'styleImageId' | 'styleWeight'>): Promise<string | undefined> {
  if (!record.styleImageId) return undefined;
  const source = await ctx.images.getRecord(record.styleImageId);
  const link = source && !source.deletedAt ? imageLink(source) : undefined;
  const author = source && source.userId !== FORMER_MEMBER ? ` by <@${source.userId}>` : '';
  return `🎨 style from ${link ?? `\`${styleCodeOf(record.styleImageId)}\``}${author} (--sw ${record.styleWeight ?? 100})`;
}
