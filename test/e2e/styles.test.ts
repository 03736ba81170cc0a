import { MessageFlags } from 'discord.js';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { twoServers, type FakeInteraction, type FakeMessage } from '../support/fake-discord.js';
import { eventually } from '../support/context.js';
import { useStack, type Stack } from '../support/stack.js';
import { generateJobId } from '../../src/queues.js';

const start = useStack();

const BEA = '730000000000000002';
const CY = '730000000000000003';

async function resultOf(s: Stack, interactionId: string, channelId = s.discord.defaultChannelId): Promise<FakeMessage> {
  return s.discord.waitFor(() => {
    const message = s.discord.messages(channelId).find((m) => m.interactionId === interactionId);
    return message && message.attachments.length > 0 && message.content.startsWith('✅') ? message : undefined;
  }, 20_000);
}

async function expectPrivateError(interaction: FakeInteraction, pattern: RegExp) {
  const response = await interaction.response();
  expect(response.data.flags, JSON.stringify(response.data)).toBe(MessageFlags.Ephemeral);
  expect(response.data.content).toMatch(pattern);
}

function replyOf(s: Stack, interaction: FakeInteraction, text: string): Promise<FakeMessage> {
  return s.discord.waitFor(() => {
    const reply = interaction.original();
    return reply?.content.includes(text) ? reply : undefined;
  }, 20_000);
}

const codeOf = (message: FakeMessage) => /🎨 style `([0-9a-f]{10})`/.exec(message.content)?.[1];

async function colourDistance(a: Buffer, b: Buffer): Promise<number> {
  const [sa, sb] = await Promise.all([sharp(a).stats(), sharp(b).stats()]);
  return Math.hypot(...[0, 1, 2].map((c) => sa.channels[c]!.mean - sb.channels[c]!.mean));
}

