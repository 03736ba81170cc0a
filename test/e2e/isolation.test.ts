/**
 * Nothing leaks from one server to another: ids, links and forged clicks from another server reach
 * nothing, and a picture made in an age-restricted channel is never shown in an ordinary one.
 */
import { ChannelType, ComponentType, InteractionResponseType, MessageFlags, Routes } from 'discord.js';
import { strFromU8, unzipSync } from 'fflate';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { twoServers, type FakeChannel, type FakeInteraction, type FakeMessage } from '../support/fake-discord.js';
import { eventually } from '../support/context.js';
import { useStack, type Stack } from '../support/stack.js';

const start = useStack();

const startTwoServers = () => start({ discord: { guilds: twoServers() } });

/** The two servers' channels: general, art and the age-restricted after-dark. */
function places(s: Stack) {
  const [home, other] = s.discord.guilds;
  const channels = (guild: typeof home) => ({ id: guild!.id, general: guild!.channels[0]!, art: guild!.channels[1]!, adult: guild!.channels[2]! });
  return { home: channels(home), other: channels(other) };
}

const MEMBER_A = '710000000000001001';
const MEMBER_B = '710000000000001002';
const OUTSIDER = '710000000000002001';

type Row = { components?: Array<{ type: number; label?: string; custom_id?: string }> };
const voteLabel = (message: { components?: unknown[] }) =>
  (message.components ?? [])
    .flatMap((row) => (row as Row).components ?? [])
    .find((c) => c.type === ComponentType.Button && c.custom_id?.startsWith('img:vote:'))?.label;

/** /imagine in a channel; resolves with the interaction and its finished result message. */
async function imagine(s: Stack, channel: FakeChannel, prompt: string, userId = MEMBER_A) {
  const interaction = s.discord.slashCommand({ name: 'imagine', channelId: channel.id, userId, options: { prompt } });
  const result = await s.discord.waitFor(
    () => {
      const message = s.discord.messages(channel.id).find((m) => m.interactionId === interaction.id);
      return message && message.attachments.length > 0 && message.content.startsWith('✅') ? message : undefined;
    },
    20_000,
    `the result of "${prompt}"`,
  );
  return { interaction, result };
}

async function expectPrivateRefusal(interaction: FakeInteraction, pattern: RegExp) {
  const response = await interaction.response();
  expect(response.type, JSON.stringify(response)).toBe(InteractionResponseType.ChannelMessageWithSource);
  expect(response.data.flags).toBe(MessageFlags.Ephemeral);
  expect(response.data.content).toMatch(pattern);
}

describe('buttons check their server', () => {
  it('refuses a vote, remix or family click forged in another server, and the vote count and label stay unchanged', async () => {
    const s = await startTwoServers();
    const { home, other } = places(s);
    const { interaction, result } = await imagine(s, home.general, 'a harbour at dawn');
    const elsewhere = { channelId: other.general.id };

    for (const userId of [OUTSIDER, '710000000000002002', '710000000000002003']) {
      const vote = s.discord.button({ customId: `img:vote:${interaction.id}`, message: result, forgedPlace: elsewhere, userId });
      await expectPrivateRefusal(vote, /no longer know that picture/);
    }
    await expectPrivateRefusal(
      s.discord.button({ customId: `img:remix:${interaction.id}`, message: result, forgedPlace: elsewhere, userId: OUTSIDER }),
      /no longer know that picture/,
    );
    await expectPrivateRefusal(
      s.discord.button({ customId: `img:family:${interaction.id}`, message: result, forgedPlace: elsewhere, userId: OUTSIDER }),
      /no longer know that picture/,
    );

    expect(await s.ctx.votes.count(interaction.id)).toBe(0);
    expect(voteLabel(s.discord.message(result.id)!)).toBe('👍 0 Vote');
    expect(s.discord.message(result.id)!.edits).toBe(result.edits);
    // Nothing reached the other server's channels either.
    expect(s.discord.messages(other.general.id).filter((m) => !m.ephemeral)).toEqual([]);

    // The same click from the picture's own server still counts.
    const own = await s.discord.button({ customId: `img:vote:${interaction.id}`, message: result, userId: MEMBER_B }).response();
    expect(own.type).toBe(InteractionResponseType.DeferredMessageUpdate);
    await s.discord.waitFor(() => voteLabel(s.discord.message(result.id)!) === '👍 1 Vote');
  });
});

/** A private answer's text. */
async function privateAnswer(interaction: FakeInteraction): Promise<string> {
  const response = await interaction.response();
  expect(response.data.flags, JSON.stringify(response.data)).toBe(MessageFlags.Ephemeral);
  return response.data.content as string;
}

