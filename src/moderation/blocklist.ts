/**
 * Prompt screening: a built-in list every server gets, plus each server's own words and
 * /regular expressions/. Server patterns are member-supplied code run against every prompt, so
 * only patterns that cannot backtrack catastrophically are accepted (see `checkBlocklistEntry`).
 */

/** Refused on every server, whatever its settings. */
const ALWAYS_BLOCKED: RegExp[] = [
  /(?<![\p{L}\p{N}])(loli|lolicon|shota|shotacon)(?![\p{L}\p{N}])/u,
  /(?<![\p{L}\p{N}])(child|children|kid|kids|minor|minors|underage|preteen|toddler)(?![\p{L}\p{N}]).{0,80}(?<![\p{L}\p{N}])(nude|naked|nsfw|sexy|sexual|porn|erotic|lewd)(?![\p{L}\p{N}])/u,
  /(?<![\p{L}\p{N}])(nude|naked|nsfw|sexy|sexual|porn|erotic|lewd)(?![\p{L}\p{N}]).{0,80}(?<![\p{L}\p{N}])(child|children|kid|kids|minor|minors|underage|preteen|toddler)(?![\p{L}\p{N}])/u,
];

/** Words that make a prompt NSFW: allowed or not by the server's NSFW policy. */
const NSFW_WORDS = [
  'nsfw', 'nude', 'nudes', 'nudity', 'naked', 'topless', 'bottomless', 'porn', 'porno', 'pornographic', 'pornography',
  'hentai', 'xxx', 'explicit', 'erotic', 'erotica', 'sex', 'sexual', 'lewd', 'genitals', 'genitalia', 'nipple', 'nipples',
  'gore', 'gory', 'dismembered', 'disembowelled', 'disemboweled', 'decapitated',
];

export interface PromptVerdict {
  /** Refused everywhere: the built-in list or the server's blocklist matched. */
  blocked: boolean;
  /** The built-in NSFW list matched: the server's NSFW policy decides. */
  nsfw: boolean;
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
/** Unbounded repeats (*, +, {n,}) allowed in one pattern: two keep the worst case near-linear for 1,000-character prompts. */
const UNBOUNDED_MAX = 2;

export type EntryCheck = { ok: true; entry: string } | { ok: false; reason: string };

/**
 * Accepts a plain word or phrase, or a regular expression that cannot backtrack badly: no
 * repeated group that itself repeats or alternates (`(a+)+`, `(a|aa)*`), no back-references or
 * look-arounds, at most two unbounded repeats, and nothing that matches an empty prompt.
 */
export function checkBlocklistEntry(raw: string): EntryCheck {
  const entry = raw.trim();
  const regex = REGEX_ENTRY.exec(entry);
  if (!regex) {
    if (!WORD_ENTRY.test(entry)) {
      return { ok: false, reason: 'A word entry is 1–50 letters, digits, spaces, hyphens or apostrophes. Write a regular expression between slashes: `/pattern/`.' };
    }
    return { ok: true, entry: normalisePrompt(entry).replace(/\s+/g, ' ') };
  }
  const source = regex[1]!;
  if (source.length > PATTERN_MAX) return { ok: false, reason: `A pattern can be at most ${PATTERN_MAX} characters long.` };
  const unsafe = unsafePatternReason(source);
  if (unsafe) return { ok: false, reason: unsafe };
  let compiled: RegExp;
  try {
    compiled = new RegExp(source, 'iu');
  } catch (error) {
    return { ok: false, reason: `That is not a valid regular expression (${(error as Error).message}).` };
  }
  if (compiled.test('')) return { ok: false, reason: 'That pattern matches an empty prompt, so it would block everything.' };
  return { ok: true, entry: `/${source}/` };
}

interface GroupScan {
  repeats: boolean;
  alternates: boolean;
}

/** Why a pattern could backtrack catastrophically, or undefined when it cannot. */
function unsafePatternReason(source: string): string | undefined {
  const groups: GroupScan[] = [{ repeats: false, alternates: false }];
  let unbounded = 0;
  /** What the next quantifier applies to: a closed group, or a single character/class. */
  let lastAtom: GroupScan | 'single' | undefined;
  for (let i = 0; i < source.length; i++) {
    const char = source[i]!;
    if (char === '\\') {
      const next = source[i + 1] ?? '';
      if (/[1-9k]/.test(next)) return 'Back-references are not allowed in blocklist patterns.';
      i++;
      lastAtom = 'single';
    } else if (char === '[') {
      for (i++; i < source.length && source[i] !== ']'; i++) if (source[i] === '\\') i++;
      lastAtom = 'single';
    } else if (char === '(') {
      if (/^\(\?(=|!|<=|<!)/.test(source.slice(i))) return 'Look-ahead and look-behind are not allowed in blocklist patterns.';
      groups.push({ repeats: false, alternates: false });
      lastAtom = undefined;
    } else if (char === ')') {
      if (groups.length === 1) return 'That pattern has an unmatched ")".';
      const closed = groups.pop()!;
      const parent = groups[groups.length - 1]!;
      parent.repeats ||= closed.repeats;
      lastAtom = closed;
    } else if (char === '|') {
      groups[groups.length - 1]!.alternates = true;
      lastAtom = undefined;
    } else if (char === '*' || char === '+' || char === '?' || char === '{') {
      let repeating = char !== '?';
      let isUnbounded = char !== '?';
      if (char === '{') {
        const braces = /^\{(\d+)(,(\d*))?\}/.exec(source.slice(i));
        if (!braces) {
          lastAtom = 'single';
          continue;
        }
        const min = Number(braces[1]);
        const max = braces[2] === undefined ? min : braces[3] === '' ? Infinity : Number(braces[3]);
        repeating = max > 1;
        isUnbounded = max > 20;
        i += braces[0].length - 1;
      }
      if (source[i + 1] === '?') i++;
      if (lastAtom === undefined) continue;
      if (repeating && lastAtom !== 'single' && (lastAtom.repeats || lastAtom.alternates)) {
        return 'Nested or alternating repeats like `(a+)+` or `(a|b)*` can freeze the bot; write the pattern without them.';
      }
      if (isUnbounded && ++unbounded > UNBOUNDED_MAX) return `A pattern may use at most ${UNBOUNDED_MAX} unbounded repeats (*, + or {n,}).`;
      if (repeating) groups[groups.length - 1]!.repeats = true;
      lastAtom = undefined;
    } else {
      lastAtom = 'single';
    }
  }
  if (groups.length > 1) return 'That pattern has an unmatched "(".';
  return undefined;
}

/** Compiles a server's entries (as saved by /config, so already checked); a bad one is skipped. */
export function compileBlocklist(entries: readonly string[]): RegExp[] {
  const compiled: RegExp[] = [];
  for (const entry of entries) {
    const regex = REGEX_ENTRY.exec(entry);
    try {
      compiled.push(regex ? new RegExp(regex[1]!, 'iu') : wordPattern(entry));
    } catch {
      // Saved before validation existed or edited by hand: ignoring it is safer than refusing everything.
    }
  }
  return compiled;
}

/** Screens a prompt against the built-in lists and a server's compiled blocklist. */
export function screenPrompt(prompt: string, serverList: readonly RegExp[]): PromptVerdict {
  const text = normalisePrompt(prompt);
  const blocked = ALWAYS_BLOCKED.some((pattern) => pattern.test(text)) || serverList.some((pattern) => pattern.test(text));
  return { blocked, nsfw: NSFW.test(text) };
}
