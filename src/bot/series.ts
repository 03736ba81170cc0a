import type { DeliveredMessage } from './delivery.js';
import sharp from 'sharp';
import type { MemberDataDeleter } from './privacy.js';
import { PermissionFlagsBits, escapeMarkdown, type BaseInteraction, type ChatInputCommandInteraction, type RawFile } from 'discord.js';
import { composeSeries, gridColumns, type SeriesPanelImage } from '../images/series.js';
import { fitToSize } from '../images/fit.js';
import type { JobRecord } from '../store/jobs.js';
import type { AddResult, NumberedPanel, SeriesRecord } from '../store/series.js';
import { ageRestriction, type AgeRestriction } from './age-restriction.js';
import { imageBytes } from './components/generation.js';
import type { BotContext } from './context.js';
import { postChannelMessage, unlessRefused, withMessageLock } from './discord-messages.js';
import { memberMention, noMentions, type MessageBody } from './messages.js';
import { permissionsInChannel } from './guild-facts.js';
import { InvalidRequestError } from './prompt.js';
import { DEFAULT_ATTACHMENT_LIMIT } from './requests.js';

/**
 * What series commands, the 📚 button and delivery share: finding a series, adding panels,
 * announcing them in the thread and posting the finished piece.
 */

export const modeLabels: Record<SeriesRecord['mode'], string> = {
  open: 'open',
  relay: 'relay',
  corpse: 'exquisite corpse',
};

export function seriesTitle(series: SeriesRecord): string {
  return `**${escapeMarkdown(series.title)}**`;
}

function body(content: string): MessageBody {
  return { content: content.slice(0, 2000), components: [], allowed_mentions: noMentions };
}

/**
 * The series a command is about: the one named by the `series` option (its id, or its title in
 * this server), or else the one whose thread the command was used in.
 */
export async function findSeries(
  ctx: BotContext,
  place: { guildId: string | null; channelId: string | null },
  named: string | null,
): Promise<SeriesRecord> {
  if (!place.guildId) throw new InvalidRequestError('Series live in servers; use this in one.');
  if (named) {
    const wanted = named.trim().toLowerCase();
    const byId = /^\d{15,20}$/.test(wanted) ? await ctx.series.get(wanted) : undefined;
    if (byId && byId.guildId === place.guildId) return byId;
    const all = await ctx.series.ofGuild(place.guildId, 200);
    const byTitle = all.find((series) => series.title.toLowerCase() === wanted);
    if (byTitle) return byTitle;
    throw new InvalidRequestError(`There is no series called "${named.slice(0, 100)}" here. \`/series list\` shows them all.`);
  }
  const inThread = place.channelId ? await ctx.series.byThread(place.channelId) : undefined;
  if (inThread && inThread.guildId === place.guildId) return inThread;
  throw new InvalidRequestError('Use this inside a series thread, or name the series with the `series` option.');
}

/** The creator, or anyone with Manage Messages in the series' own channel. */
export async function assertCanManage(
  interaction: Pick<ChatInputCommandInteraction, 'user' | 'memberPermissions' | 'channelId' | 'guild' | 'guildId' | 'member'>,
  series: SeriesRecord,
  ctx: BotContext,
): Promise<void> {
  if (interaction.user.id === series.creatorId) return;
  const permissions = await permissionsInSeriesChannel(interaction, series, ctx);
  if (permissions === undefined || !(permissions & PermissionFlagsBits.ManageMessages)) {
    throw new InvalidRequestError('Only the person who started this series, or a moderator of its channel, can do that.');
  }
}

/**
 * A series can be named from any channel, and being a moderator there says nothing about the
 * series' channel. Discord resolves the member's permissions for the channel the command came from
 * (the series' channel or its thread); elsewhere they are computed from the server's roles and the
 * series' channel's overwrites as Discord has them now, and unknown means no.
 */
