import { ComponentType, InteractionResponseType, MessageFlags } from 'discord.js';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { twoServers, type FakeInteraction, type FakeMessage } from '../support/fake-discord.js';
import { useStack, type Stack } from '../support/stack.js';
import { eventually } from '../support/context.js';
import { createLocalProvider } from '../../src/worker/providers/local.js';
import { ProviderRefusedError } from '../../src/worker/providers/types.js';

const start = useStack();

const BEA = '740000000000000002';
const CY = '740000000000000003';

async function expectPrivateError(interaction: FakeInteraction, pattern: RegExp) {
  const response = await interaction.response();
  expect(response.data.flags, JSON.stringify(response.data)).toBe(MessageFlags.Ephemeral);
  expect(response.data.content).toMatch(pattern);
}

function buttonsOf(message: { components?: unknown[] }) {
  return (message.components ?? [])
    .flatMap((row) => (row as { components?: Array<{ type: number; custom_id?: string; label?: string }> }).components ?? [])
    .filter((c) => c.type === ComponentType.Button);
}

/** The /describe answer: the deferred reply, once it shows the four suggestions. */
function suggestionsOf(s: Stack, interaction: FakeInteraction): Promise<FakeMessage> {
  return s.discord.waitFor(() => {
    const reply = interaction.original();
    return reply?.content.includes('Four prompts') ? reply : undefined;
  }, 20_000);
}

async function resultOf(s: Stack, interactionId: string): Promise<FakeMessage> {
  return s.discord.waitFor(() => {
    const message = s.discord.messages(s.discord.defaultChannelId).find((m) => m.interactionId === interactionId);
    return message && message.attachments.length > 0 && message.content.startsWith('✅') ? message : undefined;
  }, 20_000);
}

const png = (background: string, width = 320, height = 200) =>
  sharp({ create: { width, height, channels: 3, background } })
    .png()
    .toBuffer();

