import type { ImageRecord } from '../pictures/images.js';
import { renderTree, type TreeNode } from './render.js';
import type { AgeRestriction } from '../../bot/age-restriction.js';
import { imageIdPattern } from '../../bot/components/community-ids.js';
import { imageBytes } from '../../bot/components/generation.js';
import { imageLink } from '../../bot/community.js';
import type { BotContext } from '../../bot/context.js';
import { messageRef, pictureOfMessage } from '../../bot/image-sources.js';
import { InvalidRequestError } from '../../bot/prompt.js';
import { imageOfThisServer } from '../../bot/server-scope.js';
import { BlendStore } from '../blend/store.js';
import { StyleStore, styleCodeOf } from '../styles/store.js';

/**
 * A picture's family: its ancestors up to the root, and its descendants. A node is one result
 * message's image set (what members vote on, remix from and delete), or a member's upload.
 */
export interface FamilyNode {
  kind: 'picture' | 'more';
  key: string;
  /** For pictures: the set's first image (the one shown), and its record. */
  record?: ImageRecord;
  votes: number;
  name: string;
  focus: boolean;
  deleted: boolean;
  /** Made in an age-restricted channel and shown in another: a blank tile without link. */
  restricted?: boolean;
  /** For "more": how many pictures were left out here. */
  hidden: number;
  /** A picture drawn in another's style (--sref): that picture, and its author. */
  styleFrom?: { image?: ImageRecord; authorId?: string };
  /** A blend: every parent, in order. */
  blendOf?: ImageRecord[];
  children: FamilyNode[];
}

export interface FamilyLimits {
  /** Ancestors shown between the root and the picture; the rest collapse into "+N more". */
  ancestors: number;
  /** Generations below the picture. */
  depth: number;
  /** Children shown per picture; the rest collapse into "+N more". */
  childrenPerNode: number;
  /** Pictures in the whole tree. */
  total: number;
}

export const DEFAULT_FAMILY_LIMITS: FamilyLimits = { ancestors: 3, depth: 3, childrenPerNode: 4, total: 20 };
const ANCESTOR_WALK_MAX = 200;

/**
 * "1234…-2", "upload-…", a message link or a message id → the image it names, if it was made in
 * this server (another server's picture gets the same answer as an unknown one). A link to a
 * result posted a moment ago in this channel works too (see pictureOfMessage).
 */
export async function resolveImageRef(
  ctx: BotContext,
  ref: string,
  place: { guildId: string | null; channelId?: string | null },
): Promise<ImageRecord> {
  const trimmed = ref.trim();
  let imageId: string | undefined;
  if (imageIdPattern.test(trimmed)) {
    imageId = trimmed;
  } else {
    const message = messageRef(trimmed);
    if (!message) throw new InvalidRequestError('Give me an image id (like `1234567890123456789-1`) or a link to a message with an Atelier picture.');
    imageId = (await pictureOfMessage(ctx, place, message)).imageId;
  }
  const record = imageId ? await imageOfThisServer(ctx, imageId, place) : undefined;
  if (!record)
    throw new InvalidRequestError('I do not know that picture. Links must point at a message with an Atelier picture or a remixed upload.');
  return record;
}

/** The images shown together with `image` (one result message), first one first. */
async function setOf(ctx: BotContext, image: ImageRecord): Promise<ImageRecord[]> {
  if (image.kind === 'upload') return [image];
  const records = await ctx.images.getRecords([1, 2, 3, 4].map((n) => `${image.jobId}-${n}`));
  return records.filter((record) => record.jobId === image.jobId);
}

async function pictureNode(ctx: BotContext, image: ImageRecord, focus: boolean): Promise<FamilyNode & { set: ImageRecord[] }> {
  const set = await setOf(ctx, image);
  const first = set[0] ?? image;
  return {
    kind: 'picture',
    key: first.id,
    record: first,
    votes: first.kind === 'upload' ? 0 : await ctx.votes.count(first.jobId),
    name: '',
    focus,
    deleted: Boolean(first.deletedAt),
    hidden: 0,
    children: [],
    set,
  };
}

