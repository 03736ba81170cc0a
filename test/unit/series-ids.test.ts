import { describe, expect, it } from 'vitest';
import { parseSeriesComponent, seriesAddButtonId, seriesPickId } from '../../src/bot/components/ids.js';

describe('series custom_ids', () => {
  it('round-trips the button and the select menu ids', () => {
    expect(parseSeriesComponent(seriesAddButtonId('1234567890123456789'))).toEqual({ action: 'add', jobId: '1234567890123456789' });
    expect(parseSeriesComponent(seriesPickId('1234567890123456789', 3))).toEqual({ action: 'pick', jobId: '1234567890123456789', image: 3 });
  });

  it('rejects anything else', () => {
    for (const forged of [
      'series:add:',
      'series:add:12345',
      'series:add:1234567890123456789:1',
      'series:pick:1234567890123456789',
      'series:pick:1234567890123456789:5',
      'series:pick:1234567890123456789:0',
      'series:remove:1234567890123456789',
      'gen:reroll:1234567890123456789',
      'series:add:1234567890123456789 ',
    ]) {
      expect(parseSeriesComponent(forged)).toBeUndefined();
    }
  });
});
