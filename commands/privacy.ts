import {
  ApplicationCommandOptionType,
  ApplicationCommandType,
  ApplicationIntegrationType,
  ButtonStyle,
  ComponentType,
  InteractionContextType,
  MessageFlags,
  type ChatInputCommandInteraction,
  type RESTPostAPIChatInputApplicationCommandsJSONBody,
} from 'discord.js';
import type { ChatInputCommand } from '../src/bot/command.js';
import { PRIVACY_DELETE_BUTTON } from '../src/bot/components/privacy.js';
import type { BotContext } from '../src/bot/context.js';
import { noMentions } from '../src/bot/messages.js';

const data = () =>
  ({
    name: 'privacy',
    description: 'Your data in Atelier',
    type: ApplicationCommandType.ChatInput,
    contexts: [InteractionContextType.Guild],
    integration_types: [ApplicationIntegrationType.GuildInstall],
    options: [
      {
        name: 'delete-my-data',
        description: 'Delete your pictures, prompts and votes, and cancel your queued requests',
        type: ApplicationCommandOptionType.Subcommand,
      },
    ],
  }) satisfies RESTPostAPIChatInputApplicationCommandsJSONBody;

/** Asks first: the button does the deleting, so a slip of the finger costs nothing. */
async function execute(interaction: ChatInputCommandInteraction, _ctx: BotContext) {
  await interaction.reply({
    content:
      '**Delete your data?** This deletes every picture you made with Atelier (the messages, files and prompts), ' +
      'your votes, and cancels your queued requests, on every server. It cannot be undone.',
    components: [
      {
        type: ComponentType.ActionRow,
        components: [{ type: ComponentType.Button, style: ButtonStyle.Danger, label: 'Delete everything', custom_id: PRIVACY_DELETE_BUTTON }],
      },
    ],
    flags: MessageFlags.Ephemeral,
    allowedMentions: noMentions,
  });
}

export default { data, execute } satisfies ChatInputCommand;
