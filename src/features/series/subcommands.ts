import {
  ChannelType,
  DiscordAPIError,
  MessageFlags,
  PermissionFlagsBits,
  Routes,
  type APIChannel,
  type ChatInputCommandInteraction,
} from 'discord.js';
import { strToU8, zipSync } from 'fflate';
import { assertPublicTextAllowed } from '../../bot/admission.js';
import { ageRestriction } from '../../bot/age-restriction.js';
import type { BotContext } from '../../bot/context.js';
import { postChannelMessage } from '../../bot/discord-messages.js';
import { ephemeral, memberMention, memberText, noMentions, queuedMessage, quotePrompt } from '../../bot/messages.js';
import { InvalidRequestError, resolvePromptOptions } from '../../bot/prompt.js';
import { replyQueued } from '../../bot/queued-reply.js';
import { requesterOf } from '../../bot/requester.js';
import { DEFAULT_ATTACHMENT_LIMIT, enqueueGeneration } from '../../bot/requests.js';
import { fitToSize } from '../../images/fit.js';
import { PROMPT_MAX } from '../../queues.js';
import {
  assertCanManage,
  contributorsOf,
  findSeries,
  modeLabels,
  nextTurnLine,
  panelImages,
  refusalMessage,
  releaseAbandonedPanels,
  seriesPicture,
  seriesTitle,
} from './flow.js';
import { composeSlideshow } from './render.js';
import {
  SERIES_PANELS_MAX,
  SERIES_PANELS_MIN,
  SERIES_STYLE_MAX,
  SERIES_TITLE_MAX,
  seriesModes,
  type NumberedPanel,
  type SeriesRecord,
} from './store.js';

/**
 * What each `/series` subcommand does (commands/series.ts declares the command and calls in here).
 */
export const exportFormats = ['strip', 'gif', 'webp', 'zip'] as const;

const statusIcons: Record<SeriesRecord['status'], string> = { open: '🟢', complete: '🏁', closed: '🔒' };

/** Runs one `/series` subcommand. */
export async function runSeriesSubcommand(interaction: ChatInputCommandInteraction, ctx: BotContext) {
  switch (interaction.options.getSubcommand(true)) {
    case 'create':
      return create(interaction, ctx);
    case 'add':
      return add(interaction, ctx);
    case 'join':
      return join(interaction, ctx);
    case 'view':
      return view(interaction, ctx);
    case 'export':
      return exportSeries(interaction, ctx);
    case 'reorder':
      return reorder(interaction, ctx);
    case 'remove':
      return remove(interaction, ctx);
    case 'close':
      return close(interaction, ctx);
    case 'list':
      return list(interaction, ctx);
    default:
      throw new InvalidRequestError('I do not know that part of `/series`.');
  }
}

/** Whether this channel shows pictures made in age-restricted channels (unknown: it does not). */
function channelRestricted(interaction: ChatInputCommandInteraction, ctx: BotContext): Promise<boolean> {
  return ageRestriction(ctx).ofInteraction(interaction, false);
}

function ctxPlace(interaction: ChatInputCommandInteraction) {
  return { guildId: interaction.guildId, channelId: interaction.channelId };
}

function seriesOf(interaction: ChatInputCommandInteraction, ctx: BotContext) {
  return findSeries(ctx, ctxPlace(interaction), interaction.options.getString('series'));
}

async function replyPrivately(interaction: ChatInputCommandInteraction, content: string) {
  const message = ephemeral(content);
  await interaction.reply({ content: message.content, flags: MessageFlags.Ephemeral, allowedMentions: noMentions });
}

