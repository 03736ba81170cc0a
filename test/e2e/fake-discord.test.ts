/**
 * The fake Discord against the real discord.js Client: if these pass, end-to-end tests of the bot
 * exercise the same HTTP and Gateway traffic the bot produces against discord.com.
 */
import { once } from 'node:events';
import {
  ActionRowBuilder,
  AttachmentBuilder,
  ButtonBuilder,
  ButtonStyle,
  Client,
  DiscordAPIError,
  Events,
  GatewayIntentBits,
  MessageFlags,
  ModalBuilder,
  PermissionFlagsBits,
  TextInputBuilder,
  TextInputStyle,
  type ChatInputCommandInteraction,
  type Interaction,
  type TextChannel,
} from 'discord.js';
import sharp from 'sharp';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { FakeDiscord, snowflakeTimestamp, twoServers, type FakeDiscordOptions } from '../support/fake-discord.js';

const noPings = { parse: [] };

let discord: FakeDiscord | undefined;
let client: Client | undefined;

afterEach(async () => {
  // Client first: a client whose server vanished keeps trying to reconnect.
  await client?.destroy();
  await discord?.close();
  client = undefined;
  discord = undefined;
});

/** Registers a fake for cleanup in afterEach. */
function setFake(fake: FakeDiscord): void {
  discord = fake;
}

/** A fake Discord and a real discord.js client logged in to it, with its caches filled. */
async function connect(options?: FakeDiscordOptions): Promise<{ discord: FakeDiscord; client: Client }> {
  discord = new FakeDiscord(options);
  await discord.start();
  client = new Client({
    intents: [GatewayIntentBits.Guilds],
    rest: { api: discord.apiUrl, cdn: discord.cdnUrl },
  });
  const clientReady = once(client, Events.ClientReady);
  await client.login(discord.token);
  await Promise.all([discord.ready, clientReady]);
  return { discord, client };
}

/** The next interactionCreate the client emits. */
function nextInteraction<T extends Interaction = Interaction>(c: Client): Promise<T> {
  return once(c, Events.InteractionCreate).then(([interaction]) => interaction as T);
}

async function defaultChannel(c: Client, d: FakeDiscord): Promise<TextChannel> {
  return (await c.channels.fetch(d.defaultChannelId)) as TextChannel;
}

/** A bare Gateway client: `next()` is the next payload received, in order. */
async function rawGateway(url: string) {
  const socket = new WebSocket(`${url}?v=10&encoding=json`);
  const received: unknown[] = [];
  const waiting: Array<(payload: unknown) => void> = [];
  socket.on('message', (data) => {
    const payload: unknown = JSON.parse(data.toString());
    const resolve = waiting.shift();
    if (resolve) resolve(payload);
    else received.push(payload);
  });
  const closed = once(socket, 'close').then(([code]) => code as number);
  await once(socket, 'open');
  return {
    next: (): Promise<any> => (received.length ? Promise.resolve(received.shift()) : new Promise((resolve) => waiting.push(resolve))),
    send: (payload: object) => socket.send(JSON.stringify(payload)),
    close: () => socket.close(),
    closed,
  };
}

function tinyPng(): Promise<Buffer> {
  return sharp({ create: { width: 8, height: 6, channels: 3, background: '#3366ff' } })
    .png()
    .toBuffer();
}

