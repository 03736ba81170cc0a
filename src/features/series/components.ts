import {
  ComponentType,
  MessageFlags,
  type APIActionRowComponent,
  type APIStringSelectComponent,
  type ButtonInteraction,
  type StringSelectMenuInteraction,
} from 'discord.js';
import type { BotContext } from '../../bot/context.js';
import { parseSeriesComponent, seriesPickId } from '../../bot/components/ids.js';
import type { ComponentHandler } from '../../bot/components/index.js';
import { noMentions } from '../../bot/messages.js';
import { InvalidRequestError } from '../../bot/prompt.js';
import { inThisServer } from '../../bot/server-scope.js';
import { ensureArchivedPicture, keepPanelImage, panelPicture, postSeriesNews, refusalMessage, releaseAbandonedPanels, seriesTitle } from './flow.js';
import type { SeriesRecord } from './store.js';

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

interface DeliveredResult {
  id: string;
  prompt: string;
  imageIds: string[];
}

/**
 * The delivered result a button names, re-read: from its live record while Redis has it, else
 * from the archive (a button on an old message keeps working once the live record is gone).
 */
async function deliveredResult(ctx: BotContext, jobId: string, guildId: string | null): Promise<DeliveredResult> {
  const unknown = () => new InvalidRequestError('I no longer know that picture (it may be too old).');
  const record = await ctx.jobs.get(jobId);
  if (record) {
    // 'done' too: a click on the result can come in the moment between its post and the record
    // saying so (the click itself shows the post is there).
    const shown = record.status === 'delivered' || record.status === 'done';
    if (!shown || record.imageIds.length === 0 || !inThisServer(record, { guildId })) throw unknown();
    return { id: record.id, prompt: record.prompt, imageIds: record.imageIds };
  }
  const request = await ctx.db.selectFrom('requests').select(['id', 'prompt', 'guild_id', 'status']).where('id', '=', jobId).executeTakeFirst();
  if (!request || request.status !== 'delivered' || !inThisServer({ guildId: request.guild_id ?? undefined }, { guildId })) throw unknown();
  const images = await ctx.db.selectFrom('images').select('id').where('request_id', '=', jobId).orderBy('position').execute();
  if (images.length === 0) throw unknown();
  return { id: request.id, prompt: request.prompt ?? '', imageIds: images.map((image) => image.id) };
}

/** Open series of the server, the member's own (created, joined, added to) first. */
async function seriesMenuFor(ctx: BotContext, guildId: string, userId: string): Promise<SeriesRecord[]> {
  const [open, mine] = await Promise.all([ctx.series.ofGuild(guildId, 200, 'open'), ctx.series.idsOfMember(userId)]);
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
  // Another server's series answers exactly like one that does not exist.
  if (!series || series.guildId !== interaction.guildId) throw new InvalidRequestError('I no longer know that series.');

  await releaseAbandonedPanels(ctx, series);
  // Keep the bytes before the panel exists: a panel must never point at a picture we cannot show.
  await keepPanelImage(ctx, imageId);
  const picture = await panelPicture(ctx, imageId);
  if (!picture || picture.deleted) throw new InvalidRequestError('That picture was deleted.');
  if (!(await ensureArchivedPicture(ctx, imageId))) throw new InvalidRequestError('I no longer know that picture (it may be too old).');
  const result = await ctx.series.addPanel(series.id, {
    id: interaction.id,
    userId: interaction.user.id,
    userName: interaction.user.displayName ?? interaction.user.username,
    prompt: record.prompt,
    imageId,
    jobId: record.id,
    seed: picture.seed,
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