async function permissionsInSeriesChannel(
  interaction: Pick<ChatInputCommandInteraction, 'user' | 'memberPermissions' | 'channelId' | 'guild' | 'guildId' | 'member'>,
  series: SeriesRecord,
  ctx: BotContext,
): Promise<bigint | undefined> {
  if (interaction.channelId === series.channelId || interaction.channelId === series.threadId) return interaction.memberPermissions?.bitfield;
  return permissionsInChannel(ctx, interaction as BaseInteraction, series.channelId);
}

/** Turns a refused add into the sentence the member reads. */
export function refusalMessage(result: Extract<AddResult, { ok: false }>, series: SeriesRecord): string {
  const title = seriesTitle(series);
  switch (result.reason) {
    case 'missing':
      return 'I no longer know that series.';
    case 'closed':
      return `${title} is closed and takes no more panels.`;
    case 'complete':
    case 'full':
      return `${title} already has all ${series.panelCount} panels.`;
    case 'twice_in_a_row':
      return `Not your turn: in a relay nobody adds two panels in a row. Let someone else add the next panel of ${title}.`;
    case 'not_your_turn':
      return `Not your turn: it is <@${result.expectedUserId}>'s turn in ${title}.`;
    case 'not_in_turn_order':
      return `Not your turn: ${title} has a turn order and it is <@${result.expectedUserId}>'s turn. \`/series join\` puts you in it.`;
  }
}

/**
 * Frees panels reserved for generations that failed or were cancelled, so a dead request does
 * not hold a number (or keep a series from completing) forever.
 */
export async function releaseAbandonedPanels(ctx: BotContext, series: SeriesRecord): Promise<void> {
  if (series.pending <= 0) return;
  const panels = await ctx.series.panels(series.id);
  for (const panel of panels) {
    if (panel.imageId || !panel.jobId) continue;
    const job = await ctx.jobs.get(panel.jobId);
    if (!job || job.status === 'failed' || job.status === 'cancelled') {
      await ctx.series.releasePending(series.id, panel.id, panel.jobId);
    }
  }
}

/**
 * The panels' pictures, in order, with their number and contributor as caption. A panel whose
 * picture was deleted (🗑, or /privacy) keeps its place as a blank tile, so the series still reads;
 * so does one made in an age-restricted channel when the destination is not age-restricted
 * (`hidden` tells which, e.g. to leave its prompt out of an export).
 */
export async function panelImages(
  ctx: BotContext,
  panels: NumberedPanel[],
  destinationRestricted: boolean,
): Promise<Array<SeriesPanelImage & { hidden: boolean }>> {
  const filled = panels.filter((panel): panel is NumberedPanel & { imageId: string } => Boolean(panel.imageId));
  const restriction = ageRestriction(ctx);
  return Promise.all(
    filled.map(async (panel) => {
      const record = await ctx.images.getRecord(panel.imageId);
      if (!record || record.deletedAt) {
        return {
          image: await deletedPanelTile(record?.width ?? 512, record?.height ?? 512),
          number: panel.number,
          caption: '(deleted)',
          hidden: true,
        };
      }
      if (!(await restriction.mayShow(record, destinationRestricted))) {
        return { image: await deletedPanelTile(record.width, record.height), number: panel.number, caption: '(age-restricted)', hidden: true };
      }
      return { image: await imageBytes(ctx, panel.imageId), number: panel.number, caption: panel.userName, hidden: false };
    }),
  );
}

/** Whether a series' own channel (and so its thread) is age-restricted: where its posts go. */
export function seriesRestricted(ctx: BotContext, series: SeriesRecord, restriction: AgeRestriction = ageRestriction(ctx)): Promise<boolean> {
  return restriction.destination(series.channelId);
}

/** /privacy: the member's series panels become anonymous (their pictures become tombstones elsewhere). */
export const seriesDataDeleter: MemberDataDeleter = {
  name: 'series panels made anonymous',
  deleteMemberData: (ctx, userId) => ctx.series.anonymizeMember(userId),
};

/** A dark tile crossed out: where a deleted panel stood. */
async function deletedPanelTile(width: number, height: number): Promise<Buffer> {
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}"><rect width="100%" height="100%" fill="#2b2b30"/><path d="M0 0L${width} ${height}M${width} 0L0 ${height}" stroke="#55555c" stroke-width="${Math.max(2, Math.round(width / 128))}"/></svg>`;
  return sharp(Buffer.from(svg)).png().toBuffer();
}

