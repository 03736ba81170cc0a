import {
  ApplicationCommandOptionType,
  ApplicationCommandType,
  ApplicationIntegrationType,
  ChannelType,
  InteractionContextType,
  type ChatInputCommandInteraction,
  type RESTPostAPIChatInputApplicationCommandsJSONBody,
} from 'discord.js';
import type { ChatInputCommand } from '../src/bot/command.js';
import type { BotContext } from '../src/bot/context.js';
import { topPeriods } from '../src/features/votes/store.js';
import { showTop } from '../src/features/votes/top.js';

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
  await showTop(interaction, ctx);
}

export default { data, execute } satisfies ChatInputCommand;
