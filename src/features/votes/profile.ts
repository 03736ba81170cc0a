import type { ChatInputCommandInteraction } from 'discord.js';
import sharp from 'sharp';
import { ageRestriction } from '../../bot/age-restriction.js';
import { imageLink } from '../../bot/community.js';
import { imageBytes } from '../../bot/components/generation.js';
import type { BotContext } from '../../bot/context.js';
import { noMentions } from '../../bot/messages.js';
import { firstPictures } from './pictures.js';
import { StyleStore } from '../styles/store.js';

const plural = (n: number, one: string, many: string) => `${n} ${n === 1 ? one : many}`;

/** /profile: a member's numbers in this server, and their best picture with a thumbnail. */
export async function showProfile(interaction: ChatInputCommandInteraction, ctx: BotContext): Promise<void> {
  // The thumbnail is image work that can outlast Discord's 3 s: answer first.
  await interaction.deferReply();
  const user = interaction.options.getUser('user') ?? interaction.user;
  const numbers = await ctx.votes.profile(interaction.guildId ?? undefined, user.id);
  const borrowed = await new StyleStore(ctx.db).borrowedFrom(interaction.guildId ?? undefined, user.id);
  const found = numbers.best ? (await firstPictures(ctx, [numbers.best.jobId])).get(numbers.best.jobId) : undefined;
  const restriction = ageRestriction(ctx);
  // A best picture from an age-restricted channel is named only in age-restricted channels.
  const hidden = found !== undefined && !(await restriction.mayShow(found, await restriction.ofInteraction(interaction, false)));
  const best = hidden ? undefined : found;
  const link = best ? imageLink(best) : undefined;
  const lines = [
    `🎨 **Profile of <@${user.id}>**`,
    `${plural(numbers.images, 'picture', 'pictures')} made · 👍 ${plural(numbers.votes, 'vote', 'votes')} received · 🔀 ${plural(numbers.remixes, 'remix', 'remixes')} by others`,
    `🎨 ${plural(borrowed, 'style', 'styles')} borrowed by others`,
    hidden
      ? `Best picture: shown only in age-restricted channels (👍 ${numbers.best!.votes})`
      : best && link
        ? `Best picture: ${link} (👍 ${numbers.best!.votes})`
        : 'No voted pictures yet.',
  ];
  const thumbnail =
    best &&
    (await imageBytes(ctx, best.id)
      .then((bytes) => sharp(bytes).resize(512, 512, { fit: 'inside' }).png().toBuffer())
      .catch(() => undefined));
  await interaction.editReply({
    content: lines.join('\n'),
    files: thumbnail ? [{ attachment: thumbnail, name: 'best.png' }] : [],
    allowedMentions: noMentions,
  });
}
