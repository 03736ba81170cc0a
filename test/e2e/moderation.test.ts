import {
  ApplicationCommandOptionType,
  ChannelType,
  ComponentType,
  InteractionResponseType,
  MessageFlags,
  PermissionFlagsBits,
  Routes,
} from 'discord.js';
import { describe, expect, it } from 'vitest';
import type { FakeInteraction, InteractionActorOptions, RawCommandOption } from '../support/fake-discord.js';
import { generateJobId } from '../../src/queues.js';
import { useStack, type Stack } from '../support/stack.js';

const start = useStack();

const { Subcommand, SubcommandGroup, String: Str, Integer, User } = ApplicationCommandOptionType;

function subcommand(name: string, options: RawCommandOption[] = [], group?: string): RawCommandOption[] {
  const command = { name, type: Subcommand, options };
  return group ? [{ name: group, type: SubcommandGroup, options: [command] }] : [command];
}

const admin: InteractionActorOptions = { userId: '210000000000000001', moderator: true };

function imagine(s: Stack, prompt: string, extra: Record<string, unknown> = {}) {
  return s.discord.slashCommand({ name: 'imagine', options: [{ name: 'prompt', type: Str, value: prompt }], ...extra });
}

/** The interaction was answered privately; returns what it said. */
async function privateAnswer(interaction: FakeInteraction): Promise<string> {
  const response = await interaction.response();
  expect(response.type).toBe(InteractionResponseType.ChannelMessageWithSource);
  expect((response.data.flags ?? 0) & MessageFlags.Ephemeral).toBe(MessageFlags.Ephemeral);
  expect(response.data.allowed_mentions).toEqual({ parse: [] });
  return response.data.content as string;
}

async function queueSize(s: Stack): Promise<number> {
  const counts = await s.ctx.generateQueue.getJobCounts('waiting', 'prioritized', 'active', 'delayed', 'completed', 'failed');
  return Object.values(counts).reduce((sum, count) => sum + count, 0);
}

/** Asserts that a refused /imagine left no trace: no record, no job. */
async function expectNothingQueued(s: Stack, interaction: FakeInteraction, before: number) {
  expect(await s.ctx.jobs.get(interaction.id)).toBeUndefined();
  expect(await s.ctx.generateQueue.getJob(generateJobId(interaction.id))).toBeUndefined();
  expect(await queueSize(s)).toBe(before);
}

async function resultOf(s: Stack, interaction: FakeInteraction) {
  return s.discord.waitFor(() => {
    const message = interaction.original();
    return message && message.attachments.length > 0 && message.content.startsWith('✅') ? message : undefined;
  }, 20_000);
}

