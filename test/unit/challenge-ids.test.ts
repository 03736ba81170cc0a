import { describe, expect, it } from 'vitest';
import { challengeSubmitId, challengeVoteId, parseChallengeButton } from '../../src/features/challenges/ids.js';
import { cronFor, isTimezone } from '../../src/features/challenges/timers.js';
import { podiumTies } from '../../src/features/challenges/transitions.js';
import { seasonOf } from '../../src/features/challenges/model.js';

describe('challenge custom_ids', () => {
  it('round-trip', () => {
    expect(parseChallengeButton(challengeSubmitId('1575461907622662188'))).toEqual({
      action: 'submit',
      jobId: '1575461907622662188',
      image: undefined,
    });
    expect(parseChallengeButton(challengeSubmitId('1575461907622662188', 3))).toEqual({ action: 'submit', jobId: '1575461907622662188', image: 3 });
    expect(parseChallengeButton(challengeVoteId('12', 7))).toEqual({ action: 'vote', challengeId: '12', entryId: 7 });
  });

  it('refuse anything forged or malformed', () => {
    for (const forged of [
      'challenge:submit:123',
      'challenge:submit:1575461907622662188:5',
      'challenge:submit:1575461907622662188:1:2',
      'challenge:vote:0:1',
      'challenge:vote:12:0',
      'challenge:vote:12',
      'challenge:vote:12:1:extra',
      'challenge:vote:-1:1',
      'challenge:vote:1e3:1',
      'challenge:delete:12',
    ]) {
      expect(parseChallengeButton(forged), forged).toBeUndefined();
    }
  });
});

describe('challenge schedule helpers', () => {
  it('turn a weekday and time into cron, and know IANA timezones', () => {
    expect(cronFor({ weekday: 0, time: '07:05' })).toBe('5 7 * * 0');
    expect(cronFor({ weekday: 6, time: '23:59' })).toBe('59 23 * * 6');
    expect(isTimezone('Europe/Berlin')).toBe(true);
    expect(isTimezone('Mars/Olympus')).toBe(false);
  });

  it('name seasons by calendar quarter', () => {
    expect(seasonOf(Date.UTC(2026, 0, 1))).toBe('2026-Q1');
    expect(seasonOf(Date.UTC(2026, 11, 31, 23, 59))).toBe('2026-Q4');
  });

  it('report ties only where they decided a podium place', () => {
    const entry = (id: number, votes: number) => ({ id, votes, place: id, points: 0, imageId: `${id}`, jobId: '1', userId: '1', submittedAt: id });
    expect(podiumTies([entry(1, 3), entry(2, 2), entry(3, 1), entry(4, 1)]).map(([a, b]) => [a.id, b.id])).toEqual([[3, 4]]);
    expect(podiumTies([entry(1, 3), entry(2, 2), entry(3, 1), entry(4, 0), entry(5, 0)])).toEqual([]);
  });
});
