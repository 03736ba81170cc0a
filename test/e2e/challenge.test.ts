import { ApplicationCommandOptionType, MessageFlags } from 'discord.js';
import sharp from 'sharp';
import { afterEach, describe, expect, it } from 'vitest';
import { seasonOf } from '../../src/features/challenges/model.js';
import type { FakeMessage } from '../support/fake-discord.js';
import { Stack } from '../support/stack.js';

let stack: Stack | undefined;

afterEach(async () => {
  if (stack) expect(stack.discord.validationErrors).toEqual([]);
  await stack?.close();
  stack = undefined;
});

const O = ApplicationCommandOptionType;
const THEME = 'a city under the sea';

function challenge(
  s: Stack,
  sub: string,
  userId: string,
  options: Array<{ name: string; type: ApplicationCommandOptionType; value: string | number }> = [],
  moderator = false,
) {
  return s.discord.slashCommand({ name: 'challenge', userId, moderator, options: [{ name: sub, type: O.Subcommand, options }] });
}

function customIds(message: { components?: unknown[] }): string[] {
  return (message.components ?? []).flatMap((row) =>
    ((row as { components?: Array<{ custom_id?: string }> }).components ?? []).map((c) => c.custom_id ?? ''),
  );
}

/** /imagine as this member, until the result is in the channel. */
async function imagine(s: Stack, userId: string, prompt: string): Promise<FakeMessage> {
  const interaction = s.discord.slashCommand({ name: 'imagine', userId, options: [{ name: 'prompt', type: O.String, value: prompt }] });
  return s.discord.waitFor(
    () => {
      const message = s.discord.messages(s.discord.defaultChannelId).find((m) => m.interactionId === interaction.id);
      return message && message.attachments.length > 0 && message.content.startsWith('✅') ? message : undefined;
    },
    20_000,
    `the result of "${prompt}"`,
  );
}

async function privateAnswer(interaction: { response(): Promise<{ data: { content: string; flags?: number } }> }): Promise<string> {
  const { data } = await interaction.response();
  expect(data.flags).toBe(MessageFlags.Ephemeral);
  return data.content;
}