async function create(interaction: ChatInputCommandInteraction, ctx: BotContext) {
  if (!interaction.guildId) throw new InvalidRequestError('Series live in servers; use this in one.');
  if (interaction.channel?.isThread() || (await ctx.series.byThread(interaction.channelId))) {
    throw new InvalidRequestError('Start a series in a text channel: it gets a thread of its own.');
  }
  const title = interaction.options.getString('title', true).replace(/\s+/g, ' ').trim();
  if (!title) throw new InvalidRequestError('The series needs a title.');
  // Discord enforces these lengths for its own clients; a crafted interaction is refused here.
  if (title.length > SERIES_TITLE_MAX) throw new InvalidRequestError(`A series title has at most ${SERIES_TITLE_MAX} characters.`);
  const style = interaction.options.getString('style')?.replace(/\s+/g, ' ').trim() || undefined;
  if (style && style.length > SERIES_STYLE_MAX) throw new InvalidRequestError(`A series style has at most ${SERIES_STYLE_MAX} characters.`);
  await assertPublicTextAllowed(ctx, interaction.guildId, `${title} ${style ?? ''}`, 'title or style');
  const mode = (interaction.options.getString('mode') ?? 'open') as SeriesRecord['mode'];
  if (!seriesModes.includes(mode)) throw new InvalidRequestError('Pick one of the modes offered.');
  const panelCount = interaction.options.getInteger('panels') ?? 8;
  if (panelCount < SERIES_PANELS_MIN || panelCount > SERIES_PANELS_MAX) {
    throw new InvalidRequestError(`A series has ${SERIES_PANELS_MIN} to ${SERIES_PANELS_MAX} panels.`);
  }
  const seed = interaction.options.getInteger('seed') ?? undefined;
  // A title names one series while it is open: a second one would take its place in every
  // `series:<title>` lookup (see findSeries).
  const [namesake] = await ctx.series.withTitle(interaction.guildId, title, { status: 'open', limit: 1 });
  if (namesake) {
    throw new InvalidRequestError(
      `There is already an open series called ${seriesTitle(namesake)} here (<#${namesake.threadId}>). Add to it, or pick another title.`,
    );
  }

  // The bot makes the thread with its own permissions: the member must be allowed to make one here.
  if (!interaction.memberPermissions?.has(PermissionFlagsBits.CreatePublicThreads)) {
    throw new InvalidRequestError('You cannot start threads in this channel, so you cannot start a series here.');
  }
  if (interaction.appPermissions && !interaction.appPermissions.has(PermissionFlagsBits.CreatePublicThreads)) {
    throw new InvalidRequestError('I cannot start a thread here. I need **Create Public Threads** in this channel.');
  }
  // Making the thread can take longer than Discord's 3 s: answer first, fill in after.
  await interaction.deferReply();
  let thread: APIChannel;
  try {
    thread = (await ctx.rest.post(Routes.threads(interaction.channelId), {
      body: { name: `📚 ${title}`.slice(0, 100), type: ChannelType.PublicThread, auto_archive_duration: 10080 },
    })) as APIChannel;
  } catch (error) {
    if (error instanceof DiscordAPIError && (error.status === 403 || error.status === 400)) {
      throw new InvalidRequestError('I cannot start a thread here. I need **Create Public Threads** in a text channel.');
    }
    throw error;
  }
  const series = await ctx.series.create({
    id: interaction.id,
    guildId: interaction.guildId,
    channelId: interaction.channelId,
    threadId: thread.id,
    title,
    mode,
    panelCount,
    style,
    seed,
    creatorId: interaction.user.id,
    createdAt: ctx.now(),
  });
  const how =
    mode === 'relay'
      ? 'Take turns: nobody adds two panels in a row. `/series join` sets a turn order.'
      : mode === 'corpse'
        ? 'Each contributor sees only the panel before theirs; the whole is revealed when the last panel is in.'
        : 'Anyone can add panels, in any order.';
  const styleLine = style ? `\nStyle of every panel: *${quotePrompt(style, 300)}*` : '';
  await postChannelMessage(ctx, thread.id, {
    content:
      `📚 ${seriesTitle(series)} · ${modeLabels[mode]} · ${panelCount} panels · started by <@${series.creatorId}>${styleLine}\n` +
      `${how}\nAdd a panel here with \`/series add prompt:\`, or with **📚 Add to series** under any picture.`,
    components: [],
    allowed_mentions: noMentions,
  });
  await interaction.editReply({
    content: `📚 <@${series.creatorId}> started ${seriesTitle(series)} (${modeLabels[mode]}, ${panelCount} panels). Make it together in <#${thread.id}>.`,
    allowedMentions: noMentions,
  });
}

