import { describe, expect, it } from 'vitest';
import { checkBlocklistEntry, compileBlocklist, screenPrompt } from '../../src/moderation/blocklist.js';

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
    ['/(a+)+$/', /Nested or alternating/],
    ['/(a|aa)*b/', /Nested or alternating/],
    ['/(.*a){12}/', /Nested or alternating/],
    ['/((ab)*c)+/', /Nested or alternating/],
    ['/(\\w+\\s?)*$/', /Nested or alternating/],
    ['/a.*b.*c.*d/', /at most 2 unbounded/],
    ['/(x)\\1/', /Back-references/],
    ['/(?=a)b/', /Look-ahead/],
    ['/x*/', /empty prompt/],
    ['/[a-/', /not a valid regular expression/],
    ['/(abc/', /unmatched/],
    ['bad<entry>', /word entry/],
    [`/${'a'.repeat(101)}/`, /at most 100/],
  ])('refuses %s', (entry, reason) => {
    const result = checkBlocklistEntry(entry);
    expect(result.ok).toBe(false);
    expect(!result.ok && result.reason).toMatch(reason);
  });

  it('accepted patterns stay fast on hostile prompts', () => {
    const patterns = compileBlocklist(['/castle\\d+x/', '/foo.*bar.+baz/', '/(cat|dog)s?q/', accepted('/a+b/')]);
    const hostile = ['castle' + '1'.repeat(990), 'foo' + 'bar'.repeat(330), 'a'.repeat(1000)];
    const started = performance.now();
    for (const prompt of hostile) screenPrompt(prompt, patterns);
    expect(performance.now() - started).toBeLessThan(200);
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
    expect(screenPrompt('a nude marble statue', [])).toEqual({ blocked: false, nsfw: true });
    expect(screenPrompt('a NÜDE statue', [])).toEqual({ blocked: false, nsfw: true });
    expect(screenPrompt('a lighthouse in fog', [])).toEqual({ blocked: false, nsfw: false });
    // "Essex" and "sextant" contain "sex" but are not the word.
    expect(screenPrompt('a sextant on a map of Essex', []).nsfw).toBe(false);
    expect(screenPrompt('loli', []).blocked).toBe(true);
    expect(screenPrompt('naked child', []).blocked).toBe(true);
    expect(screenPrompt('a child flying a kite', []).blocked).toBe(false);
  });
});
