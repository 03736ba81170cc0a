import { ButtonStyle, ComponentType, type APIActionRowComponent, type APIComponentInMessageActionRow } from 'discord.js';
import type { ComponentHandler } from '../../bot/components/index.js';
import type { BotContext } from '../../bot/context.js';
import { memberText, quotePrompt, queuedMessage, noMentions, type MessageBody } from '../../bot/messages.js';
import { InvalidRequestError, resolvePromptOptions } from '../../bot/prompt.js';
import { replyQueued } from '../../bot/queued-reply.js';
import { requesterOf } from '../../bot/requester.js';
import { enqueueGeneration } from '../../bot/requests.js';
import { inThisServer } from '../../bot/server-scope.js';
import { DescribeStore } from './store.js';

/** `describe:<describe id>:<1–4>`: the button names a suggestion kept server-side, never its text. */
export const describeButtonId = (id: string, n: number) => `describe:${id}:${n}`;
const buttonPattern = /^describe:(\d{15,20}):([1-4])$/;

export function parseDescribeButton(customId: string): { id: string; n: number } | undefined {
  const match = buttonPattern.exec(customId);
  return match ? { id: match[1]!, n: Number(match[2]) } : undefined;
}

/** The answer to /describe: the four prompts, numbered, and a button to draw each. */
export function suggestionsMessage(id: string, suggestions: readonly string[]): MessageBody {
  const lines = suggestions.map((text, i) => `**${i + 1}.** ${quotePrompt(text, 400)}`);
  const row: APIActionRowComponent<APIComponentInMessageActionRow> = {
    type: ComponentType.ActionRow,
    components: suggestions.map((_, i) => ({
      type: ComponentType.Button,
      custom_id: describeButtonId(id, i + 1),
      label: `🎨 ${i + 1}`,
      style: ButtonStyle.Secondary,
    })),
  };
  return {
    content: `🔎 **Four prompts for this picture** — press a number to draw it.\n${lines.join('\n')}`,
    components: [row],
    allowed_mentions: noMentions,
  };
}

/** Why /describe has no suggestions; the reason can carry the provider's words, so it is escaped like member text. */
export function describeFailedMessage(reason: string): MessageBody {
  return { content: `❌ **Could not describe that picture.** ${memberText(reason, 500)}`, components: [], allowed_mentions: noMentions };
}

/** A click queues that suggestion as a new picture for whoever clicked (every server rule applies). */
export const describeComponents: ComponentHandler = {
  prefix: 'describe',
  async handle(interaction, ctx: BotContext) {
    const button = parseDescribeButton(interaction.customId);
    if (!button || !interaction.isButton()) return false;
    const found = await new DescribeStore(ctx.db, ctx.redis, ctx.prefix).suggestions(button.id);
    const prompt = found && inThisServer(found, interaction) ? found.suggestions[button.n - 1] : undefined;
    if (!prompt) throw new InvalidRequestError('I no longer know that suggestion. Try `/describe` again.');
    const options = resolvePromptOptions(
      { prompt },
      ctx.models.map((model) => model.name),
    );
    const { record, place, duplicate } = await enqueueGeneration(ctx, requesterOf(interaction), { kind: 'txt2img', options });
    if (!duplicate) await replyQueued(interaction, ctx, record, queuedMessage(record, place));
    return true;
  },
};