async function add(interaction: ChatInputCommandInteraction, ctx: BotContext) {
  const series = await seriesOf(interaction, ctx);
  const options = resolvePromptOptions(
    { prompt: interaction.options.getString('prompt', true) },
    ctx.models.map((m) => m.name),
  );
  const prompt = series.style ? `${options.prompt}, ${series.style}` : options.prompt;
  if (prompt.length > PROMPT_MAX) {
    throw new InvalidRequestError(`With the series style your prompt is ${prompt.length} characters long; the limit is ${PROMPT_MAX}.`);
  }
  await releaseAbandonedPanels(ctx, series);
  const previous = series.mode === 'corpse' ? (await ctx.series.panels(series.id)).filter((p) => p.imageId).at(-1) : undefined;

  // The panel's number is fixed now; delivery attaches the picture to it (attachDeliveredPanel).
  const reserved = await ctx.series.addPanel(series.id, {
    id: interaction.id,
    userId: interaction.user.id,
    userName: interaction.user.displayName ?? interaction.user.username,
    prompt: options.prompt,
    jobId: interaction.id,
    createdAt: ctx.now(),
  });
  if (!reserved.ok) throw new InvalidRequestError(refusalMessage(reserved, series));
  if (reserved.duplicate) return;

  let queued;
  try {
    queued = await enqueueGeneration(ctx, requesterOf(interaction), {
      kind: 'txt2img',
      options: { ...options, prompt, seed: options.seed ?? series.seed, count: 1 },
      partOf: 'series',
    });
  } catch (error) {
    await ctx.series.releasePending(series.id, interaction.id);
    throw error;
  }
  // The request's row exists from admission on: the panel can refer to it now.
  await ctx.series.linkRequest(interaction.id, queued.record.id);
  const body = queuedMessage(queued.record, queued.place);
  body.content = `📚 Panel ${reserved.number} of ${series.panelCount} · ${seriesTitle(series)}\n${body.content}`.slice(0, 2000);
  if (series.mode === 'corpse') body.flags = MessageFlags.Ephemeral;
  await replyQueued(interaction, ctx, queued.record, body);

  if (series.mode === 'corpse') {
    // The contributor sees the panel before theirs, and nothing else.
    const [image] = previous ? await panelImages(ctx, [previous], await channelRestricted(interaction, ctx)) : [];
    const files = image ? [await fitToSize(image.image, interaction.attachmentSizeLimit || DEFAULT_ATTACHMENT_LIMIT, `panel-${image.number}`)] : [];
    await interaction.followUp({
      content: image
        ? `🙈 The panel before yours (panel ${image.number}). Only you can see it; carry the story on from here.`
        : '🙈 Yours is the first panel: nobody has drawn anything yet.',
      files: files.map((file) => ({ attachment: file.data, name: file.filename })),
      flags: MessageFlags.Ephemeral,
      allowedMentions: noMentions,
    });
  }
}

async function join(interaction: ChatInputCommandInteraction, ctx: BotContext) {
  const series = await seriesOf(interaction, ctx);
  if (series.mode !== 'relay') throw new InvalidRequestError(`${seriesTitle(series)} is not a relay; anyone can add panels.`);
  if (series.status !== 'open') throw new InvalidRequestError(`${seriesTitle(series)} is ${series.status} and takes no more panels.`);
  const added = await ctx.series.join(series.id, interaction.user.id);
  const order = await ctx.series.turnOrder(series.id);
  const position = order.indexOf(interaction.user.id) + 1;
  const next = (await nextTurnLine(ctx, series)) ?? '';
  await interaction.reply({
    content: `${added ? `🔁 <@${interaction.user.id}> joined the turn order of ${seriesTitle(series)}` : `🔁 <@${interaction.user.id}> is already in the turn order of ${seriesTitle(series)}`} (position ${position} of ${order.length}).\n${next}`,
    allowedMentions: noMentions,
  });
}

