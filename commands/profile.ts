import {
  ApplicationCommandOptionType,
  ApplicationCommandType,
  ApplicationIntegrationType,
  InteractionContextType,
  type ChatInputCommandInteraction,
  type RESTPostAPIChatInputApplicationCommandsJSONBody,
} from 'discord.js';
import sharp from 'sharp';
import { ageRestriction } from '../src/bot/age-restriction.js';
import type { ChatInputCommand } from '../src/bot/command.js';
import { imageLink } from '../src/bot/community.js';
import { imageBytes } from '../src/bot/components/generation.js';
import type { BotContext } from '../src/bot/context.js';
import { noMentions } from '../src/bot/messages.js';

const data = () =>
  ({
    name: 'profile',
    description: 'Pictures made, votes and remixes received, and the best picture of a member',
    type: ApplicationCommandType.ChatInput,
    contexts: [InteractionContextType.Guild],
    integration_types: [ApplicationIntegrationType.GuildInstall],
    options: [{ name: 'user', description: 'Whose profile (default: yours)', type: ApplicationCommandOptionType.User }],
  }) satisfies RESTPostAPIChatInputApplicationCommandsJSONBody;

const plural = (n: number, one: string, many: string) => `${n} ${n === 1 ? one : many}`;

async function execute(interaction: ChatInputCommandInteraction, ctx: BotContext) {
  // The thumbnail is image work that can outlast Discord's 3 s: answer first.
  await interaction.deferReply();
  const user = interaction.options.getUser('user') ?? interaction.user;
  const numbers = await ctx.votes.profile(interaction.guildId ?? undefined, user.id);
  const found = numbers.best ? await ctx.images.getRecord(`${numbers.best.jobId}-1`) : undefined;
  const restriction = ageRestriction(ctx);
  // A best picture from an age-restricted channel is named only in age-restricted channels.
  const hidden = found !== undefined && !(await restriction.mayShow(found, await restriction.ofInteraction(interaction, false)));
  const best = hidden ? undefined : found;
  const link = best ? imageLink(best) : undefined;
  const lines = [
    `🎨 **Profile of <@${user.id}>**`,
    `${plural(numbers.images, 'picture', 'pictures')} made · 👍 ${plural(numbers.votes, 'vote', 'votes')} received · 🔀 ${plural(numbers.remixes, 'remix', 'remixes')} by others`,
    hidden
      ? `Best picture: shown only in age-restricted channels (👍 ${numbers.best!.votes})`
      : best && link
        ? `Best picture: ${link} (👍 ${numbers.best!.votes})`
        : 'No voted pictures yet.',
  ];
  const thumbnail =
    best &&
    (await imageBytes(ctx, best.id)
      .then((bytes) => sharp(bytes).resize(512, 512, { fit: 'inside' }).png().toBuffer())
      .catch(() => undefined));
  await interaction.editReply({
    content: lines.join('\n'),
    files: thumbnail ? [{ attachment: thumbnail, name: 'best.png' }] : [],
    allowedMentions: noMentions,
  });
}

export default { data, execute } satisfies ChatInputCommand;
