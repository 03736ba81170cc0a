import type { EditArea } from '../../queues.js';

/**
 * Where each edit puts a picture. Pure arithmetic on pixel sizes: the bot works out the canvas
 * when a button is clicked (and refuses what would be too large), the worker only follows it.
 */

/** The longest side an edit may produce (the job payload's limit). */
export const MAX_EDIT_SIDE = 4096;

export type PanDirection = 'left' | 'right' | 'up' | 'down';
export type ZoomFactor = 1.5 | 2;

/** A canvas and where the source picture goes on it (outpaint), or what to redraw (inpaint). */
export interface EditPlan {
  width: number;
  height: number;
  area: EditArea;
}

/** Pan: the canvas grows by half in one direction; the picture keeps its pixels on the other side. */
export function panPlan(direction: PanDirection, width: number, height: number): EditPlan {
  const horizontal = direction === 'left' || direction === 'right';
  const extra = Math.round((horizontal ? width : height) / 2);
  const canvas = horizontal ? { width: width + extra, height } : { width, height: height + extra };
  return {
    ...canvas,
    area: { x: direction === 'left' ? extra : 0, y: direction === 'up' ? extra : 0, w: width, h: height },
  };
}

/** Zoom out: the same frame, the picture shrunk by the factor in its middle. */
export function zoomPlan(factor: ZoomFactor, width: number, height: number): EditPlan {
  const w = Math.max(1, Math.round(width / factor));
  const h = Math.max(1, Math.round(height / factor));
  return { width, height, area: { x: Math.floor((width - w) / 2), y: Math.floor((height - h) / 2), w, h } };
}

/** Make Square: a square of the longer side, the picture unchanged in its middle. */
export function squarePlan(width: number, height: number): EditPlan {
  const side = Math.max(width, height);
  return { width: side, height: side, area: { x: Math.floor((side - width) / 2), y: Math.floor((side - height) / 2), w: width, h: height } };
}

/** Why an edit of this picture cannot be made, or undefined when it can. */
export function planRefusal(plan: EditPlan): string | undefined {
  if (Math.max(plan.width, plan.height) <= MAX_EDIT_SIDE) return undefined;
  return `That would make a ${plan.width}×${plan.height} picture; Atelier makes pictures of at most ${MAX_EDIT_SIDE} pixels a side.`;
}

// ---- Vary (Region) -----------------------------------------------------------------------------

/** A region in per cent of the picture: left and top edges, width and height. */
export interface RegionPercent {
  x: number;
  y: number;
  w: number;
  h: number;
}

/** The nine cells of the 3×3 grid, by the names the form shows. */
export const gridCells: readonly string[] = ['top-left', 'top', 'top-right', 'left', 'centre', 'right', 'bottom-left', 'bottom', 'bottom-right'];

const third = 100 / 3;

/**
 * Every way of naming a cell the form accepts: "top-left" and "left top", "top" and "top centre",
 * "centre", "center" and "middle". Built once from the rows and columns.
 */
const cellNames: ReadonlyMap<string, RegionPercent> = (() => {
  const names = new Map<string, RegionPercent>();
  const rows = [['top'], ['centre', 'middle'], ['bottom']];
  const columns = [['left'], ['centre', 'middle'], ['right']];
  rows.forEach((rowWords, row) =>
    columns.forEach((columnWords, column) => {
      const region = { x: column * third, y: row * third, w: third, h: third };
      for (const r of rowWords) {
        for (const c of columnWords) {
          names.set(`${r} ${c}`, region);
          names.set(`${c} ${r}`, region);
        }
      }
      // A cell on the middle row or column is also named by its other word alone ("top", "left", "centre").
      if (row === 1) for (const c of columnWords) names.set(c, region);
      if (column === 1) for (const r of rowWords) names.set(r, region);
    }),
  );
  return names;
})();

function gridCell(text: string): RegionPercent | undefined {
  const key = text
    .toLowerCase()
    .replace(/center/g, 'centre')
    .split(/[\s_-]+/)
    .filter(Boolean)
    .join(' ');
  return cellNames.get(key);
}

/** The smallest side of a region, in per cent: anything smaller leaves the model nothing to draw. */
export const MIN_REGION_PERCENT = 5;

/**
 * What a member typed as the region: a grid cell ("top-left" … "bottom-right", "centre"), or a
 * rectangle in per cent as "x, y, width, height" (e.g. "10, 20, 50, 40"). Undefined when it is neither.
 */
export function parseRegion(input: string): RegionPercent | { error: string } | undefined {
  const text = input.trim();
  if (text.length === 0 || text.length > 100) return undefined;
  const named = gridCell(text);
  if (named) return named;
  if (!/^[\d\s.,;%]+$/.test(text)) return undefined;
  const numbers = text
    .split(/[\s,;%]+/)
    .filter(Boolean)
    .map((part) => (/^\d{1,3}(?:\.\d{1,2})?$/.test(part) ? Number(part) : NaN));
  if (numbers.length !== 4 || numbers.some((n) => !Number.isFinite(n))) return undefined;
  const [x, y, w, h] = numbers as [number, number, number, number];
  if (w < MIN_REGION_PERCENT || h < MIN_REGION_PERCENT) {
    return { error: `The region must be at least ${MIN_REGION_PERCENT}% wide and ${MIN_REGION_PERCENT}% high.` };
  }
  if (x + w > 100 || y + h > 100) {
    return { error: `The region must lie inside the picture: x + width and y + height must each be at most 100 (got ${x + w} and ${y + h}).` };
  }
  if (w === 100 && h === 100) return { error: 'That region is the whole picture; use Vary (Strong) to draw it all again.' };
  return { x, y, w, h };
}

/** A region in per cent, as pixels of a picture of this size (never empty, never outside). */
export function regionPlan(region: RegionPercent, width: number, height: number): EditPlan {
  const x = Math.min(width - 1, Math.round((region.x / 100) * width));
  const y = Math.min(height - 1, Math.round((region.y / 100) * height));
  const right = Math.min(width, Math.max(x + 1, Math.round(((region.x + region.w) / 100) * width)));
  const bottom = Math.min(height, Math.max(y + 1, Math.round(((region.y + region.h) / 100) * height)));
  return { width, height, area: { x, y, w: right - x, h: bottom - y } };
}
