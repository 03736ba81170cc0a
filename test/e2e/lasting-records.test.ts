import { ApplicationCommandOptionType, InteractionResponseType, MessageFlags, PermissionFlagsBits } from 'discord.js';
import { afterEach, describe, expect, it } from 'vitest';
import { startPrivateRedis, type PrivateRedis } from '../../src/redis-server.js';
import type { FakeInteraction, InteractionActorOptions, RawCommandOption } from '../support/fake-discord.js';
import { useStack, type Stack } from '../support/stack.js';

const { Subcommand, SubcommandGroup, String: Str, Integer, Boolean: Bool, User } = ApplicationCommandOptionType;

// FLUSHALL must not touch the Redis other test files share: this file's bots get one of their own,
// stopped after the stack (after-hooks run last registered, first).
let redis: PrivateRedis | undefined;
afterEach(async () => {
  await redis?.stop();
  redis = undefined;
});
const start = useStack();

function subcommand(name: string, options: RawCommandOption[] = [], group?: string): RawCommandOption[] {
  const command = { name, type: Subcommand, options };
  return group ? [{ name: group, type: SubcommandGroup, options: [command] }] : [command];
}

const admin: InteractionActorOptions = { userId: '210000000000000001', moderator: true };

async function privateAnswer(interaction: FakeInteraction): Promise<string> {
  const response = await interaction.response();
  expect(response.type).toBe(InteractionResponseType.ChannelMessageWithSource);
  expect((response.data.flags ?? 0) & MessageFlags.Ephemeral).toBe(MessageFlags.Ephemeral);
  return response.data.content as string;
}

const config = (s: Stack, options: RawCommandOption[]) => privateAnswer(s.discord.slashCommand({ name: 'config', options, ...admin }));

describe('server settings and bans outlive Redis', () => {
  it('after Redis loses everything and the bot restarts, /config show answers as before and a ban still holds', async () => {
    redis = await startPrivateRedis({ ephemeral: true });
    const moderators = {
      id: '810000000000000001',
      name: 'Moderators',
      permissions: PermissionFlagsBits.ManageGuild | PermissionFlagsBits.ManageMessages,
      position: 2,
    };
    const s = await start({ noWorker: true, bot: { redisUrl: redis.url }, discord: { guilds: [{ roles: [moderators] }] } });
    // Like Discord's own bans: the moderator's highest role must be above the member's.
    s.discord.member(admin.userId!, { roles: [moderators.id] });
    const troll = s.discord.user({ username: 'troll' }).id;

    await config(
      s,
      subcommand('limits', [
        { name: 'daily_images', type: Integer, value: 7 },
        { name: 'running', type: Integer, value: 3 },
      ]),
    );
    await config(s, subcommand('add', [{ name: 'entry', type: Str, value: 'kraken' }], 'blocklist'));
    await config(s, subcommand('nsfw', [{ name: 'policy', type: Str, value: 'nowhere' }]));
    await config(s, subcommand('self-voting', [{ name: 'allowed', type: Bool, value: true }]));
    await config(s, subcommand('model', [{ name: 'name', type: Str, value: 'geometric' }]));
    const banned = s.discord.slashCommand({ name: 'mod', options: subcommand('ban', [{ name: 'user', type: User, value: troll }]), ...admin });
    expect(await privateAnswer(banned)).toContain('can no longer make pictures');
    const before = await config(s, subcommand('show'));
    expect(before).toContain('daily images: 7');

    await s.bot.ctx.redis.flushall();
    expect(await s.bot.ctx.redis.dbsize()).toBe(0);
    await s.restartBot();
    await s.discord.ready;

    expect(await config(s, subcommand('show'))).toBe(before);
    const refused = s.discord.slashCommand({ name: 'imagine', options: [{ name: 'prompt', type: Str, value: 'a cat' }], userId: troll });
    expect(await privateAnswer(refused)).toMatch(/moderator has stopped you/);
    const list = await privateAnswer(s.discord.slashCommand({ name: 'mod', options: subcommand('bans'), ...admin }));
    expect(list).toContain(`<@${troll}>`);
  });
});
