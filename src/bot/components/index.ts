import type { MessageComponentInteraction, ModalSubmitInteraction } from 'discord.js';
import type { BotContext } from '../context.js';
import { challengeComponents } from '../../features/challenges/components.js';
import { communityComponents } from './community.js';
import { handleEditedPrompt, handleGenerationButton } from './generation.js';
import { parseEditPromptModal, parseGenerationButton } from './ids.js';
import { preferencesComponents } from '../../features/preferences/components.js';
import { privacyComponents } from './privacy.js';
import { seriesComponents } from '../../features/series/components.js';
import { editComponents } from '../../features/edits/components.js';
import { sessionComponents } from '../../features/sessions/components.js';
import { describeComponents } from '../../features/describe/components.js';

/**
 * Buttons, select menus and modals, routed by the first segment of their custom_id ("gen:…").
 * Each handler parses the rest strictly and returns false when it does not recognise it.
 */
export interface ComponentHandler {
  prefix: string;
  handle(interaction: MessageComponentInteraction | ModalSubmitInteraction, ctx: BotContext): Promise<boolean>;
}

const generation: ComponentHandler = {
  prefix: 'gen',
  async handle(interaction, ctx) {
    const edited = parseEditPromptModal(interaction.customId);
    if (edited && interaction.isModalSubmit()) {
      await handleEditedPrompt(interaction, edited, ctx);
      return true;
    }
    const button = parseGenerationButton(interaction.customId);
    if (!button || !interaction.isButton()) return false;
    await handleGenerationButton(interaction, button, ctx);
    return true;
  },
};

export const componentHandlers: ComponentHandler[] = [
  generation,
  seriesComponents,
  communityComponents,
  challengeComponents,
  privacyComponents,
  editComponents,
  preferencesComponents,
  sessionComponents,
  describeComponents,
];
