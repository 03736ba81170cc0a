import { describe, expect, it } from 'vitest';
import { parseDescribeButton, describeButtonId } from '../../src/features/describe/components.js';
import { extractStyleFlags } from '../../src/features/styles/flags.js';
import { styleCodeOf, styleCodePattern } from '../../src/features/styles/store.js';
import { styleAmount } from '../../src/images/references.js';
import { suggestionsFromCaption } from '../../src/worker/providers/references.js';

describe('--sref and --sw', () => {
  it('come out of the prompt, leaving other flags for the prompt parser', () => {
    expect(extractStyleFlags('a lake --sref 3f9a0c12de --sw 250 --ar 16:9')).toEqual({ prompt: 'a lake --ar 16:9', sref: '3f9a0c12de', sw: '250' });
    expect(extractStyleFlags('--SREF https://discord.com/channels/1/2/3 a lake')).toEqual({
      prompt: 'a lake',
      sref: 'https://discord.com/channels/1/2/3',
      sw: undefined,
    });
    expect(extractStyleFlags('a lake --sref')).toEqual({ prompt: 'a lake', sref: '', sw: undefined });
    expect(extractStyleFlags('a lake--sref x')).toEqual({ prompt: 'a lake--sref x', sref: undefined, sw: undefined });
    expect(extractStyleFlags('a lake')).toEqual({ prompt: 'a lake', sref: undefined, sw: undefined });
  });

  it('style codes are short, stable and hex; weights map to 0–1', () => {
    const code = styleCodeOf('1234567890123456789-1');
    expect(code).toMatch(styleCodePattern);
    expect(styleCodeOf('1234567890123456789-1')).toBe(code);
    expect(styleCodeOf('1234567890123456789-2')).not.toBe(code);
    expect([styleAmount(0), styleAmount(1000), styleAmount(5000), styleAmount(-3)]).toEqual([0, 1, 1, 0]);
    expect(styleAmount(100)).toBeCloseTo(0.316, 3);
  });
});

describe('/describe buttons and captions', () => {
  it('a button names a describe and a suggestion number 1–4, nothing else', () => {
    expect(parseDescribeButton(describeButtonId('123456789012345678', 3))).toEqual({ id: '123456789012345678', n: 3 });
    for (const forged of [
      'describe:123456789012345678:5',
      'describe:123456789012345678:0',
      'describe:123:1',
      'describe:123456789012345678:a cat',
      'describe:123456789012345678:1:x',
    ]) {
      expect(parseDescribeButton(forged)).toBeUndefined();
    }
  });

  it('one caption makes four prompts within the prompt limit', () => {
    const four = suggestionsFromCaption(`  a  cat\non a ${'very '.repeat(400)}long wall `);
    expect(four).toHaveLength(4);
    expect(four[0]!.startsWith('a cat on a very')).toBe(true);
    expect(four.every((s) => s.length <= 1000)).toBe(true);
  });
});
