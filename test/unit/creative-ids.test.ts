import { describe, expect, it } from 'vitest';
import { editPromptModalId, parseEditPromptModal, parseGenerationButton } from '../../src/bot/components/ids.js';
import { resultComponents } from '../../src/bot/messages.js';
import { parsePanelId } from '../../src/features/preferences/components.js';

const JOB = '1234567890123456789';

describe('custom_ids of 🔍 Enhance, remix mode and /settings', () => {
  it('parses Enhance strictly', () => {
    expect(parseGenerationButton(`gen:enhance:${JOB}`)).toEqual({ action: 'enhance', jobId: JOB, image: undefined });
    expect(parseGenerationButton(`gen:enhance:${JOB}:1`)).toBeUndefined();
    expect(parseGenerationButton(`gen:enhance:12`)).toBeUndefined();
  });

  it('round-trips the remix-mode form ids and refuses anything else', () => {
    for (const button of [
      { action: 'reroll' as const, jobId: JOB, image: undefined },
      { action: 'vary' as const, jobId: JOB, image: 3 },
    ]) {
      expect(parseEditPromptModal(editPromptModalId(button))).toEqual(button);
    }
    for (const forged of [
      `gen:edit:vary:${JOB}`,
      `gen:edit:reroll:${JOB}:2`,
      `gen:edit:upscale:${JOB}:1`,
      `gen:edit:vary:${JOB}:5`,
      `gen:edit:reroll:${JOB}x`,
    ]) {
      expect(parseEditPromptModal(forged)).toBeUndefined();
    }
  });

  it('reads the owner from a panel id, and nothing from a malformed one', () => {
    expect(parsePanelId(`prefs:aspect:${JOB}`)).toEqual({ field: 'aspect', userId: JOB });
    for (const forged of ['prefs:aspect:', `prefs:seed:${JOB}`, `prefs:aspect:${JOB}:1`, `prefs:aspect:../${JOB}`]) {
      expect(parsePanelId(forged)).toBeUndefined();
    }
  });

  it('puts 🔍 Enhance on drafts only, within Discord’s row limits for any number of pictures', () => {
    for (const images of [1, 2, 4]) {
      const rows = resultComponents({ id: JOB, kind: 'txt2img', images, draft: true }, 0, 'https://example.org/p');
      expect(rows.length).toBeLessThanOrEqual(5);
      for (const row of rows) expect(row.components.length).toBeLessThanOrEqual(5);
      const ids = rows.flatMap((row) => row.components.map((c) => ('custom_id' in c ? c.custom_id : '')));
      expect(ids).toContain(`gen:enhance:${JOB}`);
      const plain = resultComponents({ id: JOB, kind: 'txt2img', images }, 0);
      expect(plain.flatMap((row) => row.components.map((c) => ('custom_id' in c ? c.custom_id : '')))).not.toContain(`gen:enhance:${JOB}`);
    }
  });
});
