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
import { runDescribe } from '../src/features/describe/flow.js';

const data = () =>
  ({
    name: 'describe',
    description: 'Four prompts that would draw a picture like this one',
    type: ApplicationCommandType.ChatInput,
    contexts: [InteractionContextType.Guild],
    integration_types: [ApplicationIntegrationType.GuildInstall],
    options: [
      { name: 'image', description: 'The picture', type: ApplicationCommandOptionType.Attachment },
      { name: 'link', description: 'Or a link to a message with the picture', type: ApplicationCommandOptionType.String, max_length: 200 },
    ],
  }) satisfies RESTPostAPIChatInputApplicationCommandsJSONBody;

async function execute(interaction: ChatInputCommandInteraction, ctx: BotContext) {
  await runDescribe(interaction, ctx, { file: interaction.options.getAttachment('image'), link: interaction.options.getString('link') });
}

export default { data, execute } satisfies ChatInputCommand;
