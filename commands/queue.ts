import {
  ApplicationCommandType,
  ApplicationIntegrationType,
  ButtonStyle,
  ComponentType,
  InteractionContextType,
  MessageFlags,
  type APIActionRowComponent,
  type APIButtonComponent,
  type ChatInputCommandInteraction,
  type RESTPostAPIChatInputApplicationCommandsJSONBody,
} from 'discord.js';
import type { ChatInputCommand } from '../src/bot/command.js';
import { generationButtonId } from '../src/bot/components/ids.js';
import type { BotContext } from '../src/bot/context.js';
import { formatDuration, noMentions, quotePrompt } from '../src/bot/messages.js';
import { queuePlace } from '../src/bot/requests.js';

const SHOWN = 10;

const data = () =>
  ({
    name: 'queue',
    description: 'Your queued and running pictures on this server, with a Cancel button for each',
    type: ApplicationCommandType.ChatInput,
    contexts: [InteractionContextType.Guild],
    integration_types: [ApplicationIntegrationType.GuildInstall],
  }) satisfies RESTPostAPIChatInputApplicationCommandsJSONBody;

async function execute(interaction: ChatInputCommandInteraction, ctx: BotContext) {
  // This server's requests only: what a member queues elsewhere is none of this server's business.
  const open = (await ctx.jobs.openJobsOf(interaction.user.id))
    .filter((job) => job.status !== 'done' && (job.guildId ?? null) === (interaction.guildId ?? null))
    .slice(0, SHOWN);
  if (open.length === 0) {
    await interaction.reply({
      content: 'You have nothing in the queue. Try `/imagine`.',
      flags: MessageFlags.Ephemeral,
      allowedMentions: noMentions,
    });
    return;
  }
  const lines = await Promise.all(
    open.map(async (job, index) => {
      if (job.status === 'running') return `**${index + 1}.** 🎨 generating — ${quotePrompt(job.prompt, 80)}`;
      const place = await queuePlace(ctx, job.id);
      const eta = place.etaMs === undefined ? '' : `, about ${formatDuration(place.etaMs)}`;
      return `**${index + 1}.** ⏳ position ${place.position} of ${place.total}${eta} — ${quotePrompt(job.prompt, 80)}`;
    }),
  );
  const buttons: APIButtonComponent[] = open.map((job, index) => ({
    type: ComponentType.Button,
    style: ButtonStyle.Danger,
    label: `✖ Cancel ${index + 1}`,
    custom_id: generationButtonId('cancel', job.id),
  }));
  const rows: APIActionRowComponent<APIButtonComponent>[] = [];
  for (let i = 0; i < buttons.length; i += 5) rows.push({ type: ComponentType.ActionRow, components: buttons.slice(i, i + 5) });
  await interaction.reply({
    content: `**Your queue**\n${lines.join('\n')}`,
    components: rows,
    flags: MessageFlags.Ephemeral,
    allowedMentions: noMentions,
  });
}

export default { data, execute } satisfies ChatInputCommand;
