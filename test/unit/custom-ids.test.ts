import { describe, expect, it } from 'vitest';
import { generationButtonId, parseGenerationButton } from '../../src/bot/components/ids.js';

describe('generation button custom_ids', () => {
  it('round-trips every action', () => {
    const jobId = '1234567890123456789';
    for (const [action, image] of [['reroll'], ['cancel'], ['upscale', 3], ['vary', 1]] as const) {
      const id = generationButtonId(action, jobId, image);
      expect(id.length).toBeLessThanOrEqual(100);
      expect(parseGenerationButton(id)).toEqual({ action, jobId, image });
    }
  });

  it.each([
    'gen:reroll:123',
    'gen:upscale:1234567890123456789',
    'gen:upscale:1234567890123456789:5',
    'gen:cancel:1234567890123456789:1',
    'gen:delete:1234567890123456789',
    'gen:reroll:1234567890123456789 ',
    'gen:reroll:12345678901234567890123',
    '',
    'x'.repeat(100),
  ])('rejects the forged or truncated id %j', (customId) => {
    expect(parseGenerationButton(customId)).toBeUndefined();
  });
});
