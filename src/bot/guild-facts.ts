import { DiscordAPIError, GuildMember, PermissionFlagsBits, Routes, type APIGuild, type BaseInteraction } from 'discord.js';
import { fetchChannel } from './channels.js';
import type { BotContext } from './context.js';

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

/**
 * A member's permissions in a channel, computed as Discord does: @everyone and the member's roles,
 * then the channel's overwrites (@everyone, roles, the member). Channels are asked of Discord, as
 * the bot keeps none in memory. Undefined when the server or the channel cannot be read.
 */
export async function permissionsInChannel(ctx: BotContext, interaction: BaseInteraction, channelId: string): Promise<bigint | undefined> {
  const guild = await guildFactsOf(ctx, interaction);
  const channel = await fetchChannel(ctx, channelId);
  if (!guild || !channel || !('guild_id' in channel) || channel.guild_id !== guild.id) return undefined;
  const userId = interaction.user.id;
  if (userId === guild.ownerId) return ALL_PERMISSIONS;
  const roleIds = memberRoleIds(interaction.member);
  let permissions = guild.roles.get(guild.id)?.permissions ?? 0n;
  for (const id of roleIds) permissions |= guild.roles.get(id)?.permissions ?? 0n;
  if (permissions & PermissionFlagsBits.Administrator) return ALL_PERMISSIONS;
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