describe('style codes and --sref end to end', () => {
  it('draws in a borrowed style, credits its author in the family and on /profile', async () => {
    const s = await start();
    const lender = s.discord.slashCommand({ name: 'imagine', userId: BEA, options: { prompt: 'crimson fire and lava', seed: 11 } });
    const lent = await resultOf(s, lender.id);
    const code = codeOf(lent)!;
    expect(code).toMatch(/^[0-9a-f]{10}$/);

    const plain = s.discord.slashCommand({ name: 'imagine', userId: CY, options: { prompt: 'a quiet lake in snow and ice', seed: 5 } });
    const plainResult = await resultOf(s, plain.id);
    const styled = s.discord.slashCommand({
      name: 'imagine',
      userId: CY,
      options: { prompt: `a quiet lake in snow and ice --sref ${code} --sw 1000`, seed: 5 },
    });
    const styledResult = await resultOf(s, styled.id);
    expect(styledResult.content).toContain('**a quiet lake in snow and ice**');
    expect(styledResult.content).toMatch(new RegExp(`🎨 style from https://discord.com/channels/\\d+/\\d+/${lent.id} by <@${BEA}> \\(--sw 1000\\)`));
    expect(styledResult.allowedMentions).toEqual({ parse: [] });
    // At full weight the picture takes the lent picture's colours: far closer to it than the same prompt and seed without.
    const lentBytes = lent.attachments[0]!.data;
    const withStyle = await colourDistance(styledResult.attachments[0]!.data, lentBytes);
    const without = await colourDistance(plainResult.attachments[0]!.data, lentBytes);
    expect(withStyle).toBeLessThan(without / 3);

    // A link works as well as a code; --sw 0 borrows the credit but not the look.
    const byLink = s.discord.slashCommand({
      name: 'imagine',
      userId: CY,
      options: {
        prompt: `a quiet lake in snow and ice --sref https://discord.com/channels/${lent.guildId}/${lent.channelId}/${lent.id} --sw 0`,
        seed: 5,
      },
    });
    const byLinkResult = await resultOf(s, byLink.id);
    expect(byLinkResult.content).toContain('(--sw 0)');
    expect(byLinkResult.attachments[0]!.data.equals(plainResult.attachments[0]!.data)).toBe(true);

    const family = s.discord.button({ customId: `img:family:${styled.id}`, message: styledResult, userId: CY });
    const tree = await replyOf(s, family, 'Family tree');
    expect(tree.content).toContain(`style from <@${BEA}>`);
    expect(tree.content).toMatch(/🎨 `[0-9a-f]{10}`/);

    // 🔁 Reroll keeps the borrowed style, and credits it again.
    const reroll = s.discord.button({ customId: `gen:reroll:${styled.id}`, message: styledResult, userId: CY });
    expect((await resultOf(s, reroll.id)).content).toContain(`by <@${BEA}> (--sw 1000)`);
    // A borrow counts once its request is archived as delivered, a moment after the post shows.
    const delivered = async () => (await s.ctx.db.selectFrom('requests').select('status').where('id', '=', reroll.id).executeTakeFirst())?.status;
    await eventually(async () => (await delivered()) === 'delivered', 10_000, 'the reroll archived as delivered');

    const profile = s.discord.slashCommand({ name: 'profile', userId: CY, options: { user: BEA } });
    expect((await replyOf(s, profile, 'Profile of')).content).toContain('🎨 3 styles borrowed by others');
    const own = s.discord.slashCommand({ name: 'profile', userId: CY });
    expect((await replyOf(s, own, 'Profile of')).content).toContain('🎨 0 styles borrowed by others');
  });

  it('refuses unknown codes, other servers’ pictures and bad --sw with a private error, queueing nothing', async () => {
    const s = await start({ discord: { guilds: twoServers() } });
    const [home, other] = s.discord.guilds;
    const general = home!.channels[0]!.id;
    const elsewhere = s.discord.slashCommand({ name: 'imagine', channelId: other!.channels[0]!.id, userId: BEA, options: { prompt: 'far away' } });
    const theirs = await resultOf(s, elsewhere.id, other!.channels[0]!.id);
    const theirCode = codeOf(theirs)!;
    const before = await s.ctx.db.selectFrom('requests').select('id').execute();

    const imagine = (prompt: string) => s.discord.slashCommand({ name: 'imagine', channelId: general, userId: CY, options: { prompt } });
    await expectPrivateError(imagine('a lake --sref 0123456789'), /no picture with the style code `0123456789`/);
    await expectPrivateError(imagine(`a lake --sref ${theirCode}`), new RegExp(`no picture with the style code \`${theirCode}\``));
    await expectPrivateError(
      imagine(`a lake --sref https://discord.com/channels/${theirs.guildId}/${theirs.channelId}/${theirs.id}`),
      /style code .* or a link/,
    );
    await expectPrivateError(imagine(`a lake --sref ${elsewhere.id}-1`), /style code .* or a link/);
    await expectPrivateError(imagine('a lake --sref <script>'), /style code .* or a link/);
    await expectPrivateError(imagine('a lake --sref'), /takes a style code/);
    for (const sw of ['1001', '-5', 'abc', '99999']) {
      await expectPrivateError(imagine(`a lake --sref ${theirCode} --sw ${sw}`), /`--sw` takes a whole number from 0 to 1000/);
    }
    await expectPrivateError(imagine('a lake --sw 200'), /give a `--sref` too/);

    expect(await s.ctx.db.selectFrom('requests').select('id').execute()).toEqual(before);
    expect(await s.ctx.db.selectFrom('style_borrows').selectAll().execute()).toEqual([]);
  });

  it('🔁 Reroll of a --sref or blend result whose picture was deleted since is refused privately, and charges nothing', async () => {
    const s = await start();
    const lender = s.discord.slashCommand({ name: 'imagine', userId: BEA, options: { prompt: 'crimson fire and lava', seed: 11 } });
    const lent = await resultOf(s, lender.id);
    const other = s.discord.slashCommand({ name: 'imagine', userId: BEA, options: { prompt: 'deep ocean blue', seed: 3 } });
    const otherResult = await resultOf(s, other.id);
    const styled = s.discord.slashCommand({ name: 'imagine', userId: CY, options: { prompt: `a quiet lake --sref ${codeOf(lent)!}`, seed: 5 } });
    const styledResult = await resultOf(s, styled.id);
    const link = (message: FakeMessage) => `https://discord.com/channels/${message.guildId}/${message.channelId}/${message.id}`;
    const blend = s.discord.slashCommand({ name: 'blend', userId: CY, options: { images: `${link(otherResult)} ${link(lent)}` } });
    const blendResult = await resultOf(s, blend.id);

    // The lent picture (the style, and the blend's second picture) is deleted by its author.
    await s.discord.button({ customId: `img:delete:${lender.id}`, message: lent, userId: BEA }).response();
    await eventually(async () => Boolean((await s.ctx.images.getRecord(`${lender.id}-1`))?.deletedAt), 10_000, 'the picture deleted');

    const quota = async () => {
      const answer = await s.discord.slashCommand({ name: 'quota', userId: CY }).response();
      expect(answer.data.flags).toBe(MessageFlags.Ephemeral);
      return answer.data.content as string;
    };
    const requests = () => s.ctx.db.selectFrom('requests').select('id').orderBy('id').execute();
    const before = { quota: await quota(), requests: await requests() };
    expect(before.quota).toMatch(/Images today:\*\* 98 of 100 left/);

    const rerollStyle = s.discord.button({ customId: `gen:reroll:${styled.id}`, message: styledResult, userId: CY });
    await expectPrivateError(rerollStyle, /style this borrowed was deleted/);
    const rerollBlend = s.discord.button({ customId: `gen:reroll:${blend.id}`, message: blendResult, userId: CY });
    await expectPrivateError(rerollBlend, /pictures this blend was made from was deleted/);

    expect({ quota: await quota(), requests: await requests() }).toEqual(before);
    for (const refused of [rerollStyle, rerollBlend]) {
      expect(await s.ctx.jobs.get(refused.id)).toBeUndefined();
      expect(await s.ctx.generateQueue.getJob(generateJobId(refused.id))).toBeUndefined();
    }
    expect(await s.ctx.images.readFile(`${lender.id}-1`)).toBeUndefined();
  });

  it('a style code saved in /settings is borrowed when no --sref is given, and said so; one this server does not know is left out', async () => {
    const s = await start();
    const lent = await resultOf(
      s,
      s.discord.slashCommand({ name: 'imagine', userId: BEA, options: { prompt: 'crimson fire and lava', seed: 11 } }).id,
    );
    const code = codeOf(lent)!;
    const save = (value: string) => s.discord.modalSubmit({ customId: `prefs:stylecode:${CY}`, fields: { code: value }, userId: CY }).response();

    expect((await save(code)).data.content).toContain(`Style code: \`${code}\``);
    const styled = s.discord.slashCommand({ name: 'imagine', userId: CY, options: { prompt: 'a quiet lake in snow and ice', seed: 5 } });
    const styledResult = await resultOf(s, styled.id);
    expect(styledResult.content).toMatch(new RegExp(`🎨 style from https://discord.com/channels/\\d+/\\d+/${lent.id} by <@${BEA}>`));
    const note = await s.discord.waitFor(() => styled.followUps()[0]);
    expect(note.ephemeral).toBe(true);
    expect(note.content).toContain(`style \`${code}\``);

    // A --sref given in the prompt wins over the saved one.
    const own = s.discord.slashCommand({ name: 'imagine', userId: CY, options: { prompt: `a quiet lake --sref ${codeOf(styledResult)!}`, seed: 5 } });
    expect((await resultOf(s, own.id)).content).toContain(`by <@${CY}>`);

    // A saved code no picture of this server has: the picture is drawn without a style, nothing is said of it.
    await save('0000000000');
    const plain = s.discord.slashCommand({ name: 'imagine', userId: CY, options: { prompt: 'a quiet lake in snow and ice', seed: 5 } });
    const plainResult = await resultOf(s, plain.id);
    expect(plainResult.content).not.toContain('style from');
    expect(plain.followUps()).toEqual([]);
    expect(s.discord.validationErrors).toEqual([]);
  });
});