describe('a whole challenge through the real bot and the fake Discord', () => {
  it('announces, takes three entries, shows an anonymous gallery, counts votes and crowns the winners', async () => {
    const s = (stack = await Stack.start());
    await s.discord.ready;
    const channel = s.discord.defaultChannelId;
    const admin = s.discord.user({ username: 'mod' }).id;
    const [ada, bea, cy] = ['ada2', 'bea', 'cy'].map((username) => s.discord.user({ username }).id) as [string, string, string];

    // Members cannot run challenges.
    const refused = await privateAnswer(challenge(s, 'start', ada, [{ name: 'theme', type: O.String, value: THEME }]));
    expect(refused).toContain('**Manage Server**');
    expect(await s.ctx.challenges.active(s.discord.defaultGuildId)).toBeUndefined();

    // 1. Announce.
    expect(await privateAnswer(challenge(s, 'start', admin, [{ name: 'theme', type: O.String, value: THEME }], true))).toContain(
      `Starting **${THEME}**`,
    );
    const announcement = await s.discord.waitFor(
      () => s.discord.messages(channel).find((m) => m.embeds[0]?.title?.includes(THEME)),
      10_000,
      'the announcement',
    );
    expect(announcement.embeds[0]!.fields!.map((field) => field.value).join(' ')).toMatch(/<t:\d+:R>.*<t:\d+:R>/);
    const thread = await s.discord.waitFor(() => s.discord.threads(channel)[0], 10_000, 'the entries thread');
    expect(thread.id).toBe(announcement.id);

    // 2. Three members make pictures and enter them: two by command, one with the button.
    const results = {
      [ada]: await imagine(s, ada, 'a drowned cathedral, teal light'),
      [bea]: await imagine(s, bea, 'coral towers at dusk'),
      [cy]: await imagine(s, cy, 'a submarine tram, crimson lamps'),
    };
    const fileOf = (message: FakeMessage) => message.attachments[0]!.filename;
    expect(await privateAnswer(challenge(s, 'submit', ada, [{ name: 'image', type: O.String, value: fileOf(results[ada]!) }]))).toContain(
      'Entered as **#1**',
    );
    expect(await privateAnswer(challenge(s, 'submit', bea, [{ name: 'image', type: O.String, value: fileOf(results[bea]!) }]))).toContain(
      'Entered as **#2**',
    );
    const submitButton = customIds(results[cy]!).find((id) => id.startsWith('challenge:submit:'))!;
    expect(submitButton).toBe(`challenge:submit:${results[cy]!.interactionId}`);
    // Someone else's result cannot be entered with its button.
    expect(await privateAnswer(s.discord.button({ customId: submitButton, message: results[cy]!, userId: ada }))).toContain(
      'Only the person who made this picture',
    );
    expect(await privateAnswer(s.discord.button({ customId: submitButton, message: results[cy]!, userId: cy }))).toContain('Entered as **#3**');
    expect(await privateAnswer(challenge(s, 'status', bea))).toContain('3 entries; yours: #2');

    // 3. Voting: the admin ends the entries; the gallery shows pictures without authors.
    expect(await privateAnswer(challenge(s, 'end', admin, [], true))).toContain('closing entries');
    const gallery = await s.discord.waitFor(
      () => {
        const posted = s.discord.messages(thread.id);
        return posted.length === 3 ? posted : undefined;
      },
      15_000,
      'the gallery',
    );
    for (const [index, entry] of gallery.entries()) {
      expect(entry.content).toBe(`**Entry #${index + 1}**`);
      expect(entry.attachments).toHaveLength(1);
      expect(JSON.stringify([entry.content, entry.attachments.map((a) => a.filename), entry.components])).not.toMatch(
        new RegExp(`${ada}|${bea}|${cy}`),
      );
    }
    const vote = (entry: number, userId: string) =>
      privateAnswer(s.discord.button({ customId: customIds(gallery[entry - 1]!)[0]!, message: gallery[entry - 1]!, userId }));
    expect(await vote(2, ada)).toContain('Your vote for entry **#2** is in');
    expect(await vote(2, cy)).toContain('is in');
    expect(await vote(3, bea)).toContain('is in');
    expect(await vote(2, ada)).toContain('already voted');
    expect(await vote(1, ada)).toContain('your own entry');
    expect(await privateAnswer(s.discord.button({ customId: 'challenge:vote:999:1', message: gallery[0]!, userId: bea }))).toContain(
      'do not know that challenge',
    );

    // 4. Results: the podium picture, the winners named and pinged, the leaderboard updated.
    expect(await privateAnswer(challenge(s, 'end', admin, [], true))).toContain('closing the vote');
    const resultsMessage = await s.discord.waitFor(
      () => s.discord.messages(channel).find((m) => m.content.includes('**Results:')),
      15_000,
      'the results',
    );
    expect(resultsMessage.content).toContain(`🥇 <@${bea}> · entry #2 · 2 votes`);
    expect(resultsMessage.content).toContain(`🥈 <@${cy}> · entry #3 · 1 vote`);
    // Nobody voted for #1: it is in the running, not on the podium.
    expect(resultsMessage.content).toContain(`Also in the running: #1 <@${ada}> (0)`);
    expect(resultsMessage.content).not.toContain('🥉');
    expect(resultsMessage.allowedMentions).toEqual({ users: [bea, cy] });
    expect(resultsMessage.attachments.map((a) => a.filename)).toEqual(['podium.png']);
    const podium = await sharp(resultsMessage.attachments[0]!.data).metadata();
    expect(podium.format).toBe('png');
    expect(podium.width).toBeGreaterThan(podium.height!);

    const board = await s.discord.slashCommand({ name: 'leaderboard', userId: ada }).response();
    expect(board.data.content).toContain(`season ${seasonOf(Date.now())}`);
    expect(board.data.content).toMatch(new RegExp(`🥇 <@${bea}> · 11 points\\n🥈 <@${cy}> · 7 points\\n🥉 <@${ada}> · 1 point`));
    expect(board.data.allowed_mentions).toEqual({ parse: [] });

    const history = await privateAnswer(challenge(s, 'history', cy));
    expect(history).toContain(`**${THEME}**: 🥇 <@${bea}> 🥈 <@${cy}>`);
    expect(history).not.toContain('🥉');
    expect(await privateAnswer(challenge(s, 'submit', ada, [{ name: 'image', type: O.String, value: fileOf(results[ada]!) }]))).toContain(
      'no challenge taking entries',
    );
  });

  it('enters a result by a link to its message; a member’s file named like one, or a link into another server, enters nothing', async () => {
    const s = (stack = await Stack.start());
    await s.discord.ready;
    const admin = s.discord.user({ username: 'mod' }).id;
    const [ada, bea] = ['ada5', 'bea5'].map((username) => s.discord.user({ username }).id) as [string, string];
    await privateAnswer(challenge(s, 'start', admin, [{ name: 'theme', type: O.String, value: THEME }], true));
    const made = await imagine(s, ada, 'a kelp forest library');
    const linkTo = (message: FakeMessage, guildId = message.guildId) => `https://discord.com/channels/${guildId}/${message.channelId}/${message.id}`;
    const submit = (userId: string, image: string) =>
      privateAnswer(challenge(s, 'submit', userId, [{ name: 'image', type: O.String, value: image }]));

    // A member's message whose file is named like Ada's result shows none of Atelier's pictures.
    const lookAlike = s.discord.createUserMessage({
      authorId: bea,
      content: 'my entry',
      attachments: [{ filename: made.attachments[0]!.filename, contentType: 'image/png', data: made.attachments[0]!.data }],
    });
    expect(await submit(bea, linkTo(lookAlike))).toContain('I found none of my pictures in that message');
    expect(await submit(ada, linkTo(lookAlike))).toContain('I found none of my pictures in that message');
    // The result's own link, pointed at from another server, is not read.
    expect(await submit(ada, linkTo(made, '123456789012345678'))).toContain('I found none of my pictures in that message');
    const running = (await s.ctx.challenges.active(s.discord.defaultGuildId))!;
    expect(await s.ctx.challenges.entries(running.id)).toEqual([]);

    // Written as a link without a preview (<…>), as Discord members often paste one.
    expect(await submit(ada, `<${linkTo(made)}>`)).toContain('Entered as **#1**');
    expect((await s.ctx.challenges.entries(running.id)).map((entry) => entry.imageId)).toEqual([`${made.interactionId}-1`]);
  });

  it('echoes a theme written as a masked link as plain text: its address shows, nothing hides behind a label', async () => {
    const s = (stack = await Stack.start());
    await s.discord.ready;
    const channel = s.discord.defaultChannelId;
    const admin = s.discord.user({ username: 'mod' }).id;
    const theme = '[free nitro](https://x.example/claim) **now**';
    const shown = '\\[free nitro\\](<https://x.example/claim>) \\*\\*now\\*\\*';
    // A `[label](address)` whose opening bracket is not escaped: Discord would make it a link.
    const maskedLink = /(^|[^\\])\[[^\]]*\]\(/;

    const started = await privateAnswer(challenge(s, 'start', admin, [{ name: 'theme', type: O.String, value: theme }], true));
    expect(started).toContain(`Starting **${shown}**`);
    expect(started).not.toMatch(maskedLink);
    const announcement = await s.discord.waitFor(
      () => s.discord.messages(channel).find((m) => m.embeds[0]?.title?.startsWith('🏆 Challenge')),
      10_000,
      'the announcement',
    );
    const embed = announcement.embeds[0]!;
    expect(embed.description).toContain(`the theme **${shown}**`);
    expect(embed.description).not.toMatch(maskedLink);
    // Titles show no links; the theme stands there as written, within Discord's limit.
    expect(embed.title).toBe(`🏆 Challenge: ${theme}`);
    expect(embed.title!.length).toBeLessThanOrEqual(256);

    await privateAnswer(challenge(s, 'end', admin, [], true));
    const results = await s.discord.waitFor(() => s.discord.messages(channel).find((m) => m.content.includes('**Results:')), 15_000, 'the results');
    expect(results.content).toContain(`Results: ${shown}`);
    expect(results.content).not.toMatch(maskedLink);
  });

  it('drops the votes of a member who deleted their data: the entry counts them no more and the challenge keeps no trace of them', async () => {
    const s = (stack = await Stack.start());
    await s.discord.ready;
    const channel = s.discord.defaultChannelId;
    const admin = s.discord.user({ username: 'mod' }).id;
    const [ada, bea] = ['ada3', 'bea3'].map((username) => s.discord.user({ username }).id) as [string, string];
    await privateAnswer(challenge(s, 'start', admin, [{ name: 'theme', type: O.String, value: THEME }], true));
    const thread = await s.discord.waitFor(() => s.discord.threads(channel)[0], 10_000, 'the entries thread');
    const made = await imagine(s, ada, 'a lantern fish choir');
    expect(await privateAnswer(challenge(s, 'submit', ada, [{ name: 'image', type: O.String, value: made.attachments[0]!.filename }]))).toContain(
      '#1',
    );
    await privateAnswer(challenge(s, 'end', admin, [], true));
    const [entry] = await s.discord.waitFor(
      () => (s.discord.messages(thread.id).length === 1 ? s.discord.messages(thread.id) : undefined),
      15_000,
      'the gallery',
    );
    expect(await privateAnswer(s.discord.button({ customId: customIds(entry!)[0]!, message: entry!, userId: bea }))).toContain('is in');
    const running = (await s.ctx.challenges.active(s.discord.defaultGuildId))!;
    expect(await s.ctx.challenges.votes(running.id, 1)).toBe(1);

    const ask = s.discord.slashCommand({ name: 'privacy', userId: bea, options: [{ name: 'delete-my-data', type: O.Subcommand }] });
    const question = await ask.response();
    s.discord.button({ customId: question.data.components[0].components[0].custom_id, message: ask.original()!, userId: bea });
    await s.discord.waitFor(() => ask.original()?.content.startsWith('🗑 Done') || undefined, 20_000, 'the deletion');
    expect(ask.original()!.content).toContain('challenge votes removed: 1');

    expect(await s.ctx.challenges.votes(running.id, 1)).toBe(0);
    for (const key of await s.redis.keys(`${s.prefix}:challenge:${running.id}*`)) {
      const type = await s.redis.type(key);
      const values =
        type === 'set'
          ? await s.redis.smembers(key)
          : type === 'hash'
            ? Object.entries(await s.redis.hgetall(key)).flat()
            : [String(await s.redis.get(key))];
      expect([key, ...values].join(' ')).not.toContain(bea);
    }
    // The results count what is left.
    await privateAnswer(challenge(s, 'end', admin, [], true));
    const results = await s.discord.waitFor(() => s.discord.messages(channel).find((m) => m.content.includes('**Results:')), 15_000, 'the results');
    expect(results.content).toContain('Nobody voted this time');
  });

  it('takes a picture deleted with 🗑, or by /privacy, out of the voting gallery; the entry keeps its number and vote button', async () => {
    const s = (stack = await Stack.start());
    await s.discord.ready;
    const channel = s.discord.defaultChannelId;
    const admin = s.discord.user({ username: 'mod' }).id;
    const [ada, bea, cy] = ['ada4', 'bea4', 'cy4'].map((username) => s.discord.user({ username }).id) as [string, string, string];
    await privateAnswer(challenge(s, 'start', admin, [{ name: 'theme', type: O.String, value: THEME }], true));
    const thread = await s.discord.waitFor(() => s.discord.threads(channel)[0], 10_000, 'the entries thread');
    const made = {
      [ada]: await imagine(s, ada, 'a kelp forest at noon'),
      [bea]: await imagine(s, bea, 'a whale of glass'),
      [cy]: await imagine(s, cy, 'a lighthouse below the waves'),
    };
    for (const userId of [ada, bea, cy]) {
      await privateAnswer(challenge(s, 'submit', userId, [{ name: 'image', type: O.String, value: made[userId]!.attachments[0]!.filename }]));
    }
    await privateAnswer(challenge(s, 'end', admin, [], true));
    const gallery = await s.discord.waitFor(
      () => (s.discord.messages(thread.id).length === 3 ? s.discord.messages(thread.id) : undefined),
      15_000,
      'the gallery',
    );

    // Ada deletes her result with 🗑: her entry's gallery post no longer shows it.
    const removal = await s.discord.button({ customId: `img:delete:${made[ada]!.interactionId}`, message: made[ada]!, userId: ada }).response();
    expect(removal.data.content).toContain('deleted by its author');
    const adaPost = await s.discord.waitFor(
      () => {
        const post = s.discord.message(gallery[0]!.id)!;
        return post.attachments.length === 0 ? post : undefined;
      },
      10_000,
      'Ada’s gallery post without its picture',
    );
    expect(adaPost.content).toBe('**Entry #1** (its picture was deleted)');
    expect(customIds(adaPost)).toEqual(customIds(gallery[0]!));
    // Nobody else's post changes.
    expect(s.discord.message(gallery[1]!.id)!.attachments).toHaveLength(1);
    expect(s.discord.message(gallery[2]!.id)!.attachments).toHaveLength(1);

    // Bea deletes her data: her entry's post loses its picture too.
    const ask = s.discord.slashCommand({ name: 'privacy', userId: bea, options: [{ name: 'delete-my-data', type: O.Subcommand }] });
    const question = await ask.response();
    s.discord.button({ customId: question.data.components[0].components[0].custom_id, message: ask.original()!, userId: bea });
    await s.discord.waitFor(() => ask.original()?.content.startsWith('🗑 Done') || undefined, 20_000, 'the deletion');
    const beaPost = s.discord.message(gallery[1]!.id)!;
    expect(beaPost.attachments).toEqual([]);
    expect(beaPost.content).toBe('**Entry #2** (its picture was deleted)');
    expect(s.discord.message(gallery[2]!.id)!.attachments).toHaveLength(1);
    // The entries stay in the running, and votes for them still count.
    expect(await privateAnswer(s.discord.button({ customId: customIds(adaPost)[0]!, message: adaPost, userId: cy }))).toContain('is in');
  });
});
