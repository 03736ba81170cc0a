import {
  ApplicationCommandOptionType,
  ApplicationCommandType,
  ApplicationIntegrationType,
  InteractionContextType,
  type Attachment,
  type ChatInputCommandInteraction,
  type RESTPostAPIChatInputApplicationCommandsJSONBody,
} from 'discord.js';
import type { ChatInputCommand } from '../src/bot/command.js';
import type { BotContext } from '../src/bot/context.js';
import { BLEND_MAX, runBlend } from '../src/features/blend/flow.js';
import { aspectRatios, PROMPT_MAX } from '../src/queues.js';

const data = () =>
  ({
    name: 'blend',
    description: 'Mix 2–5 pictures into a new one',
    type: ApplicationCommandType.ChatInput,
    contexts: [InteractionContextType.Guild],
    integration_types: [ApplicationIntegrationType.GuildInstall],
    options: [
      {
        name: 'images',
        description: 'Links to messages with pictures (or image ids), separated by spaces',
        type: ApplicationCommandOptionType.String,
        max_length: 1000,
      },
      ...Array.from({ length: BLEND_MAX }, (_, i) => ({
        name: `file${i + 1}`,
        description: `A picture to blend (${i + 1})`,
        type: ApplicationCommandOptionType.Attachment as const,
      })),
      {
        name: 'aspect',
        description: 'Shape of the result',
        type: ApplicationCommandOptionType.String,
        choices: aspectRatios.map((ratio) => ({ name: ratio, value: ratio })),
      },
      {
        name: 'prompt',
        description: 'What the mix should become (optional)',
        type: ApplicationCommandOptionType.String,
        max_length: PROMPT_MAX,
      },
    ],
  }) satisfies RESTPostAPIChatInputApplicationCommandsJSONBody;

async function execute(interaction: ChatInputCommandInteraction, ctx: BotContext) {
  const files = Array.from({ length: BLEND_MAX }, (_, i) => interaction.options.getAttachment(`file${i + 1}`)).filter(
    (file): file is Attachment => file !== null,
  );
  await runBlend(interaction, ctx, {
    links: interaction.options.getString('images'),
    files,
    aspect: interaction.options.getString('aspect'),
    prompt: interaction.options.getString('prompt'),
  });
}

export default { data, execute } satisfies ChatInputCommand;
