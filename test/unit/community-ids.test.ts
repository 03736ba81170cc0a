import { describe, expect, it } from 'vitest';
import { parseStrength } from '../../src/bot/components/community.js';
import { nearestAspect } from '../../src/queues.js';
import {
  communityButtonId,
  parseCommunityId,
  remixImageModalId,
  remixJobModalId,
  remixUploadModalId,
} from '../../src/bot/components/community-ids.js';
import { InvalidRequestError } from '../../src/bot/prompt.js';

const job = '1234567890123456789';

describe('community custom_ids', () => {
  it('round-trip', () => {
    for (const action of ['vote', 'remix', 'family', 'delete'] as const) {
      expect(parseCommunityId(communityButtonId(action, job))).toEqual({ kind: 'button', action, jobId: job });
    }
    expect(parseCommunityId(remixJobModalId(job))).toEqual({ kind: 'remix-job', jobId: job });
    expect(parseCommunityId(remixImageModalId(`${job}-3`))).toEqual({ kind: 'remix-image', imageId: `${job}-3` });
    expect(parseCommunityId(remixImageModalId(`upload-${job}`))).toEqual({ kind: 'remix-image', imageId: `upload-${job}` });
    expect(parseCommunityId(remixUploadModalId(job, '1234567890123456780'))).toEqual({
      kind: 'remix-upload',
      messageId: job,
      attachmentId: '1234567890123456780',
    });
  });

  it('refuse anything else', () => {
    for (const forged of [
      'img:vote:12',
      `img:vote:${job}:1`,
      `img:like:${job}`,
      `img:remiximage:${job}-5`,
      `img:remiximage:upload-${job}/../x`,
      `img:remiximage:../../etc`,
      `img:remixupload:${job}`,
      `img:remixupload:${job}:${job}:1`,
      `img:remixupload:${job}:../x`,
      `gen:vote:${job}`,
      ` img:vote:${job}`,
    ]) {
      expect(parseCommunityId(forged), forged).toBeUndefined();
    }
  });
});

describe('remix form values', () => {
  it('accepts strengths from 0.1 to 1.0, with a comma too', () => {
    expect(parseStrength('0.6')).toBe(0.6);
    expect(parseStrength(' .25 ')).toBe(0.25);
    expect(parseStrength('1')).toBe(1);
    expect(parseStrength('1.0')).toBe(1);
    expect(parseStrength('0,3')).toBe(0.3);
    for (const bad of ['0', '0.05', '1.5', '2', '', 'abc', '-0.5', '1e-1', '0.6.1']) {
      expect(() => parseStrength(bad), bad).toThrow(InvalidRequestError);
    }
  });

  it('picks the nearest aspect ratio for an upload', () => {
    expect(nearestAspect(1920, 1080)).toBe('16:9');
    expect(nearestAspect(1080, 1920)).toBe('9:16');
    expect(nearestAspect(1000, 1010)).toBe('1:1');
    expect(nearestAspect(1200, 800)).toBe('3:2');
    expect(nearestAspect(0, 0)).toBe('1:1');
  });
});
