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
import { noMentions } from '../src/bot/messages.js';
import { InvalidRequestError } from '../src/bot/prompt.js';
import { seasonOf, seasonPattern } from '../src/features/challenges/model.js';

const SHOWN = 10;

const data = () =>
  ({
    name: 'leaderboard',
    description: 'Challenge points of the season',
    type: ApplicationCommandType.ChatInput,
    contexts: [InteractionContextType.Guild],
    integration_types: [ApplicationIntegrationType.GuildInstall],
    options: [{ name: 'season', description: 'A season like 2026-Q4 (default: this one)', type: ApplicationCommandOptionType.String, max_length: 7 }],
  }) satisfies RESTPostAPIChatInputApplicationCommandsJSONBody;

async function execute(interaction: ChatInputCommandInteraction, ctx: BotContext) {
  if (!interaction.guildId) throw new InvalidRequestError('Leaderboards belong to servers.');
  const season = interaction.options.getString('season')?.trim().toUpperCase() ?? seasonOf(ctx.now());
  if (!seasonPattern.test(season)) throw new InvalidRequestError('A season is a year and a quarter, like `2026-Q4`.');
  const [rows, seasons] = await Promise.all([
    ctx.challenges.leaderboard(interaction.guildId, season, SHOWN),
    ctx.challenges.seasons(interaction.guildId),
  ]);
  const lines = [`🏆 **Leaderboard · season ${season}**`];
  if (rows.length === 0) lines.push('No points yet this season: they come with the results of a challenge.');
  const medals = ['🥇', '🥈', '🥉'];
  rows.forEach((row, index) =>
    lines.push(`${medals[index] ?? `**${index + 1}.**`} <@${row.userId}> · ${row.points} ${row.points === 1 ? 'point' : 'points'}`),
  );
  const others = seasons.filter((name) => name !== season);
  if (others.length > 0) lines.push(`-# Other seasons: ${others.join(', ')}`);
  // Names are shown, nobody is pinged.
  await interaction.reply({ content: lines.join('\n'), allowedMentions: noMentions });
}

export default { data, execute } satisfies ChatInputCommand;
