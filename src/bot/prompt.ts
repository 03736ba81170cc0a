import { CHAOS_MAX, PROMPT_MAX, STYLIZE_MAX, aspectRatios, type AspectRatio, type GenerationParams } from '../queues.js';

/** What a member asked for, from slash options and Midjourney-style inline flags together. */
export interface PromptOptions extends GenerationParams {
  prompt: string;
  negative?: string;
  aspect: AspectRatio;
  seed?: number;
  count: number;
  model?: string;
}

export interface SlashOptions {
  prompt: string;
  negative?: string | null;
  aspect?: string | null;
  seed?: number | null;
  count?: number | null;
  model?: string | null;
  chaos?: number | null;
  stylize?: number | null;
  tile?: boolean | null;
  draft?: boolean | null;
}

/** A request a member can fix; the message is shown to them, ephemerally. */
export class InvalidRequestError extends Error {
  override name = 'InvalidRequestError';
}

const SEED_MAX = 4_294_967_295;

interface InlineFlags {
  aspect?: string;
  seed?: string;
  negative?: string;
  chaos?: string;
  stylize?: string;
  tile?: boolean;
  draft?: boolean;
}

/**
 * Pulls `--chaos 40` (`--c`), `--stylize 250` (`--s`), `--tile` and `--draft` out of a prompt. A
 * flag name must stand alone (`--sref` is not `--s`); the two switches take no value, so the word
 * after them stays in the prompt.
 */
function extractParamFlags(text: string, flags: InlineFlags): string {
  const pattern = /(?:^|\s)--(?:(tile|draft)|(chaos|c|stylize|s))(?=\s|$)(?:\s+(?!--)(\S+))?/gi;
  return text.replace(pattern, (_match, toggle: string | undefined, name: string | undefined, value: string | undefined) => {
    if (toggle) {
      flags[toggle.toLowerCase() as 'tile' | 'draft'] = true;
      return value === undefined ? ' ' : ` ${value} `;
    }
    const key = name!.toLowerCase();
    // A missing value is kept as '' so that validation names the flag.
    flags[key === 'c' || key === 'chaos' ? 'chaos' : 'stylize'] = value ?? '';
    return ' ';
  });
}

/** A whole number from 0 to max, from a slash option or inline text; anything else is refused by name. */
function wholeNumber(slash: number | null | undefined, inline: string | undefined, max: number, flag: string): number | undefined {
  const refuse = () => new InvalidRequestError(`\`--${flag}\` takes a whole number from 0 to ${max}.`);
  if (slash !== undefined && slash !== null) {
    if (!Number.isInteger(slash) || slash < 0 || slash > max) throw refuse();
    return slash;
  }
  if (inline === undefined) return undefined;
  if (!/^\d{1,4}$/.test(inline) || Number(inline) > max) throw refuse();
  return Number(inline);
}

/**
 * Pulls `--ar 16:9`, `--aspect 16:9`, `--seed 42` and `--no trees, cars` out of a prompt.
 * `--no` takes everything up to the next flag. Unknown flags stay in the prompt untouched.
 */
export function extractInlineFlags(text: string): { prompt: string; flags: InlineFlags } {
  const flags: InlineFlags = {};
  const pattern = /(?:^|\s)--(ar|aspect|seed|no)(?:\s+((?:(?!\s--\S).)*))?/gis;
  const prompt = extractParamFlags(text, flags).replace(pattern, (_match, name: string, value: string | undefined) => {
    const trimmed = (value ?? '').trim();
    const key = name.toLowerCase();
    if (key === 'ar' || key === 'aspect') {
      const [first, ...rest] = trimmed.split(/\s+/);
      flags.aspect = first;
      return rest.length > 0 ? ` ${rest.join(' ')}` : ' ';
    }
    if (key === 'seed') {
      const [first, ...rest] = trimmed.split(/\s+/);
      flags.seed = first;
      return rest.length > 0 ? ` ${rest.join(' ')}` : ' ';
    }
    flags.negative = trimmed;
    return ' ';
  });
  return { prompt: prompt.replace(/\s+/g, ' ').trim(), flags };
}

/** Invisible characters (zero-width spaces, joiners, direction marks) alone do not make a prompt. */
export function isBlankPrompt(prompt: string): boolean {
  return !prompt.replace(/[\s\p{Cf}]/gu, '');
}

/** Merges slash options with inline flags (the slash option wins) and validates the result. */
export function resolvePromptOptions(options: SlashOptions, modelNames: readonly string[]): PromptOptions {
  if (options.prompt.length > PROMPT_MAX) {
    throw new InvalidRequestError(`Your prompt is ${options.prompt.length} characters long; the limit is ${PROMPT_MAX}.`);
  }
  const { prompt, flags } = extractInlineFlags(options.prompt);
  if (isBlankPrompt(prompt))
    throw new InvalidRequestError('Your prompt is empty. Describe the picture you want, e.g. `/imagine a lighthouse in fog`.');

  const aspect = options.aspect ?? flags.aspect ?? '1:1';
  if (!(aspectRatios as readonly string[]).includes(aspect)) {
    throw new InvalidRequestError(`"${aspect}" is not an aspect ratio I know. Use one of ${aspectRatios.join(', ')}.`);
  }

  let seed = options.seed ?? undefined;
  if (seed === undefined && flags.seed !== undefined) {
    if (!/^\d{1,10}$/.test(flags.seed)) throw new InvalidRequestError('`--seed` takes a whole number from 0 to 4294967295.');
    seed = Number(flags.seed);
  }
  if (seed !== undefined && (!Number.isInteger(seed) || seed < 0 || seed > SEED_MAX)) {
    throw new InvalidRequestError('The seed must be a whole number from 0 to 4294967295.');
  }

  const count = options.count ?? 1;
  if (!Number.isInteger(count) || count < 1 || count > 4) throw new InvalidRequestError('`count` must be 1, 2, 3 or 4.');

  const negative = (options.negative ?? flags.negative)?.trim() || undefined;
  if (negative && negative.length > PROMPT_MAX) {
    throw new InvalidRequestError(`The negative prompt is too long; the limit is ${PROMPT_MAX} characters.`);
  }

  const model = options.model ?? undefined;
  if (model !== undefined && !modelNames.includes(model)) {
    throw new InvalidRequestError(`There is no model called "${model}" here. Pick one of: ${modelNames.join(', ')}.`);
  }
  const chaos = wholeNumber(options.chaos, flags.chaos, CHAOS_MAX, 'chaos');
  const stylize = wholeNumber(options.stylize, flags.stylize, STYLIZE_MAX, 'stylize');
  // A slash option wins, also when it says false: `tile: False` beats an inline `--tile`.
  const tile = (options.tile ?? flags.tile) || undefined;
  const draft = (options.draft ?? flags.draft) || undefined;
  return { prompt, negative, aspect: aspect as AspectRatio, seed, count, model, chaos, stylize, tile, draft };
}

export function randomSeed(): number {
  return Math.floor(Math.random() * SEED_MAX);
}
