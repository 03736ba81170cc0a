import { describe, expect, it } from 'vitest';
import { RE2JS } from 're2js';
import { SCREENED_MAX, checkBlocklistEntry, compileBlocklist, screenPrompt } from '../../src/moderation/blocklist.js';

const accepted = (entry: string) => {
  const result = checkBlocklistEntry(entry);
  if (!result.ok) throw new Error(`refused ${entry}: ${result.reason}`);
  return result.entry;
};

describe('blocklist entries', () => {
  it('accepts words, phrases and simple patterns, normalised as stored', () => {
    expect(accepted('  Dragon ')).toBe('dragon');
    expect(accepted('Red   Baron')).toBe('red baron');
    expect(accepted('/castle\\d+/')).toBe('/castle\\d+/');
    expect(accepted('/dr[a4]g[o0]n/i')).toBe('/dr[a4]g[o0]n/');
    expect(accepted('/(cat|dog)s?/')).toBe('/(cat|dog)s?/');
    expect(accepted('/foo.{0,10}bar/')).toBe('/foo.{0,10}bar/');
  });

  it.each([
    ['/(x)\\1/', /Back-references/],
    ['/(?<name>x)\\k<name>/', /Back-references/],
    ['/(?=a)b/', /Look-ahead and look-behind/],
    ['/(?!a)b/', /Look-ahead and look-behind/],
    ['/(?<!a)b/', /Look-ahead and look-behind/],
    ['/x*/', /empty prompt/],
    ['/[a-/', /not a regular expression I can run/],
    ['/(abc/', /not a regular expression I can run/],
    ['bad<entry>', /word entry/],
    [`/${'a'.repeat(101)}/`, /at most 100/],
  ])('refuses %s', (entry, reason) => {
    const result = checkBlocklistEntry(entry);
    expect(result.ok).toBe(false);
    expect(!result.ok && result.reason).toMatch(reason);
  });

  // Patterns that make a backtracking engine explode on a 300-character prompt (one took 21 s on the
  // event loop). RE2's matching time is linear in the prompt whatever the pattern, so they are
  // accepted, compiled for RE2, and screen crafted prompts like any other.
  const hostile = [
    { entry: '/\\w{1,20}\\w{1,20}\\w{1,20}\\w{1,20}\\w{1,20}!/', prompt: 'a'.repeat(300), matching: 'hello world!' },
    { entry: '/.*.*x/', prompt: 'a'.repeat(300), matching: 'a box' },
    { entry: '/(a+)+$/', prompt: `${'a'.repeat(299)}!`, matching: 'banana' },
    { entry: '/(\\w+\\s?)*!$/', prompt: 'ab '.repeat(100), matching: 'ab cd!' },
  ];

  it.each(hostile)('runs $entry on the linear-time engine, so a crafted prompt cannot freeze the bot', ({ entry, prompt, matching }) => {
    const [matcher] = compileBlocklist([accepted(entry)]);
    expect(matcher).toBeInstanceOf(RE2JS);
    expect(screenPrompt(prompt, [matcher!]).blocked).toBe(false);
    expect(screenPrompt(matching, [matcher!]).blocked).toBe(true);
  });

  it('refuses a prompt that normalising stretches past the screening limit, rather than screening part of it', () => {
    // U+FDFA is one character that NFKD spells out as eighteen.
    const stretched = '\uFDFA'.repeat(200);
    expect(stretched.length).toBeLessThan(SCREENED_MAX);
    expect(screenPrompt(stretched, [])).toMatchObject({ tooLong: true });
    expect(screenPrompt('x'.repeat(SCREENED_MAX + 1), [])).toMatchObject({ tooLong: true });
    // Accents fold away: a long accented prompt stays within the limit.
    expect(screenPrompt('é'.repeat(1000), [])).toMatchObject({ tooLong: false, blocked: false });
  });
});

describe('screening prompts', () => {
  const server = compileBlocklist(['dragon', 'red baron', '/castle\\d+/']);

  it('matches server words as whole words, any case or accent, and patterns', () => {
    expect(screenPrompt('A RED Dragon over hills', server).blocked).toBe(true);
    expect(screenPrompt('the Réd  Baron flies', server).blocked).toBe(true);
    expect(screenPrompt('castle42 at dawn', server).blocked).toBe(true);
    expect(screenPrompt('a dragonfly on a leaf', server).blocked).toBe(false);
    expect(screenPrompt('a castle at dawn', server).blocked).toBe(false);
  });

  it('flags NSFW words without blocking them, and always blocks the built-in list', () => {
    expect(screenPrompt('a nude marble statue', [])).toEqual({ blocked: false, nsfw: true, tooLong: false });
    expect(screenPrompt('a NÜDE statue', [])).toEqual({ blocked: false, nsfw: true, tooLong: false });
    expect(screenPrompt('a lighthouse in fog', [])).toEqual({ blocked: false, nsfw: false, tooLong: false });
    // "Essex" and "sextant" contain "sex" but are not the word.
    expect(screenPrompt('a sextant on a map of Essex', []).nsfw).toBe(false);
    expect(screenPrompt('loli', []).blocked).toBe(true);
    expect(screenPrompt('naked child', []).blocked).toBe(true);
    expect(screenPrompt('a child flying a kite', []).blocked).toBe(false);
  });
});
