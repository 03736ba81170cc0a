import { ApplicationCommandOptionType, InteractionResponseType } from 'discord.js';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { eventually } from '../support/context.js';
import { botPost, customIds, enter, privateAnswer, resultOf, session, startSession, vote, votingMessage } from '../support/session.js';
import { useStack, type Stack } from '../support/stack.js';

const start = useStack();

const ADA = '310000000000000001';
const BEA = '310000000000000002';
const CY = '310000000000000003';
const DEE = '310000000000000004';

async function winnerImageOf(s: Stack, sessionId: string, round: number): Promise<string> {
  const rounds = await s.ctx.sessions.rounds(sessionId);
  const winner = rounds[round - 1]!.winnerEntry!;
  const entries = await s.ctx.sessions.entries(sessionId, round);
  return entries.find((entry) => entry.number === winner)!.imageId!;
}

async function parentOf(s: Stack, imageId: string): Promise<string | null> {
  const row = await s.ctx.db.selectFrom('images').select('parent_id').where('id', '=', imageId).executeTakeFirstOrThrow();
  return row.parent_id;
}

describe('/session end to end (real discord.js client, fake Discord, real worker)', () => {
  it('runs a 3-round evolve session with 4 members: entries, votes, ties, lineage, a restart mid-round, and the recap', async () => {
    const s = await start();
    const theme = 'a lighthouse in fog @everyone <@&123456789012345678>';
    const { id, reply, thread, panel } = await startSession(s, { theme, rounds: 3, round_minutes: 10, vote_seconds: 120 });
    expect(reply.content).toContain(`<#${thread.id}>`);
    expect(reply.allowedMentions).toEqual({ parse: [] });
    expect(thread.name).toBe(`🎨 ${theme}`);
    expect(panel.embeds[0]!.fields!.find((f) => f.name === 'Round')!.value).toBe('1 of 3');
    expect(panel.embeds[0]!.fields!.find((f) => f.name === 'Phase')!.value).toMatch(/Taking entries, until <t:\d+:R>/);
    expect(customIds(panel)).toEqual([`session:enter:${id}`]);
    const opening = await botPost(s, thread.id, /Round 1 of 3/);
    expect(opening.allowedMentions).toEqual({ parse: [] });

    // Round 1: three entries by /imagine in the thread, one by the 🎨 Enter button's form.
    const a1 = await enter(s, thread.id, ADA, 'a lighthouse, oil paint');
    expect(a1.answer).toContain('Entry #1** for round 1');
    await enter(s, thread.id, BEA, 'a lighthouse, charcoal');
    const open = s.discord.button({ customId: `session:enter:${id}`, message: panel, userId: CY });
    const form = await open.response();
    expect(form.type).toBe(InteractionResponseType.Modal);
    expect(form.data.custom_id).toBe(`session:entry:${id}`);
    const submit = s.discord.modalSubmit({
      customId: `session:entry:${id}`,
      fields: { prompt: 'a lighthouse, pixel art' },
      userId: CY,
      channelId: thread.id,
    });
    expect((await submit.response()).data.content).toContain('Entry #3** for round 1');
    await resultOf(s, thread.id, submit.id);
    await enter(s, thread.id, DEE, 'a lighthouse, neon');
    // Entries count per member and round: Dee may make one more, not two.
    await enter(s, thread.id, DEE, 'a lighthouse, neon, again');
    const third = s.discord.slashCommand({ name: 'imagine', userId: DEE, channelId: thread.id, options: { prompt: 'one too many' } });
    expect(await privateAnswer(third)).toContain('as many as this session allows');
    // Fresh pictures in round 1 of evolve come from text.
    const first = await eventually(async () => (await s.ctx.sessions.entries(id, 1))[0]!.imageId);
    expect(await parentOf(s, first)).toBeNull();

    // Only the host (or Manage Threads) moves the session on.
    expect(await privateAnswer(session(s, 'next', {}, { userId: BEA, channelId: thread.id }))).toContain('Only the host');
    expect(await privateAnswer(session(s, 'next', {}, { userId: ADA, channelId: thread.id }))).toContain('closing entries');
    const voting1 = await votingMessage(s, thread.id, 1);
    expect(voting1.attachments).toHaveLength(1);
    expect(customIds(voting1)).toEqual([1, 2, 3, 4, 5].map((n) => `session:vote:${id}:1:${n}`));
    expect(JSON.stringify([voting1.content, voting1.attachments.map((a) => a.filename)])).not.toMatch(new RegExp(`${ADA}|${BEA}|${CY}|${DEE}`));

    // An entry after the round closed is refused politely, and privately.
    const late = s.discord.slashCommand({ name: 'imagine', userId: BEA, channelId: thread.id, options: { prompt: 'too late' } });
    expect(await privateAnswer(late)).toMatch(/Sorry, round 1 is closed for entries: it is being voted on/);

    // Votes: a 2–2 tie between #1 (Ada) and #2 (Bea); the earlier entry wins.
    expect(await vote(s, voting1, id, 1, 1, BEA)).toContain('Your vote for entry **#1** of round 1 is in');
    expect(await vote(s, voting1, id, 1, 1, CY)).toContain('is in');
    expect(await vote(s, voting1, id, 1, 2, DEE)).toContain('is in');
    expect(await vote(s, voting1, id, 1, 2, ADA)).toContain('is in');
    expect(await vote(s, voting1, id, 1, 3, BEA)).toContain('You already voted in round 1 (for #1)');
    expect(await vote(s, voting1, id, 1, 4, DEE)).toContain('your own entry');
    expect(await s.ctx.sessions.tally(id, 1)).toEqual(
      new Map([
        [1, 2],
        [2, 2],
      ]),
    );
    await privateAnswer(session(s, 'next', {}, { userId: ADA, channelId: thread.id }));
    const result1 = await botPost(s, thread.id, /Round 1 winner/);
    expect(result1.content).toContain(`entry #1** by <@${ADA}> with 2 votes`);
    expect(result1.content).toContain('Tie: #2 had as many votes; a tie goes to the earlier entry, so #1 wins.');
    expect(result1.allowedMentions).toEqual({ parse: [] });
    expect(result1.attachments).toHaveLength(1);
    // Voting is over for round 1.
    expect(await vote(s, voting1, id, 1, 3, CY)).toContain('Voting for round 1 is not open');
    await botPost(s, thread.id, /Round 2 of 3/);
    const winner1 = await winnerImageOf(s, id, 1);

    // Round 2: entries remix round 1's winner.
    const b2 = await enter(s, thread.id, BEA, 'the lighthouse at night');
    expect(b2.answer).toContain("a remix of last round's winner");
    await enter(s, thread.id, CY, 'the lighthouse in snow');
    // The entry takes its picture right after delivery.
    const round2 = await eventually(async () => {
      const entries = await s.ctx.sessions.entries(id, 2);
      return entries.every((entry) => entry.imageId) && entries;
    });
    for (const entry of round2) expect(await parentOf(s, entry.imageId!)).toBe(winner1);
    expect(await s.ctx.lineage.childrenOf([winner1])).toEqual(round2.map((entry) => entry.imageId));

    await privateAnswer(session(s, 'next', {}, { userId: ADA, channelId: thread.id }));
    const voting2 = await votingMessage(s, thread.id, 2);
    expect(await vote(s, voting2, id, 2, 1, ADA)).toContain('is in');
    expect(await vote(s, voting2, id, 2, 2, DEE)).toContain('is in');

    // A bot restart mid-round: the votes are kept, and voting goes on.
    await s.restartBot();
    expect(await vote(s, voting2, id, 2, 2, BEA)).toContain('is in');
    expect(await vote(s, voting2, id, 2, 1, ADA)).toContain('already voted');
    await privateAnswer(session(s, 'next', {}, { userId: ADA, channelId: thread.id }));
    const result2 = await botPost(s, thread.id, /Round 2 winner/);
    expect(result2.content).toContain(`entry #2** by <@${CY}> with 2 votes`);
    expect(result2.content).toContain('(A tie would go to the earlier entry.)');
    const winner2 = await winnerImageOf(s, id, 2);
    expect(await parentOf(s, winner2)).toBe(winner1);

    // Round 3 (the last), with a restart between an entry and the vote.
    await botPost(s, thread.id, /Round 3 of 3/);
    await enter(s, thread.id, DEE, 'the lighthouse, sunrise');
    await s.restartBot();
    await enter(s, thread.id, ADA, 'the lighthouse, storm');
    expect(await s.ctx.sessions.entries(id, 3)).toHaveLength(2);
    await privateAnswer(session(s, 'next', {}, { userId: ADA, channelId: thread.id }));
    const voting3 = await votingMessage(s, thread.id, 3);
    expect(await vote(s, voting3, id, 3, 1, BEA)).toContain('is in');
    await privateAnswer(session(s, 'next', {}, { userId: ADA, channelId: thread.id }));
    const result3 = await botPost(s, thread.id, /Round 3 winner/);
    expect(result3.content).toContain(`entry #1** by <@${DEE}> with 1 vote`);
    const winner3 = await winnerImageOf(s, id, 3);
    expect(await parentOf(s, winner3)).toBe(winner2);

    // The recap: the winning chain (animated), the strip, the family tree and each member's numbers.
    const recap = await botPost(s, thread.id, /Recap:/);
    expect(recap.allowedMentions).toEqual({ parse: [] });
    expect(recap.attachments.map((a) => a.filename)).toEqual(['winning-chain.webp', 'winners.png', 'family-tree.png']);
    const chain = await sharp(recap.attachments[0]!.data, { animated: true }).metadata();
    expect(chain.format).toBe('webp');
    expect(chain.pages).toBe(3);
    const strip = await sharp(recap.attachments[1]!.data).metadata();
    expect(strip.width).toBeGreaterThan(strip.height! * 2);
    const tree = await sharp(recap.attachments[2]!.data).metadata();
    expect(tree.format).toBe('png');
    expect(recap.content).toContain(`The winning chain: R1 #1 <@${ADA}> → R2 #2 <@${CY}> → R3 #1 <@${DEE}>`);
    expect(recap.content).toContain(`<@${ADA}>: 2 entries, 2 votes received, 1 round won`);
    expect(recap.content).toContain(`<@${BEA}>: 2 entries, 3 votes received, 0 rounds won`);
    expect(recap.content).toContain(`<@${CY}>: 2 entries, 2 votes received, 1 round won`);
    expect(recap.content).toContain(`<@${DEE}>: 3 entries, 1 vote received, 1 round won`);

    // Saved as a series: the winners, in order.
    const series = (await s.ctx.series.get(id))!;
    expect(series.status).toBe('complete');
    expect((await s.ctx.series.panels(id)).map((panel) => panel.imageId)).toEqual([winner1, winner2, winner3]);
    const exported = s.discord.slashCommand({
      name: 'series',
      userId: BEA,
      options: [
        {
          name: 'export',
          type: ApplicationCommandOptionType.Subcommand,
          options: [
            { name: 'format', type: ApplicationCommandOptionType.String, value: 'gif' },
            { name: 'series', type: ApplicationCommandOptionType.String, value: id },
          ],
        },
      ],
    });
    const exportedFile = await s.discord.waitFor(() => exported.original()?.attachments[0]);
    expect((await sharp(exportedFile.data, { animated: true }).metadata()).pages).toBe(3);

    // The panel says it ended; the Enter button is off, and entering is refused.
    await eventually(async () => {
      const current = s.discord.message(panel.id)!;
      return current.embeds[0]!.fields!.find((f) => f.name === 'Phase')!.value.includes('Ended');
    });
    expect(await privateAnswer(s.discord.button({ customId: `session:enter:${id}`, message: panel, userId: CY }))).toContain('has ended');
  }, 180_000);
});
