import { PermissionFlagsBits, escapeMarkdown, type BaseInteraction, type ChatInputCommandInteraction, type RawFile } from 'discord.js';
import { ageRestriction, type AgeRestriction } from '../../bot/age-restriction.js';
import { imageBytes } from '../../bot/components/generation.js';
import type { BotContext } from '../../bot/context.js';
import type { DeliveredMessage } from '../../bot/delivery.js';
import { postChannelMessage, unlessRefused, withMessageLock } from '../../bot/discord-messages.js';
import { permissionsInChannel } from '../../bot/guild-facts.js';
import { memberMention, memberText, noMentions, type MessageBody } from '../../bot/messages.js';
import type { MemberDataDeleter } from '../../bot/privacy.js';
import { InvalidRequestError } from '../../bot/prompt.js';
import { DEFAULT_ATTACHMENT_LIMIT } from '../../bot/requests.js';
import { fitToSize } from '../../images/fit.js';
import { mayBePartOf, type JobRecord } from '../../store/jobs.js';
import { recordImages, type ArchivedImage } from '../pictures/store.js';
import { composeSeries, deletedPanelTile, gridColumns, type SeriesPanelImage } from './render.js';
import type { AddResult, NumberedPanel, SeriesRecord } from './store.js';

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
  return `**${memberText(series.title)}**`;
}

function body(content: string): MessageBody {
  return { content: content.slice(0, 2000), components: [], allowed_mentions: noMentions };
}

/**
 * The series a command is about: the one named by the `series` option (its id, or its title in
 * this server), or else the one whose thread the command was used in. A title that several series
 * of the server share names none of them: the member is shown them all and picks one by its id
 * or its thread, so that nobody can divert a title to a copy of their own.
 */
export async function findSeries(
  ctx: BotContext,
  place: { guildId: string | null; channelId: string | null },
  named: string | null,
): Promise<SeriesRecord> {
  if (!place.guildId) throw new InvalidRequestError('Series live in servers; use this in one.');
  if (named) {
    const wanted = named.trim();
    // Another server's series answers exactly like one that does not exist.
    const byId = /^\d{15,20}$/.test(wanted) ? await ctx.series.get(wanted) : undefined;
    if (byId && byId.guildId === place.guildId) return byId;
    const titled = wanted.length <= 100 ? await ctx.series.withTitle(place.guildId, wanted, { limit: AMBIGUOUS_SHOWN + 1 }) : [];
    if (titled.length === 1) return titled[0]!;
    if (titled.length > 1) throw new InvalidRequestError(ambiguousTitle(titled));
    throw new InvalidRequestError(`There is no series called "${escapeMarkdown(named.slice(0, 100))}" here. \`/series list\` shows them all.`);
  }
  const inThread = place.channelId ? await ctx.series.byThread(place.channelId) : undefined;
  if (inThread && inThread.guildId === place.guildId) return inThread;
  throw new InvalidRequestError('Use this inside a series thread, or name the series with the `series` option.');
}

/** How many of the series sharing a title the refusal lists. */
const AMBIGUOUS_SHOWN = 5;

