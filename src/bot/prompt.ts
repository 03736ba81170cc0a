import { PROMPT_MAX, aspectRatios, type AspectRatio } from '../queues.js';

/** What a member asked for, from slash options and Midjourney-style inline flags together. */
export interface PromptOptions {
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
}

/**
 * Pulls `--ar 16:9`, `--aspect 16:9`, `--seed 42` and `--no trees, cars` out of a prompt.
 * `--no` takes everything up to the next flag. Unknown flags stay in the prompt untouched.
 */
export function extractInlineFlags(text: string): { prompt: string; flags: InlineFlags } {
  const flags: InlineFlags = {};
  const pattern = /(?:^|\s)--(ar|aspect|seed|no)(?:\s+((?:(?!\s--\S).)*))?/gis;
  const prompt = text.replace(pattern, (_match, name: string, value: string | undefined) => {
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

/** Merges slash options with inline flags (the slash option wins) and validates the result. */
export function resolvePromptOptions(options: SlashOptions, modelNames: readonly string[]): PromptOptions {
  if (options.prompt.length > PROMPT_MAX) {
    throw new InvalidRequestError(`Your prompt is ${options.prompt.length} characters long; the limit is ${PROMPT_MAX}.`);
  }
  const { prompt, flags } = extractInlineFlags(options.prompt);
  // Invisible characters (zero-width spaces, joiners, direction marks) alone do not make a prompt.
  if (!prompt.replace(/[\s\p{Cf}]/gu, ''))
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
  return { prompt, negative, aspect: aspect as AspectRatio, seed, count, model };
}

export function randomSeed(): number {
  return Math.floor(Math.random() * SEED_MAX);
}
