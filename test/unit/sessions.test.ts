import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { parseSessionComponent, sessionEnterId, sessionEntryFormId, sessionVoteId } from '../../src/features/sessions/ids.js';
import { twistsFor, winnerOf } from '../../src/features/sessions/model.js';
import { sessionTree, winnerChain, winnerStrip } from '../../src/features/sessions/render.js';
import type { SessionEntry, SessionRound } from '../../src/features/sessions/store.js';
import { memberStats } from '../../src/features/sessions/transitions.js';

const ID = '1577219524476932333';

describe('session custom_ids', () => {
  it('parse what the bot makes, and nothing else', () => {
    expect(parseSessionComponent(sessionEnterId(ID))).toEqual({ action: 'enter', sessionId: ID });
    expect(parseSessionComponent(sessionEntryFormId(ID))).toEqual({ action: 'entry', sessionId: ID });
    expect(parseSessionComponent(sessionVoteId(ID, 10, 60))).toEqual({ action: 'vote', sessionId: ID, round: 10, entry: 60 });
    for (const forged of [
      `session:vote:${ID}:0:1`,
      `session:vote:${ID}:11:1`,
      `session:vote:${ID}:1:0`,
      `session:vote:${ID}:1:1000`,
      `session:vote:${ID}:1:1:1`,
      `session:vote:abc:1:1`,
      `session:enter:${ID}x`,
      `session:vote:${ID}:01:1`,
      'session:enter:',
    ]) {
      expect(parseSessionComponent(forged), forged).toBeUndefined();
    }
  });
});

describe('winnerOf', () => {
  it('gives a tie to the earlier entry, and a round nobody voted in to its first entry', () => {
    const entries = [{ number: 3 }, { number: 1 }, { number: 2 }];
    expect(
      winnerOf(
        entries,
        new Map([
          [2, 2],
          [3, 2],
          [1, 1],
        ]),
      ),
    ).toEqual({ number: 2, votes: 2 });
    expect(winnerOf(entries, new Map([[3, 5]]))).toEqual({ number: 3, votes: 5 });
    expect(winnerOf(entries, new Map())).toEqual({ number: 1, votes: 0 });
    expect(winnerOf([], new Map())).toBeUndefined();
  });
});

describe('twistsFor', () => {
  it('gives each round a twist, the same for the same session', () => {
    expect(twistsFor(ID, 10)).toHaveLength(10);
    expect(twistsFor(ID, 3)).toEqual(twistsFor(ID, 3));
    expect(new Set(twistsFor(ID, 10)).size).toBe(10);
  });
});

describe('memberStats', () => {
  it('counts drawn entries, votes received and rounds won per member', () => {
    const entry = (round: number, number: number, userId: string | undefined, state: SessionEntry['state'] = 'ready'): SessionEntry => ({
      round,
      number,
      id: `${round}${number}`,
      userId,
      userName: userId ?? 'a former member',
      prompt: '',
      state,
      createdAt: 0,
    });
    const entries = [entry(1, 1, 'a'), entry(1, 2, 'b'), entry(1, 3, 'b', 'missed'), entry(2, 1, 'b'), entry(2, 2, undefined)];
    const rounds = [
      { number: 1, winnerEntry: 1 },
      { number: 2, winnerEntry: 2 },
    ] as SessionRound[];
    const votes = [
      { round: 1, entry: 1 },
      { round: 1, entry: 1 },
      { round: 1, entry: 2 },
      { round: 2, entry: 2 },
    ];
    expect(memberStats(entries, rounds, votes)).toEqual([
      { userId: 'a', name: 'a', entries: 1, votesReceived: 2, roundsWon: 1 },
      { userId: undefined, name: 'a former member', entries: 1, votesReceived: 1, roundsWon: 1 },
      { userId: 'b', name: 'b', entries: 2, votesReceived: 1, roundsWon: 0 },
    ]);
  });
});

describe('recap pictures', () => {
  const picture = (colour: string) =>
    sharp({ create: { width: 320, height: 240, channels: 3, background: colour } })
      .png()
      .toBuffer();

  it('animates a chain of one winner or many, lays winners in a row, and keeps a crowded tree small', async () => {
    const [red, blue] = await Promise.all([picture('#aa2222'), picture('#2222aa')]);
    const one = await sharp(await winnerChain([{ round: 1, image: red, name: 'ada' }]), { animated: true }).metadata();
    expect(one.format).toBe('webp');
    expect(one.width).toBeGreaterThan(0);
    const chain = [1, 2, 3].map((round) => ({ round, image: round === 2 ? blue : red, name: `m${round}` }));
    expect((await sharp(await winnerChain(chain), { animated: true }).metadata()).pages).toBe(3);
    const strip = await sharp(await winnerStrip(chain)).metadata();
    expect(strip.width).toBeGreaterThan(strip.height! * 2);
    const crowded = Array.from({ length: 60 }, (_, i) => ({
      round: 1 + Math.floor(i / 30),
      number: (i % 30) + 1,
      name: `m${i}`,
      votes: i % 4,
      winner: i % 30 === 7,
      image: red,
    }));
    const tree = await sharp(await sessionTree('a night market', crowded)).metadata();
    // At most five entries and a "+25 more" box a round (168 px a box), not sixty boxes.
    expect(tree.width).toBeLessThanOrEqual(2 * 6 * 168 + 48);
    expect(tree.height).toBeLessThan(1000);
  });
});
