import {
  ApplicationCommandOptionType,
  ApplicationCommandType,
  ApplicationIntegrationType,
  InteractionContextType,
  MessageFlags,
  type ChatInputCommandInteraction,
  type RESTPostAPIChatInputApplicationCommandsJSONBody,
} from 'discord.js';
import { aspectRatios, CHAOS_MAX, PROMPT_MAX, STYLIZE_MAX } from '../src/queues.js';
import type { ChatInputCommand, CommandSettings } from '../src/bot/command.js';
import { queuedMessage } from '../src/bot/messages.js';
import { InvalidRequestError, resolvePromptOptions } from '../src/bot/prompt.js';
import { requesterOf } from '../src/bot/requester.js';
import { replyQueued } from '../src/bot/queued-reply.js';
import { enqueueGeneration } from '../src/bot/requests.js';
import type { BotContext } from '../src/bot/context.js';
import { appliedDefaultsNote, withPreferences } from '../src/features/preferences/defaults.js';
import { readPreferences } from '../src/features/preferences/store.js';
import { enterSession, sessionOfThread } from '../src/features/sessions/entries.js';
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
        description: 'What to draw. Inline --ar 16:9, --seed 42, --no trees, --chaos 50, --tile… work too.',
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
      {
        name: 'chaos',
        description: 'How different the pictures are from each other (0–100)',
        type: ApplicationCommandOptionType.Integer,
        min_value: 0,
        max_value: CHAOS_MAX,
      },
      {
        name: 'stylize',
        description: "How strongly the model's own style is applied (0–1000, usual 100)",
        type: ApplicationCommandOptionType.Integer,
        min_value: 0,
        max_value: STYLIZE_MAX,
      },
      {
        name: 'tile',
        description: 'Make a picture that repeats seamlessly',
        type: ApplicationCommandOptionType.Boolean,
      },
      {
        name: 'draft',
        description: 'A fast, smaller preview; 🔍 Enhance renders it in full',
        type: ApplicationCommandOptionType.Boolean,
      },
    ],
  }) satisfies RESTPostAPIChatInputApplicationCommandsJSONBody;

async function execute(interaction: ChatInputCommandInteraction, ctx: BotContext) {
  const requester = requesterOf(interaction);
  // Inside a live session's thread, /imagine is an entry (only threads are looked up: no cost elsewhere).
  const session = requester.parentChannelId ? await sessionOfThread(ctx, interaction.channelId) : undefined;
  if (session) {
    return enterSession(interaction, ctx, session, {
      prompt: interaction.options.getString('prompt', true),
      negative: interaction.options.getString('negative'),
      aspect: interaction.options.getString('aspect'),
      seed: interaction.options.getInteger('seed'),
      model: interaction.options.getString('model'),
    });
  }
  // --sref/--sw name a picture: checked here, before anything is queued.
  const styleFlags = extractStyleFlags(interaction.options.getString('prompt', true));
  const style = await resolveStyle(ctx, styleFlags, interaction);
  const preferences = await readPreferences(ctx.db, interaction.user.id);
  // A personal default style code stands in for a --sref not given, where this server knows it.
  const defaultStyle =
    style || !preferences.styleCode
      ? undefined
      : await resolveStyle(ctx, { sref: preferences.styleCode, sw: styleFlags.sw }, interaction).catch((error: unknown) => {
          if (error instanceof InvalidRequestError) return undefined;
          throw error;
        });
  const modelNames = ctx.models.map((model) => model.name);
  // The member's /settings defaults fill what neither a slash option nor an inline flag gave.
  const { options: asked, applied } = withPreferences(
    {
      prompt: styleFlags.prompt,
      negative: interaction.options.getString('negative'),
      aspect: interaction.options.getString('aspect'),
      seed: interaction.options.getInteger('seed'),
      count: interaction.options.getInteger('count'),
      model: interaction.options.getString('model'),
      chaos: interaction.options.getInteger('chaos'),
      stylize: interaction.options.getInteger('stylize'),
      tile: interaction.options.getBoolean('tile'),
      draft: interaction.options.getBoolean('draft'),
    },
    preferences,
    modelNames,
  );
  if (defaultStyle) applied.push(`style \`${preferences.styleCode}\``);
  const borrowed = style ?? defaultStyle;
  const options = resolvePromptOptions(asked, modelNames);
  const { record, place, duplicate } = await enqueueGeneration(ctx, requester, {
    kind: 'txt2img',
    options,
    ...(borrowed && borrowStyle(ctx, interaction, borrowed)),
  });
  if (duplicate) return;
  await replyQueued(interaction, ctx, record, queuedMessage(record, place));
  if (applied.length > 0) {
    await interaction
      .followUp({ content: appliedDefaultsNote(applied), flags: MessageFlags.Ephemeral, allowedMentions: { parse: [] } })
      .catch((error: unknown) => ctx.logger.debug({ err: error }, 'could not say which defaults were applied'));
  }
}

export default { data, execute } satisfies ChatInputCommand;