describe('FakeDiscord with a real discord.js client', () => {
  it('logs the client in over REST + Gateway and fills its guild and channel caches', async () => {
    const { discord, client } = await connect();

    expect(client.user?.id).toBe(discord.botUser.id);
    expect(client.application?.id).toBe(discord.applicationId);
    const guild = client.guilds.cache.get(discord.defaultGuildId);
    expect(guild?.name).toBe(discord.guilds[0]!.name);
    const channel = client.channels.cache.get(discord.defaultChannelId);
    expect(channel?.isTextBased()).toBe(true);
    expect((channel as TextChannel).name).toBe('general');
    expect(guild?.members.me?.permissions.has(PermissionFlagsBits.AttachFiles)).toBe(true);
    expect(discord.requests.map((r) => `${r.method} ${r.path} ${r.status}`)).toContain('GET /gateway/bot 200');
    expect(discord.identifyCount).toBe(1);
    expect(discord.validationErrors).toEqual([]);
  });

  it('rejects a wrong bot token with 401 and the message discord.js maps to TokenInvalid', async () => {
    discord = new FakeDiscord();
    await discord.start();
    client = new Client({ intents: [GatewayIntentBits.Guilds], rest: { api: discord.apiUrl, cdn: discord.cdnUrl } });
    await expect(client.login('not-the-token')).rejects.toThrow(/token/i);
    expect(discord.requests[0]).toMatchObject({ path: '/gateway/bot', status: 401, response: { code: 0, message: '401: Unauthorized' } });
  });

  it('dispatches a slash command that arrives with its options, and a reply that lands as a message', async () => {
    const { discord, client } = await connect();
    const received = nextInteraction<ChatInputCommandInteraction>(client);
    const fake = discord.slashCommand({ name: 'imagine', options: { prompt: 'a cat in a hat', count: 2 } });
    const interaction = await received;

    expect(interaction.isChatInputCommand()).toBe(true);
    expect(interaction.commandName).toBe('imagine');
    expect(interaction.options.getString('prompt')).toBe('a cat in a hat');
    expect(interaction.options.getInteger('count')).toBe(2);
    expect(interaction.guildId).toBe(discord.defaultGuildId);
    expect(interaction.channelId).toBe(discord.defaultChannelId);
    expect(interaction.memberPermissions?.has(PermissionFlagsBits.ManageMessages)).toBe(false);
    expect(Math.abs(snowflakeTimestamp(interaction.id) - Date.now())).toBeLessThan(5_000);
    expect(interaction.attachmentSizeLimit).toBe(10 * 1024 * 1024);

    const response = await interaction.reply({ content: 'Queued!', allowedMentions: noPings, withResponse: true });
    const message = discord.message(response.resource!.message!.id);
    expect(message).toMatchObject({ content: 'Queued!', interactionId: fake.id, channelId: discord.defaultChannelId, ephemeral: false });
    expect(await fake.response()).toMatchObject({ type: 4, data: { content: 'Queued!' } });
    expect(discord.messages(discord.defaultChannelId)).toHaveLength(1);
    expect(discord.validationErrors).toEqual([]);
  });

  it('gives moderators Manage Messages, and fabricates old interactions from createdAt', async () => {
    const { discord, client } = await connect();
    const received = nextInteraction<ChatInputCommandInteraction>(client);
    const createdAt = Date.now() - 10 * 60_000;
    discord.slashCommand({ name: 'queue', moderator: true, createdAt });
    const interaction = await received;
    expect(interaction.memberPermissions?.has(PermissionFlagsBits.ManageMessages)).toBe(true);
    expect(interaction.memberPermissions?.has(PermissionFlagsBits.ManageGuild)).toBe(true);
    expect(Math.abs(interaction.createdTimestamp - createdAt)).toBeLessThan(5);
  });

  it('stores a file attached by editReply and serves it from the CDN', async () => {
    const { discord, client } = await connect();
    const png = await tinyPng();
    const received = nextInteraction<ChatInputCommandInteraction>(client);
    const fake = discord.slashCommand({ name: 'imagine', options: { prompt: 'blue' } });
    const interaction = await received;

    await interaction.deferReply();
    expect(fake.original()?.flags).toBe(MessageFlags.Loading);
    await interaction.editReply({
      content: 'Done',
      files: [new AttachmentBuilder(png, { name: 'art one.png' })],
      allowedMentions: noPings,
    });

    const message = fake.original()!;
    expect(message.content).toBe('Done');
    expect(message.flags & MessageFlags.Loading).toBe(0);
    expect(message.attachments).toHaveLength(1);
    const [attachment] = message.attachments;
    expect(attachment).toMatchObject({ filename: 'art_one.png', contentType: 'image/png', width: 8, height: 6, size: png.length });

    const download = await fetch(attachment!.url);
    expect(download.status).toBe(200);
    expect(download.headers.get('content-type')).toBe('image/png');
    expect(Buffer.from(await download.arrayBuffer()).equals(png)).toBe(true);
    const fetched = await interaction.fetchReply();
    expect(fetched.attachments.first()?.url).toBe(attachment!.url);
    expect(discord.validationErrors).toEqual([]);
  });

  it('answers 10062 for the callback and 50027 for webhooks once an interaction expired', async () => {
    const { discord, client } = await connect();
    const received = nextInteraction<ChatInputCommandInteraction>(client);
    const fake = discord.slashCommand({ name: 'imagine' });
    const interaction = await received;
    fake.expire();

    const error = await interaction.reply({ content: 'too late', allowedMentions: noPings }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DiscordAPIError);
    expect(error).toMatchObject({ code: 10062, status: 404 });

    interaction.deferred = true; // pretend the bot had deferred in time, to reach the webhook route
    await expect(interaction.editReply({ content: 'x', allowedMentions: noPings })).rejects.toMatchObject({ code: 50027, status: 401 });
  });

  it('refuses a second initial response with 40060', async () => {
    const { discord, client } = await connect();
    const received = nextInteraction<ChatInputCommandInteraction>(client);
    discord.slashCommand({ name: 'imagine' });
    const interaction = await received;
    await interaction.deferReply({ flags: MessageFlags.Ephemeral });
    interaction.deferred = false; // trick discord.js into sending a second callback
    await expect(interaction.reply({ content: 'again', allowedMentions: noPings })).rejects.toMatchObject({ code: 40060 });
  });

  it('lets discord.js retry after an injected 500', async () => {
    const { discord, client } = await connect();
    const channel = await defaultChannel(client, discord);
    discord.failNext({ method: 'POST', path: /^\/channels\/\d+\/messages$/, status: 500 });

    const sent = await channel.send({ content: 'hello', allowedMentions: noPings });

    const posts = discord.requests.filter((r) => r.method === 'POST' && r.path === `/channels/${channel.id}/messages`);
    expect(posts.map((r) => r.status)).toEqual([500, 200]);
    expect(discord.messages(channel.id).map((m) => m.id)).toEqual([sent.id]);
  });

  it('makes discord.js wait out a 429 with retry_after', async () => {
    const { discord, client } = await connect();
    const channel = await defaultChannel(client, discord);
    const limited: number[] = [];
    client.rest.on('rateLimited', (info) => limited.push(info.retryAfter));
    discord.failNext({
      method: 'POST',
      path: /^\/channels\/\d+\/messages$/,
      status: 429,
      body: { message: 'You are being rate limited.', retry_after: 0.3, global: false },
    });

    await channel.send({ content: 'after the limit', allowedMentions: noPings });

    const posts = discord.requests.filter((r) => r.method === 'POST' && r.path === `/channels/${channel.id}/messages`);
    expect(posts.map((r) => r.status)).toEqual([429, 200]);
    expect(posts[1]!.at - posts[0]!.at).toBeGreaterThanOrEqual(280);
    expect(limited).toHaveLength(1);
    expect(limited[0]).toBeGreaterThanOrEqual(300);
  });

  it('returns the existing message for a repeated nonce with enforce_nonce', async () => {
    const { discord, client } = await connect();
    const channel = await defaultChannel(client, discord);
    const options = { content: 'once', nonce: 'job-42', enforceNonce: true, allowedMentions: noPings };

    const first = await channel.send(options);
    const second = await channel.send(options);

    expect(second.id).toBe(first.id);
    expect(discord.messages(channel.id)).toHaveLength(1);
    expect(discord.requests.filter((r) => r.json?.nonce === 'job-42')).toHaveLength(2);
  });

  it('records a message without allowed_mentions as a validation error (but Discord would accept it)', async () => {
    const { discord, client } = await connect();
    const channel = await defaultChannel(client, discord);
    await channel.send('hello <@123>');
    expect(discord.messages(channel.id)).toHaveLength(1);
    expect(discord.validationErrors).toEqual([expect.stringMatching(/^POST \/channels\/\d+\/messages: allowed_mentions is missing/)]);
  });

  it('answers Invalid Form Body for messages over Discord limits', async () => {
    const { discord, client } = await connect();
    const channel = await defaultChannel(client, discord);
    const row = new ActionRowBuilder<ButtonBuilder>().addComponents(
      new ButtonBuilder().setCustomId('same').setLabel('A').setStyle(ButtonStyle.Primary),
      new ButtonBuilder().setCustomId('same').setLabel('B').setStyle(ButtonStyle.Primary),
    );
    const error = await channel.send({ content: 'x'.repeat(2001), components: [row], allowedMentions: noPings }).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(DiscordAPIError);
    expect(error).toMatchObject({
      code: 50035,
      rawError: {
        errors: {
          content: { _errors: [{ code: 'BASE_TYPE_MAX_LENGTH' }] },
          components: { 0: { components: { 1: { custom_id: { _errors: [{ code: 'COMPONENT_CUSTOM_ID_DUPLICATED' }] } } } } },
        },
      },
    });
    expect(discord.messages(channel.id)).toHaveLength(0);
    expect(discord.validationErrors).toHaveLength(2);
  });

  it('answers Invalid Form Body for allowed_mentions ids that are not snowflakes, as Discord does', async () => {
    const { discord, client } = await connect();
    const channel = await defaultChannel(client, discord);
    const error = await channel.send({ content: 'hi <@123>', allowedMentions: { users: ['123', '<@456>'], roles: ['01'] } }).catch((e: unknown) => e);
    expect(error).toMatchObject({
      code: 50035,
      status: 400,
      rawError: {
        message: 'Invalid Form Body',
        errors: {
          allowed_mentions: {
            users: { 1: { _errors: [{ code: 'NUMBER_TYPE_COERCE', message: 'Value "<@456>" is not snowflake.' }] } },
            roles: { 0: { _errors: [{ code: 'NUMBER_TYPE_COERCE', message: 'Value "01" is not snowflake.' }] } },
          },
        },
      },
    });
    expect(discord.messages(channel.id)).toHaveLength(0);
    expect(discord.validationErrors).toHaveLength(2);

    // The same rule holds for interaction responses: the body is checked under `data`.
    const received = nextInteraction<ChatInputCommandInteraction>(client);
    const fake = discord.slashCommand({ name: 'help' });
    const interaction = await received;
    await expect(interaction.reply({ content: 'x', allowedMentions: { users: ['me'] } })).rejects.toMatchObject({ code: 50035 });
    expect(fake.original()).toBeUndefined();
    expect(discord.validationErrors.at(-1)).toMatch(/data\.allowed_mentions\.users\.0: Value "me" is not snowflake/);
  });

  it('hosts two servers, each with its own channels, members and age-restricted channel', async () => {
    const { discord, client } = await connect({ guilds: twoServers() });
    const [first, second] = discord.guilds;
    expect(client.guilds.cache.map((g) => g.id).sort()).toEqual([first!.id, second!.id].sort());
    const adult = second!.channels.find((c) => c.nsfw)!;
    expect((client.channels.cache.get(adult.id) as TextChannel).nsfw).toBe(true);

    const received = nextInteraction<ChatInputCommandInteraction>(client);
    const member = '710000000000002001';
    const fake = discord.slashCommand({ name: 'top', channelId: adult.id, userId: member });
    const interaction = await received;
    expect(fake.payload).toMatchObject({
      guild_id: second!.id,
      channel_id: adult.id,
      channel: { id: adult.id, guild_id: second!.id, nsfw: true, permissions: expect.any(String) },
      app_permissions: expect.any(String),
      member: { user: { id: member } },
    });
    expect(interaction.guildId).toBe(second!.id);

    // A thread's interaction payload does not say whether it is age-restricted (its parent does).
    const thread = await (client.channels.cache.get(adult.id) as TextChannel).threads.create({ name: 'late' });
    const inThread = discord.slashCommand({ name: 'top', channelId: thread.id });
    expect(inThread.payload.channel).not.toHaveProperty('nsfw');
    expect(inThread.payload.channel).toMatchObject({ parent_id: adult.id });
    await nextInteraction(client);

    // A forged click claims another server than the message it names.
    const sent = await (await defaultChannel(client, discord)).send({ content: 'first server', allowedMentions: noPings });
    const forged = discord.button({
      customId: 'x',
      message: { id: sent.id, channelId: sent.channelId },
      forgedPlace: { channelId: second!.channels[0]!.id },
    });
    expect(forged.payload).toMatchObject({ guild_id: second!.id, channel_id: second!.channels[0]!.id, message: { id: sent.id } });
  });

  it('refuses files over the guild attachment_size_limit with 413', async () => {
    const { discord, client } = await connect({ guilds: [{ attachmentSizeLimit: 1024 }] });
    const channel = await defaultChannel(client, discord);
    const error = await channel.send({ files: [new AttachmentBuilder(Buffer.alloc(2048), { name: 'big.bin' })] }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 40005, status: 413 });
    expect(discord.validationErrors).toEqual([expect.stringContaining('attachment_size_limit')]);
  });

  it('clicks a button on a bot message, and an update (type 7) edits that message', async () => {
    const { discord, client } = await connect();
    const channel = await defaultChannel(client, discord);
    const sent = await channel.send({
      content: 'Pick one',
      allowedMentions: noPings,
      components: [
        new ActionRowBuilder<ButtonBuilder>().addComponents(
          new ButtonBuilder().setCustomId('reroll:1').setLabel('Reroll').setStyle(ButtonStyle.Secondary),
        ),
      ],
    });
    const message = discord.message(sent.id)!;
    expect(() => discord.button({ customId: 'nope', message, strict: true })).toThrow(/no Button with custom_id "nope"/);

    const received = nextInteraction(client);
    const fake = discord.button({ customId: 'reroll:1', message, strict: true });
    const interaction = await received;
    expect(interaction.isButton() && interaction.customId).toBe('reroll:1');
    if (!interaction.isButton()) throw new Error('expected a button');
    expect(interaction.message.id).toBe(sent.id);

    await interaction.update({ content: 'Rerolling…', components: [], allowedMentions: noPings });
    expect(discord.message(sent.id)).toMatchObject({ content: 'Rerolling…', components: [], edits: 1 });
    expect(fake.originalMessageId).toBe(sent.id);
    expect(discord.validationErrors).toEqual([]);
  });

  it('shows a modal and submits it with the same layout', async () => {
    const { discord, client } = await connect();
    const received = nextInteraction<ChatInputCommandInteraction>(client);
    discord.slashCommand({ name: 'describe' });
    const interaction = await received;
    await interaction.showModal(
      new ModalBuilder()
        .setCustomId('describe-modal')
        .setTitle('Describe')
        .addComponents(
          new ActionRowBuilder<TextInputBuilder>().addComponents(
            new TextInputBuilder().setCustomId('prompt').setLabel('Prompt').setStyle(TextInputStyle.Paragraph),
          ),
        ),
    );

    const submitted = nextInteraction(client);
    discord.modalSubmit({ customId: 'describe-modal', fields: { prompt: 'a lighthouse' } });
    const modal = await submitted;
    if (!modal.isModalSubmit()) throw new Error('expected a modal submit');
    expect(modal.fields.getTextInputValue('prompt')).toBe('a lighthouse');
    await modal.reply({ content: 'Thanks', flags: MessageFlags.Ephemeral, allowedMentions: noPings });
    const reply = discord.messages(discord.defaultChannelId).at(-1);
    expect(reply).toMatchObject({ content: 'Thanks', ephemeral: true });
    expect(discord.validationErrors).toEqual([]);
  });

  it('dispatches a message context menu on a user message with an image attachment', async () => {
    const { discord, client } = await connect();
    const png = await tinyPng();
    const target = discord.createUserMessage({ content: 'remix me', attachments: [{ filename: 'cat.png', data: png }] });
    const received = nextInteraction(client);
    discord.messageContextMenu({ name: 'Remix', targetMessage: target });
    const interaction = await received;
    if (!interaction.isMessageContextMenuCommand()) throw new Error('expected a message context menu');
    expect(interaction.targetMessage.content).toBe('remix me');
    const image = interaction.targetMessage.attachments.first()!;
    expect(image).toMatchObject({ name: 'cat.png', contentType: 'image/png', width: 8, height: 6 });
    expect((await fetch(image.url)).status).toBe(200);
  });

  it('creates threads from messages and dispatches THREAD_CREATE', async () => {
    const { discord, client } = await connect();
    const channel = await defaultChannel(client, discord);
    const sent = await channel.send({ content: 'Series: lighthouses', allowedMentions: noPings });
    const threadCreated = once(client, Events.ThreadCreate);
    const thread = await sent.startThread({ name: 'lighthouses' });
    await threadCreated;
    expect(thread.id).toBe(sent.id);
    expect(discord.threads(channel.id).map((t) => t.name)).toEqual(['lighthouses']);
    await thread.send({ content: 'first', allowedMentions: noPings });
    expect(discord.messages(thread.id).map((m) => m.content)).toEqual(['first']);
  });

  it('follows up ephemerally, edits and deletes through the interaction webhook', async () => {
    const { discord, client } = await connect();
    const received = nextInteraction<ChatInputCommandInteraction>(client);
    const fake = discord.slashCommand({ name: 'imagine' });
    const interaction = await received;
    await interaction.reply({ content: 'Working', allowedMentions: noPings });
    const followUp = await interaction.followUp({ content: 'Only you', flags: MessageFlags.Ephemeral, allowedMentions: noPings });
    expect(fake.followUps().map((m) => [m.content, m.ephemeral])).toEqual([['Only you', true]]);
    await interaction.webhook.editMessage(followUp, { content: 'Only you (edited)', allowedMentions: noPings });
    await interaction.deleteReply();
    expect(discord.requests.at(-1)).toMatchObject({ method: 'DELETE', path: `/webhooks/${discord.applicationId}/${fake.token}/messages/@original` });
    expect(fake.original()).toBeUndefined();
    expect(discord.messages(discord.defaultChannelId).map((m) => m.content)).toEqual(['Only you (edited)']);
    expect(discord.validationErrors).toEqual([]);
  });

  it('survives a dropped gateway connection: the client resumes and gets events sent meanwhile', async () => {
    const { discord, client } = await connect();
    discord.closeGateway(4000);
    await discord.waitFor(() => !discord.gatewayConnected);
    const received = nextInteraction<ChatInputCommandInteraction>(client);
    discord.slashCommand({ name: 'imagine', options: { prompt: 'during the outage' } });

    const interaction = await received;
    expect(interaction.options.getString('prompt')).toBe('during the outage');
    expect(discord.resumeCount).toBe(1);
    expect(discord.identifyCount).toBe(1);
  });

  it('stores application commands (PUT replaces the set, ids are kept) and uses their ids', async () => {
    const { discord, client } = await connect();
    const imagine = { name: 'imagine', description: 'Make art', options: [{ type: 3, name: 'prompt', description: 'What', required: true }] };
    const [first] = (await client.application!.commands.set([imagine])).values();
    const [again] = (await client.application!.commands.set([imagine, { name: 'queue', description: 'Show queue' }])).values();
    expect(again!.id).toBe(first!.id);
    expect(discord.commands().map((c) => c.name)).toEqual(['imagine', 'queue']);

    const bad = await client.application!.commands.set([{ name: 'Bad Name', description: 'x' }]).catch((e: unknown) => e);
    expect(bad).toMatchObject({ code: 50035 });
    discord.validationErrors.length = 0;

    const received = nextInteraction<ChatInputCommandInteraction>(client);
    discord.slashCommand({ name: 'imagine', options: { prompt: 'x' } });
    expect((await received).commandId).toBe(first!.id);
  });

  it('speaks the Gateway protocol: HELLO, heartbeat ACK, sequence numbers, RESUME replay, invalid session', async () => {
    const discord = new FakeDiscord();
    setFake(discord);
    await discord.start();
    const identify = { token: discord.token, intents: GatewayIntentBits.Guilds, properties: {}, shard: [0, 1] };

    const first = await rawGateway(discord.gatewayUrl);
    expect(await first.next()).toMatchObject({ op: 10, d: { heartbeat_interval: 41_250 } });
    first.send({ op: 1, d: null });
    expect(await first.next()).toMatchObject({ op: 11 });
    first.send({ op: 2, d: identify });
    const ready = await first.next();
    expect(ready).toMatchObject({
      op: 0,
      t: 'READY',
      s: 1,
      d: {
        v: 10,
        resume_gateway_url: discord.gatewayUrl,
        application: { id: discord.applicationId },
        guilds: [{ id: discord.defaultGuildId, unavailable: true }],
      },
    });
    expect(await first.next()).toMatchObject({
      t: 'GUILD_CREATE',
      s: 2,
      d: { id: discord.defaultGuildId, channels: [{ id: discord.defaultChannelId }] },
    });
    await discord.ready;

    first.close();
    await discord.waitFor(() => !discord.gatewayConnected);
    const missed = discord.slashCommand({ name: 'imagine' });

    const second = await rawGateway(discord.gatewayUrl);
    await second.next(); // HELLO
    second.send({ op: 6, d: { token: discord.token, session_id: ready.d.session_id, seq: 2 } });
    expect(await second.next()).toMatchObject({ t: 'INTERACTION_CREATE', s: 3, d: { id: missed.id } });
    expect(await second.next()).toMatchObject({ t: 'RESUMED', s: 4 });

    const third = await rawGateway(discord.gatewayUrl);
    await third.next();
    third.send({ op: 6, d: { token: discord.token, session_id: 'stale', seq: 1 } });
    expect(await third.next()).toMatchObject({ op: 9, d: false });
    third.send({ op: 2, d: { ...identify, token: 'wrong' } });
    expect(await third.closed).toBe(4004);
    second.close();
  });

  it('shards as Discord does: /gateway/bot recommends, each guild’s events go to its shard, bad shards are refused', async () => {
    // Guild ids whose (id >> 22) % 2 is 0 and 1.
    const onShard = (shard: number) => (((1_300_000_000n * 2n + BigInt(shard)) << 22n) | 5n).toString();
    const discord = new FakeDiscord({ guilds: [{ id: onShard(0) }, { id: onShard(1) }], shards: 2, maxConcurrency: 1, identifyWindowMs: 5_000 });
    setFake(discord);
    await discord.start();
    const [g0, g1] = discord.guilds;
    const gatewayBot = await fetch(`${discord.apiUrl}/v10/gateway/bot`, { headers: { authorization: `Bot ${discord.token}` } });
    expect(await gatewayBot.json()).toMatchObject({ shards: 2, session_start_limit: { max_concurrency: 1 } });

    const identify = (shard: [number, number]) => ({ op: 2, d: { token: discord.token, intents: GatewayIntentBits.Guilds, properties: {}, shard } });
    const shard0 = await rawGateway(discord.gatewayUrl);
    await shard0.next(); // HELLO
    shard0.send(identify([0, 2]));
    expect(await shard0.next()).toMatchObject({ t: 'READY', d: { shard: [0, 2], guilds: [{ id: g0!.id }] } });
    expect(await shard0.next()).toMatchObject({ t: 'GUILD_CREATE', d: { id: g0!.id } });

    // Shard 1 identifies at once, in the same max_concurrency bucket (1 % 1 = 0 % 1): flagged.
    const shard1 = await rawGateway(discord.gatewayUrl);
    await shard1.next();
    shard1.send(identify([1, 2]));
    expect(await shard1.next()).toMatchObject({ t: 'READY', d: { shard: [1, 2], guilds: [{ id: g1!.id }] } });
    expect(await shard1.next()).toMatchObject({ t: 'GUILD_CREATE', d: { id: g1!.id } });
    expect(discord.validationErrors).toEqual([expect.stringMatching(/same max_concurrency bucket/)]);
    discord.validationErrors.length = 0;
    expect(discord.connectedShards.sort()).toEqual([0, 1]);

    const inG1 = discord.slashCommand({ name: 'imagine', guildId: g1!.id, channelId: g1!.channels[0]!.id });
    const inG0 = discord.slashCommand({ name: 'imagine', guildId: g0!.id, channelId: g0!.channels[0]!.id });
    expect(await shard1.next()).toMatchObject({ t: 'INTERACTION_CREATE', d: { id: inG1.id, guild_id: g1!.id } });
    expect(await shard0.next()).toMatchObject({ t: 'INTERACTION_CREATE', d: { id: inG0.id, guild_id: g0!.id } });

    const outside = await rawGateway(discord.gatewayUrl);
    await outside.next();
    outside.send(identify([2, 2]));
    expect(await outside.closed).toBe(4010);
    shard0.close();
    shard1.close();
  });

  it('dispatches select menus, autocomplete and user context menus', async () => {
    const { discord, client } = await connect();
    const channel = await defaultChannel(client, discord);
    const sent = await channel.send({
      content: 'Style?',
      allowedMentions: noPings,
      components: [
        {
          type: 1,
          components: [
            {
              type: 3,
              custom_id: 'style',
              options: [
                { label: 'Oil', value: 'oil' },
                { label: 'Ink', value: 'ink' },
              ],
            },
          ],
        },
      ],
    });
    let received = nextInteraction(client);
    discord.stringSelect({ customId: 'style', values: ['ink'], message: discord.message(sent.id)!, strict: true });
    const select = await received;
    expect(select.isStringSelectMenu() && select.values).toEqual(['ink']);

    received = nextInteraction(client);
    const typing = discord.autocomplete({ name: 'imagine', options: { prompt: 'a li', style: 'o' }, focused: 'style' });
    const autocomplete = await received;
    if (!autocomplete.isAutocomplete()) throw new Error('expected autocomplete');
    expect(autocomplete.options.getFocused(true)).toMatchObject({ name: 'style', value: 'o' });
    await autocomplete.respond([{ name: 'Oil', value: 'oil' }]);
    expect(typing.choices).toEqual([{ name: 'Oil', value: 'oil' }]);

    const someone = discord.user({ username: 'ada', globalName: 'Ada' });
    received = nextInteraction(client);
    discord.userContextMenu({ name: 'Gallery', targetUserId: someone.id });
    const menu = await received;
    if (!menu.isUserContextMenuCommand()) throw new Error('expected a user context menu');
    expect(menu.targetUser.globalName).toBe('Ada');
    expect(discord.validationErrors).toEqual([]);
  });

  it('waitForRequest resolves with past or future requests and explains timeouts', async () => {
    const { discord, client } = await connect();
    const past = await discord.waitForRequest((r) => r.path === '/gateway/bot');
    expect(past.status).toBe(200);
    const channel = await defaultChannel(client, discord);
    const future = discord.waitForRequest((r) => r.method === 'POST' && r.json?.content === 'later');
    await channel.send({ content: 'later', allowedMentions: noPings });
    expect((await future).status).toBe(200);
    await expect(discord.waitForRequest(() => false, 50)).rejects.toThrow(/Recent requests[\s\S]*POST \/channels/);
  });
});
