import { InteractionResponseType } from 'discord.js';
import { describe, expect, it } from 'vitest';
import { eventually } from '../support/context.js';
import type { FakeMessage } from '../support/fake-discord.js';
import { botPost, enter, privateAnswer, session, startSession, vote, votingMessage } from '../support/session.js';
import { useStack, type Stack } from '../support/stack.js';

const start = useStack();

// The host: startSession starts sessions as this member.
const ADA = '310000000000000001';
const BEA = '350000000000000002';
const CY = '350000000000000003';
const DEE = '350000000000000004';

async function parentOf(s: Stack, imageId: string): Promise<string | null> {
  const row = await s.ctx.db.selectFrom('images').select('parent_id').where('id', '=', imageId).executeTakeFirstOrThrow();
  return row.parent_id;
}

/** The pictures of a round's entries, once every one of them is drawn. */
function drawn(s: Stack, sessionId: string, round: number) {
  return eventually(async () => {
    const entries = await s.ctx.sessions.entries(sessionId, round);
    return entries.length > 0 && entries.every((entry) => entry.state === 'ready') && entries.map((entry) => entry.imageId!);
  });
}

/** 🗑 on a delivered result, by its author. */
async function deleteResult(s: Stack, result: FakeMessage, jobId: string, userId: string): Promise<void> {
  const removal = await s.discord.button({ customId: `img:delete:${jobId}`, message: result, userId }).response();
  expect(removal.type, JSON.stringify(removal.data)).toBe(InteractionResponseType.UpdateMessage);
  expect(removal.data.content).toContain('This picture was deleted by its author');
}

const next = (s: Stack, threadId: string) => privateAnswer(session(s, 'next', {}, { userId: ADA, channelId: threadId }));

describe('/session evolve when winning pictures are deleted', () => {
  it('hands on the last winning picture still there, and draws entries from text when the picture they remix is deleted', async () => {
    const s = await start();
    const { id, thread } = await startSession(s, { theme: 'windmills', rounds: 3, mode: 'evolve' });

    // Round 1: Ada's entry wins.
    const a1 = await enter(s, thread.id, ADA, 'a windmill, oil paint');
    await enter(s, thread.id, BEA, 'a windmill, charcoal');
    const [winner1] = await drawn(s, id, 1);
    await next(s, thread.id);
    expect(await vote(s, await votingMessage(s, thread.id, 1), id, 1, 1, CY)).toContain('is in');
    await next(s, thread.id);
    await botPost(s, thread.id, /Round 1 winner: entry #1/);
    expect(await botPost(s, thread.id, /Round 2 of 3/)).toMatchObject({
      content: expect.stringContaining("Entries remix last round's winning picture."),
    });

    // Round 2: both entries remix it; Bea's wins, and she deletes it before the vote is counted.
    const b2 = await enter(s, thread.id, BEA, 'the windmill at night');
    expect(b2.answer).toContain("a remix of last round's winner");
    await enter(s, thread.id, CY, 'the windmill in snow');
    const round2 = await drawn(s, id, 2);
    for (const imageId of round2) expect(await parentOf(s, imageId)).toBe(winner1);
    await next(s, thread.id);
    expect(await vote(s, await votingMessage(s, thread.id, 2), id, 2, 1, DEE)).toContain('is in');
    await deleteResult(s, b2.result, b2.interaction.id, BEA);
    await next(s, thread.id);
    const result2 = await botPost(s, thread.id, /Round 2 winner: entry #1/);
    // Round 3 builds on round 1's winner: the newest winning picture that is still there.
    expect((await s.ctx.sessions.roundOf(id, 3))!.baseImageId).toBe(winner1);
    expect(result2.content).not.toContain('Round 3 remixes this picture');
    const opening3 = await botPost(s, thread.id, /Round 3 of 3/);
    expect(opening3.content).toContain('Entries remix the latest winning picture that is still there.');

    // Ada deletes that one too while round 3 takes entries: entries are still taken, drawn from text.
    await deleteResult(s, a1.result, a1.interaction.id, ADA);
    const c3 = await enter(s, thread.id, CY, 'the windmill, sunrise');
    expect(c3.answer).toContain('Entry #1** for round 3');
    expect(c3.answer).not.toContain('remix');
    const d3 = await enter(s, thread.id, DEE, 'the windmill, storm');
    expect(d3.answer).toContain('Entry #2** for round 3');
    for (const imageId of await drawn(s, id, 3)) expect(await parentOf(s, imageId)).toBeNull();
    await next(s, thread.id);
    expect(await vote(s, await votingMessage(s, thread.id, 3), id, 3, 2, CY)).toContain('is in');
    await next(s, thread.id);
    expect((await botPost(s, thread.id, /Round 3 winner/)).content).toContain(`entry #2** by <@${DEE}> with 1 vote`);
    const recap = await botPost(s, thread.id, /Recap:/);
    expect(recap.content).toContain(`The winning chain: R1 #1 <@${ADA}> → R2 #1 <@${BEA}> → R3 #2 <@${DEE}>`);
    expect(s.discord.messages(thread.id).filter((message) => /was skipped/.test(message.content))).toEqual([]);
  }, 120_000);
});

describe('/session end during a vote', () => {
  it.each([
    ['running', false],
    ['paused', true],
  ])(
    'counts the vote under way of a %s session, posts its result and the recap, and opens no further round',
    async (_, paused) => {
      const s = await start();
      const { id, thread } = await startSession(s, { theme: 'kites', rounds: 3, mode: 'evolve' });
      await enter(s, thread.id, BEA, 'a red kite');
      await enter(s, thread.id, CY, 'a blue kite');
      await drawn(s, id, 1);
      await next(s, thread.id);
      const voting = await votingMessage(s, thread.id, 1);
      expect(await vote(s, voting, id, 1, 2, DEE)).toContain('is in');
      if (paused) {
        expect(await privateAnswer(session(s, 'pause', {}, { userId: ADA, channelId: thread.id }))).toContain('Paused');
        // A vote while paused waits for the resume, and so is not counted.
        expect(await vote(s, voting, id, 1, 1, ADA)).not.toContain('is in');
      }
      const end = session(s, 'end', {}, { userId: ADA, channelId: thread.id });
      await s.discord.waitFor(() => end.original()?.content.includes('The session has ended') || undefined, 20_000, 'the end');

      const result = await botPost(s, thread.id, /Round 1 winner/);
      expect(result.content).toContain(`entry #2** by <@${CY}> with 1 vote`);
      expect(result.content).not.toMatch(/Round 2/);
      const recap = await botPost(s, thread.id, /Recap:/);
      expect(recap.content).toContain(`The winning chain: R1 #2 <@${CY}>`);
      const posts = s.discord.messages(thread.id);
      expect(posts.indexOf(result)).toBeLessThan(posts.indexOf(recap));
      expect(posts.filter((message) => /Round 2 of 3/.test(message.content))).toEqual([]);
      const ended = (await s.ctx.sessions.get(id))!;
      expect(ended).toMatchObject({ phase: 'ended', round: 1 });
      expect(ended.pausedAt).toBeUndefined();
      expect((await s.ctx.sessions.rounds(id)).map((round) => [round.number, round.winnerEntry, round.baseImageId])).toEqual([
        [1, 2, undefined],
        [2, undefined, undefined],
        [3, undefined, undefined],
      ]);
      expect((await s.ctx.series.panels(id)).map((panel) => panel.userId)).toEqual([CY]);
      // Nothing is left to fire later.
      expect(await s.ctx.sessionQueue.getJob(`session-${id}-r1-voting-e${ended.epoch}`)).toBeUndefined();
    },
    120_000,
  );
});
