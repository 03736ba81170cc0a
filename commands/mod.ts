import {
  ApplicationCommandOptionType,
  ApplicationCommandType,
  ApplicationIntegrationType,
  GuildMember,
  InteractionContextType,
  MessageFlags,
  PermissionFlagsBits,
  type ChatInputCommandInteraction,
  type RESTPostAPIChatInputApplicationCommandsJSONBody,
} from 'discord.js';
import type { ChatInputCommand } from '../src/bot/command.js';
import { cancelJob, isModerator } from '../src/bot/components/generation.js';
import type { BotContext } from '../src/bot/context.js';
import { CANNOT_SEE_ROLES, guildFactsOf, requireServerWide } from '../src/bot/guild-facts.js';
import { noMentions } from '../src/bot/messages.js';
import { InvalidRequestError } from '../src/bot/prompt.js';
import { BanList } from '../src/features/moderation/store.js';

const userOption = (description: string) => ({
  name: 'user',
  description,
  type: ApplicationCommandOptionType.User as const,
  required: true,
});

const data = () =>
  ({
    name: 'mod',
    description: 'Moderator tools',
    type: ApplicationCommandType.ChatInput,
    contexts: [InteractionContextType.Guild],
    integration_types: [ApplicationIntegrationType.GuildInstall],
    default_member_permissions: PermissionFlagsBits.ManageMessages.toString(),
    options: [
      {
        name: 'ban',
        description: 'Stop a member from making pictures here (their queued requests are cancelled)',
        type: ApplicationCommandOptionType.Subcommand,
        options: [userOption('Who')],
      },
      {
        name: 'unban',
        description: 'Let a member make pictures here again',
        type: ApplicationCommandOptionType.Subcommand,
        options: [userOption('Who')],
      },
      { name: 'bans', description: 'Who is banned from making pictures here', type: ApplicationCommandOptionType.Subcommand },
    ],
  }) satisfies RESTPostAPIChatInputApplicationCommandsJSONBody;

async function execute(interaction: ChatInputCommandInteraction, ctx: BotContext) {
  // Discord hides the command from members without Manage Messages, but servers can override that.
  if (!interaction.inGuild() || !isModerator(interaction)) {
    throw new InvalidRequestError('Only moderators (Manage Messages) can use `/mod`.');
  }
  // A ban holds on the whole server, so moderating one channel is not enough.
  await requireServerWide(ctx, interaction, PermissionFlagsBits.ManageMessages, 'Manage Messages', '`/mod`');
  const bans = new BanList(ctx.db);
  const guildId = interaction.guildId;
  const reply = (content: string) => interaction.reply({ content, flags: MessageFlags.Ephemeral, allowedMentions: noMentions });
  switch (interaction.options.getSubcommand()) {
    case 'ban': {
      const user = interaction.options.getUser('user', true);
      if (user.id === interaction.user.id) throw new InvalidRequestError('You cannot ban yourself.');
      if (user.bot) throw new InvalidRequestError('Bots do not make pictures here anyway.');
      await assertOutranks(interaction, user.id, ctx);
      const added = await bans.ban(guildId, user.id, interaction.user.id, ctx.now());
      const cancelled = await cancelQueuedIn(ctx, guildId, user.id, interaction.user.id);
      const also = cancelled > 0 ? ` ${cancelled} queued request${cancelled === 1 ? ' was' : 's were'} cancelled.` : '';
      await reply(added ? `🚫 <@${user.id}> can no longer make pictures on this server.${also}` : `<@${user.id}> was already banned.${also}`);
      return;
    }
    case 'unban': {
      const user = interaction.options.getUser('user', true);
      const removed = await bans.unban(guildId, user.id);
      await reply(removed ? `✅ <@${user.id}> can make pictures here again.` : `<@${user.id}> was not banned.`);
      return;
    }
    default: {
      const list = await bans.list(guildId);
      if (list.length === 0) {
        await reply('Nobody is banned from making pictures here.');
        return;
      }
      const lines = list.slice(0, 50).map((ban) => `• <@${ban.userId}> — by <@${ban.by}> <t:${Math.floor(ban.at / 1000)}:R>`);
      await reply(`**Banned from making pictures** (${list.length})\n${lines.join('\n')}`);
    }
  }
}

/**
 * Discord's own rule for moderating members: nobody acts on the server owner, and only the owner
 * acts on someone whose highest role is at or above their own. Roles come from the gateway's cache,
 * or from Discord when the bot has no gateway (INTERACTIONS=http).
 */
async function assertOutranks(interaction: ChatInputCommandInteraction, targetId: string, ctx: BotContext): Promise<void> {
  const guild = await guildFactsOf(ctx, interaction);
  if (!guild) throw new InvalidRequestError(CANNOT_SEE_ROLES);
  if (targetId === guild.ownerId) throw new InvalidRequestError('The server owner cannot be banned from Atelier.');
  if (interaction.user.id === guild.ownerId) return;
  const highest = (member: unknown) => Math.max(0, ...roleIdsOf(member).map((id) => guild.roles.get(id)?.position ?? 0));
  if (highest(interaction.options.getMember('user')) >= highest(interaction.member)) {
    throw new InvalidRequestError('You can only ban members whose highest role is below yours.');
  }
}

/** A member as discord.js gives it (cached) or as the interaction carries it (raw). */
function roleIdsOf(member: unknown): string[] {
  if (member instanceof GuildMember) return [...member.roles.cache.keys()];
  const roles = (member as { roles?: unknown } | null)?.roles;
  return Array.isArray(roles) ? roles.filter((id): id is string => typeof id === 'string') : [];
}

/** The banned member's requests on this server that have not started drawing. */
async function cancelQueuedIn(ctx: BotContext, guildId: string, userId: string, byUserId: string): Promise<number> {
  let cancelled = 0;
  for (const job of await ctx.jobs.openJobsOf(userId)) {
    if (job.guildId !== guildId || job.status !== 'queued') continue;
    await cancelJob(ctx, job.id, byUserId).then(
      () => cancelled++,
      (error) => {
        if (!(error instanceof InvalidRequestError)) throw error;
      },
    );
  }
  return cancelled;
}

export default { data, execute } satisfies ChatInputCommand;