/** Corpse panels stay hidden until the end; nobody can look early, not even through an export. */
function assertVisible(series: SeriesRecord) {
  if (series.mode === 'corpse' && series.status === 'open') {
    throw new InvalidRequestError(`${seriesTitle(series)} is an exquisite corpse: it is revealed when the last panel is in.`);
  }
}

async function filledPanels(ctx: BotContext, series: SeriesRecord): Promise<NumberedPanel[]> {
  const panels = (await ctx.series.panels(series.id)).filter((panel) => panel.imageId);
  if (panels.length === 0) throw new InvalidRequestError(`${seriesTitle(series)} has no panels yet. Add one with \`/series add\`.`);
  return panels;
}

async function view(interaction: ChatInputCommandInteraction, ctx: BotContext) {
  const series = await seriesOf(interaction, ctx);
  assertVisible(series);
  const panels = await filledPanels(ctx, series);
  await interaction.deferReply();
  const picture = await seriesPicture(ctx, series, panels, {
    limit: interaction.attachmentSizeLimit || DEFAULT_ATTACHMENT_LIMIT,
    destinationRestricted: await channelRestricted(interaction, ctx),
  });
  await interaction.editReply({
    content:
      `📚 ${seriesTitle(series)} · ${panels.length} of ${series.panelCount} panels · ${modeLabels[series.mode]} · ${series.status}\n` +
      `by ${contributorsOf(panels).map(memberMention).join(', ')}`,
    files: picture ? [{ attachment: picture.data as Buffer, name: picture.name }] : [],
    allowedMentions: noMentions,
  });
}

async function exportSeries(interaction: ChatInputCommandInteraction, ctx: BotContext) {
  const series = await seriesOf(interaction, ctx);
  assertVisible(series);
  const format = (interaction.options.getString('format') ?? 'strip') as (typeof exportFormats)[number];
  if (!exportFormats.includes(format)) throw new InvalidRequestError('Pick one of the formats offered.');
  const panels = await filledPanels(ctx, series);
  const limit = interaction.attachmentSizeLimit || DEFAULT_ATTACHMENT_LIMIT;
  await interaction.deferReply();
  const restricted = await channelRestricted(interaction, ctx);
  const base = `${slug(series.title)}-${series.id}`;
  let file: { data: Buffer; name: string };
  if (format === 'strip') {
    // A tall strip reads like a comic on a phone: one panel under the other.
    const picture = await seriesPicture(ctx, series, panels, { columns: 1, limit, name: `${base}-strip`, destinationRestricted: restricted });
    file = { data: picture!.data as Buffer, name: picture!.name };
  } else if (format === 'zip') {
    file = { data: await originalsZip(ctx, series, panels, restricted), name: `${base}.zip` };
  } else {
    file = { data: await composeSlideshow(await panelImages(ctx, panels, restricted), format), name: `${base}.${format}` };
  }
  if (file.data.length > limit) {
    throw new InvalidRequestError(
      `That export is ${(file.data.length / 1048576).toFixed(1)} MB, more than this server accepts. Try \`format:strip\`.`,
    );
  }
  await interaction.editReply({
    content: `📦 ${seriesTitle(series)} · ${panels.length} panels · ${format}`,
    files: [{ attachment: file.data, name: file.name }],
    allowedMentions: noMentions,
  });
}

function slug(title: string): string {
  return (
    title
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, '-')
      .replace(/^-|-$/g, '')
      .slice(0, 40) || 'series'
  );
}

const extensions: Record<string, string> = { 'image/png': 'png', 'image/jpeg': 'jpg', 'image/webp': 'webp', 'image/gif': 'gif' };

/**
 * The original pictures, numbered, with a manifest of prompts, authors and seeds. A panel left out
 * (deleted, or age-restricted outside an age-restricted channel) is a blank tile without its prompt.
 */