/**
 * Keeps a panel's picture in the image store, so the panel outlives the message it came from.
 * Delivery normally kept it already; this covers images delivered by another bot process.
 */
export async function keepPanelImage(ctx: BotContext, imageId: string): Promise<void> {
  if (await ctx.images.readFile(imageId)) return;
  await ctx.images.writeFile(imageId, await imageBytes(ctx, imageId));
}

/** The series so far as one picture, shrunk if needed to fit the upload limit. */
export async function seriesPicture(
  ctx: BotContext,
  series: SeriesRecord,
  panels: NumberedPanel[],
  options: { columns?: number; limit?: number; name?: string; destinationRestricted: boolean },
): Promise<RawFile | undefined> {
  const images = await panelImages(ctx, panels, options.destinationRestricted);
  if (images.length === 0) return undefined;
  const picture = await composeSeries(images, { columns: options.columns ?? gridColumns(images.length) });
  const fitted = await fitToSize(picture, options.limit ?? DEFAULT_ATTACHMENT_LIMIT, options.name ?? `series-${series.id}`);
  return { name: fitted.filename, data: fitted.data, contentType: fitted.contentType };
}

/** Contributors in the order they first added a panel. */
export function contributorsOf(panels: NumberedPanel[]): string[] {
  return [...new Set(panels.map((panel) => panel.userId))];
}

/**
 * Tells the thread about a new panel. In an exquisite corpse only a placeholder is shown; else
 * the picture is posted too, unless the result was already delivered in the thread.
 */
async function announcePanel(
  ctx: BotContext,
  series: SeriesRecord,
  panel: { id: string; number: number; userName: string; imageId: string },
  alreadyInThread: boolean,
): Promise<void> {
  const by = escapeMarkdown(panel.userName);
  const progress = `${panel.number} of ${series.panelCount}`;
  let files: RawFile[] = [];
  let content: string;
  if (series.mode === 'corpse') {
    content = `🙈 Panel ${progress} added by ${by}. It stays hidden until ${seriesTitle(series)} is complete.`;
  } else {
    content = `📚 Panel ${progress} of ${seriesTitle(series)}, by ${by}.`;
    const restriction = ageRestriction(ctx);
    const image = await ctx.images.getRecord(panel.imageId);
    const shown = !image || (await restriction.mayShow(image, await seriesRestricted(ctx, series, restriction)));
    if (!shown) content += ' It was made in an age-restricted channel and is shown only in such channels.';
    if (!alreadyInThread && shown) {
      const bytes = await imageBytes(ctx, panel.imageId);
      const fitted = await fitToSize(bytes, DEFAULT_ATTACHMENT_LIMIT, `panel-${panel.number}`);
      files = [{ name: fitted.filename, data: fitted.data, contentType: fitted.contentType }];
    }
  }
  const next = await nextTurnLine(ctx, series);
  await postChannelMessage(ctx, series.threadId, body(next ? `${content}\n${next}` : content), {
    files,
    nonce: `p${panel.id}`,
  });
}

/** "Next: @someone" when a relay has a turn order and is still open. */
export async function nextTurnLine(ctx: BotContext, series: SeriesRecord): Promise<string | undefined> {
  if (series.mode !== 'relay') return undefined;
  const current = await ctx.series.get(series.id);
  if (!current || current.status !== 'open') return undefined;
  const order = await ctx.series.turnOrder(series.id);
  if (order.length === 0) return undefined;
  return `Next: <@${order[current.turn % order.length]}>'s turn.`;
}

/**
 * Posts what a series owes its thread and channel: the announcements of panels that got their
 * picture, in reading order, then the completion. Each post is recorded as it lands, so after a
 * Discord error the next run (a retried delivery, the next panel) posts only what is missing; the
 * pictures are composed again from the image store each time. One process at a time per series.
 */