const linkTo = (message: FakeMessage) => `https://discord.com/channels/${message.guildId}/${message.channelId}/${message.id}`;
const UNKNOWN_JOB = '1000000000000000001';

describe('ids resolve pictures of the current server only', () => {
  it('/lineage answers another server’s picture id or link like an unknown one, privately, and posts nothing', async () => {
    const s = await startTwoServers();
    const { home, other } = places(s);
    const { interaction, result } = await imagine(s, home.art, 'a private sketch');
    const lineage = (image: string) =>
      privateAnswer(s.discord.slashCommand({ name: 'lineage', channelId: other.general.id, userId: OUTSIDER, options: { image } }));

    const unknownId = await lineage(`${UNKNOWN_JOB}-1`);
    expect(unknownId).toMatch(/do not know that picture/);
    expect(await lineage(`${interaction.id}-1`)).toBe(unknownId);
    const unknownLink = await lineage(`https://discord.com/channels/${home.id}/${home.art.id}/${UNKNOWN_JOB}`);
    expect(await lineage(linkTo(result))).toBe(unknownLink);
    expect(await lineage(result.id)).toBe(unknownLink);

    expect(s.discord.messages(other.general.id).filter((m) => !m.ephemeral)).toEqual([]);
    expect(s.discord.messages().some((m) => m.channelId !== home.art.id && m.content.includes(home.art.id))).toBe(false);
    // In its own server the same id works.
    const own = s.discord.slashCommand({ name: 'lineage', channelId: home.general.id, options: { image: `${interaction.id}-1` } });
    await own.response();
    await s.discord.waitFor(() => own.original()?.attachments.length);
    expect(own.original()!.ephemeral).toBe(false);
  });

  it('/challenge submit refuses another server’s picture exactly like an unknown one, and enters nothing', async () => {
    const s = await startTwoServers();
    const { home, other } = places(s);
    const challenge = (sub: string, options: Record<string, string>, moderator = false) =>
      s.discord.slashCommand({
        name: 'challenge',
        channelId: other.general.id,
        userId: MEMBER_A,
        moderator,
        options: [{ name: sub, type: 1, options: Object.entries(options).map(([name, value]) => ({ name, type: 3, value })) }],
      });
    expect(await privateAnswer(challenge('start', { theme: 'harbours' }, true))).toContain('Starting');
    await eventually(async () => (await s.ctx.challenges.active(other.id))?.phase === 'submissions', 10_000, 'entries open');
    // The same member made a picture in the first server after the announcement.
    const { result } = await imagine(s, home.general, 'a harbour at night', MEMBER_A);
    const file = result.attachments[0]!.filename;

    const unknownFile = await privateAnswer(challenge('submit', { image: `atelier-${UNKNOWN_JOB}-1.png` }));
    expect(await privateAnswer(challenge('submit', { image: file }))).toBe(unknownFile);
    const unknownLink = await privateAnswer(
      challenge('submit', { image: `https://discord.com/channels/${other.id}/${other.general.id}/${UNKNOWN_JOB}` }),
    );
    expect(await privateAnswer(challenge('submit', { image: linkTo(result) }))).toBe(unknownLink);
    // A link that claims this server but points into the other one reads the same.
    expect(await privateAnswer(challenge('submit', { image: `https://discord.com/channels/${other.id}/${home.general.id}/${result.id}` }))).toBe(
      unknownLink,
    );

    const active = await s.ctx.challenges.active(other.id);
    expect(await s.ctx.challenges.entriesOf(active!.id, MEMBER_A)).toEqual([]);
  });

  it('the remix form and /top reach no picture of another server', async () => {
    const s = await startTwoServers();
    const { home, other } = places(s);
    const { interaction, result } = await imagine(s, home.general, 'a secret garden');
    await s.discord.button({ customId: `img:vote:${interaction.id}`, message: result, userId: MEMBER_B }).response();
    const queuedBefore = await s.ctx.generateQueue.getJobCounts();

    const remix = s.discord.modalSubmit({
      customId: `img:remiximage:${interaction.id}-1`,
      channelId: other.general.id,
      userId: OUTSIDER,
      fields: { prompt: 'mine now', strength: '0.5' },
    });
    expect(await privateAnswer(remix)).toMatch(/no longer know that picture/);
    expect(await s.ctx.generateQueue.getJobCounts()).toEqual(queuedBefore);

    // A channel option naming the other server's channel lists nothing of it.
    const top = s.discord.slashCommand({
      name: 'top',
      channelId: other.general.id,
      userId: OUTSIDER,
      options: { period: 'all', channel: home.general.id },
    });
    await top.response();
    const answer = await s.discord.waitFor(() => (top.original()?.content.includes('Top pictures') ? top.original() : undefined));
    expect(answer.content).not.toContain('secret garden');
    expect(answer.content).not.toContain(result.id);
    expect(answer.attachments).toEqual([]);
  });
});

