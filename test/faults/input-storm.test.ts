import { ApplicationCommandOptionType, InteractionResponseType, MessageFlags } from 'discord.js';
import { afterEach, describe, expect, it } from 'vitest';
import { REDIS_PREFIX } from '../../src/runtime.js';
import type { FakeInteraction, RawCommandOption } from '../support/fake-discord.js';
import { FAULT_TIMEOUT_MS, FaultHarness } from './harness.js';

let harness: FaultHarness | undefined;

afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

/** A small seeded generator: the storm is random, but the same on every run. */
function generator(seed: number) {
  let state = seed >>> 0;
  const next = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
  const pick = <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)]!;
  return { next, pick };
}

/** Characters that tend to break things: emoji sequences, combining marks, bidi controls, zero-width, lone surrogates. */
const oddPieces = [
  '🐈‍⬛',
  '👩🏽‍🎨',
  'é',
  '\u0301\u0301\u0301',
  '\u202e',
  '\u200b',
  '\ufeff',
  '\ud800',
  '\udfff',
  'ﷺ',
  '𒐫',
  '\u0000',
  '\n',
  '<@&1>',
  '@everyone',
  '`',
  '*',
  '||',
];
const plainPieces = ['a', 'lighthouse', 'fog', ' ', 'cat', '漢字', 'ñ', '--', ':', '9'];

function randomText(random: ReturnType<typeof generator>, length: number): string {
  let text = '';
  while ([...text].length < length) text += random.next() < 0.3 ? random.pick(oddPieces) : random.pick(plainPieces);
  return text;
}

const option = (name: string, type: ApplicationCommandOptionType, value: string | number): RawCommandOption => ({ name, type, value });
const S = ApplicationCommandOptionType.String;
const I = ApplicationCommandOptionType.Integer;

