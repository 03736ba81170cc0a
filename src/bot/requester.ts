import type { BaseInteraction } from 'discord.js';
import { DEFAULT_ATTACHMENT_LIMIT, type Requester } from './requests.js';

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
  };
}
