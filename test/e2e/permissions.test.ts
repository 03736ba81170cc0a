import { ApplicationCommandOptionType, InteractionResponseType, MessageFlags, PermissionFlagsBits } from 'discord.js';
import { describe, expect, it } from 'vitest';
import type { FakeInteraction, FakeRoleOptions } from '../support/fake-discord.js';
import { useStack, type Stack } from '../support/stack.js';

const start = useStack();
const { Subcommand, String: Str, User } = ApplicationCommandOptionType;

const MODERATORS: FakeRoleOptions = { id: '810000000000000001', name: 'Moderators', permissions: PermissionFlagsBits.ManageMessages, position: 5 };
const HELPERS: FakeRoleOptions = { id: '810000000000000002', name: 'Helpers', permissions: PermissionFlagsBits.ManageMessages, position: 3 };

const CREATOR = '820000000000000001';
const HELPER = '820000000000000002';
const CHIEF = '820000000000000003';
const OTHER_HELPER = '820000000000000004';
const NEWCOMER = '820000000000000005';
/** Manages messages in #mod-corner only, through a member overwrite there. */
const CORNER_MOD = '820000000000000006';

/** One server: #general, #mod-corner (where CORNER_MOD manages messages), #no-threads (nobody may start threads). */
async function server(): Promise<{ s: Stack; general: string; corner: string; noThreads: string }> {
  const everyone = '830000000000000001';
  const s = await start({
    discord: {
      guilds: [
        {
          id: everyone,
          roles: [MODERATORS, HELPERS],
          channels: [
            { name: 'general' },
            { name: 'mod-corner', permissionOverwrites: [{ id: CORNER_MOD, type: 1, allow: PermissionFlagsBits.ManageMessages }] },
            { name: 'no-threads', permissionOverwrites: [{ id: everyone, type: 0, deny: PermissionFlagsBits.CreatePublicThreads }] },
          ],
        },
      ],
    },
  });
  s.discord.member(HELPER, { roles: [HELPERS.id] });
  s.discord.member(OTHER_HELPER, { roles: [HELPERS.id] });
  s.discord.member(CHIEF, { roles: [MODERATORS.id] });
  const [general, corner, noThreads] = s.discord.guilds[0]!.channels.map((channel) => channel.id) as [string, string, string];
  return { s, general, corner, noThreads };
}

/** The interaction was refused privately; returns what it said. */
async function refused(interaction: FakeInteraction): Promise<string> {
  const response = await interaction.response();
  expect(response.type).toBe(InteractionResponseType.ChannelMessageWithSource);
  expect((response.data.flags ?? 0) & MessageFlags.Ephemeral).toBe(MessageFlags.Ephemeral);
  expect(response.data.allowed_mentions).toEqual({ parse: [] });
  return response.data.content as string;
}

function series(s: Stack, sub: string, options: Record<string, string>, actor: { userId: string; channelId: string }) {
  return s.discord.slashCommand({
    name: 'series',
    options: [{ name: sub, type: Subcommand, options: Object.entries(options).map(([name, value]) => ({ name, type: Str, value })) }],
    ...actor,
  });
}

function ban(s: Stack, moderatorId: string, targetId: string) {
  return s.discord.slashCommand({
    name: 'mod',
    userId: moderatorId,
    options: [{ name: 'ban', type: Subcommand, options: [{ name: 'user', type: User, value: targetId }] }],
  });
}

describe('members cannot use the bot to do what they may not do themselves', () => {
  it('/series create is refused where the member may not start threads, and nothing is made', async () => {
    const { s, noThreads } = await server();
    const attempt = series(s, 'create', { title: 'Forbidden comic' }, { userId: CREATOR, channelId: noThreads });
    expect(await refused(attempt)).toMatch(/You cannot start threads in this channel/);
    expect(s.discord.threads()).toHaveLength(0);
    expect(await s.ctx.series.ofGuild(s.discord.guilds[0]!.id, 10)).toHaveLength(0);
  });

  it('managing a series needs Manage Messages in the series’ own channel, not where the command is used', async () => {
    const { s, general, corner } = await server();
    const create = series(s, 'create', { title: 'Harbour tales' }, { userId: CREATOR, channelId: general });
    await s.discord.waitFor(() => (create.original()?.edits ?? 0) > 0 || undefined, 20_000);
    const [created] = await s.ctx.series.ofGuild(s.discord.guilds[0]!.id, 10);

    // A moderator of #mod-corner, naming the series from there, is not a moderator of #general.
    const fromCorner = series(s, 'close', { series: 'Harbour tales' }, { userId: CORNER_MOD, channelId: corner });
    expect(await refused(fromCorner)).toMatch(/Only the person who started this series, or a moderator of its channel/);
    expect((await s.ctx.series.get(created!.id))?.status).toBe('open');

    // A server moderator may, from anywhere.
    const chief = await series(s, 'close', { series: 'Harbour tales' }, { userId: CHIEF, channelId: corner }).response();
    expect(chief.data.content).toMatch(/closed with 0 of 8 panels/);
  });

  it('/mod ban refuses the server owner and members whose highest role is at or above the moderator’s, and bans nobody', async () => {
    const { s } = await server();
    const guild = s.discord.guilds[0]!;
    expect(await refused(ban(s, HELPER, guild.ownerId))).toMatch(/server owner cannot be banned/);
    expect(await refused(ban(s, HELPER, CHIEF))).toMatch(/only ban members whose highest role is below yours/);
    expect(await refused(ban(s, HELPER, OTHER_HELPER))).toMatch(/only ban members whose highest role is below yours/);
    expect(await refused(s.discord.slashCommand({ name: 'mod', userId: HELPER, options: [{ name: 'bans', type: Subcommand }] }))).toBe(
      'Nobody is banned from making pictures here.',
    );

    // Below them: allowed; and the owner outranks everyone.
    expect(await refused(ban(s, HELPER, NEWCOMER))).toMatch(/can no longer make pictures/);
    expect(await refused(ban(s, guild.ownerId, CHIEF))).toMatch(/can no longer make pictures/);
  });
});