export async function postSeriesNews(ctx: BotContext, seriesId: string): Promise<void> {
  await withMessageLock(ctx, `series-${seriesId}`, true, async () => {
    const series = await ctx.series.get(seriesId);
    if (!series) return;
    const owed = await ctx.series.owedAnnouncements(seriesId);
    if (owed.size > 0) {
      for (const panel of await ctx.series.panels(seriesId)) {
        const inThread = owed.get(panel.id);
        if (inThread === undefined || !panel.imageId) continue;
        // A refused announcement is given up, not owed: it would be refused again on every retry.
        const news = { id: panel.id, number: panel.number, userName: panel.userName, imageId: panel.imageId };
        await unlessRefused(
          ctx,
          'series panel announcement',
          { seriesId, panelId: panel.id, guildId: series.guildId, channelId: series.threadId },
          () => announcePanel(ctx, series, news, inThread),
        );
        await ctx.series.announced(seriesId, panel.id);
      }
    }
    if (series.status === 'complete' && series.completionOwed) await postCompletion(ctx, series);
  });
}

/**
 * Posts the finished piece in the channel the series started in, crediting every contributor
 * (mentions shown, nobody pinged). An exquisite corpse is revealed in its thread as well.
 */
async function postCompletion(ctx: BotContext, series: SeriesRecord): Promise<void> {
  const panels = await ctx.series.panels(series.id);
  const credits = contributorsOf(panels).map(memberMention).join(', ');
  const needsPicture = !series.completionMessageId || series.mode === 'corpse';
  const picture = needsPicture
    ? await seriesPicture(ctx, series, panels, { name: `series-${series.id}`, destinationRestricted: await seriesRestricted(ctx, series) })
    : undefined;
  const files = picture ? [picture] : [];
  if (!series.completionMessageId) {
    const announcement = body(
      `🎉 ${seriesTitle(series)} is complete: ${panels.length} panels (${modeLabels[series.mode]}) by ${credits}.\n` +
        `Made in <#${series.threadId}>.`,
    );
    const posted = await unlessRefused(ctx, 'series completion', { seriesId: series.id, guildId: series.guildId, channelId: series.channelId }, () =>
      postChannelMessage(ctx, series.channelId, announcement, { files, nonce: `c${series.id}` }),
    );
    if ('done' in posted) await ctx.series.recordCompletion(series.id, { completionMessageId: posted.done.id });
  }
  if (!series.revealMessageId) {
    const reveal =
      series.mode === 'corpse'
        ? `🎉 ${seriesTitle(series)} is complete. Here is the whole thing, revealed at last. Thanks to ${credits}!`
        : `🎉 ${seriesTitle(series)} is complete. Thanks to ${credits}!`;
    const posted = await unlessRefused(ctx, 'series reveal', { seriesId: series.id, guildId: series.guildId, channelId: series.threadId }, () =>
      postChannelMessage(ctx, series.threadId, body(reveal), { files: series.mode === 'corpse' ? files : [], nonce: `r${series.id}` }),
    );
    if ('done' in posted) await ctx.series.recordCompletion(series.id, { revealMessageId: posted.done.id });
  }
  // Done, also when Discord refused a post for good: that post is given up, not owed.
  await ctx.series.recordCompletion(series.id, { done: true });
}

/**
 * Post-delivery hook: a generation reserved as a panel becomes that panel, and the thread hears of
 * it (and of the completion, when it was the last one). A failed post fails the hook; the retried
 * delivery finds the reservation again and posts what is still owed.
 */
export function attachDeliveredPanel(ctx: BotContext) {
  return async (record: JobRecord, message: DeliveredMessage): Promise<void> => {
    const seriesId = await ctx.series.pendingSeriesOf(record.id);
    const imageId = record.imageIds[0];
    if (!seriesId || !imageId) return;
    const series = await ctx.series.get(seriesId);
    if (series) {
      const image = await ctx.images.getRecord(imageId);
      const inThread = (message.channel_id ?? record.channelId) === series.threadId;
      await ctx.series.fillPending(seriesId, record.id, imageId, image?.seed, inThread);
      await postSeriesNews(ctx, seriesId);
    }
    await ctx.series.clearPending(record.id);
  };
}
