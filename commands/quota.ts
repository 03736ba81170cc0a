import {
  ApplicationCommandType,
  ApplicationIntegrationType,
  InteractionContextType,
  MessageFlags,
  type ChatInputCommandInteraction,
  type RESTPostAPIChatInputApplicationCommandsJSONBody,
} from 'discord.js';
import { dailyQuotaFor, relativeTime } from '../src/bot/admission.js';
import type { ChatInputCommand } from '../src/bot/command.js';
import type { BotContext } from '../src/bot/context.js';
import { noMentions } from '../src/bot/messages.js';
import { requesterOf } from '../src/bot/requester.js';
import { FairQueue } from '../src/store/fair-queue.js';

const data = () =>
  ({
    name: 'quota',
    description: 'How many pictures you can still make today, and when that resets',
    type: ApplicationCommandType.ChatInput,
    contexts: [InteractionContextType.Guild],
    integration_types: [ApplicationIntegrationType.GuildInstall],
  }) satisfies RESTPostAPIChatInputApplicationCommandsJSONBody;

async function execute(interaction: ChatInputCommandInteraction, ctx: BotContext) {
  const requester = requesterOf(interaction);
  const settings = await ctx.settings.get(requester.guildId);
  const usage = await new FairQueue(ctx.redis, ctx.prefix).usage(requester.userId, requester.guildId, ctx.now());
  const quota = dailyQuotaFor(settings, requester.roleIds);
  const resets = relativeTime(usage.resetsAt);
  const images =
    quota === 0
      ? `**Images today:** ${usage.imagesToday} made — no daily limit for you here.`
      : `**Images today:** ${Math.max(0, quota - usage.imagesToday)} of ${quota} left · resets ${resets}`;
  const waiting = Math.max(0, usage.outstanding - usage.running);
  const queue = `**Queue:** ${usage.running} generating, ${waiting} waiting · at most ${settings.maxRunning} at once and ${settings.maxQueued} waiting`;
  const budget =
    settings.dailyBudget === 0
      ? '**Server budget:** no daily limit.'
      : `**Server budget:** ${Math.max(0, settings.dailyBudget - usage.budgetSpent)} of ${settings.dailyBudget} units left today · resets ${resets}`;
  await interaction.reply({ content: [images, queue, budget].join('\n'), flags: MessageFlags.Ephemeral, allowedMentions: noMentions });
}

export default { data, execute } satisfies ChatInputCommand;
