import { describe, expect, it } from 'vitest';
import { failedMessage, failedNotice, memberLinkLabel, memberText, publicFailureReason } from '../../src/bot/messages.js';
import type { JobRecord } from '../../src/store/jobs.js';
import { refusalMessage } from '../../src/worker/generate.js';
import { ProviderRefusedError } from '../../src/worker/providers/types.js';

/** A masked link Discord would render: `[text](` whose `[` no backslash escapes. */
const activeMaskedLink = /(^|[^\\])(\\\\)*\[[^\]]*\]\(/;
/** An address Discord would link with a preview: one not wrapped in <…>. */
const previewedAddress = /(^|[^<])https?:\/\//;

describe('memberText', () => {
  it('escapes every masked link, however many, and wraps their addresses', () => {
    const shown = memberText('[free Nitro](https://a.example/x) and [more](http://b.example) and [c](<https://c.example>)');
    expect(shown).toBe('\\[free Nitro\\](<https://a.example/x>) and \\[more\\](<http://b.example>) and \\[c\\](<https://c.example>)');
    expect(shown).not.toMatch(activeMaskedLink);
    expect(shown).not.toMatch(previewedAddress);
  });

  it('wraps bare addresses in <…> without escaping inside them, and leaves sentence punctuation outside', () => {
    expect(memberText('see https://example.com/a_b*c*_d, (https://x.example/y). done')).toBe(
      'see <https://example.com/a_b*c*_d>, (<https://x.example/y>). done',
    );
    expect(memberText('HTTPS://LOUD.example/path')).toBe('<HTTPS://LOUD.example/path>');
  });

  it('keeps an address the member already wrapped as it is', () => {
    expect(memberText('look <https://example.com/x> here')).toBe('look <https://example.com/x> here');
  });

  it('still escapes markdown around addresses, and a backslash cannot undo an escape', () => {
    expect(memberText('**bold** _it_ ||spoiler|| `code`')).toBe('\\*\\*bold\\*\\* \\_it\\_ \\|\\|spoiler\\|\\| \\`code\\`');
    const shown = memberText('\\[x](https://e.example)');
    expect(shown).toBe('\\\\\\[x\\](<https://e.example>)');
    expect(shown).not.toMatch(activeMaskedLink);
  });

  it('puts the text on one line and clips it to the length asked', () => {
    expect(memberText('a\nb\t c')).toBe('a b c');
    expect(memberText('abcdefghij', 5)).toBe('abcd…');
  });
});

describe('memberLinkLabel', () => {
  it('leaves out brackets and schemes, so the label holds no link of its own', () => {
    const label = memberLinkLabel('[Claim](https://evil.example/x) a cat http://b.example', 60);
    expect(label).toBe('Claim(evil.example/x) a cat b.example');
    expect(label).not.toMatch(/[[\]]|https?:/);
  });
});

const failed = (error: string | undefined, errorKind: string | undefined) =>
  ({
    id: '1',
    userId: '42',
    prompt: 'a cat',
    seed: 1,
    model: 'painterly',
    aspect: '1:1',
    count: 1,
    kind: 'txt2img',
    imageIds: [],
    error,
    errorKind,
  }) as unknown as JobRecord;

describe('failure messages', () => {
  it('names a safety refusal in public without what the provider said, and tells the author all of it', () => {
    const error = refusalMessage(
      new ProviderRefusedError('flagged by model v3', 'safety', 'Your request was rejected. Ask at help.example, id req_123.'),
    );
    const record = failed(error, 'refused');
    expect(publicFailureReason(record)).toBe("The image provider's safety filter refused this prompt.");
    expect(failedMessage(record).content).not.toContain('rejected');
    expect(failedNotice(record)).toContain('It said: “Your request was rejected. Ask at help.example, id req\\_123.”');
  });

  it('keeps a provider’s rejection text out of the public message', () => {
    const error = refusalMessage(
      new ProviderRefusedError(
        'ComfyUI rejected the workflow: node 4 (CheckpointLoaderSimple): [x](https://evil.example) base_v7.safetensors',
        'invalid_input',
      ),
    );
    const record = failed(error, 'refused');
    const { content, allowed_mentions } = failedMessage(record);
    expect(content).toMatch(/^❌ \*\*Not generated\.\*\* This request could not be made as asked; its author was told why\.\n\*\*a cat\*\*/);
    for (const secret of ['ComfyUI', 'node 4', 'CheckpointLoaderSimple', 'safetensors', 'evil']) expect(content).not.toContain(secret);
    expect(allowed_mentions).toEqual({ parse: [] });
    const notice = failedNotice(record);
    expect(notice).toContain('The image provider could not use this request: ComfyUI rejected the workflow: node 4 (CheckpointLoaderSimple)');
    expect(notice).toContain('base\\_v7.safetensors');
    expect(notice).not.toMatch(activeMaskedLink);
    expect(notice).not.toMatch(previewedAddress);
  });

  it('words each other kind of failure in Atelier’s own words', () => {
    expect(publicFailureReason(failed('The image provider is not answering right now, even after several tries.', 'provider_down'))).toBe(
      'The image provider is not answering right now. Please try again later.',
    );
    expect(publicFailureReason(failed('The worker handling this stopped before it finished.', 'internal'))).toMatch(/^Atelier stopped/);
    expect(publicFailureReason(failed('This image is too large to upload here', 'delivery'))).toBe('The finished picture could not be posted here.');
    expect(publicFailureReason(failed('anything at all', 'something new'))).toBe('Something went wrong.');
    expect(failedNotice(failed(undefined, 'provider_down'))).toBe(
      'Your request could not be completed: The image provider is not answering right now. Please try again later.',
    );
  });
});
