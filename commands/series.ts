import {
  ApplicationCommandOptionType,
  ApplicationCommandType,
  ApplicationIntegrationType,
  ChannelType,
  DiscordAPIError,
  InteractionContextType,
  MessageFlags,
  PermissionFlagsBits,
  Routes,
  escapeMarkdown,
  type APIApplicationCommandBasicOption,
  type APIChannel,
  type ChatInputCommandInteraction,
  type RESTPostAPIChatInputApplicationCommandsJSONBody,
} from 'discord.js';
import { strToU8, zipSync } from 'fflate';
import { PROMPT_MAX } from '../src/queues.js';
import type { ChatInputCommand } from '../src/bot/command.js';
import { assertPublicTextAllowed } from '../src/bot/admission.js';
import { ageRestriction } from '../src/bot/age-restriction.js';
import type { BotContext } from '../src/bot/context.js';
import { postChannelMessage } from '../src/bot/discord-messages.js';
import { ephemeral, memberMention, noMentions, queuedMessage, quotePrompt } from '../src/bot/messages.js';
import { InvalidRequestError, resolvePromptOptions } from '../src/bot/prompt.js';
import { replyQueued } from '../src/bot/queued-reply.js';
import { requesterOf } from '../src/bot/requester.js';
import { DEFAULT_ATTACHMENT_LIMIT, enqueueGeneration } from '../src/bot/requests.js';
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
} from '../src/bot/series.js';
import { fitToSize } from '../src/images/fit.js';
import { composeSlideshow } from '../src/images/series.js';
import {
  SERIES_PANELS_MAX,
  SERIES_PANELS_MIN,
  SERIES_STYLE_MAX,
  SERIES_TITLE_MAX,
  seriesModes,
  type NumberedPanel,
  type SeriesRecord,
} from '../src/store/series.js';

const seriesOption: APIApplicationCommandBasicOption = {
  name: 'series',
  description: 'Which series (its title or id); inside a series thread, that one',
  type: ApplicationCommandOptionType.String,
  max_length: 100,
};

const panelOption = (description: string): APIApplicationCommandBasicOption => ({
  name: 'panel',
  description,
  type: ApplicationCommandOptionType.Integer,
  required: true,
  min_value: 1,
  max_value: SERIES_PANELS_MAX,
});

const exportFormats = ['strip', 'gif', 'webp', 'zip'] as const;

const data = () =>
  ({
    name: 'series',
    description: 'Comic strips, storyboards and exquisite corpses, made together',
    type: ApplicationCommandType.ChatInput,
    contexts: [InteractionContextType.Guild],
    integration_types: [ApplicationIntegrationType.GuildInstall],
    options: [
      {
        name: 'create',
        description: 'Start a series (and a thread for it)',
        type: ApplicationCommandOptionType.Subcommand,
        options: [
          {
            name: 'title',
            description: 'What it is called',
            type: ApplicationCommandOptionType.String,
            required: true,
            max_length: SERIES_TITLE_MAX,
          },
          {
            name: 'mode',
            description: 'open: anyone, any order · relay: take turns · exquisite corpse: see only the panel before yours',
            type: ApplicationCommandOptionType.String,
            choices: seriesModes.map((mode) => ({ name: modeLabels[mode], value: mode })),
          },
          {
            name: 'panels',
            description: `How many panels (${SERIES_PANELS_MIN}–${SERIES_PANELS_MAX}, default 8)`,
            type: ApplicationCommandOptionType.Integer,
            min_value: SERIES_PANELS_MIN,
            max_value: SERIES_PANELS_MAX,
          },
          {
            name: 'style',
            description: 'Added to every panel prompt so the panels look like one work',
            type: ApplicationCommandOptionType.String,
            max_length: SERIES_STYLE_MAX,
          },
          {
            name: 'seed',
            description: 'A seed shared by every panel',
            type: ApplicationCommandOptionType.Integer,
            min_value: 0,
            max_value: 4_294_967_295,
          },
        ],
      },
      {
        name: 'add',
        description: 'Draw the next panel',
        type: ApplicationCommandOptionType.Subcommand,
        options: [
          {
            name: 'prompt',
            description: 'What happens in this panel',
            type: ApplicationCommandOptionType.String,
            required: true,
            max_length: PROMPT_MAX,
          },
          seriesOption,
        ],
      },
      {
        name: 'join',
        description: 'Join the turn order of a relay',
        type: ApplicationCommandOptionType.Subcommand,
        options: [seriesOption],
      },
      {
        name: 'view',
        description: 'The series so far, as one picture',
        type: ApplicationCommandOptionType.Subcommand,
        options: [seriesOption],
      },
      {
        name: 'export',
        description: 'A strip, an animated slideshow, or a zip of the originals',
        type: ApplicationCommandOptionType.Subcommand,
        options: [
          {
            name: 'format',
            description: 'strip (PNG, default), gif or webp (slideshow), zip (originals and manifest)',
            type: ApplicationCommandOptionType.String,
            choices: exportFormats.map((format) => ({ name: format, value: format })),
          },
          seriesOption,
        ],
      },
      {
        name: 'reorder',
        description: 'Move a panel (creator or moderator)',
        type: ApplicationCommandOptionType.Subcommand,
        options: [
          panelOption('The panel to move'),
          {
            name: 'to',
            description: 'Its new position',
            type: ApplicationCommandOptionType.Integer,
            required: true,
            min_value: 1,
            max_value: SERIES_PANELS_MAX,
          },
          seriesOption,
        ],
      },
      {
        name: 'remove',
        description: 'Take a panel out (creator or moderator)',
        type: ApplicationCommandOptionType.Subcommand,
        options: [panelOption('The panel to remove'), seriesOption],
      },
      {
        name: 'close',
        description: 'Stop taking panels (creator or moderator)',
        type: ApplicationCommandOptionType.Subcommand,
        options: [seriesOption],
      },
      {
        name: 'list',
        description: "This server's open and finished series",
        type: ApplicationCommandOptionType.Subcommand,
      },
    ],
  }) satisfies RESTPostAPIChatInputApplicationCommandsJSONBody;