/** How much redder than green-blue a picture is, on average (the offline renderer paints "crimson fire" red). */
async function redness(png: Buffer): Promise<number> {
  const [r, g, b] = (await sharp(png).removeAlpha().stats()).channels;
  return r!.mean - (g!.mean + b!.mean) / 2;
}

const RED = 'crimson fire, crimson flames, red embers';
const TEAL = 'deep ocean teal, blue green lagoon';

/** A deferred command's reply, once filled in. */
function filledReply(s: Stack, interaction: FakeInteraction, what: string): Promise<FakeMessage> {
  return s.discord.waitFor(
    () => {
      const message = interaction.original();
      return message && message.edits > 0 ? message : undefined;
    },
    20_000,
    what,
  );
}

function seriesCommand(s: Stack, sub: string, values: Record<string, string | number>, channelId: string, userId = MEMBER_A) {
  const options = Object.entries(values).map(([name, value]) => ({ name, type: typeof value === 'number' ? 4 : 3, value }));
  return s.discord.slashCommand({ name: 'series', channelId, userId, options: [{ name: sub, type: 1, options }] });
}

/** One voted picture made in the age-restricted channel (red) and one in an ordinary channel (teal). */
async function votedPictures(s: Stack) {
  const { home } = places(s);
  const adult = await imagine(s, home.adult, RED);
  const plain = await imagine(s, home.general, TEAL, MEMBER_B);
  await s.discord.button({ customId: `img:vote:${adult.interaction.id}`, message: adult.result, userId: MEMBER_B }).response();
  await s.discord.button({ customId: `img:vote:${plain.interaction.id}`, message: plain.result, userId: MEMBER_A }).response();
  return { home, adult, plain };
}