const moreNode = (key: string, hidden: number, children: FamilyNode[] = []): FamilyNode => ({
  kind: 'more',
  key,
  votes: 0,
  name: '',
  focus: false,
  deleted: false,
  hidden,
  children,
});

/** Builds the trimmed family tree around `image`, with names filled in. Returns the root. */
export async function loadFamily(
  ctx: BotContext,
  image: ImageRecord,
  limits: FamilyLimits = DEFAULT_FAMILY_LIMITS,
): Promise<{ root: FamilyNode; size: number }> {
  const focus = await pictureNode(ctx, image, true);
  let budget = limits.total - 1;

  // Up: parent by parent to the root (a guard against a cycle in corrupted data).
  const chain: Array<FamilyNode & { set: ImageRecord[] }> = [];
  const seen = new Set([focus.key]);
  for (let current = focus.record!; current.parentId && chain.length < ANCESTOR_WALK_MAX;) {
    const parent = await ctx.images.getRecord(current.parentId);
    if (!parent) break;
    const node = await pictureNode(ctx, parent, false);
    if (seen.has(node.key)) break;
    seen.add(node.key);
    chain.unshift(node);
    current = node.record!;
  }
  let ancestors: FamilyNode[] = chain;
  if (chain.length > limits.ancestors + 1) {
    const skipped = chain.length - limits.ancestors - 1;
    ancestors = [chain[0]!, moreNode(`more-up`, skipped), ...chain.slice(chain.length - limits.ancestors)];
  }
  budget -= chain.length;

  // Down: children of the picture's set, generation by generation, within the limits.
  const descend = async (node: FamilyNode & { set: ImageRecord[] }, depth: number) => {
    const childIds = (await ctx.lineage.childrenOf(node.set.map((r) => r.id))).filter((id) => !seen.has(id));
    if (childIds.length === 0) return;
    const room = depth >= limits.depth ? 0 : Math.min(limits.childrenPerNode, Math.max(0, budget));
    for (const childId of childIds.slice(0, room)) {
      const record = await ctx.images.getRecord(childId);
      if (!record) continue;
      const child = await pictureNode(ctx, record, false);
      seen.add(child.key);
      budget -= 1;
      node.children.push(child);
    }
    const hidden = childIds.length - node.children.length;
    for (const child of node.children) await descend(child as FamilyNode & { set: ImageRecord[] }, depth + 1);
    if (hidden > 0) node.children.push(moreNode(`more-${node.key}`, hidden));
  };
  await descend(focus, 1);

  // Ancestors form one line from the root down to the picture.
  let root: FamilyNode = focus;
  for (let i = ancestors.length - 1; i >= 0; i--) {
    ancestors[i]!.children = [root];
    root = ancestors[i]!;
  }

  const all = flatten(root);
  const names = await ctx.lineage.names(all.flatMap((node) => (node.record ? [node.record.userId] : [])));
  for (const node of all) if (node.record) node.name = names.get(node.record.userId) ?? 'someone';
  await annotateFamily(ctx, all);
  return { root, size: all.filter((node) => node.kind === 'picture').length };
}

/** Fills in whose style each picture borrowed and every parent of each blend. */
async function annotateFamily(ctx: BotContext, nodes: FamilyNode[]): Promise<void> {
  const pictures = nodes.filter((node) => node.record && node.record.kind !== 'upload');
  const requestIds = pictures.map((node) => node.record!.jobId);
  const [borrows, blends] = await Promise.all([new StyleStore(ctx.db).borrowsOf(requestIds), new BlendStore(ctx.db).parentsOf(requestIds)]);
  const wanted = [...new Set([...[...borrows.values()].map((b) => b.styleImageId), ...[...blends.values()].flat()])];
  const records = new Map((await ctx.images.getRecords(wanted)).map((record) => [record.id, record]));
  for (const node of pictures) {
    const borrow = borrows.get(node.record!.jobId);
    if (borrow) node.styleFrom = { image: records.get(borrow.styleImageId), authorId: borrow.authorId };
    const parents = blends.get(node.record!.jobId);
    if (parents) node.blendOf = parents.flatMap((id) => records.get(id) ?? []);
  }
}

