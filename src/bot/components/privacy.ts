import type { BotContext } from '../context.js';
import { noMentions } from '../messages.js';
import { deleteMemberData } from '../privacy.js';
import type { ComponentHandler } from './index.js';

/** The confirmation button of `/privacy delete-my-data`: it deletes the data of whoever clicks it. */
export const PRIVACY_DELETE_BUTTON = 'privacy:delete-my-data';

export const privacyComponents: ComponentHandler = {
  prefix: 'privacy',
  async handle(interaction, ctx: BotContext) {
    if (interaction.customId !== PRIVACY_DELETE_BUTTON || !interaction.isButton()) return false;
    await interaction.update({ content: '🗑 Deleting your data…', components: [], allowedMentions: noMentions });
    const results = await deleteMemberData(ctx, interaction.user.id);
    const summary = results.map(({ name, count }) => `${name}: ${count}`).join(' · ');
    await interaction.editReply({ content: `🗑 Done. ${summary}`, components: [], allowedMentions: noMentions });
    return true;
  },
};
