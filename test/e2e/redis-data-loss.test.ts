/**
 * Redis loses its data (FLUSHALL: no persistence, or a failover that dropped writes) while
 * requests wait and a challenge runs. Nothing can draw the lost requests any more: the archive
 * still has them, and the recovery sweep ends each one failed and tells its author privately,
 * once. The challenge's deadline and the weekly start come back from the archive.
 */
import { ApplicationCommandOptionType, ChannelType, MessageFlags } from 'discord.js';
import { describe, expect, it } from 'vitest';
import { hasLeftGuild } from '../../src/bot/guilds.js';
import { RECOVERY_GRACE_MS, recoverStrandedJobs, type Recovery } from '../../src/bot/recovery.js';
import { anonymiseRequests } from '../../src/features/pictures/store.js';
import { transitionJobId, weeklySchedulerId } from '../../src/features/challenges/timers.js';
import { eventually } from '../support/context.js';
import type { RawCommandOption } from '../support/fake-discord.js';
import { useStackOnOwnRedis, type Stack } from '../support/stack.js';

// FLUSHALL must not touch the Redis other test files share: this file's bot gets one of its own.
const { start, flushAll } = useStackOnOwnRedis();

const O = ApplicationCommandOptionType;
const ADA = '741000000000000001';
const BEA = '741000000000000002';
const KEEPER = '741000000000000009';
/** A server whose weekly schedule is in the archive, but which removed the bot while Redis was away. */
const GONE_GUILD = '741000000000000777';

const sub = (name: string, options: RawCommandOption[] = []): RawCommandOption[] => [{ name, type: O.Subcommand, options }];
const directMessagesTo = (s: Stack, userId: string) => s.discord.messages().filter((m) => s.discord.channel(m.channelId)?.recipientId === userId);

async function privateAnswer(interaction: { response(): Promise<{ data: { content?: string; flags?: number } }> }): Promise<string> {
  const { data } = await interaction.response();
  expect(data.flags).toBe(MessageFlags.Ephemeral);
  return data.content ?? '';
}

/** Sweeps (as a bot process does every few minutes) once the grace for young requests has passed. */
async function sweepUntil(s: Stack, id: string, expected: Recovery): Promise<void> {
  // The bot's own start-up sweep may hold the sweep lock for a moment: then this one does nothing.
  await eventually(
    async () => (await recoverStrandedJobs(s.ctx, Date.now() + RECOVERY_GRACE_MS + 1000)).get(id) === expected,
    10_000,
    `${id} ${expected}`,
  );
}

describe('a Redis that lost its data', () => {
  it('fails the requests it took with a private message to each author, once, and brings challenge timers back', async () => {
    // No worker: the requests wait in the queue when Redis loses it.
    const s = await start({ noWorker: true });
    const channel = s.discord.defaultChannelId;
    const guild = s.discord.defaultGuildId;
    for (const [id, username] of [
      [ADA, 'ada'],
      [BEA, 'bea'],
      [KEEPER, 'keeper'],
    ] as const) {
      s.discord.user({ id, username });
    }

    // A weekly schedule and a running challenge.
    const challenge = (name: string, options: RawCommandOption[] = []) =>
      s.discord.slashCommand({ name: 'challenge', userId: KEEPER, moderator: true, options });
    await privateAnswer(
      challenge('challenge', [
        {
          name: 'schedule',
          type: O.SubcommandGroup,
          options: sub('set', [
            { name: 'channel', type: O.Channel, value: channel },
            { name: 'weekday', type: O.Integer, value: 5 },
            { name: 'time', type: O.String, value: '18:30' },
            { name: 'timezone', type: O.String, value: 'Europe/Berlin' },
          ]),
        },
      ]),
    );
    await privateAnswer(challenge('challenge', sub('start', [{ name: 'theme', type: O.String, value: 'a lighthouse in fog' }])));
    const running = await eventually(
      async () => {
        const active = await s.ctx.challenges.active(guild);
        return active?.phase === 'submissions' ? active : undefined;
      },
      20_000,
      'the challenge announced',
    );
    await s.ctx.challenges.setSchedule(GONE_GUILD, {
      channelId: '741000000000000778',
      weekday: 1,
      time: '09:00',
      timezone: 'UTC',
      submitDays: 5,
      voteDays: 2,
    });

    // Two requests wait; Ada's prompt tries to ping everyone and to hide a link.
    const prompt = '@everyone [free nitro](https://nitro.example) a lighthouse in fog';
    const ada = s.discord.slashCommand({ name: 'imagine', userId: ADA, options: [{ name: 'prompt', type: O.String, value: prompt }] });
    const bea = s.discord.slashCommand({ name: 'imagine', userId: BEA, options: [{ name: 'prompt', type: O.String, value: 'a quiet harbour' }] });
    for (const interaction of [ada, bea]) await interaction.response();
    await eventually(async () => (await s.ctx.generateQueue.getJobCountByTypes('waiting', 'prioritized')) === 2, 10_000, 'both requests queued');

    // Redis loses everything; Bea deletes her data meanwhile (as /privacy does in the archive).
    await flushAll();
    await anonymiseRequests(s.database.db, BEA, Date.now());
    await s.restartBot();

    await sweepUntil(s, ada.id, 'lost');
    const notice = await s.discord.waitFor(() => directMessagesTo(s, ADA)[0], 10_000, 'a direct message to Ada');
    expect(s.discord.channel(notice.channelId)?.type).toBe(ChannelType.DM);
    expect(notice.content).toContain('was lost');
    expect(notice.content).toContain(`<#${channel}>`);
    expect(notice.content).toContain('a lighthouse in fog');
    // Her text is shown, not acted on: no ping, no disguised link.
    expect(notice.allowedMentions).toEqual({ parse: [] });
    expect(notice.content).not.toContain('](https://');
    const rows = await s.database.db.selectFrom('requests').select(['id', 'status', 'error_kind']).where('id', 'in', [ada.id, bea.id]).execute();
    expect(Object.fromEntries(rows.map((row) => [row.id, row.status]))).toEqual({ [ada.id]: 'failed', [bea.id]: 'cancelled' });
    // Bea deleted her data: nobody to tell, and nothing is sent.
    expect(directMessagesTo(s, BEA)).toHaveLength(0);

    // Another sweep finds nothing more to do: Ada is told once.
    expect((await recoverStrandedJobs(s.ctx, Date.now() + RECOVERY_GRACE_MS + 1000)).get(ada.id)).toBeUndefined();
    expect(directMessagesTo(s, ADA)).toHaveLength(1);

    // The challenge closes its entries when it was due to, and the weekly start is back.
    const deadline = await eventually(() => s.ctx.challengeQueue.getJob(transitionJobId(running.id, 'submissions')), 10_000, 'the deadline job');
    expect(await deadline.getState()).toBe('delayed');
    expect(deadline.timestamp + (deadline.opts.delay ?? 0)).toBeGreaterThanOrEqual(running.submissionsEndAt! - 1000);
    expect(deadline.timestamp + (deadline.opts.delay ?? 0)).toBeLessThanOrEqual(running.submissionsEndAt! + 1000);
    expect(await s.ctx.challengeQueue.getJobScheduler(weeklySchedulerId(guild))).toMatchObject({ pattern: '30 18 * * 5', tz: 'Europe/Berlin' });
    // The server that removed the bot gets no weekly start, and counts as left.
    expect(await s.ctx.challengeQueue.getJobScheduler(weeklySchedulerId(GONE_GUILD))).toBeFalsy();
    expect(await hasLeftGuild(s.ctx, GONE_GUILD)).toBe(true);
  });
});
