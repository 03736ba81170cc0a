import { RE2JS } from 're2js';
import { PROMPT_MAX } from '../queues.js';

/**
 * Prompt screening: a built-in list every server gets, plus each server's own words and
 * /regular expressions/. Server patterns run on a linear-time engine (see `compilePattern`).
 */

/** Refused on every server, whatever its settings. */
const ALWAYS_BLOCKED: RegExp[] = [
  /(?<![\p{L}\p{N}])(loli|lolicon|shota|shotacon)(?![\p{L}\p{N}])/u,
  /(?<![\p{L}\p{N}])(child|children|kid|kids|minor|minors|underage|preteen|toddler)(?![\p{L}\p{N}]).{0,80}(?<![\p{L}\p{N}])(nude|naked|nsfw|sexy|sexual|porn|erotic|lewd)(?![\p{L}\p{N}])/u,
  /(?<![\p{L}\p{N}])(nude|naked|nsfw|sexy|sexual|porn|erotic|lewd)(?![\p{L}\p{N}]).{0,80}(?<![\p{L}\p{N}])(child|children|kid|kids|minor|minors|underage|preteen|toddler)(?![\p{L}\p{N}])/u,
];

/** Words that make a prompt NSFW: allowed or not by the server's NSFW policy. */
const NSFW_WORDS = [
  'nsfw',
  'nude',
  'nudes',
  'nudity',
  'naked',
  'topless',
  'bottomless',
  'porn',
  'porno',
  'pornographic',
  'pornography',
  'hentai',
  'xxx',
  'explicit',
  'erotic',
  'erotica',
  'sex',
  'sexual',
  'lewd',
  'genitals',
  'genitalia',
  'nipple',
  'nipples',
  'gore',
  'gory',
  'dismembered',
  'disembowelled',
  'disemboweled',
  'decapitated',
];

export interface PromptVerdict {
  /** Refused everywhere: the built-in list or the server's blocklist matched. */
  blocked: boolean;
  /** The built-in NSFW list matched: the server's NSFW policy decides. */
  nsfw: boolean;
  /** Longer than SCREENED_MAX once normalised: refused without screening. */
  tooLong: boolean;
}

/** Lower case, accents and look-alike forms folded, so "NÜDE" and "ｎｕｄｅ" match "nude". */
export function normalisePrompt(text: string): string {
  return text.normalize('NFKD').replace(/\p{M}/gu, '').toLowerCase();
}

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** A word or phrase entry matches whole words only: "ass" does not block "class". */
function wordPattern(entry: string): RegExp {
  const words = normalisePrompt(entry).trim().split(/\s+/).map(escapeRegExp).join('\\s+');
  return new RegExp(`(?<![\\p{L}\\p{N}])${words}(?![\\p{L}\\p{N}])`, 'u');
}

const NSFW = new RegExp(`(?<![\\p{L}\\p{N}])(?:${NSFW_WORDS.map(escapeRegExp).join('|')})(?![\\p{L}\\p{N}])`, 'u');

/** An entry is a regular expression when written between slashes: `/pattern/` or `/pattern/i`. */
const REGEX_ENTRY = /^\/(.+)\/(i?)$/s;
const WORD_ENTRY = /^[\p{L}\p{N}][\p{L}\p{N}' -]{0,49}$/u;
const PATTERN_MAX = 100;

export type EntryCheck = { ok: true; entry: string } | { ok: false; reason: string };

/**
 * Server patterns are member-supplied code run against every prompt on the bot's event loop, so
 * they run on RE2 (re2js), whose matching time is linear in the prompt's length whatever the
 * pattern: `(a+)+` or `\w{1,20}\w{1,20}…!` cannot freeze the bot. RE2 has no back-references or
 * look-arounds; such patterns are refused when they are added.
 */
function compilePattern(source: string): RE2JS {
  return RE2JS.compile(source, RE2JS.CASE_INSENSITIVE);
}

/** Accepts a plain word or phrase, or a regular expression RE2 can run that does not match an empty prompt. */
export function checkBlocklistEntry(raw: string): EntryCheck {
  const entry = raw.trim();
  const regex = REGEX_ENTRY.exec(entry);
  if (!regex) {
    if (!WORD_ENTRY.test(entry)) {
      return {
        ok: false,
        reason: 'A word entry is 1–50 letters, digits, spaces, hyphens or apostrophes. Write a regular expression between slashes: `/pattern/`.',
      };
    }
    return { ok: true, entry: normalisePrompt(entry).replace(/\s+/g, ' ') };
  }
  const source = regex[1]!;
  if (source.length > PATTERN_MAX) return { ok: false, reason: `A pattern can be at most ${PATTERN_MAX} characters long.` };
  if (/\\([1-9]|k<)/.test(source)) return { ok: false, reason: 'Back-references (`\\1`, `\\k<name>`) are not allowed in blocklist patterns.' };
  if (/\(\?(=|!|<=|<!)/.test(source))
    return { ok: false, reason: 'Look-ahead and look-behind (`(?=…)`, `(?<!…)`) are not allowed in blocklist patterns.' };
  let compiled: RE2JS;
  try {
    compiled = compilePattern(source);
  } catch (error) {
    return { ok: false, reason: `That is not a regular expression I can run (${(error as Error).message}).` };
  }
  if (compiled.test('')) return { ok: false, reason: 'That pattern matches an empty prompt, so it would block everything.' };
  return { ok: true, entry: `/${source}/` };
}

/** A compiled blocklist entry: RE2 for server patterns, a literal word match for words. */
export interface BlocklistMatcher {
  test(text: string): boolean;
}

/** Compiles a server's entries (as saved by /config, so already checked); a bad one is skipped. */
export function compileBlocklist(entries: readonly string[]): BlocklistMatcher[] {
  const compiled: BlocklistMatcher[] = [];
  for (const entry of entries) {
    const regex = REGEX_ENTRY.exec(entry);
    try {
      compiled.push(regex ? compilePattern(regex[1]!) : wordPattern(entry));
    } catch {
      // Saved before validation existed or edited by hand: ignoring it is safer than refusing everything.
    }
  }
  return compiled;
}

/**
 * Longest text screened, before and after normalising: NFKD can make one character many (U+FDFA
 * becomes 18), and a prompt is refused rather than screened in part.
 */
export const SCREENED_MAX = 2 * PROMPT_MAX;

/** Screens a prompt against the built-in lists and a server's compiled blocklist. */
export function screenPrompt(prompt: string, serverList: readonly BlocklistMatcher[]): PromptVerdict {
  if (prompt.length > SCREENED_MAX) return { blocked: false, nsfw: false, tooLong: true };
  const text = normalisePrompt(prompt);
  if (text.length > SCREENED_MAX) return { blocked: false, nsfw: false, tooLong: true };
  const blocked = ALWAYS_BLOCKED.some((pattern) => pattern.test(text)) || serverList.some((pattern) => pattern.test(text));
  return { blocked, nsfw: NSFW.test(text), tooLong: false };
}