async function originalsZip(ctx: BotContext, series: SeriesRecord, panels: NumberedPanel[], destinationRestricted: boolean): Promise<Buffer> {
  const images = await panelImages(ctx, panels, destinationRestricted);
  const files: Record<string, Uint8Array> = {};
  const entries = panels.map((panel, index) => {
    const { image, hidden, picture } = images[index]!;
    // A panel left out is a blank PNG tile, and what it showed stays out of the manifest too.
    const record = hidden ? undefined : picture;
    const file = `${String(panel.number).padStart(2, '0')}.${extensions[record?.contentType ?? ''] ?? 'png'}`;
    files[file] = image;
    return {
      panel: panel.number,
      file,
      prompt: hidden ? undefined : panel.prompt,
      fullPrompt: record?.prompt,
      contributor: { id: panel.userId, name: panel.userName },
      author: record ? { id: record.userId } : undefined,
      seed: panel.seed ?? record?.seed,
      model: record?.model,
      imageId: panel.imageId,
      addedAt: new Date(panel.createdAt).toISOString(),
    };
  });
  const manifest = {
    title: series.title,
    mode: series.mode,
    status: series.status,
    panelCount: series.panelCount,
    style: series.style,
    seed: series.seed,
    createdAt: new Date(series.createdAt).toISOString(),
    panels: entries,
  };
  files['manifest.json'] = strToU8(JSON.stringify(manifest, null, 2));
  // Pictures are compressed already: store them, deflate only the manifest.
  return Buffer.from(zipSync(files, { level: 0 }));
}

async function reorder(interaction: ChatInputCommandInteraction, ctx: BotContext) {
  const series = await seriesOf(interaction, ctx);
  await assertCanManage(interaction, series, ctx);
  const from = interaction.options.getInteger('panel', true);
  const to = interaction.options.getInteger('to', true);
  const moved = await ctx.series.movePanel(series.id, from, to);
  if (!moved) throw new InvalidRequestError(`${seriesTitle(series)} has no panel ${Math.max(from, to)}.`);
  await interaction.reply({ content: `🔀 Panel ${from} of ${seriesTitle(series)} is now panel ${to}.`, allowedMentions: noMentions });
}

async function remove(interaction: ChatInputCommandInteraction, ctx: BotContext) {
  const series = await seriesOf(interaction, ctx);
  await assertCanManage(interaction, series, ctx);
  const number = interaction.options.getInteger('panel', true);
  const removed = await ctx.series.removePanel(series.id, number);
  if (!removed) throw new InvalidRequestError(`${seriesTitle(series)} has no panel ${number}.`);
  await interaction.reply({
    content: `🗑️ Removed panel ${number} (by ${memberText(removed.userName)}) from ${seriesTitle(series)}; the panels after it moved up.`,
    allowedMentions: noMentions,
  });
}

async function close(interaction: ChatInputCommandInteraction, ctx: BotContext) {
  const series = await seriesOf(interaction, ctx);
  await assertCanManage(interaction, series, ctx);
  const previous = await ctx.series.close(series.id);
  if (previous !== 'open') throw new InvalidRequestError(`${seriesTitle(series)} is already ${previous ?? 'gone'}.`);
  // Panels still being drawn count: their pictures land in the series when delivered.
  await releaseAbandonedPanels(ctx, series);
  const panels = (await ctx.series.panels(series.id)).length;
  await interaction.reply({
    content: `🔒 ${seriesTitle(series)} is closed with ${panels} of ${series.panelCount} panels.`,
    allowedMentions: noMentions,
  });
}

async function list(interaction: ChatInputCommandInteraction, ctx: BotContext) {
  if (!interaction.guildId) throw new InvalidRequestError('Series live in servers; use this in one.');
  const all = await ctx.series.ofGuild(interaction.guildId, 50);
  if (all.length === 0) {
    await replyPrivately(interaction, 'No series here yet. Start one with `/series create`.');
    return;
  }
  const lines = all
    .slice(0, 20)
    .map(
      (series) =>
        `${statusIcons[series.status]} ${seriesTitle(series)} · ${modeLabels[series.mode]} · ${series.panelsAdded}/${series.panelCount} · <#${series.threadId}>`,
    );
  const open = all.filter((series) => series.status === 'open').length;
  await replyPrivately(interaction, `**Series in this server** (${open} open, ${all.length - open} finished)\n${lines.join('\n')}`);
}
