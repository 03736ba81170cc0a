import { ApplicationCommandOptionType } from 'discord.js';
import { describe, expect, it } from 'vitest';
import { runSessionJob } from '../../src/features/sessions/jobs.js';
import { twoServers } from '../support/fake-discord.js';
import { eventually } from '../support/context.js';
import { ScriptedProvider } from '../support/scripted-provider.js';
import { useStack, type Stack } from '../support/stack.js';
import { botPost, customIds, enter, privateAnswer, resultOf, session, startSession, vote, votingMessage } from '../support/session.js';

const start = useStack();

// The host: startSession starts sessions as this member.
const ADA = '310000000000000001';
const BEA = '320000000000000002';
const CY = '320000000000000003';

const phaseOf = (s: Stack, panelId: string) => s.discord.message(panelId)!.embeds[0]!.fields!.find((field) => field.name === 'Phase')!.value;

describe('/session refuses what it should, privately, and changes nothing', () => {
  it('forged vote ids, another server, non-hosts, self-votes, double votes, huge themes and mentions', async () => {
    const s = await start({ discord: { guilds: twoServers() } });
    const [home, other] = s.discord.guilds as [(typeof s.discord.guilds)[0], (typeof s.discord.guilds)[0]];

    // A theme longer than Discord allows (a crafted interaction) starts nothing.
    const huge = session(s, 'start', { theme: 'x'.repeat(5000) }, { userId: ADA });
    expect(await privateAnswer(huge)).toContain('at most 200 characters');
    expect(s.discord.threads(s.discord.defaultChannelId)).toHaveLength(0);

    const theme = '<@320000000000000002> and @everyone paint <@&999999999999999999>';
    const { id, reply, thread } = await startSession(s, { theme, rounds: 2, mode: 'fresh', entries_per_round: 1 });
    expect(reply.content).toContain('<@320000000000000002> and @everyone');
    // Every post that echoes the theme pings nobody.
    for (const message of [reply, ...s.discord.messages(thread.id)]) expect(message.allowedMentions).toEqual({ parse: [] });
    // One session per thread: not from inside it.
    expect(await privateAnswer(session(s, 'start', { theme: 'again' }, { userId: ADA, channelId: thread.id }))).toContain('one session per thread');

    await enter(s, thread.id, ADA, 'a red door');
    await enter(s, thread.id, BEA, 'a blue door');
    // Non-hosts cannot run it; Manage Threads can.
    for (const sub of ['next', 'pause', 'end']) {
      expect(await privateAnswer(session(s, sub, {}, { userId: CY, channelId: thread.id }))).toContain('Only the host');
    }
    expect(await privateAnswer(session(s, 'twist', { text: 'upside down' }, { userId: CY, channelId: thread.id }))).toContain('Only the host');
    expect(await privateAnswer(session(s, 'next', {}, { userId: CY, channelId: thread.id, moderator: true }))).toContain('closing entries');
    const voting = await votingMessage(s, thread.id, 1);
    expect(customIds(voting)).toEqual([`session:vote:${id}:1:1`, `session:vote:${id}:1:2`]);

    // Forged and stale custom_ids.
    const click = (customId: string, userId = CY) => privateAnswer(s.discord.button({ customId, message: voting, userId }));
    expect(await click(`session:vote:${id}:1:9`)).toContain('There is no entry #9');
    expect(await click(`session:vote:${id}:2:1`)).toContain('Voting for round 2 is not open');
    expect(await click('session:vote:999999999999999999:1:1')).toContain('I do not know that session');
    expect(await click(`session:vote:${id}:1:0`)).not.toContain('is in');
    expect(await click(`session:vote:${id}:1:1:extra`)).not.toContain('is in');
    expect(await click(`session:vote:${id}:11:1`)).not.toContain('is in');
    // The same click, claimed to come from another server.
    const forged = s.discord.button({
      customId: `session:vote:${id}:1:1`,
      message: voting,
      userId: CY,
      forgedPlace: { guildId: other.id, channelId: other.channels[0]!.id },
    });
    expect(await privateAnswer(forged)).toContain('I do not know that session');
    const forgedForm = s.discord.modalSubmit({
      customId: `session:entry:${id}`,
      fields: { prompt: 'sneaky' },
      userId: CY,
      guildId: other.id,
      channelId: other.channels[0]!.id,
    });
    expect(await privateAnswer(forgedForm)).toContain('I do not know that session');
    // Host commands from another server's channel find nothing there.
    expect(await privateAnswer(session(s, 'next', {}, { userId: ADA, guildId: other.id, channelId: other.channels[0]!.id }))).toContain(
      "inside a session's thread",
    );
    // Self-votes and double votes.
    expect(await vote(s, voting, id, 1, 1, ADA)).toContain('your own entry');
    expect(await vote(s, voting, id, 1, 2, ADA)).toContain('is in');
    expect(await vote(s, voting, id, 1, 2, ADA)).toContain('already voted');
    expect(await vote(s, voting, id, 1, 1, BEA)).toContain('is in');
    expect(await s.ctx.sessions.tally(id, 1)).toEqual(
      new Map([
        [1, 1],
        [2, 1],
      ]),
    );
    expect(home.id).toBe(s.discord.defaultGuildId);
  });

  it('skips a round without entries and says so; pause stops entries and the clock; resume goes on', async () => {
    const s = await start();
    const { id, thread, panel } = await startSession(s, { theme: 'harbours', rounds: 2, mode: 'fresh' });
    expect(await privateAnswer(session(s, 'twist', { text: 'only blue' }, { userId: ADA, channelId: thread.id }))).toContain("Round 1's twist");
    await eventually(() => s.discord.message(panel.id)!.embeds[0]!.fields!.find((f) => f.name === 'Twist')!.value === 'only blue');

    await privateAnswer(session(s, 'next', {}, { userId: ADA, channelId: thread.id }));
    const skipped = await botPost(s, thread.id, /Round 1 had no entries, so it was skipped\. Round 2 follows\./);
    expect(skipped.allowedMentions).toEqual({ parse: [] });
    await botPost(s, thread.id, /Round 2 of 2/);
    await eventually(() => s.discord.message(panel.id)!.embeds[0]!.fields!.find((f) => f.name === 'Round')!.value === '2 of 2');

    expect(await privateAnswer(session(s, 'pause', {}, { userId: ADA, channelId: thread.id }))).toContain('Paused');
    await eventually(() => phaseOf(s, panel.id).startsWith('⏸ Paused'));
    const refused = s.discord.slashCommand({ name: 'imagine', userId: BEA, channelId: thread.id, options: { prompt: 'a boat' } });
    expect(await privateAnswer(refused)).toContain('The session is paused');
    expect(await privateAnswer(session(s, 'next', {}, { userId: ADA, channelId: thread.id }))).toContain('/session resume');
    expect(await privateAnswer(session(s, 'status', {}, { userId: BEA, channelId: thread.id }))).toMatch(/round 2 of 2 · entries, paused/);
    expect(await privateAnswer(session(s, 'resume', {}, { userId: ADA, channelId: thread.id }))).toMatch(/Resumed: this phase ends <t:\d+:R>/);
    await enter(s, thread.id, BEA, 'a boat');
    await eventually(async () => (await s.ctx.sessions.entries(id, 2))[0]?.state === 'ready');
    session(s, 'end', {}, { userId: ADA, channelId: thread.id });
    const recap = await botPost(s, thread.id, /Recap:/);
    expect(recap.content).toContain('No round had a winner this time.');
    expect(recap.content).toContain(`<@${BEA}>: 1 entry, 0 votes received, 0 rounds won`);
    expect((await s.ctx.sessions.get(id))!.phase).toBe('ended');
  });
});

