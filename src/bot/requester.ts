import { ChannelType, type BaseInteraction } from 'discord.js';
import { payloadChannel } from './interaction-payload.js';
import { DEFAULT_ATTACHMENT_LIMIT, type Requester } from './requests.js';

const threadTypes: ReadonlySet<number> = new Set([ChannelType.PublicThread, ChannelType.PrivateThread, ChannelType.AnnouncementThread]);

/** Who asked, where, and with which token: everything delivery needs later, from the interaction. */
export function requesterOf(interaction: BaseInteraction): Requester {
  return {
    interactionId: interaction.id,
    interactionToken: interaction.token,
    attachmentSizeLimit: interaction.attachmentSizeLimit || DEFAULT_ATTACHMENT_LIMIT,
    userId: interaction.user.id,
    userName: interaction.user.displayName ?? interaction.user.username,
    guildId: interaction.guildId ?? undefined,
    channelId: interaction.channelId!,
    ...placeOf(interaction),
  };
}

/**
 * The member's roles and the channel's age restriction: what server policies depend on. They come
 * from the interaction's own payload; a thread's carries no age restriction of its own, so its
 * parent is named and the flag stays undefined: enqueueGeneration asks for the parent's, once, for
 * both the server's NSFW policy and the pictures' marking.
 */
function placeOf(interaction: BaseInteraction): Pick<Requester, 'roleIds' | 'channelNsfw' | 'parentChannelId'> {
  const member = interaction.member;
  const roleIds = !member ? [] : Array.isArray(member.roles) ? member.roles : [...member.roles.cache.keys()];
  const payload = payloadChannel(interaction);
  if (payload) {
    if (payload.type !== undefined && threadTypes.has(payload.type)) return { roleIds, parentChannelId: payload.parentId, channelNsfw: undefined };
    return { roleIds, channelNsfw: payload.nsfw };
  }
  const channel = interaction.channel;
  if (channel?.isThread()) {
    const parent = channel.parent;
    return { roleIds, parentChannelId: channel.parentId ?? undefined, channelNsfw: parent && 'nsfw' in parent ? Boolean(parent.nsfw) : undefined };
  }
  return { roleIds, channelNsfw: channel && 'nsfw' in channel ? Boolean(channel.nsfw) : undefined };
}
