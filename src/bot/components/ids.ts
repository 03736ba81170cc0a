/**
 * custom_id formats. A custom_id comes back from Discord as member-controlled input: it is parsed
 * strictly here, and every handler re-checks the records it names before doing anything.
 */
export const generationActions = ['reroll', 'cancel', 'upscale', 'vary', 'enhance'] as const;
export type GenerationAction = (typeof generationActions)[number];

export interface GenerationButton {
  action: GenerationAction;
  jobId: string;
  /** 1-based image number for upscale and vary. */
  image?: number;
}

export function generationButtonId(action: GenerationAction, jobId: string, image?: number): string {
  return image === undefined ? `gen:${action}:${jobId}` : `gen:${action}:${jobId}:${image}`;
}

const pattern = /^gen:(reroll|cancel|upscale|vary|enhance):(\d{15,20})(?::([1-4]))?$/;

export function parseGenerationButton(customId: string): GenerationButton | undefined {
  const match = pattern.exec(customId);
  if (!match) return undefined;
  const action = match[1] as GenerationAction;
  const image = match[3] === undefined ? undefined : Number(match[3]);
  const needsImage = action === 'upscale' || action === 'vary';
  if (needsImage !== (image !== undefined)) return undefined;
  return { action, jobId: match[2]!, image };
}

/**
 * Remix mode's form before a reroll or a variation: it names the button that opened it
 * ("gen:edit:reroll:<job>" or "gen:edit:vary:<job>:<n>").
 */
export const editPromptModalId = (button: GenerationButton) => `gen:edit:${button.action}:${button.jobId}${button.image ? `:${button.image}` : ''}`;

const editPattern = /^gen:edit:(reroll|vary):(\d{15,20})(?::([1-4]))?$/;

export function parseEditPromptModal(customId: string): GenerationButton | undefined {
  const match = editPattern.exec(customId);
  if (!match) return undefined;
  const action = match[1] as 'reroll' | 'vary';
  const image = match[3] === undefined ? undefined : Number(match[3]);
  if ((action === 'vary') !== (image !== undefined)) return undefined;
  return { action, jobId: match[2]!, image };
}

/**
 * 📚 Add to series: the button on a result names the job; the select menus it opens name the job
 * and the picture number, and carry the chosen series id as their value.
 */
export const seriesAddButtonId = (jobId: string) => `series:add:${jobId}`;
export const seriesPickId = (jobId: string, image: number) => `series:pick:${jobId}:${image}`;

export type SeriesComponent = { action: 'add'; jobId: string } | { action: 'pick'; jobId: string; image: number };

const seriesPattern = /^series:(?:add:(\d{15,20})|pick:(\d{15,20}):([1-4]))$/;

export function parseSeriesComponent(customId: string): SeriesComponent | undefined {
  const match = seriesPattern.exec(customId);
  if (!match) return undefined;
  if (match[1]) return { action: 'add', jobId: match[1] };
  return { action: 'pick', jobId: match[2]!, image: Number(match[3]) };
}