describe('/session timers and records', () => {
  it('changes a phase once when its timer fires twice at the same moment, and refuses a forged payload', async () => {
    const s = await start();
    const { id, thread } = await startSession(s, { theme: 'bridges', rounds: 2, mode: 'fresh' });
    const job = { name: 'phase', data: { sessionId: id, round: 1, phase: 'entries', epoch: 0 } };
    const outcomes = await Promise.all([runSessionJob(s.ctx, job), runSessionJob(s.ctx, job), runSessionJob(s.ctx, job)]);
    expect(outcomes.filter((outcome) => outcome === 'moved')).toHaveLength(1);
    await botPost(s, thread.id, /Round 2 of 2/);
    expect(s.discord.messages(thread.id).filter((m) => /Round 1 had no entries/.test(m.content))).toHaveLength(1);
    expect((await s.ctx.sessions.get(id))!.round).toBe(2);
    // A deadline of a phase that is over changes nothing.
    expect(await runSessionJob(s.ctx, job)).toBe('unchanged');
    await expect(runSessionJob(s.ctx, { name: 'phase', data: { sessionId: id, round: 99, phase: 'entries', epoch: 0 } })).rejects.toThrow(
      'invalid session phase payload',
    );
  });

  it('/privacy delete-my-data removes the member’s session votes, their name and prompt from their entries, and them from the sessions they host', async () => {
    const s = await start();
    const { id, thread } = await startSession(s, { theme: 'kites', rounds: 1, mode: 'fresh' });
    await enter(s, thread.id, ADA, 'a red kite');
    await eventually(async () => (await s.ctx.sessions.entries(id, 1))[0]?.state === 'ready');
    await privateAnswer(session(s, 'next', {}, { userId: ADA, channelId: thread.id }));
    const voting = await votingMessage(s, thread.id, 1);
    expect(await vote(s, voting, id, 1, 1, BEA)).toContain('is in');
    const deleteMyData = async (userId: string) => {
      const ask = s.discord.slashCommand({
        name: 'privacy',
        userId,
        options: [{ name: 'delete-my-data', type: ApplicationCommandOptionType.Subcommand }],
      });
      const question = await ask.response();
      s.discord.button({ customId: question.data.components[0].components[0].custom_id, message: ask.original()!, userId });
      await s.discord.waitFor(() => ask.original()?.content.startsWith('🗑 Done') || undefined, 20_000, 'the deletion');
    };
    await deleteMyData(BEA);
    expect(await s.ctx.sessions.tally(id, 1)).toEqual(new Map());
    expect(await s.ctx.sessions.votes(id)).toEqual([]);
    await deleteMyData(ADA);
    const [entry] = await s.ctx.sessions.entries(id, 1);
    expect(entry!.userId).toBeUndefined();
    expect(entry!.userName).toBe('a former member');
    expect(entry!.prompt).toBe('');
    const stored = await s.ctx.db.selectFrom('session_entries').select(['user_id', 'user_name', 'prompt']).where('session_id', '=', id).execute();
    expect(stored).toEqual([{ user_id: null, user_name: null, prompt: null }]);
    expect((await s.ctx.sessions.get(id))!.hostId).toBeUndefined();

    // The session ends (a moderator runs it now that it has no host): its winner, saved as a
    // series, does not bring the name or the prompt back.
    await privateAnswer(session(s, 'next', {}, { userId: CY, channelId: thread.id, moderator: true }));
    const recap = await botPost(s, thread.id, /Recap:/);
    expect(recap.content).not.toContain('a red kite');
    const panels = await s.ctx.db.selectFrom('series_panels').select(['user_id', 'user_name', 'prompt']).where('series_id', '=', id).execute();
    expect(panels).toEqual([{ user_id: null, user_name: null, prompt: null }]);
    expect((await s.ctx.db.selectFrom('series').select('creator_id').where('id', '=', id).executeTakeFirstOrThrow()).creator_id).toBeNull();
  });

  it('ends the running sessions of a server that removed the bot, silently', async () => {
    // Removal is a gateway event: HTTP interactions alone never hear of it.
    const s = await start({ interactions: 'gateway' });
    const { id, thread } = await startSession(s, { theme: 'clouds', rounds: 2 });
    await enter(s, thread.id, BEA, 'a cloud');
    const posted = s.discord.messages(thread.id).length;
    s.discord.removeBotFromGuild(s.discord.defaultGuildId);
    await eventually(async () => (await s.ctx.sessions.get(id))!.phase === 'ended');
    const job = await s.ctx.sessionQueue.getJob(`session-${id}-r1-entries-e0`);
    expect(job).toBeUndefined();
    expect(s.discord.messages(thread.id)).toHaveLength(posted);
    expect((await s.ctx.sessions.get(id))!.recapMessageId).toBeUndefined();
  });

  it('ends a session whose thread was deleted at its next phase, quietly, and frees its place in the server’s limit', async () => {
    const s = await start();
    const admin = { userId: ADA, moderator: true };
    const config = s.discord.slashCommand({
      name: 'config',
      ...admin,
      options: [
        {
          name: 'sessions',
          type: ApplicationCommandOptionType.Subcommand,
          options: [{ name: 'max_running', type: ApplicationCommandOptionType.Integer, value: 1 }],
        },
      ],
    });
    await privateAnswer(config);
    const { id, thread } = await startSession(s, { theme: 'lanterns', rounds: 3, mode: 'fresh' });
    expect(await privateAnswer(session(s, 'start', { theme: 'a second one' }, { userId: BEA }))).toContain('runs 1 session already');

    // A moderator deletes the thread: nobody can enter, vote or /session end there any more.
    s.discord.deleteThread(thread.id);
    const job = { name: 'phase', data: { sessionId: id, round: 1, phase: 'entries', epoch: 0 } };
    expect(await runSessionJob(s.ctx, job)).toBe('moved');
    const ended = await eventually(async () => {
      const current = await s.ctx.sessions.get(id);
      return current?.phase === 'ended' ? current : undefined;
    });
    expect(ended.recapMessageId).toBeUndefined();
    expect(await s.ctx.sessionQueue.getJob(`session-${id}-r2-entries-e0`)).toBeUndefined();
    // Its place is free: a new session starts in the channel.
    const next = await startSession(s, { theme: 'a second one', rounds: 1 }, BEA);
    expect(next.thread.id).not.toBe(thread.id);
  });
});

