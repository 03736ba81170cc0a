import type { ChatInputCommandInteraction } from 'discord.js';
import { ageRestriction } from '../../bot/age-restriction.js';
import { imageLink } from '../../bot/community.js';
import { imageBytes } from '../../bot/components/generation.js';
import type { BotContext } from '../../bot/context.js';
import { memberLinkLabel, noMentions, quotePrompt } from '../../bot/messages.js';
import { inThisServer } from '../../bot/server-scope.js';
import { composeGrid } from '../../images/grid.js';
import { firstPictures } from './pictures.js';
import { topPeriods, type TopPeriod } from './store.js';

const SHOWN = 10;
const IN_GRID = 4;

const periodNames: Record<TopPeriod, string> = { day: 'today', week: 'this week', month: 'this month', all: 'of all time' };

/** /top: the most-voted pictures of the server (or one channel) in a period, with a grid of the first four. */
export async function showTop(interaction: ChatInputCommandInteraction, ctx: BotContext): Promise<void> {
  const asked = interaction.options.getString('period');
  const period: TopPeriod = topPeriods.find((p) => p === asked) ?? 'week';
  const channel = interaction.options.getChannel('channel');
  await interaction.deferReply();
  const ranked = await ctx.votes.top({ guildId: interaction.guildId ?? undefined, channelId: channel?.id }, period, ctx.now(), SHOWN);
  const where = channel ? ` in <#${channel.id}>` : '';
  const title = `🏆 **Top pictures ${periodNames[period]}**${where}`;
  // A channel option can name another server's channel: its pictures are not listed here. Pictures
  // from age-restricted channels are listed only in age-restricted channels.
  const restriction = ageRestriction(ctx);
  const here = await restriction.ofInteraction(interaction, false);
  const pictures = await firstPictures(
    ctx,
    ranked.map((entry) => entry.jobId),
  );
  const loaded = await Promise.all(
    ranked.map(async (entry) => {
      const image = pictures.get(entry.jobId);
      const shown = image && !image.deletedAt && inThisServer(image, interaction) && (await restriction.mayShow(image, here));
      return shown ? { ...entry, image } : undefined;
    }),
  );
  const entries = loaded.filter((entry) => entry !== undefined);
  if (entries.length === 0) {
    await interaction.editReply({ content: `${title}\nNo votes yet. Click 👍 on a picture you like.`, allowedMentions: noMentions });
    return;
  }
  const lines = entries.map(({ image, votes }, i) => {
    const link = imageLink(image);
    const prompt = link ? `[${memberLinkLabel(image.prompt, 60)}](${link})` : quotePrompt(image.prompt, 60);
    return `**${i + 1}.** 👍 ${votes} · <@${image.userId}> · ${prompt}`;
  });
  const grid = (await Promise.all(entries.slice(0, IN_GRID).map(({ image }) => imageBytes(ctx, image.id).catch(() => undefined)))).filter(
    (bytes): bytes is Buffer => bytes !== undefined,
  );
  const picture = grid.length > 0 ? await composeGrid(grid, { labels: true, maxSize: 1024 }) : undefined;
  await interaction.editReply({
    content: `${title}\n${lines.join('\n')}`,
    files: picture ? [{ attachment: picture, name: 'top.png' }] : [],
    allowedMentions: noMentions,
  });
}
