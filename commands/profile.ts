import {
  ApplicationCommandOptionType,
  ApplicationCommandType,
  ApplicationIntegrationType,
  InteractionContextType,
  type ChatInputCommandInteraction,
  type RESTPostAPIChatInputApplicationCommandsJSONBody,
} from 'discord.js';
import type { ChatInputCommand } from '../src/bot/command.js';
import type { BotContext } from '../src/bot/context.js';
import { showProfile } from '../src/features/votes/profile.js';

const data = () =>
  ({
    name: 'profile',
    description: 'Pictures made, votes and remixes received, and the best picture of a member',
    type: ApplicationCommandType.ChatInput,
    contexts: [InteractionContextType.Guild],
    integration_types: [ApplicationIntegrationType.GuildInstall],
    options: [{ name: 'user', description: 'Whose profile (default: yours)', type: ApplicationCommandOptionType.User }],
  }) satisfies RESTPostAPIChatInputApplicationCommandsJSONBody;

async function execute(interaction: ChatInputCommandInteraction, ctx: BotContext) {
  await showProfile(interaction, ctx);
}

export default { data, execute } satisfies ChatInputCommand;
