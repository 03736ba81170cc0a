import {
  ApplicationCommandOptionType,
  ApplicationCommandType,
  ApplicationIntegrationType,
  InteractionContextType,
  type APIApplicationCommandBasicOption,
  type RESTPostAPIChatInputApplicationCommandsJSONBody,
} from 'discord.js';
import type { ChatInputCommand } from '../src/bot/command.js';
import { modeLabels } from '../src/features/series/flow.js';
import { SERIES_PANELS_MAX, SERIES_PANELS_MIN, SERIES_STYLE_MAX, SERIES_TITLE_MAX, seriesModes } from '../src/features/series/store.js';
import { exportFormats, runSeriesSubcommand } from '../src/features/series/subcommands.js';
import { PROMPT_MAX } from '../src/queues.js';

/** `/series`: comic strips, storyboards and exquisite corpses (src/features/series does the work). */
const seriesOption: APIApplicationCommandBasicOption = {
  name: 'series',
  description: 'Which series (its title or id); inside a series thread, that one',
  type: ApplicationCommandOptionType.String,
  max_length: 100,
};

const panelOption = (description: string): APIApplicationCommandBasicOption => ({
  name: 'panel',
  description,
  type: ApplicationCommandOptionType.Integer,
  required: true,
  min_value: 1,
  max_value: SERIES_PANELS_MAX,
});

const data = () =>
  ({
    name: 'series',
    description: 'Comic strips, storyboards and exquisite corpses, made together',
    type: ApplicationCommandType.ChatInput,
    contexts: [InteractionContextType.Guild],
    integration_types: [ApplicationIntegrationType.GuildInstall],
    options: [
      {
        name: 'create',
        description: 'Start a series (and a thread for it)',
        type: ApplicationCommandOptionType.Subcommand,
        options: [
          {
            name: 'title',
            description: 'What it is called',
            type: ApplicationCommandOptionType.String,
            required: true,
            max_length: SERIES_TITLE_MAX,
          },
          {
            name: 'mode',
            description: 'open: anyone, any order · relay: take turns · exquisite corpse: see only the panel before yours',
            type: ApplicationCommandOptionType.String,
            choices: seriesModes.map((mode) => ({ name: modeLabels[mode], value: mode })),
          },
          {
            name: 'panels',
            description: `How many panels (${SERIES_PANELS_MIN}–${SERIES_PANELS_MAX}, default 8)`,
            type: ApplicationCommandOptionType.Integer,
            min_value: SERIES_PANELS_MIN,
            max_value: SERIES_PANELS_MAX,
          },
          {
            name: 'style',
            description: 'Added to every panel prompt so the panels look like one work',
            type: ApplicationCommandOptionType.String,
            max_length: SERIES_STYLE_MAX,
          },
          {
            name: 'seed',
            description: 'A seed shared by every panel',
            type: ApplicationCommandOptionType.Integer,
            min_value: 0,
            max_value: 4_294_967_295,
          },
        ],
      },
      {
        name: 'add',
        description: 'Draw the next panel',
        type: ApplicationCommandOptionType.Subcommand,
        options: [
          {
            name: 'prompt',
            description: 'What happens in this panel',
            type: ApplicationCommandOptionType.String,
            required: true,
            max_length: PROMPT_MAX,
          },
          seriesOption,
        ],
      },
      {
        name: 'join',
        description: 'Join the turn order of a relay',
        type: ApplicationCommandOptionType.Subcommand,
        options: [seriesOption],
      },
      {
        name: 'view',
        description: 'The series so far, as one picture',
        type: ApplicationCommandOptionType.Subcommand,
        options: [seriesOption],
      },
      {
        name: 'export',
        description: 'A strip, an animated slideshow, or a zip of the originals',
        type: ApplicationCommandOptionType.Subcommand,
        options: [
          {
            name: 'format',
            description: 'strip (PNG, default), gif or webp (slideshow), zip (originals and manifest)',
            type: ApplicationCommandOptionType.String,
            choices: exportFormats.map((format) => ({ name: format, value: format })),
          },
          seriesOption,
        ],
      },
      {
        name: 'reorder',
        description: 'Move a panel (creator or moderator)',
        type: ApplicationCommandOptionType.Subcommand,
        options: [
          panelOption('The panel to move'),
          {
            name: 'to',
            description: 'Its new position',
            type: ApplicationCommandOptionType.Integer,
            required: true,
            min_value: 1,
            max_value: SERIES_PANELS_MAX,
          },
          seriesOption,
        ],
      },
      {
        name: 'remove',
        description: 'Take a panel out (creator or moderator)',
        type: ApplicationCommandOptionType.Subcommand,
        options: [panelOption('The panel to remove'), seriesOption],
      },
      {
        name: 'close',
        description: 'Stop taking panels (creator or moderator)',
        type: ApplicationCommandOptionType.Subcommand,
        options: [seriesOption],
      },
      {
        name: 'list',
        description: "This server's open and finished series",
        type: ApplicationCommandOptionType.Subcommand,
      },
    ],
  }) satisfies RESTPostAPIChatInputApplicationCommandsJSONBody;

export default { data, execute: runSeriesSubcommand } satisfies ChatInputCommand;
