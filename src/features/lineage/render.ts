import sharp, { type OverlayOptions } from 'sharp';

/** One box in a family tree picture. */
export interface TreeNode {
  key: string;
  /** What the box shows: a thumbnail of `image`, a tombstone, or a "+N more" marker. */
  kind: 'image' | 'deleted' | 'more';
  image?: Buffer;
  /** First label line (the author), second line (votes, or "+N more"). */
  title: string;
  subtitle?: string;
  /** The picture the tree was asked about: framed. */
  focus?: boolean;
  children: TreeNode[];
}

/** Where a node's box ended up, in pixels of the rendered picture. */
export interface PlacedNode {
  key: string;
  kind: TreeNode['kind'];
  left: number;
  top: number;
  size: number;
  depth: number;
  parentKey?: string;
}

export interface RenderedTree {
  png: Buffer;
  width: number;
  height: number;
  nodes: PlacedNode[];
}

export const THUMB = 128;
const COLUMN = 168;
const ROW = 204;
const PAD = 24;
const BACKGROUND = '#101014';
const LINE = '#8a8aa0';
const FOCUS = '#f5c542';
const PLACEHOLDER = '#2a2a33';

/**
 * Draws a family tree: thumbnails joined by elbow lines, parents centred above their children,
 * each labelled underneath. Leaves take one column each, left to right in the order given.
 */
export async function renderTree(root: TreeNode): Promise<RenderedTree> {
  const placed: PlacedNode[] = [];
  let nextColumn = 0;
  let depthMax = 0;
  const place = (node: TreeNode, depth: number, parentKey?: string): number => {
    depthMax = Math.max(depthMax, depth);
    const entry: PlacedNode = { key: node.key, kind: node.kind, left: 0, top: PAD + depth * ROW, size: THUMB, depth, parentKey };
    placed.push(entry);
    let column: number;
    if (node.children.length === 0) {
      column = nextColumn++;
    } else {
      const columns = node.children.map((child) => place(child, depth + 1, node.key));
      column = (columns[0]! + columns[columns.length - 1]!) / 2;
    }
    entry.left = Math.round(PAD + column * COLUMN + (COLUMN - THUMB) / 2);
    return column;
  };
  place(root, 0);

  const width = PAD * 2 + nextColumn * COLUMN;
  const height = PAD * 2 + depthMax * ROW + THUMB + 44;
  const byKey = new Map(placed.map((node) => [node.key, node]));
  const nodes = flatten(root);

  const thumbnails = await Promise.all(
    nodes.map(async (node) => {
      if (node.kind !== 'image' || !node.image) return undefined;
      try {
        return await sharp(node.image).rotate().resize(THUMB, THUMB, { fit: 'cover' }).removeAlpha().raw().toBuffer({ resolveWithObject: true });
      } catch {
        return undefined; // An unreadable picture is drawn as an empty box rather than failing the tree.
      }
    }),
  );

  const svg: string[] = [];
  for (const node of placed) {
    if (!node.parentKey) continue;
    const parent = byKey.get(node.parentKey)!;
    const fromX = parent.left + THUMB / 2;
    // Below the labels, or right below the box for a "+N more" marker (it has none).
    const fromY = parent.top + THUMB + (parent.kind === 'more' ? 0 : 40);
    const toX = node.left + THUMB / 2;
    const middle = node.top - 14;
    svg.push(`<path d="M${fromX} ${fromY} V${middle} H${toX} V${node.top}" fill="none" stroke="${LINE}" stroke-width="2"/>`);
  }
  nodes.forEach((node, i) => {
    const box = byKey.get(node.key)!;
    const centre = box.left + THUMB / 2;
    if (node.kind !== 'image' || !thumbnails[i]) {
      svg.push(
        `<rect x="${box.left}" y="${box.top}" width="${THUMB}" height="${THUMB}" rx="10" fill="${PLACEHOLDER}" stroke="${LINE}" stroke-dasharray="6 4"/>`,
      );
      const mark = node.kind === 'more' ? (node.subtitle ?? '') : node.kind === 'deleted' ? 'deleted' : '?';
      svg.push(text(centre, box.top + THUMB / 2 + 6, mark, 16, '#c8c8d4'));
    }
    if (node.focus) {
      svg.push(
        `<rect x="${box.left - 4}" y="${box.top - 4}" width="${THUMB + 8}" height="${THUMB + 8}" rx="6" fill="none" stroke="${FOCUS}" stroke-width="4"/>`,
      );
    }
    if (node.kind !== 'more') {
      svg.push(text(centre, box.top + THUMB + 18, node.title, 14, '#ffffff'));
      if (node.subtitle) svg.push(text(centre, box.top + THUMB + 36, node.subtitle, 12, '#b0b0c0'));
    }
  });

  const layers: OverlayOptions[] = [];
  nodes.forEach((node, i) => {
    const thumbnail = thumbnails[i];
    if (!thumbnail) return;
    const box = byKey.get(node.key)!;
    layers.push({
      input: thumbnail.data,
      raw: { width: thumbnail.info.width, height: thumbnail.info.height, channels: thumbnail.info.channels },
      left: box.left,
      top: box.top,
    });
  });
  // Lines and labels go on top, so the focus frame is drawn over the thumbnail's edge.
  layers.push({
    input: Buffer.from(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">${svg.join('')}</svg>`),
    left: 0,
    top: 0,
  });

  const png = await sharp({ create: { width, height, channels: 4, background: BACKGROUND } })
    .composite(layers)
    .png({ compressionLevel: 6 })
    .toBuffer();
  return { png, width, height, nodes: placed };
}

function flatten(root: TreeNode): TreeNode[] {
  const out: TreeNode[] = [];
  const walk = (node: TreeNode) => {
    out.push(node);
    node.children.forEach(walk);
  };
  walk(root);
  return out;
}

function text(x: number, y: number, value: string, size: number, fill: string): string {
  const clipped = value.length > 18 ? `${value.slice(0, 17)}…` : value;
  return (
    `<text x="${x}" y="${y}" font-family="DejaVu Sans, Verdana, sans-serif" font-size="${size}" fill="${fill}" ` +
    `text-anchor="middle">${escapeXml(clipped)}</text>`
  );
}

/** Labels are member names: they must never be able to inject markup into the SVG. */
export function escapeXml(value: string): string {
  return (
    value
      // eslint-disable-next-line no-control-regex -- stripping control characters is the point
      .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]/g, '')
      .replace(/[<>&"']/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[c]!)
  );
}
