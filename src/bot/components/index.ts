import type { MessageComponentInteraction, ModalSubmitInteraction } from 'discord.js';
import type { BotContext } from '../context.js';
import { challengeComponents } from '../../features/challenges/components.js';
import { communityComponents } from './community.js';
import { handleGenerationButton } from './generation.js';
import { parseGenerationButton } from './ids.js';
import { privacyComponents } from './privacy.js';
import { seriesComponents } from '../../features/series/components.js';
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
  describeComponents,
];