describe('/describe end to end (real client, fake Discord, offline provider)', () => {
  it('answers with four prompts read from the picture; a click queues that prompt for whoever clicked', async () => {
    const s = await start();
    const file = s.discord.createAttachment({ filename: 'red.png', data: await png('#d7263d'), contentType: 'image/png' });
    const asked = s.discord.slashCommand({ name: 'describe', userId: BEA, options: { image: file.id } });
    const first = await asked.response();
    expect(first.type).toBe(InteractionResponseType.DeferredChannelMessageWithSource);
    expect(first.data?.flags ?? 0).not.toBe(MessageFlags.Ephemeral);

    const answer = await suggestionsOf(s, asked);
    expect(answer.allowedMentions).toEqual({ parse: [] });
    const lines = answer.content.split('\n').filter((line) => /^\*\*\d\.\*\* /.test(line));
    expect(lines).toHaveLength(4);
    // Offline, the words come from the picture: a red, wide picture.
    expect(answer.content).toMatch(/\bred\b/);
    expect(answer.content).toContain('wide panorama');
    const buttons = buttonsOf(answer);
    expect(buttons.map((b) => b.custom_id)).toEqual([1, 2, 3, 4].map((n) => `describe:${asked.id}:${n}`));

    // The same picture describes the same way.
    const again = s.discord.slashCommand({ name: 'describe', userId: CY, options: { image: file.id } });
    expect((await suggestionsOf(s, again)).content.split('\n').slice(1)).toEqual(answer.content.split('\n').slice(1));

    // Someone else clicks suggestion 2: it is queued as their picture, with exactly that prompt.
    const suggestion = lines[1]!.replace(/^\*\*2\.\*\* /, '');
    const click = s.discord.button({ customId: buttons[1]!.custom_id!, message: answer, userId: CY });
    expect((await click.response()).data.content).toMatch(/Queued/);
    const result = await resultOf(s, click.id);
    expect(result.content).toContain(`**${suggestion}**`);
    expect(result.content).toContain(`by <@${CY}>`);
    expect(await s.ctx.db.selectFrom('requests').select(['user_id', 'prompt']).where('id', '=', click.id).executeTakeFirst()).toEqual({
      user_id: CY,
      prompt: suggestion,
    });
  });

  it('refuses forged suggestion buttons, other servers’ links and bad input privately, queueing nothing', async () => {
    const s = await start({ discord: { guilds: twoServers() } });
    const [home, other] = s.discord.guilds;
    const general = home!.channels[0]!.id;
    const theirsChannel = other!.channels[0]!.id;
    const file = s.discord.createAttachment({ filename: 'blue.png', data: await png('#1d4ed8'), contentType: 'image/png' });

    // A describe in the other server, whose buttons are replayed here.
    const theirs = s.discord.slashCommand({ name: 'describe', channelId: theirsChannel, userId: BEA, options: { image: file.id } });
    const theirAnswer = await suggestionsOf(s, theirs);
    const mine = s.discord.slashCommand({ name: 'describe', channelId: general, userId: BEA, options: { image: file.id } });
    const myAnswer = await suggestionsOf(s, mine);

    const click = (customId: string, message: FakeMessage = myAnswer) =>
      s.discord.button({ customId, message, userId: CY, forgedPlace: { channelId: general } });
    await expectPrivateError(click(`describe:${theirs.id}:1`, theirAnswer), /no longer know that suggestion/);
    await expectPrivateError(click(`describe:799999999999999999:1`), /no longer know that suggestion/);
    for (const forged of [`describe:${mine.id}:5`, `describe:${mine.id}:0`, `describe:${mine.id}:a lake at night`, `describe:${mine.id}:1:extra`]) {
      await expectPrivateError(click(forged), /not one I recognise/);
    }

    const describeCmd = (options: Record<string, string>) => s.discord.slashCommand({ name: 'describe', channelId: general, userId: CY, options });
    await expectPrivateError(describeCmd({}), /Give me one picture/);
    await expectPrivateError(describeCmd({ image: file.id, link: `${mine.id}` }), /Give me one picture/);
    const posted = s.discord.createUserMessage({
      channelId: theirsChannel,
      attachments: [{ filename: 'x.png', data: await png('#000000'), contentType: 'image/png' }],
    });
    await expectPrivateError(
      describeCmd({ link: `https://discord.com/channels/${other!.id}/${theirsChannel}/${posted.id}` }),
      /I do not know that picture/,
    );
    await expectPrivateError(
      describeCmd({ link: `https://discord.com/channels/${home!.id}/${theirsChannel}/${posted.id}` }),
      /I do not know that picture/,
    );
    const text = s.discord.createAttachment({ filename: 'notes.txt', data: Buffer.from('hi'), contentType: 'text/plain' });
    await expectPrivateError(describeCmd({ image: text.id }), /not a PNG, JPEG, WebP or GIF/);

    const requests = await s.ctx.db.selectFrom('requests').select('id').execute();
    expect(requests).toEqual([]);
    expect(await s.ctx.generateQueue.count()).toBe(0);
  });

  it('takes from the same allowance as asking for pictures: past it, a member is told privately to slow down, and nothing is queued', async () => {
    const s = await start({ bot: { rateLimit: { burst: 2, refillMs: 600_000 } } });
    const file = s.discord.createAttachment({ filename: 'green.png', data: await png('#16a34a'), contentType: 'image/png' });
    const first = s.discord.slashCommand({ name: 'describe', userId: BEA, options: { image: file.id } });
    await suggestionsOf(s, first);
    const drawn = s.discord.slashCommand({ name: 'imagine', userId: BEA, options: { prompt: 'a green field' } });
    expect((await drawn.response()).data.content).toMatch(/Queued/);

    const queued = await s.ctx.describeQueue!.count();
    await expectPrivateError(s.discord.slashCommand({ name: 'describe', userId: BEA, options: { image: file.id } }), /Slow down a little/);
    await expectPrivateError(s.discord.slashCommand({ name: 'imagine', userId: BEA, options: { prompt: 'another field' } }), /Slow down a little/);
    expect(await s.ctx.describeQueue!.count()).toBe(queued);
    expect(await s.ctx.db.selectFrom('requests').select('id').execute()).toEqual([{ id: drawn.id }]);
    // Another member's allowance is their own.
    await suggestionsOf(s, s.discord.slashCommand({ name: 'describe', userId: CY, options: { image: file.id } }));
  });

  it('answers after a bot restart while the picture waited for a worker', async () => {
    const s = await start({ noWorker: true });
    const file = s.discord.createAttachment({ filename: 'gold.png', data: await png('#d4af37'), contentType: 'image/png' });
    const asked = s.discord.slashCommand({ name: 'describe', userId: BEA, options: { image: file.id } });
    expect((await asked.response()).type).toBe(InteractionResponseType.DeferredChannelMessageWithSource);
    await eventually(async () => (await s.ctx.describeQueue!.getJobCounts('waiting'))['waiting'] === 1);
    await s.restartBot();
    await s.startWorker(createLocalProvider());
    const answer = await suggestionsOf(s, asked);
    expect(buttonsOf(answer)).toHaveLength(4);
    // Answered once: the reply was edited, nothing else was posted.
    expect(s.discord.messages(s.discord.defaultChannelId).filter((m) => m.content.includes('Four prompts'))).toHaveLength(1);
  });

  it('tells the member when the provider cannot describe pictures', async () => {
    const s = await start({ provider: { name: 'plain', generate: async () => [] } });
    const file = s.discord.createAttachment({ filename: 'x.png', data: await png('#445566'), contentType: 'image/png' });
    const asked = s.discord.slashCommand({ name: 'describe', userId: BEA, options: { image: file.id } });
    const answer = await s.discord.waitFor(() => {
      const reply = asked.original();
      return reply?.content.includes('Could not describe') ? reply : undefined;
    }, 20_000);
    expect(answer.content).toContain('The plain image provider cannot describe pictures.');
    expect(buttonsOf(answer)).toEqual([]);
  });

  it('says the provider refused the picture, in its own words only: what the provider said stays out of the channel', async () => {
    const refusals = [
      new ProviderRefusedError('ComfyUI rejected the workflow: node 12 (WD14Tagger|pysssss) needs wd-v1-4-moat-tagger-v2.onnx', 'invalid_input'),
      new ProviderRefusedError('Your request was rejected by the safety system. request id req_9f8e', 'safety', 'flagged as unsafe'),
    ];
    const s = await start({
      provider: {
        name: 'refusing',
        generate: async () => [],
        describe: async () => {
          throw refusals.shift()!;
        },
      },
    });
    const answers = [];
    for (const colour of ['#112233', '#332211']) {
      const file = s.discord.createAttachment({ filename: 'x.png', data: await png(colour), contentType: 'image/png' });
      const asked = s.discord.slashCommand({ name: 'describe', userId: BEA, options: { image: file.id } });
      answers.push(
        await s.discord.waitFor(() => {
          const reply = asked.original();
          return reply?.content.includes('Could not describe') ? reply : undefined;
        }, 20_000),
      );
    }
    expect(answers[0]!.content).toContain('The image provider could not read that picture.');
    expect(answers[1]!.content).toContain('safety filter refused that picture');
    for (const answer of answers) {
      for (const leak of ['WD14Tagger', 'node 12', '.onnx', 'req_9f8e', 'req\\_9f8e', 'flagged as unsafe']) {
        expect([leak, answer.content.includes(leak)]).toEqual([leak, false]);
      }
      expect(answer.allowedMentions).toEqual({ parse: [] });
    }
  });
});