/** Marks the pictures that may not be shown in the tree's channel (see AgeRestriction). */
export async function hideAgeRestricted(root: FamilyNode, restriction: AgeRestriction, destinationRestricted: boolean): Promise<void> {
  for (const node of flatten(root)) {
    if (node.record && !(await restriction.mayShow(node.record, destinationRestricted))) node.restricted = true;
  }
}

export function flatten(root: FamilyNode): FamilyNode[] {
  const out: FamilyNode[] = [];
  const walk = (node: FamilyNode) => {
    out.push(node);
    node.children.forEach(walk);
  };
  walk(root);
  return out;
}

/** The tree as text: works without the picture (and carries the links the picture cannot). */
export function familyText(root: FamilyNode, max = 1900): string {
  const lines: string[] = [];
  const walk = (node: FamilyNode, depth: number) => {
    const indent = depth === 0 ? '' : `${'\u2003'.repeat(depth - 1)}└ `;
    lines.push(`${indent}${describeNode(node)}`);
    node.children.forEach((child) => walk(child, depth + 1));
  };
  walk(root, 0);
  let text = '';
  for (const [i, line] of lines.entries()) {
    const rest = lines.length - i;
    if (text.length + line.length + 1 > max) return `${text}… +${rest} more lines`;
    text += `${text ? '\n' : ''}${line}`;
  }
  return text;
}

function describeNode(node: FamilyNode): string {
  if (node.kind === 'more') return `+${node.hidden} more`;
  const record = node.record!;
  const here = node.focus ? ' ⬅' : '';
  if (node.deleted) return `🪦 deleted picture by <@${record.userId}>${here}`;
  if (node.restricted) return `🔞 picture by <@${record.userId}>, shown only in age-restricted channels${here}`;
  const icon = record.kind === 'upload' ? '📎' : node.blendOf ? '🧪' : record.parentId ? '🔀' : '🖼';
  const link = imageLink(record);
  const votes = record.kind === 'upload' ? '' : ` · 👍 ${node.votes}`;
  const code = record.kind === 'upload' ? '' : ` · 🎨 \`${styleCodeOf(record.id)}\``;
  return `${icon} <@${record.userId}>${votes}${link ? ` · [open](${link})` : ''}${code}${blendText(node)}${styleText(node)}${here}`;
}

/** " · blend of [1](…) + [2](…)": every parent, also those the tree shows elsewhere or not at all. */
function blendText(node: FamilyNode): string {
  if (!node.blendOf) return '';
  const parts = node.blendOf.map((parent, i) => {
    const link = parent.deletedAt ? undefined : imageLink(parent);
    return link ? `[${i + 1}](${link})` : `${i + 1}`;
  });
  return ` · blend of ${parts.join(' + ')}`;
}

/** " · style from <@author>": who lent the picture its style (--sref). */
function styleText(node: FamilyNode): string {
  if (!node.styleFrom) return '';
  const { image, authorId } = node.styleFrom;
  const link = image && !image.deletedAt ? imageLink(image) : undefined;
  const who = authorId ? `<@${authorId}>` : 'a former member';
  return ` · style from ${who}${link ? ` ([picture](${link}))` : ''}`;
}

/** The tree as a picture: thumbnails (from the bot's copy, else Discord's CDN), lines, labels. */
export async function familyPicture(ctx: BotContext, root: FamilyNode): Promise<Buffer> {
  const toTree = async (node: FamilyNode): Promise<TreeNode> => {
    const children = await Promise.all(node.children.map(toTree));
    if (node.kind === 'more') return { key: node.key, kind: 'more', title: '', subtitle: `+${node.hidden} more`, children };
    if (node.deleted) return { key: node.key, kind: 'deleted', title: node.name, focus: node.focus, children };
    if (node.restricted) return { key: node.key, kind: 'image', title: node.name, subtitle: 'age-restricted', focus: node.focus, children };
    const image = await imageBytes(ctx, node.record!.id).catch(() => undefined);
    const subtitle = node.record!.kind === 'upload' ? 'upload' : `${node.votes} ${node.votes === 1 ? 'vote' : 'votes'}`;
    return { key: node.key, kind: 'image', image, title: node.name, subtitle, focus: node.focus, children };
  };
  return (await renderTree(await toTree(root))).png;
}
