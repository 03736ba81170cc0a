import sharp from 'sharp';
import { renderTree, type TreeNode } from '../lineage/render.js';
import { composeSeries, composeSlideshow } from '../series/render.js';

/** The pictures of a session: the voting grid of a round, and the recap's chain, strip and family tree. */

export interface EntryPicture {
  number: number;
  image: Buffer;
}

/** Up to this many entries share one voting message (four rows of five 🗳 buttons). */
export const VOTING_CHUNK = 20;

/** A round's entries side by side, each labelled with its number only (authors stay unnamed until the result). */
export function votingGrid(entries: EntryPicture[]): Promise<Buffer> {
  return composeSeries(
    entries.map((entry) => ({ image: entry.image, number: entry.number, caption: `Entry #${entry.number}` })),
    { columns: Math.min(5, Math.max(1, Math.ceil(Math.sqrt(entries.length)))), panelSize: 384 },
  );
}

export interface WinnerPicture {
  round: number;
  image: Buffer;
  name: string;
}

/** The winning chain, round 1 to N, as an animated WebP that loops. */
export function winnerChain(winners: WinnerPicture[]): Promise<Buffer> {
  // Joining takes two frames at least: a lone winner is given twice (a still picture comes out).
  const frames = winners.length === 1 ? [winners[0]!, winners[0]!] : winners;
  return composeSlideshow(
    frames.map((winner) => ({ image: winner.image, number: winner.round, caption: `Round ${winner.round} · ${winner.name}` })),
    'webp',
    { panelSize: 480, delayMs: 1200 },
  );
}

/** The winners in one row. */
export function winnerStrip(winners: WinnerPicture[]): Promise<Buffer> {
  return composeSeries(
    winners.map((winner) => ({ image: winner.image, number: winner.round, caption: `Round ${winner.round} · ${winner.name}` })),
    { columns: winners.length, panelSize: 384 },
  );
}

export interface TreeEntry {
  round: number;
  number: number;
  name: string;
  votes: number;
  winner: boolean;
  image?: Buffer;
}

/** Entries one round shows in the tree besides its winner; the rest are a "+N more" box. */
export const TREE_ENTRIES_PER_ROUND = 5;

/**
 * The session's family tree: the theme at the root, each round's entries below the winner they
 * grew from (round 1 below the root), winners framed. A crowded round shows its top entries and
 * counts the rest, so the picture stays a size Discord takes.
 */
export async function sessionTree(theme: string, entries: TreeEntry[]): Promise<Buffer> {
  const root: TreeNode = { key: 'theme', kind: 'more', title: theme.slice(0, 40), subtitle: 'theme', children: [] };
  const rounds = [...new Set(entries.map((entry) => entry.round))].sort((a, b) => a - b);
  let parent = root;
  for (const round of rounds) {
    const all = entries.filter((entry) => entry.round === round);
    const ranked = [...all].sort((a, b) => Number(b.winner) - Number(a.winner) || b.votes - a.votes || a.number - b.number);
    const shown = ranked.slice(0, TREE_ENTRIES_PER_ROUND).sort((a, b) => a.number - b.number);
    const children: TreeNode[] = shown.map((entry) => ({
      key: `r${round}e${entry.number}`,
      kind: entry.image ? 'image' : 'deleted',
      image: entry.image,
      title: `R${round} #${entry.number} ${entry.name}`.slice(0, 40),
      subtitle: `${entry.winner ? '🏆 ' : ''}${entry.votes} ${entry.votes === 1 ? 'vote' : 'votes'}`,
      focus: entry.winner,
      children: [],
    }));
    const hidden = all.length - shown.length;
    if (hidden > 0) children.push({ key: `r${round}more`, kind: 'more', title: '', subtitle: `+${hidden} more`, children: [] });
    parent.children = children;
    const winner = children.find((child) => child.focus);
    // A round without a winner (ended early) ends the tree there.
    if (!winner) break;
    parent = winner;
  }
  return (await renderTree(root)).png;
}

/** A dark tile for a picture that is gone. */
export function missingTile(): Promise<Buffer> {
  return sharp({ create: { width: 256, height: 256, channels: 3, background: '#26262c' } })
    .png()
    .toBuffer();
}