describe('/session under load', () => {
  it("queues entries ahead of ordinary /imagine traffic, waits for stragglers (and says so), and opens the vote when they're in", async () => {
    const provider = new ScriptedProvider();
    const s = await start({ noWorker: true });
    const { id, thread, panel } = await startSession(s, { theme: 'storms', rounds: 1, mode: 'fresh' });
    // Ordinary requests from three members are waiting when the entry comes in.
    const ordinary = ['a', 'b', 'c'].map((tag, index) =>
      s.discord.slashCommand({ name: 'imagine', userId: `33000000000000000${index}`, options: { prompt: `ordinary ${tag}` } }),
    );
    for (const interaction of ordinary) await interaction.response();
    const entry = s.discord.slashCommand({ name: 'imagine', userId: ADA, channelId: thread.id, options: { prompt: 'the entry' } });
    expect((await entry.response()).data.content).toContain('Entry #1');
    expect(await privateAnswer(session(s, 'next', {}, { userId: ADA, channelId: thread.id }))).toContain('closing entries');
    await eventually(() => phaseOf(s, panel.id).includes('a round waits at most 2 minutes for stragglers'));
    expect((await s.ctx.sessions.get(id))!.phase).toBe('drawing');

    await s.startWorker(provider, { concurrency: 1 });
    await resultOf(s, thread.id, entry.id);
    expect(provider.requests[0]!.prompt).toBe('the entry');
    // The straggler arrived: the vote opens without waiting out the two minutes.
    await votingMessage(s, thread.id, 1);
    expect((await s.ctx.sessions.get(id))!.phase).toBe('voting');
  });

  it('stops waiting for a straggler when the host moves on: it misses the round and the round is skipped', async () => {
    const provider = new ScriptedProvider();
    const hold = provider.holdNext();
    const s = await start({ provider });
    const { id, thread } = await startSession(s, { theme: 'lanterns', rounds: 1, mode: 'fresh' });
    const entry = s.discord.slashCommand({ name: 'imagine', userId: BEA, channelId: thread.id, options: { prompt: 'slow lantern' } });
    await entry.response();
    await eventually(() => provider.requests.length > 0);
    await privateAnswer(session(s, 'next', {}, { userId: ADA, channelId: thread.id }));
    await eventually(async () => (await s.ctx.sessions.get(id))!.phase === 'drawing');
    await privateAnswer(session(s, 'next', {}, { userId: ADA, channelId: thread.id }));
    await botPost(s, thread.id, /Round 1 had no entry that finished drawing in time \(a round waits at most 2 minutes/);
    await botPost(s, thread.id, /Recap:/);
    hold.release();
    await resultOf(s, thread.id, entry.id);
    expect((await s.ctx.sessions.entries(id, 1))[0]!.state).toBe('missed');
  });

  it('applies the usual limits to entries and the per-server session limit', async () => {
    const s = await start();
    const admin = { userId: ADA, moderator: true };
    const config = (name: string, options: Array<{ name: string; type: ApplicationCommandOptionType; value: string | number }>) =>
      s.discord.slashCommand({ name: 'config', ...admin, options: [{ name, type: ApplicationCommandOptionType.Subcommand, options }] });
    expect(await privateAnswer(config('sessions', [{ name: 'max_running', type: ApplicationCommandOptionType.Integer, value: 1 }]))).toContain(
      'Up to 1 live session may run at once',
    );
    const blocked = s.discord.slashCommand({
      name: 'config',
      ...admin,
      options: [
        {
          name: 'blocklist',
          type: ApplicationCommandOptionType.SubcommandGroup,
          options: [
            {
              name: 'add',
              type: ApplicationCommandOptionType.Subcommand,
              options: [{ name: 'entry', type: ApplicationCommandOptionType.String, value: 'kraken' }],
            },
          ],
        },
      ],
    });
    await privateAnswer(blocked);
    const { id, thread } = await startSession(s, { theme: 'the deep sea', rounds: 1 });
    expect(await privateAnswer(session(s, 'start', { theme: 'a second one' }, { userId: BEA }))).toContain('runs 1 session already');
    const refused = s.discord.slashCommand({ name: 'imagine', userId: BEA, channelId: thread.id, options: { prompt: 'a kraken' } });
    expect(await privateAnswer(refused)).toContain('blocked on this server');
    expect(await s.ctx.sessions.entries(id)).toEqual([]);
    expect(await privateAnswer(session(s, 'start', { theme: 'a kraken rises' }, { userId: BEA }))).toContain('blocked on this server');
  });
});
