import {
  ComponentType,
  MessageFlags,
  type APIActionRowComponent,
  type APIStringSelectComponent,
  type ButtonInteraction,
  type StringSelectMenuInteraction,
} from 'discord.js';
import type { SeriesRecord } from '../../store/series.js';
import type { BotContext } from '../context.js';
import { noMentions } from '../messages.js';
import { InvalidRequestError } from '../prompt.js';
import { keepPanelImage, postSeriesNews, refusalMessage, releaseAbandonedPanels, seriesTitle } from '../series.js';
import { inThisServer } from '../server-scope.js';
import { parseSeriesComponent, seriesPickId } from './ids.js';
import type { ComponentHandler } from './index.js';

/**
 * 📚 Add to series: the button on a result answers privately with a select menu of open series
 * per picture; picking one adds that picture as the series' next panel.
 */
const seriesIdPattern = /^\d{15,20}$/;

/** Discord shows at most 25 options in a select menu. */
const MENU_MAX = 25;

export const seriesComponents: ComponentHandler = {
  prefix: 'series',
  async handle(interaction, ctx) {
    const component = parseSeriesComponent(interaction.customId);
    if (component?.action === 'add' && interaction.isButton()) {
      await offerSeries(interaction, component.jobId, ctx);
      return true;
    }
    if (component?.action === 'pick' && interaction.isStringSelectMenu()) {
      await addPicked(interaction, component.jobId, component.image, ctx);
      return true;
    }
    return false;
  },
};

/** The delivered result a button names, re-read from the store. */
async function deliveredResult(ctx: BotContext, jobId: string, guildId: string | null) {
  const record = await ctx.jobs.get(jobId);
  if (!record || record.status !== 'delivered' || record.imageIds.length === 0 || !inThisServer(record, { guildId })) {
    throw new InvalidRequestError('I no longer know that picture (it may be too old).');
  }
  return record;
}

/** Open series of the server, the member's own (created, joined, added to) first. */
async function seriesMenuFor(ctx: BotContext, guildId: string, userId: string): Promise<SeriesRecord[]> {
  const [all, mine] = await Promise.all([ctx.series.ofGuild(guildId, 200), ctx.series.idsOfMember(userId)]);
  const open = all.filter((series) => series.status === 'open');
  return [...open.filter((s) => mine.has(s.id)), ...open.filter((s) => !mine.has(s.id))].slice(0, MENU_MAX);
}

async function offerSeries(interaction: ButtonInteraction, jobId: string, ctx: BotContext) {
  const record = await deliveredResult(ctx, jobId, interaction.guildId);
  const choices = await seriesMenuFor(ctx, interaction.guildId!, interaction.user.id);
  if (choices.length === 0) {
    throw new InvalidRequestError('There is no open series here yet. Start one with `/series create`.');
  }
  const options = choices.map((series) => ({
    label: series.title.slice(0, 100),
    value: series.id,
    description: `${series.mode === 'corpse' ? 'exquisite corpse' : series.mode} · ${series.panelCount} panels`,
  }));
  const rows: APIActionRowComponent<APIStringSelectComponent>[] = record.imageIds.map((_, index) => ({
    type: ComponentType.ActionRow,
    components: [
      {
        type: ComponentType.StringSelect,
        custom_id: seriesPickId(jobId, index + 1),
        placeholder: record.imageIds.length > 1 ? `Add picture ${index + 1} to…` : 'Add this picture to…',
        options,
      },
    ],
  }));
  await interaction.reply({
    content: 'Which series should this picture join? It becomes the next panel.',
    components: rows,
    flags: MessageFlags.Ephemeral,
    allowedMentions: noMentions,
  });
}

async function addPicked(interaction: StringSelectMenuInteraction, jobId: string, image: number, ctx: BotContext) {
  const seriesId = interaction.values[0] ?? '';
  if (!seriesIdPattern.test(seriesId) || interaction.values.length !== 1) throw new InvalidRequestError('Pick one series from the list.');
  const record = await deliveredResult(ctx, jobId, interaction.guildId);
  const imageId = record.imageIds[image - 1];
  if (!imageId) throw new InvalidRequestError(`There is no picture ${image} on that message.`);
  const series = await ctx.series.get(seriesId);
  if (!series || series.guildId !== interaction.guildId) throw new InvalidRequestError('I no longer know that series.');

  await releaseAbandonedPanels(ctx, series);
  // Keep the bytes before the panel exists: a panel must never point at a picture we cannot show.
  await keepPanelImage(ctx, imageId);
  const imageRecord = await ctx.images.getRecord(imageId);
  const result = await ctx.series.addPanel(series.id, {
    id: interaction.id,
    userId: interaction.user.id,
    userName: interaction.user.displayName ?? interaction.user.username,
    prompt: record.prompt,
    imageId,
    jobId: record.id,
    seed: imageRecord?.seed,
    createdAt: ctx.now(),
  });
  if (!result.ok) throw new InvalidRequestError(refusalMessage(result, series));

  await interaction.update({
    content: `📚 Added as panel ${result.number} of ${series.panelCount} in ${seriesTitle(series)} (<#${series.threadId}>).`,
    components: [],
    allowedMentions: noMentions,
  });
  if (result.duplicate) return;
  await postSeriesNews(ctx, series.id);
  ctx.logger.info({ seriesId: series.id, panel: result.number, imageId }, 'panel added from a result');
}
