import { describe, expect, it } from 'vitest';
import { extractInlineFlags, InvalidRequestError, resolvePromptOptions } from '../../src/bot/prompt.js';

const models = ['painterly', 'geometric'];

describe('inline Midjourney-style flags', () => {
  it('pulls --ar, --seed and --no out of the prompt', () => {
    const { prompt, flags } = extractInlineFlags('a lighthouse in fog --ar 16:9 --seed 42 --no trees, cars');
    expect(prompt).toBe('a lighthouse in fog');
    expect(flags).toEqual({ aspect: '16:9', seed: '42', negative: 'trees, cars' });
  });

  it('accepts flags in any order and --aspect as a synonym; --no runs to the next flag', () => {
    const { prompt, flags } = extractInlineFlags('--seed 3 a quiet street --no people, cars --aspect 9:16');
    expect(prompt).toBe('a quiet street');
    expect(flags).toEqual({ seed: '3', aspect: '9:16', negative: 'people, cars' });
  });

  it('leaves double dashes that are not flags alone', () => {
    expect(extractInlineFlags('em--dash and --weird flag').prompt).toBe('em--dash and --weird flag');
  });
});

describe('resolving /imagine options', () => {
  it('lets the slash option win over the inline flag', () => {
    const options = resolvePromptOptions({ prompt: 'sea --ar 16:9 --seed 1', aspect: '3:2', seed: 7 }, models);
    expect(options).toMatchObject({ prompt: 'sea', aspect: '3:2', seed: 7, count: 1 });
  });

  it('uses inline flags when no slash option is given', () => {
    const options = resolvePromptOptions({ prompt: 'sea --ar 2:3 --seed 99 --no boats' }, models);
    expect(options).toMatchObject({ prompt: 'sea', aspect: '2:3', seed: 99, negative: 'boats' });
  });

  it('refuses an empty prompt, also one that is only flags', () => {
    expect(() => resolvePromptOptions({ prompt: '   ' }, models)).toThrow(InvalidRequestError);
    expect(() => resolvePromptOptions({ prompt: '--ar 16:9 --seed 3' }, models)).toThrow(/empty/);
    expect(() => resolvePromptOptions({ prompt: '\u200b\u200b\u200d\u200e' }, models)).toThrow(/empty/);
  });

  it('refuses prompts over 1,000 characters and says the limit', () => {
    expect(() => resolvePromptOptions({ prompt: 'a'.repeat(1001) }, models)).toThrow(/1001 characters.*1000/);
    expect(resolvePromptOptions({ prompt: 'a'.repeat(1000) }, models).prompt).toHaveLength(1000);
  });

  it('refuses unknown aspect ratios, bad seeds, counts and models', () => {
    expect(() => resolvePromptOptions({ prompt: 'x --ar 5:1' }, models)).toThrow(/aspect ratio/);
    expect(() => resolvePromptOptions({ prompt: 'x --seed -4' }, models)).toThrow(/seed/);
    expect(() => resolvePromptOptions({ prompt: 'x --seed 99999999999' }, models)).toThrow(/seed/);
    expect(() => resolvePromptOptions({ prompt: 'x', count: 5 }, models)).toThrow(/count/);
    expect(() => resolvePromptOptions({ prompt: 'x', model: 'dalle' }, models)).toThrow(/no model called/);
  });
});
