import {
  ApplicationCommandOptionType,
  ApplicationCommandType,
  ApplicationIntegrationType,
  InteractionContextType,
  type ChatInputCommandInteraction,
  type RESTPostAPIChatInputApplicationCommandsJSONBody,
} from 'discord.js';
import { aspectRatios, PROMPT_MAX } from '../src/queues.js';
import type { ChatInputCommand, CommandSettings } from '../src/bot/command.js';
import { queuedMessage } from '../src/bot/messages.js';
import { resolvePromptOptions } from '../src/bot/prompt.js';
import { requesterOf } from '../src/bot/requester.js';
import { replyQueued } from '../src/bot/queued-reply.js';
import { enqueueGeneration } from '../src/bot/requests.js';
import type { BotContext } from '../src/bot/context.js';
import { borrowStyle, extractStyleFlags, resolveStyle } from '../src/features/styles/flags.js';

const data = ({ models }: CommandSettings) =>
  ({
    name: 'imagine',
    description: 'Turn a prompt into pictures',
    type: ApplicationCommandType.ChatInput,
    contexts: [InteractionContextType.Guild],
    integration_types: [ApplicationIntegrationType.GuildInstall],
    options: [
      {
        name: 'prompt',
        description: 'What to draw. Inline --ar 16:9, --seed 42 and --no trees work too.',
        type: ApplicationCommandOptionType.String,
        required: true,
        max_length: PROMPT_MAX,
      },
      {
        name: 'negative',
        description: 'What to keep out of the picture',
        type: ApplicationCommandOptionType.String,
        max_length: PROMPT_MAX,
      },
      {
        name: 'aspect',
        description: 'Shape of the picture',
        type: ApplicationCommandOptionType.String,
        choices: aspectRatios.map((ratio) => ({ name: ratio, value: ratio })),
      },
      {
        name: 'seed',
        description: 'Same seed + same prompt = same picture',
        type: ApplicationCommandOptionType.Integer,
        min_value: 0,
        max_value: 4_294_967_295,
      },
      {
        name: 'count',
        description: 'How many pictures (1–4)',
        type: ApplicationCommandOptionType.Integer,
        min_value: 1,
        max_value: 4,
      },
      {
        name: 'model',
        description: 'Which model draws it',
        type: ApplicationCommandOptionType.String,
        choices: models.map((model) => ({ name: model.name, value: model.name })),
      },
    ],
  }) satisfies RESTPostAPIChatInputApplicationCommandsJSONBody;

async function execute(interaction: ChatInputCommandInteraction, ctx: BotContext) {
  // --sref/--sw name a picture: checked here, before anything is queued.
  const styleFlags = extractStyleFlags(interaction.options.getString('prompt', true));
  const style = await resolveStyle(ctx, styleFlags, interaction);
  const options = resolvePromptOptions(
    {
      prompt: styleFlags.prompt,
      negative: interaction.options.getString('negative'),
      aspect: interaction.options.getString('aspect'),
      seed: interaction.options.getInteger('seed'),
      count: interaction.options.getInteger('count'),
      model: interaction.options.getString('model'),
    },
    ctx.models.map((model) => model.name),
  );
  const { record, place, duplicate } = await enqueueGeneration(ctx, requesterOf(interaction), {
    kind: 'txt2img',
    options,
    ...(style && borrowStyle(ctx, interaction, style)),
  });
  if (duplicate) return;
  await replyQueued(interaction, ctx, record.id, queuedMessage(record, place));
}

export default { data, execute } satisfies ChatInputCommand;