function ambiguousTitle(titled: SeriesRecord[]): string {
  const lines = titled
    .slice(0, AMBIGUOUS_SHOWN)
    .map((series) => `- ${series.status} · <#${series.threadId}> · started <t:${Math.floor(series.createdAt / 1000)}:d> · id \`${series.id}\``);
  if (titled.length > AMBIGUOUS_SHOWN) lines.push('- …');
  return (
    `Several series here are called ${seriesTitle(titled[0]!)}. Use the command in the thread of the one you mean, ` +
    `or name it by its id with the \`series\` option:\n${lines.join('\n')}`
  );
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
 * A reservation is made just before its request is queued: for this long, a missing live record
 * means "not queued yet", not "lost".
 */
const RESERVATION_GRACE_MS = 10 * 60_000;

/**
 * Frees panels reserved for generations that failed or were cancelled (or whose live record is
 * gone for good), so a dead request does not hold a number (or keep a series from completing)
 * forever.
 */
export async function releaseAbandonedPanels(ctx: BotContext, series: SeriesRecord): Promise<void> {
  if (series.pending <= 0) return;
  const panels = await ctx.series.panels(series.id);
  for (const panel of panels) {
    if (panel.imageId || !panel.jobId) continue;
    const job = await ctx.jobs.get(panel.jobId);
    const lost = !job && ctx.now() - panel.createdAt > RESERVATION_GRACE_MS;
    if (lost || job?.status === 'failed' || job?.status === 'cancelled') {
      await ctx.series.releasePending(series.id, panel.id);
    }
  }
}

/**
 * What a panel needs to know of its picture. The lasting record is the picture's `images` row;
 * while the picture's live record is still in Redis it wins, because it also knows of deletions
 * (🗑, /privacy) made since the row was written.
 */
export interface PanelPicture {
  width: number;
  height: number;
  contentType: string;
  prompt?: string;
  seed?: number;
  model?: string;
  userId?: string;
  deleted: boolean;
  nsfw?: boolean;
  channelId: string;
}

export async function panelPicture(ctx: BotContext, imageId: string): Promise<PanelPicture | undefined> {
  const [row, live] = await Promise.all([
    ctx.db
      .selectFrom('images')
      .select(['width', 'height', 'content_type', 'prompt', 'seed', 'model', 'user_id', 'deleted_at', 'age_restricted', 'channel_id'])
      .where('id', '=', imageId)
      .executeTakeFirst(),
    ctx.images.getRecord(imageId),
  ]);
  if (live) {
    return {
      width: live.width,
      height: live.height,
      contentType: live.contentType,
      prompt: live.prompt || undefined,
      seed: live.seed,
      model: live.model,
      userId: live.userId,
      deleted: Boolean(live.deletedAt) || Boolean(row?.deleted_at),
      nsfw: live.nsfw,
      channelId: live.channelId,
    };
  }
  if (!row) return undefined;
  return {
    width: row.width,
    height: row.height,
    contentType: row.content_type,
    prompt: row.prompt ?? undefined,
    seed: row.seed ?? undefined,
    model: row.model ?? undefined,
    userId: row.user_id ?? undefined,
    deleted: row.deleted_at !== null,
    nsfw: row.age_restricted,
    channelId: row.channel_id,
  };
}

/**
 * Makes sure the picture has its archive row, which a panel refers to. Delivery writes it right
 * after the result is posted; a member quick enough to add the picture before that (or a picture
 * delivered before the archive existed) gets it written here from the live record, the same way.
 * False when the picture is unknown to both.
 */
export async function ensureArchivedPicture(ctx: BotContext, imageId: string): Promise<boolean> {
  const row = await ctx.db.selectFrom('images').select('id').where('id', '=', imageId).executeTakeFirst();
  if (row) return true;
  const live = await ctx.images.getRecord(imageId);
  if (!live || !archivedKinds.includes(live.kind as ArchivedImage['kind'])) return false;
  const request = await ctx.db.selectFrom('requests').select('id').where('id', '=', live.jobId).executeTakeFirst();
  await recordImages(ctx.db, [{ ...live, kind: live.kind as ArchivedImage['kind'], requestId: request?.id }]);
  return true;
}

const archivedKinds: readonly string[] = [
  'txt2img',
  'img2img',
  'variation',
  'upscale',
  'outpaint',
  'inpaint',
  'upload',
] satisfies ArchivedImage['kind'][];

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
): Promise<Array<SeriesPanelImage & { hidden: boolean; picture?: PanelPicture }>> {
  const filled = panels.filter((panel): panel is NumberedPanel & { imageId: string } => Boolean(panel.imageId));
  const restriction = ageRestriction(ctx);
  return Promise.all(
    filled.map(async (panel) => {
      const picture = await panelPicture(ctx, panel.imageId);
      const blank = async (caption: string) => ({
        image: await deletedPanelTile(picture?.width ?? 512, picture?.height ?? 512),
        number: panel.number,
        caption,
        hidden: true,
      });
      if (!picture || picture.deleted) return blank('(deleted)');
      if (!(await restriction.mayShow(picture, destinationRestricted))) return blank('(age-restricted)');
      let image: Buffer;
      try {
        image = await imageBytes(ctx, panel.imageId);
      } catch (error) {
        // Bytes gone with the picture (deleted where this process could not see it): a blank tile.
        if (error instanceof InvalidRequestError) return blank('(deleted)');
        throw error;
      }
      return { image, number: panel.number, caption: panel.userName, hidden: false, picture };
    }),
  );
}

/** Whether a series' own channel (and so its thread) is age-restricted: where its posts go. */
export function seriesRestricted(ctx: BotContext, series: SeriesRecord, restriction: AgeRestriction = ageRestriction(ctx)): Promise<boolean> {
  return restriction.destination(series.channelId);
}

/**
 * /privacy: by member id, no scans. Series the member started lose their creator, the member
 * leaves every turn order, and their panels stay as "a former member" (their pictures become
 * tombstones through the pictures' own deleter).
 */
export const seriesDataDeleter: MemberDataDeleter = {
  name: 'series panels made anonymous',
  deleteMemberData: (ctx, userId) => ctx.series.deleteMemberData(userId),
};

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
  const by = memberText(panel.userName);
  const progress = `${panel.number} of ${series.panelCount}`;
  let files: RawFile[] = [];
  let content: string;
  if (series.mode === 'corpse') {
    content = `🙈 Panel ${progress} added by ${by}. It stays hidden until ${seriesTitle(series)} is complete.`;
  } else {
    content = `📚 Panel ${progress} of ${seriesTitle(series)}, by ${by}.`;
    const restriction = ageRestriction(ctx);
    const image = await panelPicture(ctx, panel.imageId);
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
 * it (and of the completion, when it was the last one). Idempotent: a panel filled before is left
 * as it is, and only posts still owed are made. A failed post fails the hook; the retried delivery
 * finds the panel again and posts what is still owed.
 */
export function attachDeliveredPanel(ctx: BotContext) {
  return async (record: JobRecord, message: DeliveredMessage): Promise<void> => {
    const imageId = record.imageIds[0];
    if (!imageId || !mayBePartOf(record, 'series')) return;
    const filled = await ctx.series.fillFromDelivery(record.id, imageId, message.channel_id ?? record.channelId);
    if (filled) await postSeriesNews(ctx, filled.seriesId);
  };
}
