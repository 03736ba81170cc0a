import {
  ApplicationCommandOptionType,
  ApplicationCommandType,
  ApplicationIntegrationType,
  InteractionContextType,
  type ChatInputCommandInteraction,
  type RESTPostAPIChatInputApplicationCommandsJSONBody,
} from 'discord.js';
import type { ChatInputCommand } from '../src/bot/command.js';
import { showFamily } from '../src/bot/components/community.js';
import type { BotContext } from '../src/bot/context.js';
import { resolveImageRef } from '../src/features/lineage/family.js';

const data = () =>
  ({
    name: 'lineage',
    description: 'The family tree of a picture: what it was made from, and what was made from it',
    type: ApplicationCommandType.ChatInput,
    contexts: [InteractionContextType.Guild],
    integration_types: [ApplicationIntegrationType.GuildInstall],
    options: [
      {
        name: 'image',
        description: 'An image id or a link to the message with the picture',
        type: ApplicationCommandOptionType.String,
        required: true,
        max_length: 200,
      },
    ],
  }) satisfies RESTPostAPIChatInputApplicationCommandsJSONBody;

async function execute(interaction: ChatInputCommandInteraction, ctx: BotContext) {
  const image = await resolveImageRef(ctx, interaction.options.getString('image', true), interaction);
  await showFamily(interaction, image.id, ctx, false);
}

export default { data, execute } satisfies ChatInputCommand;
