import type { BotContext } from '../context.js';
import { noMentions } from '../messages.js';
import { interactionCreatedAt } from '../requests.js';
import { deleteMemberData, queueMemberDataDeletion } from '../privacy.js';
import type { ComponentHandler } from './index.js';

/** The confirmation button of `/privacy delete-my-data`: it deletes the data of whoever clicks it. */
export const PRIVACY_DELETE_BUTTON = 'privacy:delete-my-data';

export const privacyComponents: ComponentHandler = {
  prefix: 'privacy',
  async handle(interaction, ctx: BotContext) {
    if (interaction.customId !== PRIVACY_DELETE_BUTTON || !interaction.isButton()) return false;
    if (!ctx.privacyQueue) {
      // A context without queues (handler tests): the deletion runs right here.
      await interaction.update({ content: '🗑 Deleting your data…', components: [], allowedMentions: noMentions });
      const results = await deleteMemberData(ctx, interaction.user.id);
      const summary = results.map(({ name, count }) => `${name}: ${count}`).join(' · ');
      await interaction.editReply({ content: `🗑 Done. ${summary}`, components: [], allowedMentions: noMentions });
      return true;
    }
    // Answered at once (before the job exists: its report is a follow-up to this answer); the
    // deletion runs as a job (it may take a while, and survives a restart) and reports privately.
    await interaction.update({
      content: '🗑 Deleting your data… I will tell you here (or by direct message) when it is done.',
      components: [],
      allowedMentions: noMentions,
    });
    const queued = await queueMemberDataDeletion(ctx, {
      userId: interaction.user.id,
      applicationId: interaction.applicationId,
      interactionToken: interaction.token,
      interactionAt: interactionCreatedAt(interaction.id),
    });
    if (!queued) {
      await interaction.editReply({ content: '🗑 Your data is already being deleted. I will tell you when it is done.', allowedMentions: noMentions });
    }
    return true;
  },
};