describe('server settings, limits and moderation end to end', () => {
  it('refuses /config to members without Manage Server, and applies an admin’s change', async () => {
    const s = await start({ noWorker: true });
    const refused = s.discord.slashCommand({ name: 'config', options: subcommand('limits', [{ name: 'daily_images', type: Integer, value: 1 }]) });
    expect(await privateAnswer(refused)).toMatch(/Manage Server/);
    expect((await s.ctx.settings.get(s.discord.defaultGuildId)).dailyImages).toBe(100);

    const applied = s.discord.slashCommand({
      name: 'config',
      options: subcommand('limits', [{ name: 'daily_images', type: Integer, value: 1 }]),
      ...admin,
    });
    expect(await privateAnswer(applied)).toMatch(/Limits updated[\s\S]*daily images: 1/);
    const shown = await privateAnswer(s.discord.slashCommand({ name: 'config', options: subcommand('show'), ...admin }));
    expect(shown).toContain('**Per member:** 2 generating at once, 10 waiting, daily images: 1');
    expect(shown).toContain('**NSFW prompts:** Only in age-restricted channels');
  });

  it('refuses a request over the daily quota privately, saying when it resets, and /quota agrees', async () => {
    const s = await start();
    await privateAnswer(
      s.discord.slashCommand({ name: 'config', options: subcommand('limits', [{ name: 'daily_images', type: Integer, value: 1 }]), ...admin }),
    );
    const first = imagine(s, 'a lighthouse in fog');
    await resultOf(s, first);

    const before = await queueSize(s);
    const second = imagine(s, 'another lighthouse');
    expect(await privateAnswer(second)).toMatch(/used all 1 of your images for today\. Your quota resets <t:\d+:R>/);
    await expectNothingQueued(s, second, before);

    const quota = await privateAnswer(s.discord.slashCommand({ name: 'quota' }));
    expect(quota).toMatch(/Images today:\*\* 0 of 1 left · resets <t:\d+:R>/);
    expect(quota).toMatch(/Server budget:\*\* 999 of 1000 units left/);
  });

  it('refuses a blocked word without echoing it, and NSFW prompts outside age-restricted channels', async () => {
    const s = await start({
      noWorker: true,
      discord: { guilds: [{ channels: [{ name: 'general' }, { name: 'after-dark', nsfw: true }] }] },
    });
    const added = s.discord.slashCommand({
      name: 'config',
      options: subcommand('add', [{ name: 'entry', type: Str, value: 'Dragon' }], 'blocklist'),
      ...admin,
    });
    expect(await privateAnswer(added)).toMatch(/Blocked `dragon`/);
    const lookaround = s.discord.slashCommand({
      name: 'config',
      options: subcommand('add', [{ name: 'entry', type: Str, value: '/(?<!sea)horse/' }], 'blocklist'),
      ...admin,
    });
    expect(await privateAnswer(lookaround)).toMatch(/Look-ahead and look-behind .* are not allowed/);
    expect((await s.ctx.settings.get(s.discord.defaultGuildId)).blocklist).toEqual(['dragon']);

    // 200 characters that spell out as 3,600 once normalised are refused, not screened in part.
    const stretched = imagine(s, '\uFDFA'.repeat(200));
    expect(await privateAnswer(stretched)).toMatch(/too long once special characters are spelled out/);
    await expectNothingQueued(s, stretched, 0);

    const blocked = imagine(s, 'a red dragon @everyone');
    const answer = await privateAnswer(blocked);
    expect(answer).toMatch(/blocked on this server/);
    expect(answer.toLowerCase()).not.toContain('dragon');
    await expectNothingQueued(s, blocked, 0);

    const nsfw = imagine(s, 'a nude marble statue');
    expect(await privateAnswer(nsfw)).toMatch(/only in age-restricted channels/);
    await expectNothingQueued(s, nsfw, 0);

    const adultChannel = s.discord.guilds[0]!.channels[1]!.id;
    const allowed = imagine(s, 'a nude marble statue', { channelId: adultChannel });
    expect((await allowed.response()).data.content).toMatch(/Queued/);
    expect(s.discord.messages(s.discord.defaultChannelId).filter((m) => !m.ephemeral)).toHaveLength(0);
  });

  it('a thread takes its parent channel’s age restriction: NSFW prompts are accepted in one of an age-restricted channel only', async () => {
    const s = await start({
      noWorker: true,
      discord: { guilds: [{ channels: [{ name: 'general' }, { name: 'after-dark', nsfw: true }] }] },
    });
    await s.ctx.settings.update(s.discord.defaultGuildId, { nsfw: 'age-restricted' });
    const [general, adult] = s.discord.guilds[0]!.channels;
    const threadIn = async (parentId: string) =>
      ((await s.ctx.rest.post(Routes.threads(parentId), { body: { name: 'a thread', type: ChannelType.PublicThread } })) as { id: string }).id;
    const adultThread = await threadIn(adult!.id);
    const plainThread = await threadIn(general!.id);

    const allowed = imagine(s, 'a nude marble statue', { channelId: adultThread });
    expect((await allowed.response()).data.content).toMatch(/Queued/);
    expect((await s.ctx.jobs.get(allowed.id))?.nsfw).toBe(true);

    const before = await queueSize(s);
    const refused = imagine(s, 'a nude marble statue', { channelId: plainThread });
    expect(await privateAnswer(refused)).toMatch(/only in age-restricted channels/);
    await expectNothingQueued(s, refused, before);
    expect(s.discord.messages(plainThread).filter((m) => !m.ephemeral)).toHaveLength(0);
  });

  it('lets moderators ban and unban a member; others cannot', async () => {
    const moderators = { id: '810000000000000001', name: 'Moderators', permissions: PermissionFlagsBits.ManageMessages, position: 2 };
    const s = await start({ noWorker: true, discord: { guilds: [{ roles: [moderators] }, {}] } });
    // Like Discord's own bans: the moderator's highest role must be above the member's.
    s.discord.member('210000000000000002', { roles: [moderators.id] });
    const troll = s.discord.user({ username: 'troll' }).id;
    const banOptions = subcommand('ban', [{ name: 'user', type: User, value: troll }]);

    const notAllowed = s.discord.slashCommand({ name: 'mod', options: banOptions });
    expect(await privateAnswer(notAllowed)).toMatch(/Only moderators/);

    const banned = s.discord.slashCommand({ name: 'mod', options: banOptions, userId: '210000000000000002', moderator: true });
    expect(await privateAnswer(banned)).toContain(`🚫 <@${troll}> can no longer make pictures`);

    const refused = imagine(s, 'a cat', { userId: troll });
    expect(await privateAnswer(refused)).toMatch(/moderator has stopped you/);
    await expectNothingQueued(s, refused, 0);
    // The ban is this server's: on another server the member still makes pictures.
    const elsewhere = imagine(s, 'a cat', { userId: troll, channelId: s.discord.guilds[1]!.channels[0]!.id });
    expect((await elsewhere.response()).data.content).toMatch(/Queued/);
    // A ban covers the whole bot, not just /imagine, but the member can still delete their data.
    expect(await privateAnswer(s.discord.slashCommand({ name: 'quota', userId: troll }))).toMatch(/moderator has stopped you/);
    expect(await privateAnswer(s.discord.slashCommand({ name: 'help', userId: troll }))).toMatch(/Atelier/);

    const unbanned = s.discord.slashCommand({
      name: 'mod',
      options: subcommand('unban', [{ name: 'user', type: User, value: troll }]),
      moderator: true,
      userId: '210000000000000002',
    });
    expect(await privateAnswer(unbanned)).toMatch(/can make pictures here again/);
    expect((await imagine(s, 'a cat', { userId: troll }).response()).data.content).toMatch(/Queued/);
  });

  it('refuses /mod, /config and running challenges to a member given the permission by one channel only, and changes nothing', async () => {
    const helpers = { id: '811000000000000001', name: 'Channel helpers', permissions: 0n, position: 2 };
    const moderators = { id: '811000000000000002', name: 'Moderators', permissions: PermissionFlagsBits.ManageMessages, position: 3 };
    const guild = {
      roles: [helpers, moderators],
      // #general lets its helpers (and one member by name) manage messages; the server does not.
      channels: [
        {
          name: 'general',
          permissionOverwrites: [
            { id: helpers.id, type: 0 as const, allow: PermissionFlagsBits.ManageMessages | PermissionFlagsBits.ManageGuild },
            { id: '211000000000000004', type: 1 as const, allow: PermissionFlagsBits.ManageMessages },
          ],
        },
      ],
    };
    const s = await start({ noWorker: true, discord: { guilds: [guild] } });
    const helper = '211000000000000003';
    s.discord.member(helper, { roles: [helpers.id] });
    s.discord.member('211000000000000004', {});
    s.discord.member('211000000000000005', { roles: [moderators.id] });
    const troll = s.discord.user({ username: 'troll' }).id;
    const ban = subcommand('ban', [{ name: 'user', type: User, value: troll }]);

    for (const userId of [helper, '211000000000000004']) {
      // Discord sends the permissions they have in this channel: Manage Messages, from the overwrite.
      const asked = s.discord.slashCommand({ name: 'mod', options: ban, userId });
      expect(BigInt(asked.payload.member!.permissions) & PermissionFlagsBits.ManageMessages).toBe(PermissionFlagsBits.ManageMessages);
      expect(await privateAnswer(asked)).toMatch(/whole server.*Manage Messages on the server/);
      expect(await privateAnswer(s.discord.slashCommand({ name: 'mod', options: subcommand('bans'), userId }))).toMatch(/whole server/);
    }
    expect(await s.database.db.selectFrom('bans').selectAll().execute()).toEqual([]);
    expect((await imagine(s, 'a cat', { userId: troll }).response()).data.content).toMatch(/Queued/);

    // Manage Server given by the same overwrite: no server settings, no challenge.
    const config = s.discord.slashCommand({
      name: 'config',
      userId: helper,
      options: subcommand('sessions', [{ name: 'max_running', type: Integer, value: 20 }]),
    });
    expect(await privateAnswer(config)).toMatch(/`\/config` acts on the whole server: it needs Manage Server on the server/);
    expect((await s.ctx.settings.fresh(s.discord.defaultGuildId)).maxSessions).toBe(3);
    const challenge = s.discord.slashCommand({
      name: 'challenge',
      userId: helper,
      options: subcommand('start', [{ name: 'theme', type: Str, value: 'rain' }]),
    });
    expect(await privateAnswer(challenge)).toMatch(/`\/challenge start` acts on the whole server: it needs Manage Server on the server/);
    expect(await s.ctx.challenges.active(s.discord.defaultGuildId)).toBeUndefined();

    // A moderator of the server bans as before.
    const banned = s.discord.slashCommand({ name: 'mod', options: ban, userId: '211000000000000005' });
    expect(await privateAnswer(banned)).toContain(`🚫 <@${troll}> can no longer make pictures`);
  });

  it('slows down a member who asks for pictures too fast, and one who sends anything else too fast', async () => {
    const s = await start({
      noWorker: true,
      bot: { rateLimit: { burst: 2, refillMs: 60_000 }, interactionRateLimit: { burst: 4, refillMs: 60_000 } },
    });
    expect((await imagine(s, 'a cat').response()).data.content).toMatch(/Queued/);
    expect((await imagine(s, 'a dog').response()).data.content).toMatch(/Queued/);
    const third = imagine(s, 'a cow');
    expect(await privateAnswer(third)).toMatch(/Slow down a little: you can ask for pictures again in 30 s/);
    await expectNothingQueued(s, third, 2);
    // Asking for pictures is spent; the rest of Atelier still answers, up to its own allowance.
    expect(await privateAnswer(s.discord.slashCommand({ name: 'quota' }))).toMatch(/Images today/);
    expect(await privateAnswer(s.discord.slashCommand({ name: 'quota' }))).toMatch(/Slow down a little: you can use Atelier again in 15 s/);
    // Someone else is not affected.
    expect(await privateAnswer(s.discord.slashCommand({ name: 'quota', userId: '210000000000000003' }))).toMatch(/Images today/);
  });

  it('/privacy delete-my-data asks first, then deletes the member’s pictures from Discord and the stores', async () => {
    const s = await start();
    const made = imagine(s, 'a picture to forget');
    const result = await resultOf(s, made);
    const imageIds = (await s.ctx.jobs.get(made.id))!.imageIds;

    const ask = s.discord.slashCommand({ name: 'privacy', options: subcommand('delete-my-data') });
    const question = await ask.response();
    expect(question.data.flags & MessageFlags.Ephemeral).toBe(MessageFlags.Ephemeral);
    const button = question.data.components[0].components[0];
    expect(button).toMatchObject({ type: ComponentType.Button, custom_id: 'privacy:delete-my-data' });
    // Asking changed nothing yet.
    expect(s.discord.message(result.id)).toBeDefined();

    const confirm = s.discord.button({ customId: button.custom_id, message: ask.original()! });
    await s.discord.waitFor(() => ask.original()?.content.startsWith('🗑 Done') || undefined);
    expect(ask.original()!.content).toContain('pictures deleted: 1');
    expect(confirm.callback).toBeDefined();
    expect(s.discord.message(result.id)).toBeUndefined();
    // The request stays in the history without its author or prompt.
    const left = await s.ctx.jobs.get(made.id);
    expect(left?.userId).not.toBe(s.discord.defaultUser.id);
    expect(left?.prompt ?? '').toBe('');
    // Anonymous tombstones keep the pictures' places in families and series.
    for (const id of imageIds) expect(await s.ctx.images.getRecord(id)).toMatchObject({ userId: 'deleted', prompt: '', deletedBy: 'privacy' });
    for (const id of imageIds) expect(await s.ctx.images.bytes(id)).toBeUndefined();
  });
});