const statusIcons: Record<SeriesRecord['status'], string> = { open: '🟢', complete: '🏁', closed: '🔒' };

async function execute(interaction: ChatInputCommandInteraction, ctx: BotContext) {
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
  const style = interaction.options.getString('style')?.replace(/\s+/g, ' ').trim() || undefined;
  await assertPublicTextAllowed(ctx, interaction.guildId, `${title} ${style ?? ''}`, 'title or style');
  const mode = (interaction.options.getString('mode') ?? 'open') as SeriesRecord['mode'];
  if (!seriesModes.includes(mode)) throw new InvalidRequestError('Pick one of the modes offered.');
  const panelCount = interaction.options.getInteger('panels') ?? 8;
  if (panelCount < SERIES_PANELS_MIN || panelCount > SERIES_PANELS_MAX) {
    throw new InvalidRequestError(`A series has ${SERIES_PANELS_MIN} to ${SERIES_PANELS_MAX} panels.`);
  }
  const seed = interaction.options.getInteger('seed') ?? undefined;

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

  // The panel's number is fixed now; delivery attaches the picture to it (src/bot/series.ts).
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
    });
  } catch (error) {
    await ctx.series.releasePending(series.id, interaction.id, interaction.id);
    throw error;
  }
  const body = queuedMessage(queued.record, queued.place);
  body.content = `📚 Panel ${reserved.number} of ${series.panelCount} · ${seriesTitle(series)}\n${body.content}`.slice(0, 2000);
  if (series.mode === 'corpse') body.flags = MessageFlags.Ephemeral;
  await replyQueued(interaction, ctx, queued.record.id, body);

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
  const entries = await Promise.all(
    panels.map(async (panel, index) => {
      const { image, hidden } = images[index]!;
      // A panel left out is a blank PNG tile, and what it showed stays out of the manifest too.
      const record = hidden ? undefined : await ctx.images.getRecord(panel.imageId!);
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
    }),
  );
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
    content: `🗑️ Removed panel ${number} (by ${escapeMarkdown(removed.userName)}) from ${seriesTitle(series)}; the panels after it moved up.`,
    allowedMentions: noMentions,
  });
}

async function close(interaction: ChatInputCommandInteraction, ctx: BotContext) {
  const series = await seriesOf(interaction, ctx);
  await assertCanManage(interaction, series, ctx);
  const previous = await ctx.series.close(series.id);
  if (previous !== 'open') throw new InvalidRequestError(`${seriesTitle(series)} is already ${previous ?? 'gone'}.`);
  const panels = (await ctx.series.panels(series.id)).filter((panel) => panel.imageId).length;
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
  const lines = await Promise.all(
    all.slice(0, 20).map(async (series) => {
      const count = (await ctx.series.panels(series.id)).length;
      return `${statusIcons[series.status]} ${seriesTitle(series)} · ${modeLabels[series.mode]} · ${count}/${series.panelCount} · <#${series.threadId}>`;
    }),
  );
  const open = all.filter((series) => series.status === 'open').length;
  await replyPrivately(interaction, `**Series in this server** (${open} open, ${all.length - open} finished)\n${lines.join('\n')}`);
}

export default { data, execute } satisfies ChatInputCommand;