describe('pictures from age-restricted channels stay in age-restricted channels', () => {
  it('/top leaves them out of ordinary channels and lists them in age-restricted ones', async () => {
    const s = await startTwoServers();
    const { home, adult, plain } = await votedPictures(s);
    expect(await s.ctx.images.getRecord(`${adult.interaction.id}-1`)).toMatchObject({ nsfw: true });
    expect(await s.ctx.images.getRecord(`${plain.interaction.id}-1`)).toMatchObject({ nsfw: false });

    // /top
    const top = async (channel: FakeChannel) => {
      const command = s.discord.slashCommand({ name: 'top', channelId: channel.id, options: { period: 'all' } });
      return filledReply(s, command, `/top in ${channel.name}`);
    };
    const ordinaryTop = await top(home.general);
    expect(ordinaryTop.content).not.toContain('crimson');
    expect(ordinaryTop.content).not.toContain(adult.result.id);
    expect(ordinaryTop.content).toContain(plain.result.id);
    const restrictedTop = await top(home.adult);
    expect(restrictedTop.content).toContain('crimson');
    expect(restrictedTop.content).toContain(adult.result.id);
    expect(await redness(restrictedTop.attachments[0]!.data)).toBeGreaterThan((await redness(ordinaryTop.attachments[0]!.data)) + 20);
    // The flag is part of the picture's row in PostgreSQL (age_restricted, never unknown): there are
    // no records without it any more.
  });

  it('/profile names them only in age-restricted channels', async () => {
    const s = await startTwoServers();
    const { home, adult } = await votedPictures(s);
    const profile = async (channel: FakeChannel) => {
      const command = s.discord.slashCommand({ name: 'profile', channelId: channel.id, userId: MEMBER_B, options: { user: MEMBER_A } });
      // The thumbnail takes a moment: the first answer is a deferral, the profile follows.
      await command.response();
      return s.discord.waitFor(() => (command.original()?.content.includes('Profile') ? command.original() : undefined));
    };
    const ordinaryProfile = await profile(home.general);
    expect(ordinaryProfile.content).not.toContain(adult.result.id);
    expect(ordinaryProfile.content).toContain('shown only in age-restricted channels');
    expect(ordinaryProfile.attachments).toEqual([]);
    const restrictedProfile = await profile(home.adult);
    expect(restrictedProfile.content).toContain(adult.result.id);
    expect(await redness(restrictedProfile.attachments[0]!.data)).toBeGreaterThan(40);
  });

  it('/lineage and 🌳 Family leave them out of ordinary channels, and work from them is refused there', async () => {
    const s = await startTwoServers();
    const { home, adult, plain } = await votedPictures(s);
    // /lineage of the picture itself: refused privately in an ordinary channel, shown in its own.
    const refused = s.discord.slashCommand({ name: 'lineage', channelId: home.general.id, options: { image: `${adult.interaction.id}-1` } });
    expect(await privateAnswer(refused)).toMatch(/age-restricted/);
    expect(s.discord.messages(home.general.id).filter((m) => m.interactionId === refused.id && !m.ephemeral)).toEqual([]);
    const shown = s.discord.slashCommand({ name: 'lineage', channelId: home.adult.id, options: { image: `${adult.interaction.id}-1` } });
    expect((await filledReply(s, shown, 'the family in its own channel')).content).toContain(adult.result.id);

    // A remix made in the age-restricted channel is a hidden tile in the ordinary picture's family.
    const remix = s.discord.modalSubmit({
      customId: `img:remiximage:${plain.interaction.id}-1`,
      channelId: home.adult.id,
      userId: MEMBER_A,
      fields: { prompt: 'the lagoon on fire', strength: '0.5' },
    });
    const child = await s.discord.waitFor(
      () => {
        const message = s.discord.messages(home.adult.id).find((m) => m.interactionId === remix.id);
        return message?.content.startsWith('✅') ? message : undefined;
      },
      20_000,
      'the remix',
    );
    await eventually(async () => (await s.ctx.lineage.childrenOf([`${plain.interaction.id}-1`])).length === 1, 5000, 'the remix in the family');
    const family = s.discord.button({ customId: `img:family:${plain.interaction.id}`, message: plain.result, userId: MEMBER_A });
    await family.response();
    const tree = await s.discord.waitFor(() => (family.original()?.attachments.length ? family.original() : undefined));
    expect(tree.content).toContain('2 pictures');
    expect(tree.content).toContain('shown only in age-restricted channels');
    expect(tree.content).not.toContain(child.id);
    const inAdult = s.discord.slashCommand({ name: 'lineage', channelId: home.adult.id, options: { image: `${plain.interaction.id}-1` } });
    expect((await filledReply(s, inAdult, 'the family in the age-restricted channel')).content).toContain(child.id);

    // Working from the picture in an ordinary channel is refused and queues nothing.
    const before = await s.ctx.generateQueue.getJobCounts();
    const stolen = s.discord.modalSubmit({
      customId: `img:remiximage:${adult.interaction.id}-1`,
      channelId: home.general.id,
      fields: { prompt: 'x', strength: '0.5' },
    });
    expect(await privateAnswer(stolen)).toMatch(/age-restricted/);
    expect(await s.ctx.generateQueue.getJobCounts()).toEqual(before);
  });

  it('marks a picture made in a thread by its parent channel, asking Discord (the bot keeps no channels in memory)', async () => {
    const s = await startTwoServers();
    const { home } = places(s);
    const threadIn = async (parent: FakeChannel) => {
      const { id } = (await s.ctx.rest.post(Routes.threads(parent.id), { body: { name: `in ${parent.name}`, type: ChannelType.PublicThread } })) as {
        id: string;
      };
      return s.discord.channel(id)!;
    };
    const adultThread = await threadIn(home.adult);
    const plainThread = await threadIn(home.general);
    const inAdult = await imagine(s, adultThread, 'embers in the dark');
    const inPlain = await imagine(s, plainThread, 'a quiet pond');
    expect(await s.ctx.images.getRecord(`${inAdult.interaction.id}-1`)).toMatchObject({ nsfw: true });
    expect(await s.ctx.images.getRecord(`${inPlain.interaction.id}-1`)).toMatchObject({ nsfw: false });
    // A thread's payload carries no flag of its own: its parent's comes from Discord.
    expect(s.discord.requests.some((r) => r.method === 'GET' && r.path === `/channels/${home.adult.id}`)).toBe(true);
    expect(s.bot.client.channels.cache.size).toBe(0);
  });

  it('series panels, completion posts and exports leave them out of ordinary channels, and show them in age-restricted ones', async () => {
    const s = await startTwoServers();
    const { home } = places(s);
    const create = seriesCommand(s, 'create', { title: 'Fire and water', panels: 2 }, home.general.id);
    await filledReply(s, create, 'the create reply');
    const thread = await s.discord.waitFor(() => s.discord.threads(home.general.id).at(-1));

    // 📚 Add to series on the age-restricted picture, where it was made.
    const adult = await imagine(s, home.adult, RED);
    const click = s.discord.button({ customId: `series:add:${adult.interaction.id}`, message: adult.result });
    await click.response();
    const pick = s.discord.stringSelect({ customId: `series:pick:${adult.interaction.id}:1`, values: [create.id], message: click.original()! });
    expect((await pick.response()).data.content).toMatch(/Added as panel 1 of 2/);
    const announced = await s.discord.waitFor(() => s.discord.messages(thread.id).find((m) => /Panel 1 of 2/.test(m.content)));
    expect(announced.attachments).toEqual([]);
    expect(announced.content).toContain('age-restricted');

    // The second panel completes it: the finished piece in the ordinary channel has a blank tile.
    const add = seriesCommand(s, 'add', { prompt: TEAL }, thread.id, MEMBER_B);
    await add.response();
    const completion = await s.discord.waitFor(
      () => s.discord.messages(home.general.id).find((m) => m.content.includes('is complete')),
      20_000,
      'the completion post',
    );
    expect(completion.content).not.toContain('crimson');
    const ordinaryPiece = await redness(completion.attachments[0]!.data);

    const view = seriesCommand(s, 'view', { series: 'Fire and water' }, home.adult.id);
    const restrictedPiece = await redness((await filledReply(s, view, 'the view in the age-restricted channel')).attachments[0]!.data);
    expect(restrictedPiece).toBeGreaterThan(ordinaryPiece + 20);

    const zip = seriesCommand(s, 'export', { format: 'zip' }, thread.id);
    const exported = unzipSync((await filledReply(s, zip, 'the zip export')).attachments[0]!.data);
    const manifest = strFromU8(exported['manifest.json']!);
    expect(manifest).not.toContain('crimson');
    expect(manifest).toContain('lagoon');
    expect(await redness(Buffer.from(exported['01.png']!))).toBeLessThan(10);
    const restrictedZip = seriesCommand(s, 'export', { format: 'zip', series: 'Fire and water' }, home.adult.id);
    expect(
      strFromU8(unzipSync((await filledReply(s, restrictedZip, 'the zip in the age-restricted channel')).attachments[0]!.data)['manifest.json']!),
    ).toContain('crimson');
  });

  it('a challenge in an ordinary channel refuses them, and its gallery and podium leave them out', async () => {
    const s = await startTwoServers();
    const { home } = places(s);
    const challenge = (sub: string, options: Record<string, string>, channelId: string, moderator = false) =>
      s.discord.slashCommand({
        name: 'challenge',
        channelId,
        userId: MEMBER_A,
        moderator,
        options: [{ name: sub, type: 1, options: Object.entries(options).map(([name, value]) => ({ name, type: 3, value })) }],
      });
    expect(await privateAnswer(challenge('start', { theme: 'fire' }, home.general.id, true))).toContain('Starting');
    await eventually(async () => (await s.ctx.challenges.active(home.id))?.phase === 'submissions', 10_000, 'entries open');
    const adult = await imagine(s, home.adult, RED);
    expect(await privateAnswer(challenge('submit', { image: adult.result.attachments[0]!.filename }, home.adult.id))).toMatch(/age-restricted/);
    const active = (await s.ctx.challenges.active(home.id))!;
    expect(await s.ctx.challenges.entriesOf(active.id, MEMBER_A)).toEqual([]);

    // A picture entered before the rule (or whose channel became age-restricted later) is a blank in the gallery.
    const legacy = await imagine(s, home.adult, `${RED}, again`);
    // Entries refer to the archive's picture rows, written just after the result was posted.
    await eventually(() => s.ctx.challenges.picture(`${legacy.interaction.id}-1`), 10_000, 'the archived picture');
    const result = await s.ctx.challenges.submit(
      active.id,
      { userId: MEMBER_A, imageId: `${legacy.interaction.id}-1`, jobId: legacy.interaction.id },
      Date.now(),
      5,
    );
    expect(result.ok).toBe(true);
    await challenge('end', {}, home.general.id, true).response();
    const entry = await s.discord.waitFor(() => s.discord.messages().find((m) => m.content.startsWith('**Entry #1**')), 20_000, 'the gallery entry');
    expect(entry.attachments).toEqual([]);
    expect(entry.content).toContain('age-restricted');
    // A vote puts the entry on the podium (an entry without votes never is), so the podium has to hide it.
    expect(await privateAnswer(s.discord.button({ customId: `challenge:vote:${active.id}:1`, message: entry, userId: MEMBER_B }))).toMatch(/vote/i);
    await challenge('end', {}, home.general.id, true).response();
    const results = await s.discord.waitFor(
      () => s.discord.messages(home.general.id).find((m) => m.attachments.some((a) => a.filename === 'podium.png')),
      20_000,
      'the podium',
    );
    expect(await redness(results.attachments[0]!.data)).toBeLessThan(10);
  });
});
