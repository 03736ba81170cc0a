import type { ChatInputCommandInteraction, MessageContextMenuCommandInteraction, RESTPostAPIApplicationCommandsJSONBody } from 'discord.js';
import type { ModelChoice } from '../config.js';
import type { BotContext } from './context.js';

/** What a command's definition may depend on: the configured models, for choices. */
export interface CommandSettings {
  models: readonly ModelChoice[];
}

/** One file per command in `commands/`, exporting `{ data, execute }` as its default. */
export interface Command<I = ChatInputCommandInteraction | MessageContextMenuCommandInteraction> {
  data: (settings: CommandSettings) => RESTPostAPIApplicationCommandsJSONBody;
  execute: (interaction: I, ctx: BotContext) => Promise<void>;
}

export type ChatInputCommand = Command<ChatInputCommandInteraction>;
