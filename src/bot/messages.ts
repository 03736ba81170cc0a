import {
  ButtonStyle,
  ComponentType,
  MessageFlags,
  escapeMarkdown,
  type APIActionRowComponent,
  type APIButtonComponent,
  type APIComponentInMessageActionRow,
} from 'discord.js';
import { challengeSubmitId } from '../features/challenges/ids.js';
import { DELETED_MEMBER } from '../features/former-member.js';
import type { JobRecord } from '../store/jobs.js';
import { communityButtonId } from './components/community-ids.js';
import { generationButtonId, seriesAddButtonId } from './components/ids.js';
import { editRows } from '../features/edits/ids.js';

/**
 * Every message Atelier shows for a generation, in one place. All of them echo member text, so
 * all of them carry `allowed_mentions: { parse: [] }`: a prompt containing @everyone pings no one.
 */
export const noMentions = { parse: [] as never[] };

export interface MessageBody {
  content: string;
  components: APIActionRowComponent<APIComponentInMessageActionRow>[];
  allowed_mentions: typeof noMentions;
  flags?: number;
  attachments?: { id: number; filename: string; description?: string }[];
}

const CONTENT_MAX = 2000;

function clip(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

/**
 * An http(s) address where Discord would make one: up to a space or an angle bracket, without the
 * punctuation that ends a sentence (Discord leaves that out of the link too).
 */
const ADDRESS = /(<?)(https?:\/\/[^\s<>]*[^\s<>.,:;"')\]])(>?)/gi;

/** Markdown escaped, square brackets included: no `[text](address)` can form a masked link. */
const inert = (text: string) => escapeMarkdown(text).replace(/[[\]]/g, '\\$&');

/**
 * Text a member wrote (a prompt, a title, a theme, a name) as Atelier echoes it: on one line,
 * clipped to `max`, markdown escaped so it cannot format or hide anything, masked links shown as
 * plain text, and each address wrapped in <…> so Discord links it without a preview. The address
 * itself is left unescaped: inside <…> nothing formats, and a backslash would change the link.
 */
export function memberText(text: string, max?: number): string {
  const line = text.replace(/\s+/g, ' ');
  const clipped = max === undefined ? line : clip(line, max);
  let shown = '';
  let from = 0;
  for (const match of clipped.matchAll(ADDRESS)) {
    const [whole, open, address, close] = match;
    // An address the member already wrapped in <…> keeps that one pair.
    const wrapped = open && close ? `<${address}>` : `${open}<${address}>${close}`;
    shown += `${inert(clipped.slice(from, match.index))}${wrapped}`;
    from = match.index + whole.length;
  }
  return shown + inert(clipped.slice(from));
}

/**
 * Member text inside the label of one of Atelier's own links (`[text](link)`): brackets are left
 * out (a lone one would end the label early), and addresses lose their scheme, so the label holds
 * no link of its own and shows no preview.
 */
export function memberLinkLabel(text: string, max?: number): string {
  const plain = text.replace(/[[\]]/g, '').replace(/https?:\/\//gi, '');
  return memberText(plain, max);
}

/** Prompt text as members see it: see memberText. */
export function quotePrompt(prompt: string, max = 1200): string {
  return memberText(prompt, max);
}

const kindLabels: Record<string, string> = {
  txt2img: '',
  img2img: 'Remix',
  variation: 'Variation',
  upscale: 'Upscale',
  outpaint: 'Zoom / pan',
  inpaint: 'Vary (Region)',
};

/** "**prompt**\nseed `42` · painterly · 16:9 · by <@123>" */
export function describeRequest(record: JobRecord): string {
  const details = [`seed \`${record.seed}\``, escapeMarkdown(record.model), record.aspect];
  if (record.count > 1 && record.kind !== 'upscale') details.push(`${record.count} images`);
  details.push(...parameterLabels(record));
  const kind = kindLabels[record.kind];
  const negative = record.negative ? `\n*without:* ${quotePrompt(record.negative, 200)}` : '';
  const lines = `${kind ? `${kind} · ` : ''}${details.join(' · ')} · by <@${record.userId}>`;
  const head = `**${quotePrompt(record.prompt)}**`;
  return clip(`${head}${negative}\n${lines}`, CONTENT_MAX - 120);
}

/** "chaos 40", "stylize 250", "tile", "draft": the creative parameters a request carried. */
export function parameterLabels(params: { chaos?: number; stylize?: number; tile?: boolean; draft?: boolean }): string[] {
  const labels: string[] = [];
  if (params.chaos !== undefined) labels.push(`chaos ${params.chaos}`);
  if (params.stylize !== undefined) labels.push(`stylize ${params.stylize}`);
  if (params.tile) labels.push('tile');
  if (params.draft) labels.push('draft');
  return labels;
}

type ActionStyle = ButtonStyle.Primary | ButtonStyle.Secondary | ButtonStyle.Success | ButtonStyle.Danger;

function button(customId: string, label: string, style: ActionStyle = ButtonStyle.Secondary): APIButtonComponent {
  return { type: ComponentType.Button, custom_id: customId, label, style };
}

function row(buttons: APIButtonComponent[]): APIActionRowComponent<APIComponentInMessageActionRow> {
  return { type: ComponentType.ActionRow, components: buttons };
}

const cancelRow = (jobId: string) => row([button(generationButtonId('cancel', jobId), '✖ Cancel', ButtonStyle.Danger)]);

export function formatDuration(ms: number): string {
  const seconds = Math.max(1, Math.round(ms / 1000));
  if (seconds < 90) return `${seconds} s`;
  const minutes = Math.round(seconds / 60);
  return minutes < 90 ? `${minutes} min` : `${Math.round(minutes / 60)} h`;
}

/** "Queued — position 3 of 7 · about 20 s", or just "Queued" when the place could not be read. */
export function queuedMessage(record: JobRecord, place: { position: number; total: number; etaMs?: number } | undefined): MessageBody {
  const eta = place?.etaMs === undefined ? '' : ` · about ${formatDuration(place.etaMs)}`;
  const where = place ? ` — position ${place.position} of ${place.total}${eta}` : '';
  return {
    content: `⏳ **Queued**${where}\n${describeRequest(record)}`,
    components: [cancelRow(record.id)],
    allowed_mentions: noMentions,
  };
}

export function progressMessage(record: JobRecord, percent: number): MessageBody {
  const filled = Math.round(percent / 10);
  const bar = `${'▰'.repeat(filled)}${'▱'.repeat(10 - filled)}`;
  return {
    content: `🎨 **Generating** ${bar} ${percent}%\n${describeRequest(record)}`,
    components: [cancelRow(record.id)],
    allowed_mentions: noMentions,
  };
}

/** What a result shows besides its record: the live vote count, and "remix of …" for a remix. */
export interface ResultExtras {
  votes?: number;
  /** A line under the description, e.g. "🔀 remix of <link> by <@id>". */
  note?: string;
  /** The picture's page in the web gallery (WEB_PUBLIC_URL set): a 🌐 link button. */
  webUrl?: string;
}

/** A result's page in the web gallery, when the gallery has a public address and the result a server. */
export function pictureWebUrl(publicUrl: string | undefined, record: Pick<JobRecord, 'guildId' | 'imageIds'>): string | undefined {
  const imageId = record.imageIds[0];
  if (!publicUrl || !record.guildId || !imageId) return undefined;
  return `${publicUrl}/g/${record.guildId}/p/${encodeURIComponent(imageId)}`;
}

/** 👍 Vote, 🔀 Remix, 🌳 Family and 🗑 on every result (the vote label carries the count). */
function communityButtons(jobId: string, votes: number): APIButtonComponent[] {
  return [
    button(communityButtonId('vote', jobId), `👍 ${votes} Vote`, ButtonStyle.Success),
    button(communityButtonId('remix', jobId), '🔀 Remix'),
    button(communityButtonId('family', jobId), '🌳 Family'),
    button(communityButtonId('delete', jobId), '🗑', ButtonStyle.Danger),
  ];
}

/** What a result's buttons depend on: which request, its kind and how many pictures it holds. */
export interface ResultShape {
  id: string;
  kind: string;
  images: number;
  /** A --draft preview: 🔍 Enhance renders it in full. */
  draft?: boolean;
}

/**
 * A result's buttons. Also what a vote redraws: the shape comes from the archive, so the buttons
 * of an old message can be redrawn after the live records are gone.
 */
export function resultComponents(
  result: ResultShape,
  votes: number,
  /** The picture's page in the web gallery: a 🌐 link button. */
  webUrl?: string,
): APIActionRowComponent<APIComponentInMessageActionRow>[] {
  const { id, images } = result;
  const rows: APIActionRowComponent<APIComponentInMessageActionRow>[] = [];
  const community = communityButtons(id, votes);
  if (result.kind !== 'upscale') {
    const numbers = Array.from({ length: images }, (_, i) => i + 1);
    if (images > 1) {
      rows.push(row(numbers.map((n) => button(generationButtonId('upscale', id, n), `U${n}`))));
      rows.push(row(numbers.map((n) => button(generationButtonId('vary', id, n), `V${n}`))));
    }
    const actions = [button(generationButtonId('reroll', id), '🔁 Reroll', ButtonStyle.Primary)];
    if (images === 1) {
      actions.push(button(generationButtonId('upscale', id, 1), '⤴ Upscale'));
      actions.push(button(generationButtonId('vary', id, 1), '🎲 Vary'));
      rows.push(row(actions), row(community));
    } else {
      rows.push(row([...actions, ...community]));
    }
  } else {
    rows.push(row(community));
  }
  // A single picture (a one-picture result or an upscale): pan, zoom out, make square, vary.
  if (images === 1) rows.push(...editRows(id));
  // The final row: what can be done with the result beyond generating more.
  const share: APIButtonComponent[] = [button(seriesAddButtonId(id), '📚 Add to series'), button(challengeSubmitId(id), '🏆 Submit to challenge')];
  // In the last row, which has room for it whatever the number of pictures.
  if (result.draft && result.kind !== 'upscale') share.unshift(button(generationButtonId('enhance', id), '🔍 Enhance', ButtonStyle.Success));
  if (webUrl) share.push({ type: ComponentType.Button, style: ButtonStyle.Link, label: '🌐 Web', url: webUrl });
  rows.push(row(share));
  return rows;
}

/** The finished result: the files are attached by the caller in the same order as `filenames`. */
export function resultMessage(record: JobRecord, filenames: string[], extras: ResultExtras = {}): MessageBody {
  const rows = resultComponents(
    { id: record.id, kind: record.kind, images: record.imageIds.length, draft: record.draft },
    extras.votes ?? 0,
    extras.webUrl,
  );
  return {
    content: clip(`✅ ${describeRequest(record)}${extras.note ? `\n${extras.note}` : ''}`, CONTENT_MAX),
    components: rows,
    allowed_mentions: noMentions,
    attachments: filenames.map((filename, id) => ({ id, filename, description: clip(record.prompt, 1000) })),
  };
}

/**
 * How the worker words a safety refusal (refusalMessage); anything after this first sentence, such
 * as the provider's own explanation, is for the author alone.
 */
const SAFETY_REFUSAL = "The image provider's safety filter refused this prompt.";

/** What the channel is told about a failure of each kind (the record's errorKind). */
const publicFailures: Record<string, string> = {
  provider_down: 'The image provider is not answering right now. Please try again later.',
  internal: 'Atelier stopped before this was finished. Please try again.',
  delivery: 'The finished picture could not be posted here.',
  discord: 'The finished picture could not be posted here.',
};

/**
 * Why a request failed, in Atelier's own words, for everyone in the channel. The record's error
 * can carry what the provider said (workflow node ids, model files, its own wording): that goes
 * to the author privately (failedNotice), never to the channel.
 */
export function publicFailureReason(record: Pick<JobRecord, 'error' | 'errorKind'>): string {
  if (record.errorKind === 'refused') {
    return record.error?.startsWith(SAFETY_REFUSAL) ? SAFETY_REFUSAL : 'This request could not be made as asked; its author was told why.';
  }
  return publicFailures[record.errorKind ?? ''] ?? 'Something went wrong.';
}

/** The public message of a failed request: what happened in general, never the details. */
export function failedMessage(record: JobRecord): MessageBody {
  return {
    content: `❌ **Not generated.** ${publicFailureReason(record)}\n${describeRequest(record)}`,
    components: [],
    allowed_mentions: noMentions,
    attachments: [],
  };
}

/** What the author alone is told about their failed request: the specific reason, escaped. */
export function failedNotice(record: Pick<JobRecord, 'error' | 'errorKind'>): string {
  return `Your request could not be completed: ${memberText(record.error ?? publicFailureReason(record))}`;
}

export function cancelledMessage(record: JobRecord, byUserId: string): MessageBody {
  const by = byUserId === record.userId ? '' : ` by <@${byUserId}>`;
  return {
    content: `✖ **Cancelled**${by}\n${describeRequest(record)}`,
    components: [],
    allowed_mentions: noMentions,
  };
}

/** A private answer to one member (errors, confirmations). */
export function ephemeral(content: string): MessageBody {
  return { content: clip(content, CONTENT_MAX), components: [], allowed_mentions: noMentions, flags: MessageFlags.Ephemeral };
}

/** How public posts name a member: one who deleted their data (/privacy) is "a former member", never mentioned. */
export const memberMention = (userId: string): string => (userId === DELETED_MEMBER ? 'a former member' : `<@${userId}>`);
