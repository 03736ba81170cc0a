import { DiscordAPIError, Routes, type APIChannel } from 'discord.js';
import type { BotContext } from './context.js';

/** A channel as Discord describes it now; undefined when it is gone or out of the bot's reach. */
export async function fetchChannel(ctx: BotContext, channelId: string): Promise<APIChannel | undefined> {
  try {
    return (await ctx.rest.get(Routes.channel(channelId))) as APIChannel;
  } catch (error) {
    if (error instanceof DiscordAPIError && (error.status === 404 || error.status === 403)) return undefined;
    throw error;
  }
}

/** The server a channel belongs to (undefined for an unknown channel or a direct message). */
export async function channelGuildId(ctx: BotContext, channelId: string): Promise<string | undefined> {
  const channel = await fetchChannel(ctx, channelId);
  return channel && 'guild_id' in channel ? channel.guild_id : undefined;
}