describe('a storm of bad input', () => {
  it('answers every request with a private error, never crashes, and queues nothing', { timeout: FAULT_TIMEOUT_MS }, async () => {
    const h = (harness = await FaultHarness.start({ guilds: [{}, { name: 'A server I left' }] }));
    // The second guild never reaches the bot in its handshake: its interactions come from a guild it does not know.
    const [unknownGuild] = h.discord.guilds.splice(1, 1);
    const bot = await h.startBot();
    h.discord.guilds.push(unknownGuild!);
    h.startWorker();

    // One genuine result, so that forged clicks have a real message (with real buttons) to land on.
    const genuine = h.imagine('a quiet harbour');
    await genuine.response();
    const result = await h.expectation(h.waitForResult(genuine.id));
    await h.discord.waitFor(() => h.discord.requests.some((r) => r.method === 'PATCH' && r.files.length > 0 && r.status === 200), 10_000);
    const countsBefore = await h.generateQueue.getJobCounts();
    const recordsBefore = await h.redis.keys(`${REDIS_PREFIX}:job:*`);
    const requestsBefore = await h.database.db.selectFrom('requests').select('id').execute();

    const random = generator(7);
    const storm: FakeInteraction[] = [];
    const imagine = (options: RawCommandOption[], place: { guildId?: string } = {}) =>
      storm.push(h.discord.slashCommand({ name: 'imagine', options, ...place }));

    // Random and oversized prompts, each made invalid: too long, or carrying a flag no one can satisfy.
    for (let i = 0; i < 15; i += 1) imagine([option('prompt', S, randomText(random, 1001 + Math.floor(random.next() * 3000)))]);
    for (let i = 0; i < 15; i += 1) {
      const flag = random.pick(['--ar', '--aspect', '--seed']);
      imagine([option('prompt', S, `${randomText(random, 1 + Math.floor(random.next() * 200))} ${flag} ${random.pick(oddPieces)}x${random.next()}`)]);
    }
    // Prompts with nothing to draw.
    for (const prompt of ['', '   ', '\u3000\u00a0\t', '\u200b\u200b\u200b', '\u202e\ufeff', '--ar 16:9', '--seed 5 --no trees']) {
      imagine([option('prompt', S, prompt)]);
    }
    // Malformed options.
    imagine([option('prompt', S, 'a cat'), option('aspect', S, 'banana')]);
    imagine([option('prompt', S, 'a cat'), option('aspect', S, '16:9\u200b')]);
    imagine([option('prompt', S, 'a cat'), option('count', I, 0)]);
    imagine([option('prompt', S, 'a cat'), option('count', I, 99)]);
    imagine([option('prompt', S, 'a cat'), option('count', I, 2.5)]);
    imagine([option('prompt', S, 'a cat'), option('seed', I, -5)]);
    imagine([option('prompt', S, 'a cat'), option('seed', I, 2 ** 40)]);
    imagine([option('prompt', S, 'a cat'), option('model', S, '💥')]);
    imagine([option('prompt', S, 'a cat'), option('negative', S, 'x'.repeat(1001))]);
    imagine([option('prompt', I, 5)]);
    imagine([]);
    storm.push(h.discord.slashCommand({ name: 'imagine-more', options: [option('prompt', S, 'a cat')] }));
    // Forged and truncated custom_ids on a real result.
    const forged = [
      `gen:reroll:123456789012345678`,
      `gen:reroll:${genuine.id.slice(0, 12)}`,
      `gen:reroll:${genuine.id}:1`,
      `gen:upscale:${genuine.id}`,
      `gen:upscale:${genuine.id}:9`,
      `gen:vary:${genuine.id}:0`,
      `gen:upscale:${genuine.id}:1:1`,
      'gen:rer',
      'gen:',
      ':',
      'x'.repeat(100),
      `gen:reroll:${'9'.repeat(20)}`,
      `vote:${genuine.id}`,
      `gen:reroll:${genuine.id}\u200b`,
    ];
    for (const customId of forged) storm.push(h.discord.button({ customId, message: result }));
    storm.push(h.discord.stringSelect({ customId: `gen:reroll:${genuine.id}`, values: ['1'], message: result }));
    storm.push(h.discord.modalSubmit({ customId: 'gen:upscale', fields: { prompt: 'a cat' } }));
    // Interactions from a guild the bot does not know.
    const elsewhere = { guildId: unknownGuild!.id };
    imagine([option('prompt', S, 'x'.repeat(1500))], elsewhere);
    imagine([option('prompt', S, 'a cat'), option('aspect', S, '1:7')], elsewhere);
    const stray = h.discord.createUserMessage({ channelId: unknownGuild!.channels[0]!.id, content: 'hello' });
    storm.push(h.discord.button({ customId: `gen:reroll:${genuine.id}:2`, message: stray }));

    const answers = await h.expectation(Promise.all(storm.map((interaction) => interaction.response(30_000))));
    answers.forEach((answer, i) => {
      const what = `interaction ${i} (${JSON.stringify(storm[i]!.payload.data).slice(0, 120)})`;
      expect(answer.type, what).toBe(InteractionResponseType.ChannelMessageWithSource);
      expect((answer.data.flags ?? 0) & MessageFlags.Ephemeral, what).toBe(MessageFlags.Ephemeral);
      expect(answer.data.content, what).toMatch(/^⚠️ /);
      expect(answer.data.content, what).not.toMatch(/Slow down/);
      expect(answer.data.allowed_mentions, what).toEqual({ parse: [] });
    });

    expect(bot.running).toBe(true);
    expect(await h.generateQueue.getJobCounts()).toEqual(countsBefore);
    // No new request anywhere: none recorded in the archive, no live record in Redis (the genuine
    // request's own may have settled and left meanwhile).
    expect(await h.database.db.selectFrom('requests').select('id').execute()).toEqual(requestsBefore);
    expect((await h.redis.keys(`${REDIS_PREFIX}:job:*`)).filter((key) => !recordsBefore.includes(key))).toEqual([]);
    expect(h.resultMessages(genuine.id)).toHaveLength(1);
    expect(h.discord.validationErrors).toEqual([]);
  });
});
