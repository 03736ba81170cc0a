import {
  ApplicationCommandOptionType,
  ApplicationCommandType,
  ApplicationIntegrationType,
  ChannelType,
  InteractionContextType,
  type ChatInputCommandInteraction,
  type RESTPostAPIChatInputApplicationCommandsJSONBody,
} from 'discord.js';
import { ageRestriction } from '../src/bot/age-restriction.js';
import type { ChatInputCommand } from '../src/bot/command.js';
import { imageLink } from '../src/bot/community.js';
import { imageBytes } from '../src/bot/components/generation.js';
import type { BotContext } from '../src/bot/context.js';
import { noMentions, quotePrompt } from '../src/bot/messages.js';
import { inThisServer } from '../src/bot/server-scope.js';
import { composeGrid } from '../src/images/grid.js';
import { topPeriods, type TopPeriod } from '../src/store/votes.js';

const SHOWN = 10;
const IN_GRID = 4;

const periodNames: Record<TopPeriod, string> = { day: 'today', week: 'this week', month: 'this month', all: 'of all time' };

const data = () =>
  ({
    name: 'top',
    description: 'The most-voted pictures',
    type: ApplicationCommandType.ChatInput,
    contexts: [InteractionContextType.Guild],
    integration_types: [ApplicationIntegrationType.GuildInstall],
    options: [
      {
        name: 'period',
        description: 'Pictures made in the last day, week (default), month, or ever',
        type: ApplicationCommandOptionType.String,
        choices: topPeriods.map((period) => ({ name: period, value: period })),
      },
      {
        name: 'channel',
        description: 'Only pictures made in this channel',
        type: ApplicationCommandOptionType.Channel,
        channel_types: [ChannelType.GuildText, ChannelType.GuildAnnouncement, ChannelType.PublicThread, ChannelType.AnnouncementThread],
      },
    ],
  }) satisfies RESTPostAPIChatInputApplicationCommandsJSONBody;

async function execute(interaction: ChatInputCommandInteraction, ctx: BotContext) {
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
  const loaded = await Promise.all(
    ranked.map(async (entry) => {
      const image = await ctx.images.getRecord(`${entry.jobId}-1`);
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
    const prompt = quotePrompt(image!.prompt, 60).replace(/[[\]]/g, '');
    const link = imageLink(image!);
    return `**${i + 1}.** 👍 ${votes} · <@${image!.userId}> · ${link ? `[${prompt}](${link})` : prompt}`;
  });
  const pictures = (await Promise.all(entries.slice(0, IN_GRID).map(({ image }) => imageBytes(ctx, image!.id).catch(() => undefined)))).filter(
    (bytes): bytes is Buffer => bytes !== undefined,
  );
  const grid = pictures.length > 0 ? await composeGrid(pictures, { labels: true, maxSize: 1024 }) : undefined;
  await interaction.editReply({
    content: `${title}\n${lines.join('\n')}`,
    files: grid ? [{ attachment: grid, name: 'top.png' }] : [],
    allowedMentions: noMentions,
  });
}

export default { data, execute } satisfies ChatInputCommand;
