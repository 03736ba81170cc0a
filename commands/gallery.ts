import {
  ApplicationCommandType,
  ApplicationIntegrationType,
  InteractionContextType,
  MessageFlags,
  type ChatInputCommandInteraction,
  type RESTPostAPIChatInputApplicationCommandsJSONBody,
} from 'discord.js';
import type { ChatInputCommand } from '../src/bot/command.js';
import type { BotContext } from '../src/bot/context.js';
import { noMentions } from '../src/bot/messages.js';
import { InvalidRequestError } from '../src/bot/prompt.js';

const data = () =>
  ({
    name: 'gallery',
    description: 'The link to this server’s gallery on the web',
    type: ApplicationCommandType.ChatInput,
    contexts: [InteractionContextType.Guild],
    integration_types: [ApplicationIntegrationType.GuildInstall],
  }) satisfies RESTPostAPIChatInputApplicationCommandsJSONBody;

async function execute(interaction: ChatInputCommandInteraction, ctx: BotContext) {
  if (!interaction.inGuild()) throw new InvalidRequestError('The gallery belongs to a server: use /gallery in one.');
  if (!ctx.webPublicUrl) throw new InvalidRequestError('This Atelier has no web gallery (WEB_PUBLIC_URL is not set).');
  const settings = await ctx.settings.get(interaction.guildId);
  const who = settings.galleryPublic ? 'It is public: anyone with the link can look.' : 'Members of this server log in with Discord to see it.';
  await interaction.reply({
    content: `🌐 This server’s gallery: ${ctx.webPublicUrl}/g/${interaction.guildId}\n${who}`,
    flags: MessageFlags.Ephemeral,
    allowedMentions: noMentions,
  });
}

export default { data, execute } satisfies ChatInputCommand;
