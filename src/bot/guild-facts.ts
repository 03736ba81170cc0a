import { ChannelType, DiscordAPIError, GuildMember, PermissionFlagsBits, Routes, type APIGuild, type BaseInteraction } from 'discord.js';
import { fetchChannel } from './channels.js';
import type { BotContext } from './context.js';
import { InvalidRequestError } from './prompt.js';

/** What moderation rules need of a server: its owner and its roles' positions and permissions. */
export interface GuildFacts {
  id: string;
  ownerId: string;
  roles: ReadonlyMap<string, { position: number; permissions: bigint }>;
}

/**
 * The interaction's server: from the gateway's cache (guilds and roles are kept), or asked of
 * Discord when the process has no gateway (INTERACTIONS=http). Undefined when Discord cannot tell.
 */
export async function guildFactsOf(ctx: BotContext, interaction: BaseInteraction): Promise<GuildFacts | undefined> {
  const cached = interaction.guild;
  if (cached) {
    return {
      id: cached.id,
      ownerId: cached.ownerId,
      roles: new Map(cached.roles.cache.map((role) => [role.id, { position: role.position, permissions: role.permissions.bitfield }])),
    };
  }
  if (!interaction.guildId) return undefined;
  try {
    const guild = (await ctx.rest.get(Routes.guild(interaction.guildId))) as APIGuild;
    return {
      id: guild.id,
      ownerId: guild.owner_id,
      roles: new Map(guild.roles.map((role) => [role.id, { position: role.position, permissions: BigInt(role.permissions) }])),
    };
  } catch (error) {
    if (error instanceof DiscordAPIError && (error.status === 403 || error.status === 404)) return undefined;
    throw error;
  }
}

/** A member's role ids, whether discord.js built a GuildMember (cached guild) or left the raw payload. */
export function memberRoleIds(member: unknown): string[] {
  if (member instanceof GuildMember) return [...member.roles.cache.keys()];
  const roles = (member as { roles?: unknown } | null)?.roles;
  return Array.isArray(roles) ? roles.filter((id): id is string => typeof id === 'string') : [];
}

const ALL_PERMISSIONS = (1n << 64n) - 1n;
const THREAD_TYPES = new Set<ChannelType>([ChannelType.PublicThread, ChannelType.PrivateThread, ChannelType.AnnouncementThread]);

/** A member's permissions on the server as a whole: the owner, @everyone and their roles, no channel's overwrites. */
function serverPermissions(guild: GuildFacts, userId: string, roleIds: readonly string[]): bigint {
  if (userId === guild.ownerId) return ALL_PERMISSIONS;
  let permissions = guild.roles.get(guild.id)?.permissions ?? 0n;
  for (const id of roleIds) permissions |= guild.roles.get(id)?.permissions ?? 0n;
  return permissions & PermissionFlagsBits.Administrator ? ALL_PERMISSIONS : permissions;
}

/**
 * Whether a permission the member has where they asked is theirs on the whole server. Discord
 * sends the member's permissions in the interaction's channel, overwrites included: false when
 * only that channel's overwrites give it (a member who moderates one channel does not moderate
 * the server). Undefined when Discord cannot tell us the server's roles or the channel.
 */
async function holdsServerWide(ctx: BotContext, interaction: BaseInteraction, flag: bigint): Promise<boolean | undefined> {
  const guild = await guildFactsOf(ctx, interaction);
  if (!guild) return undefined;
  if (serverPermissions(guild, interaction.user.id, memberRoleIds(interaction.member)) & flag) return true;
  if (!interaction.channelId) return undefined;
  const inChannel = await permissionsInChannel(ctx, interaction, interaction.channelId, guild);
  if (inChannel === undefined) return undefined;
  // Given here by an overwrite: this channel only. Given by neither: the permissions Discord sent
  // are what we have to go by.
  return (inChannel & flag) === 0n;
}

export const CANNOT_SEE_ROLES = 'I cannot see this server’s roles right now, so I cannot check that. Try again in a moment.';

/**
 * Refuses, with a reason for the member, a command that acts on the whole server (`what`) when
 * `flag` (named `permission`) is theirs in this channel only, or when Discord cannot tell.
 */
export async function requireServerWide(
  ctx: BotContext,
  interaction: BaseInteraction,
  flag: bigint,
  permission: string,
  what: string,
): Promise<void> {
  const serverWide = await holdsServerWide(ctx, interaction, flag);
  if (serverWide === undefined) throw new InvalidRequestError(CANNOT_SEE_ROLES);
  if (!serverWide) throw new InvalidRequestError(`${what} acts on the whole server: it needs ${permission} on the server, not only in this channel.`);
}

/**
 * A member's permissions in a channel, computed as Discord does: @everyone and the member's roles,
 * then the channel's overwrites (@everyone, roles, the member). Channels are asked of Discord, as
 * the bot keeps none in memory (the server's facts may be passed in when already read). Undefined
 * when the server or the channel cannot be read.
 */
export async function permissionsInChannel(
  ctx: BotContext,
  interaction: BaseInteraction,
  channelId: string,
  known?: GuildFacts,
): Promise<bigint | undefined> {
  const guild = known ?? (await guildFactsOf(ctx, interaction));
  let channel = await fetchChannel(ctx, channelId);
  // A thread has no overwrites of its own: its parent's apply.
  if (channel && THREAD_TYPES.has(channel.type) && 'parent_id' in channel && channel.parent_id) channel = await fetchChannel(ctx, channel.parent_id);
  if (!guild || !channel || !('guild_id' in channel) || channel.guild_id !== guild.id) return undefined;
  const userId = interaction.user.id;
  const roleIds = memberRoleIds(interaction.member);
  let permissions = serverPermissions(guild, userId, roleIds);
  if (permissions === ALL_PERMISSIONS) return permissions;
  const overwrites = 'permission_overwrites' in channel ? (channel.permission_overwrites ?? []) : [];
  const apply = (allow: bigint, deny: bigint) => (permissions = (permissions & ~deny) | allow);
  const everyone = overwrites.find((o) => o.id === guild.id);
  if (everyone) apply(BigInt(everyone.allow), BigInt(everyone.deny));
  let allow = 0n;
  let deny = 0n;
  for (const o of overwrites) {
    if (o.id !== guild.id && roleIds.includes(o.id)) {
      allow |= BigInt(o.allow);
      deny |= BigInt(o.deny);
    }
  }
  apply(allow, deny);
  const own = overwrites.find((o) => o.id === userId);
  if (own) apply(BigInt(own.allow), BigInt(own.deny));
  return permissions;
}
