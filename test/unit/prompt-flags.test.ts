import { describe, expect, it } from 'vitest';
import { extractInlineFlags, InvalidRequestError, resolvePromptOptions } from '../../src/bot/prompt.js';

const models = ['painterly', 'geometric'];

describe('--chaos, --stylize, --tile and --draft', () => {
  it('pulls the flags (and their short names) out of the prompt', () => {
    const { prompt, flags } = extractInlineFlags('koi pond --chaos 40 --s 250 --tile at dusk --draft');
    expect(prompt).toBe('koi pond at dusk');
    expect(flags).toMatchObject({ chaos: '40', stylize: '250', tile: true, draft: true });
    expect(extractInlineFlags('--c 7 sea --stylize 0').flags).toMatchObject({ chaos: '7', stylize: '0' });
  });

  it('leaves longer flags and words alone', () => {
    expect(extractInlineFlags('a --sref abc --cat --tiles x').prompt).toBe('a --sref abc --cat --tiles x');
  });

  it('resolves with the other flags, and a slash option wins over the same inline flag', () => {
    const inline = resolvePromptOptions({ prompt: 'sea --chaos 10 --stylize 900 --tile --ar 16:9 --no boats' }, models);
    expect(inline).toMatchObject({ prompt: 'sea', chaos: 10, stylize: 900, tile: true, aspect: '16:9', negative: 'boats' });
    expect(inline.draft).toBeUndefined();
    const slash = resolvePromptOptions({ prompt: 'sea --chaos 10 --stylize 900 --tile --draft', chaos: 80, stylize: 5, tile: false }, models);
    expect(slash).toMatchObject({ chaos: 80, stylize: 5, draft: true });
    expect(slash.tile).toBeUndefined();
  });

  it('refuses out-of-range and crafted values by name', () => {
    const refused = (prompt: string, pattern: RegExp) => {
      expect(() => resolvePromptOptions({ prompt }, models)).toThrow(InvalidRequestError);
      expect(() => resolvePromptOptions({ prompt }, models)).toThrow(pattern);
    };
    refused('x --chaos 101', /--chaos.*0 to 100/);
    refused('x --chaos -1', /--chaos/);
    refused('x --chaos 1e2', /--chaos/);
    refused('x --chaos', /--chaos/);
    refused('x --chaos --ar 16:9', /--chaos/);
    refused('x --stylize 1001', /--stylize.*0 to 1000/);
    refused('x --s 99999999999999999999', /--stylize/);
    refused('x --s ５', /--stylize/);
    expect(() => resolvePromptOptions({ prompt: 'x', chaos: 101 }, models)).toThrow(/--chaos/);
    expect(() => resolvePromptOptions({ prompt: 'x', stylize: 2.5 }, models)).toThrow(/--stylize/);
  });
});
