/**
 * A local fake of Discord (REST API v10, CDN and Gateway) for end-to-end tests.
 *
 * The bot's real discord.js `Client` talks to it over HTTP and WebSocket on 127.0.0.1:
 *
 *   const discord = new FakeDiscord();
 *   await discord.start();
 *   const client = new Client({ intents: [GatewayIntentBits.Guilds], rest: { api: discord.apiUrl, cdn: discord.cdnUrl } });
 *   await client.login(discord.token);
 *   await discord.ready;
 *   const interaction = discord.slashCommand({ name: 'imagine', options: [...] });
 *   await interaction.response();
 *
 * It keeps the state a bot can observe (guilds, channels, messages, attachments, interactions,
 * application commands), enforces the rules real Discord enforces (interaction acknowledgement
 * windows, token expiry, message limits, nonce de-duplication) and answers with Discord's error
 * shapes, so bot code that works here has a good chance of working against the real thing.
 * Everything the bot sends that breaks Discord's limits or the project's own rule "never ping
 * by accident" ends up in `validationErrors`.
 *
 * The facts below come from Discord's OpenAPI description and developer documentation; this file
 * must not read anything outside the repository at runtime.
 */
import { generateKeyPairSync, randomBytes, sign } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { createServer, STATUS_CODES, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocket, WebSocketServer, type RawData } from 'ws';
import { FakeOAuth2, type OAuth2Reply } from './fake-discord-oauth2.js';
import {
  ApplicationCommandOptionType,
  ApplicationCommandType,
  ButtonStyle,
  ChannelType,
  ComponentType,
  GatewayCloseCodes,
  GatewayIntentBits,
  GatewayOpcodes,
  InteractionResponseType,
  InteractionType,
  MessageFlags,
  MessageType,
  PermissionFlagsBits,
  type APIAllowedMentions,
  type APIGuildInteraction,
  type APIApplicationCommand,
  type APIApplicationCommandInteractionDataOption,
  type APIAttachment,
  type APIEmbed,
  type APIInteractionDataResolved,
  type APIInteractionGuildMember,
  type APIMessage,
  type APIMessageTopLevelComponent,
  type APIRole,
  type APIUser,
  type GuildMemberFlags,
  type RoleFlags,
  type UserFlags,
} from 'discord-api-types/v10';

// ---------------------------------------------------------------------------
// Constants (copied from Discord's documentation / OpenAPI description)
// ---------------------------------------------------------------------------

const DISCORD_EPOCH = 1_420_070_400_000;
const DEFAULT_ATTACHMENT_SIZE_LIMIT = 10 * 1024 * 1024;
/** Discord wants the initial interaction response within 3 seconds. */
const DEFAULT_CALLBACK_WINDOW_MS = 3_000;
/** Interaction tokens (follow-ups, @original edits) stay valid for 15 minutes. */
const DEFAULT_TOKEN_LIFETIME_MS = 15 * 60_000;
/** "a message with the same nonce ... in the past few minutes" (enforce_nonce). */
const NONCE_WINDOW_MS = 3 * 60_000;
const DEFAULT_HEARTBEAT_INTERVAL_MS = 41_250;
const GATEWAY_HISTORY_LIMIT = 2_000;

const LIMITS = {
  content: 2000,
  embeds: 10,
  embedTitle: 256,
  embedDescription: 4096,
  embedFields: 25,
  embedFieldName: 256,
  embedFieldValue: 1024,
  embedFooter: 2048,
  embedAuthor: 256,
  embedTotal: 6000,
  actionRows: 5,
  rowWidth: 5,
  customId: 100,
  buttonLabel: 80,
  buttonUrl: 512,
  selectPlaceholder: 150,
  selectOptions: 25,
  selectOptionText: 100,
  v2Components: 40,
  files: 10,
  nonce: 25,
  allowedMentionIds: 100,
  modalTitle: 45,
  modalInputs: 5,
  textInputLabel: 45,
  textInputValue: 4000,
  textInputPlaceholder: 100,
  threadName: 100,
  autocompleteChoices: 25,
  commandName: 32,
  commandDescription: 100,
  commandOptions: 25,
  commandChoices: 25,
  chatInputCommands: 100,
  contextMenuCommands: 15,
} as const;

const SELECT_TYPES: ReadonlySet<number> = new Set([
  ComponentType.StringSelect,
  ComponentType.UserSelect,
  ComponentType.RoleSelect,
  ComponentType.MentionableSelect,
  ComponentType.ChannelSelect,
]);

/** Chat input command and option names (Discord's documented regex, lowercase only). */
const CHAT_INPUT_NAME = /^[-_'\p{L}\p{N}\p{sc=Deva}\p{sc=Thai}]{1,32}$/u;

const P = PermissionFlagsBits;
/** What an ordinary member can do: none of Manage Messages / Manage Guild. */
export const MEMBER_PERMISSIONS =
  P.ViewChannel |
  P.SendMessages |
  P.SendMessagesInThreads |
  P.CreatePublicThreads |
  P.EmbedLinks |
  P.AttachFiles |
  P.AddReactions |
  P.UseExternalEmojis |
  P.ReadMessageHistory |
  P.UseApplicationCommands |
  P.ChangeNickname |
  P.Connect |
  P.Speak;
/** A moderator additionally manages messages, threads and the guild. */
export const MODERATOR_PERMISSIONS = MEMBER_PERMISSIONS | P.ManageMessages | P.ManageThreads | P.ManageGuild | P.ModerateMembers | P.KickMembers;
/** What the bot's managed role grants it by default. */
export const BOT_PERMISSIONS = MEMBER_PERMISSIONS | P.ManageMessages | P.ManageThreads | P.CreatePrivateThreads | P.MentionEveryone;

// Message flags the bot may set, per kind of message.
const CHANNEL_MESSAGE_FLAGS = MessageFlags.SuppressEmbeds | MessageFlags.SuppressNotifications | MessageFlags.IsComponentsV2;
const INTERACTION_MESSAGE_FLAGS = CHANNEL_MESSAGE_FLAGS | MessageFlags.Ephemeral;

// ---------------------------------------------------------------------------
// Public types
// ---------------------------------------------------------------------------

export interface FakeChannelOptions {
  id?: string;
  name?: string;
  nsfw?: boolean;
  /** Defaults to a text channel. */
  type?: ChannelType.GuildText | ChannelType.GuildAnnouncement;
  /** Role (type 0) or member (type 1) overwrites, applied as Discord does to members' permissions here. */
  permissionOverwrites?: FakePermissionOverwrite[];
}

export interface FakePermissionOverwrite {
  id: string;
  type: 0 | 1;
  allow?: bigint;
  deny?: bigint;
}

/** A role besides @everyone and the bot's; members get it with `discord.member(id, { roles })`. */
export interface FakeRoleOptions {
  id: string;
  name: string;
  permissions: bigint;
  /** Higher is above; @everyone is 0 and the bot's role 1. */
  position: number;
}

export interface FakeGuildOptions {
  id?: string;
  name?: string;
  /** Bytes; reported as `attachment_size_limit` and enforced on uploads. Default 10 MiB. */
  attachmentSizeLimit?: number;
  /** Default: one text channel called "general". */
  channels?: FakeChannelOptions[];
  roles?: FakeRoleOptions[];
  locale?: string;
  /** Members from the start (others join the first time they act). */
  members?: Array<FakeUserOptions & Omit<FakeMemberOptions, 'guildId'>>;
}

/**
 * Two servers for cross-server tests: each with an ordinary channel, a second one and an
 * age-restricted (`nsfw`) one, and two members of its own. Channel order: general, art, after-dark.
 */
export function twoServers(): FakeGuildOptions[] {
  const server = (n: number, name: string): FakeGuildOptions => ({
    name,
    channels: [{ name: 'general' }, { name: 'art' }, { name: 'after-dark', nsfw: true }],
    members: [
      { id: `71000000000000${n}001`, username: `member${n}a` },
      { id: `71000000000000${n}002`, username: `member${n}b` },
    ],
  });
  return [server(1, 'Atelier Test Guild'), server(2, 'Second Test Guild')];
}

export interface FakeDiscordOptions {
  applicationId?: string;
  /**
   * The bot user's id. Default: the application's, as for applications made today; some older
   * applications have a bot user with an id of its own.
   */
  botUserId?: string;
  /** The bot token the fake accepts (default: a random, realistic-looking token). */
  token?: string;
  botUsername?: string;
  /** Default: one guild with one text channel. */
  guilds?: FakeGuildOptions[];
  /** Permissions of the bot's managed role, reported as `app_permissions`. */
  botPermissions?: bigint;
  /**
   * Privileged intents the "developer portal" allows (GuildMembers, GuildPresences, MessageContent).
   * Identifying with any other privileged intent is refused with close code 4014, as on Discord.
   * Default: none.
   */
  privilegedIntents?: number;
  /** How long after dispatch the initial interaction response is accepted (Discord: 3 s). */
  callbackWindowMs?: number;
  /** How long interaction tokens work, counted from the interaction's creation (Discord: 15 min). */
  tokenLifetimeMs?: number;
  heartbeatIntervalMs?: number;
  /** Shards GET /gateway/bot recommends (default 1); events then go to `(guild_id >> 22) % count`. */
  shards?: number;
  /** `session_start_limit.max_concurrency` of GET /gateway/bot (default 1). */
  maxConcurrency?: number;
  /**
   * When set, two identifies of one max_concurrency bucket (`shard_id % max_concurrency`) closer
   * than this are a violation (Discord: 5,000 ms). Default 0: not checked.
   */
  identifyWindowMs?: number;
}

export interface FakeChannel {
  id: string;
  type: ChannelType;
  name: string;
  guildId?: string;
  nsfw: boolean;
  /** Threads: the channel they live in. */
  parentId?: string;
  /** Threads: who created them. */
  ownerId?: string;
  /** DMs: the other user. */
  recipientId?: string;
  permissionOverwrites?: FakePermissionOverwrite[];
  createdAt: number;
  lastMessageId?: string;
  autoArchiveDuration?: number;
  /** Threads: how many messages were sent in them. */
  messageCount: number;
}

export interface FakeGuild {
  id: string;
  name: string;
  attachmentSizeLimit: number;
  locale: string;
  ownerId: string;
  everyoneRoleId: string;
  botRoleId: string;
  roles: FakeRoleOptions[];
  /** The channels the guild was created with (threads are in `discord.threads()`). */
  channels: FakeChannel[];
}

export interface FakeAttachment {
  id: string;
  filename: string;
  size: number;
  contentType: string;
  url: string;
  proxy_url: string;
  width?: number;
  height?: number;
  description?: string;
  ephemeral: boolean;
  data: Buffer;
}

export interface FakeMessage {
  id: string;
  channelId: string;
  guildId?: string;
  authorId: string;
  type: MessageType;
  content: string;
  flags: number;
  ephemeral: boolean;
  /** The interaction this message answers (initial response or follow-up). */
  interactionId?: string;
  webhookId?: string;
  embeds: APIEmbed[];
  components: APIMessageTopLevelComponent[];
  attachments: FakeAttachment[];
  messageReference?: { message_id: string; channel_id: string; guild_id?: string };
  /** What the sender asked for, as sent (undefined when it sent none). */
  allowedMentions?: APIAllowedMentions;
  nonce?: string | number;
  tts: boolean;
  createdAt: number;
  editedAt?: number;
  /** How many times the message was edited after creation. */
  edits: number;
  /** A thread started from this message (its id equals the message id, as on Discord). */
  threadId?: string;
  /** Emoji the bot reacted with. */
  reactions: string[];
}

export interface RecordedFile {
  field: string;
  filename: string;
  contentType: string;
  data: Buffer;
}

export interface RecordedRequest {
  method: string;
  /** Without the /api/v10 prefix and URL-decoded, e.g. '/channels/1/messages', '/webhooks/1/tok/messages/@original'. */
  path: string;
  query: URLSearchParams;
  /** Lower-cased header names. */
  headers: Record<string, string>;
  /** The parsed JSON body, or the payload_json of a multipart body. */
  json: any;
  files: RecordedFile[];
  /** What the fake answered. */
  status: number;
  response: unknown;
  /** When the fake answered it. */
  at: number;
  /** When its headers arrived (what Discord's rate limits count; `at` also includes reading and parsing the body). */
  receivedAt: number;
}

export interface FaultRule {
  method?: string;
  /** Tested against the path without the /api/v10 prefix and without the query. */
  path: RegExp;
  status: number;
  body?: object;
  headers?: Record<string, string>;
  /** Default 1. */
  times?: number;
  /** Only requests this accepts match, e.g. `(r) => r.files.length > 0` for uploads alone. */
  when?: (request: { method: string; path: string; json: unknown; files: RecordedFile[] }) => boolean;
}

/** Which request holdNextAnswer holds: by method and path (without /api/v10), and optionally by what it carried. */
export interface HoldRule {
  method?: string;
  path: RegExp;
  when?: (request: RecordedRequest) => boolean;
}

export interface FakeUserOptions {
  id?: string;
  username?: string;
  globalName?: string | null;
  bot?: boolean;
}

export interface FakeMemberOptions {
  guildId?: string;
  roles?: string[];
  nick?: string | null;
  moderator?: boolean;
  permissions?: bigint | string;
}

/** Who performs an interaction. */
export interface InteractionActorOptions {
  /** Default: `discord.defaultUser`. Unknown ids become new users. */
  userId?: string;
  /** Gives Manage Messages / Manage Guild (and friends). */
  moderator?: boolean;
  /** Exact member permissions; wins over `moderator`. */
  memberPermissions?: bigint | string;
  locale?: string;
  /** Fabricate an interaction created in the past (its snowflake and token expiry follow). */
  createdAt?: number;
}

export interface InteractionPlaceOptions {
  guildId?: string;
  channelId?: string;
}

/** A slash-command option value: scalars, or a FakeAttachment for attachment options. */
export type OptionValue = string | number | boolean | FakeAttachment;

/** A command option as Discord sends it (APIApplicationCommandInteractionDataOption, loosely typed). */
export interface RawCommandOption {
  name: string;
  type: ApplicationCommandOptionType;
  value?: string | number | boolean;
  options?: RawCommandOption[];
  focused?: boolean;
}

export interface SlashCommandOptions extends InteractionActorOptions, InteractionPlaceOptions {
  name: string;
  /** Raw Discord options, or `{ name: value }` (types come from the registered command, else from the JS type). */
  options?: RawCommandOption[] | Record<string, OptionValue>;
}

export interface AutocompleteOptions extends SlashCommandOptions {
  /** Name of the option being typed into. */
  focused: string;
}

/** A message to attach a component interaction to: a FakeMessage or its id and channel. */
export type MessageRef = FakeMessage | { id: string; channelId: string };

export interface ComponentInteractionOptions extends InteractionActorOptions {
  customId: string;
  message: MessageRef;
  /**
   * A forged click: the interaction claims this server/channel instead of the message's. Discord
   * never sends such a thing, but a handler must not trust the message to tell where it is.
   */
  forgedPlace?: InteractionPlaceOptions;
  /**
   * Throw unless the message carries an enabled component of this kind with that custom_id. Off by
   * default: stale clients (and forged requests) do send clicks for components that are gone.
   */
  strict?: boolean;
}

export interface StringSelectOptions extends ComponentInteractionOptions {
  values: string[];
}

export interface ModalSubmitOptions extends InteractionActorOptions, InteractionPlaceOptions {
  customId: string;
  /** Text inputs by custom_id (string), or select values (string[]). */
  fields: Record<string, string | string[]>;
  /** The message whose component opened the modal, if any. */
  message?: MessageRef;
  /**
   * Files put into File Upload components, by the component's custom_id. As Discord does, they are
   * stored as ephemeral attachments, the component carries their ids as `values`, and the
   * interaction's `data.resolved.attachments` describes them.
   */
  uploads?: Record<string, Array<{ filename: string; data: Buffer; contentType?: string }>>;
}

export interface MessageContextMenuOptions extends InteractionActorOptions {
  name: string;
  targetMessage: MessageRef;
}

export interface UserContextMenuOptions extends InteractionActorOptions, InteractionPlaceOptions {
  name: string;
  targetUserId: string;
}

export interface UserMessageOptions {
  channelId?: string;
  authorId?: string;
  content?: string;
  embeds?: APIEmbed[];
  attachments?: Array<{ filename: string; data: Buffer; contentType?: string }>;
}

export interface InteractionCallbackRecord {
  type: InteractionResponseType;
  data: any;
  at: number;
}

export type GatewayEventKind = 'connect' | 'identify' | 'ready' | 'resume' | 'invalid-session' | 'disconnect' | 'heartbeat';

// ---------------------------------------------------------------------------
// Small helpers
// ---------------------------------------------------------------------------

type Json = Record<string, unknown>;

function isRecord(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function asArray(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}

/** Discord counts characters (code points), not UTF-16 units. */
function charLength(value: unknown): number {
  return typeof value === 'string' ? [...value].length : 0;
}

let snowflakeIncrement = 0;

/** A snowflake whose embedded timestamp is `timestamp`: the bot reads interaction age from ids. */
export function snowflake(timestamp: number = Date.now()): string {
  snowflakeIncrement = (snowflakeIncrement + 1) & 0xfff;
  const ms = BigInt(Math.max(0, Math.floor(timestamp) - DISCORD_EPOCH));
  return ((ms << 22n) | (1n << 17n) | (1n << 12n) | BigInt(snowflakeIncrement)).toString();
}

export function snowflakeTimestamp(id: string): number {
  return Number(BigInt(id) >> 22n) + DISCORD_EPOCH;
}

function randomToken(bytes: number): string {
  return randomBytes(bytes).toString('base64url');
}

function compareIds(a: string, b: string): number {
  const x = BigInt(a);
  const y = BigInt(b);
  return x < y ? -1 : x > y ? 1 : 0;
}

function toPermissionString(value: bigint | string): string {
  return typeof value === 'bigint' ? value.toString() : BigInt(value).toString();
}

/** Interaction tokens make paths unreadable; shorten them in human-facing messages. */
function displayPath(path: string): string {
  return path
    .split('/')
    .map((segment) => (segment.length > 40 ? `${segment.slice(0, 8)}…` : segment))
    .join('/');
}

/** Discord strips spaces and odd characters from uploaded file names. */
function sanitizeFilename(name: string): string {
  const cleaned = name.replace(/\s+/g, '_').replace(/[^\w.-]/g, '');
  return cleaned.length > 0 ? cleaned : 'unknown';
}

const EXTENSION_TYPES: Record<string, string> = {
  png: 'image/png',
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  gif: 'image/gif',
  webp: 'image/webp',
  txt: 'text/plain; charset=utf-8',
  json: 'application/json; charset=utf-8',
  mp4: 'video/mp4',
  webm: 'video/webm',
};

/** Like Discord, trust the bytes first, then the declared type, then the extension. */
function detectContentType(data: Buffer, filename: string, declared?: string): string {
  if (data.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))) return 'image/png';
  if (data[0] === 0xff && data[1] === 0xd8) return 'image/jpeg';
  if (data.subarray(0, 4).toString('latin1') === 'GIF8') return 'image/gif';
  if (data.subarray(0, 4).toString('latin1') === 'RIFF' && data.subarray(8, 12).toString('latin1') === 'WEBP') {
    return 'image/webp';
  }
  if (declared && declared !== 'application/octet-stream') return declared;
  const extension = filename.split('.').pop()?.toLowerCase() ?? '';
  return EXTENSION_TYPES[extension] ?? 'application/octet-stream';
}

/** Image dimensions from the file header (PNG, GIF, JPEG, WebP), so uploads stay synchronous. */
export function imageSize(data: Buffer): { width: number; height: number } | undefined {
  try {
    switch (detectContentType(data, '')) {
      case 'image/png':
        return { width: data.readUInt32BE(16), height: data.readUInt32BE(20) };
      case 'image/gif':
        return { width: data.readUInt16LE(6), height: data.readUInt16LE(8) };
      case 'image/jpeg':
        return jpegSize(data);
      case 'image/webp':
        return webpSize(data);
      default:
        return undefined;
    }
  } catch {
    return undefined; // a truncated header is not the fake's problem
  }
}

function jpegSize(data: Buffer): { width: number; height: number } | undefined {
  let offset = 2;
  while (offset + 9 < data.length) {
    if (data[offset] !== 0xff) return undefined;
    const marker = data[offset + 1] ?? 0;
    if (marker === 0xff) {
      offset += 1; // fill byte
      continue;
    }
    const isStartOfFrame = marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc;
    if (isStartOfFrame) return { height: data.readUInt16BE(offset + 5), width: data.readUInt16BE(offset + 7) };
    offset += 2 + data.readUInt16BE(offset + 2);
  }
  return undefined;
}

function webpSize(data: Buffer): { width: number; height: number } | undefined {
  const chunk = data.subarray(12, 16).toString('latin1');
  if (chunk === 'VP8 ') return { width: data.readUInt16LE(26) & 0x3fff, height: data.readUInt16LE(28) & 0x3fff };
  if (chunk === 'VP8L') {
    const bits = data.readUInt32LE(21);
    return { width: (bits & 0x3fff) + 1, height: ((bits >> 14) & 0x3fff) + 1 };
  }
  if (chunk === 'VP8X') return { width: data.readUIntLE(24, 3) + 1, height: data.readUIntLE(27, 3) + 1 };
  return undefined;
}

// ---------------------------------------------------------------------------
// HTTP plumbing
// ---------------------------------------------------------------------------

interface RestReply {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

/** Thrown by route handlers to answer early with a Discord error. */
class ApiError extends Error {
  constructor(readonly reply: RestReply) {
    super(`Discord error ${reply.status}`);
  }
}

function jsonReply(status: number, body: unknown, headers?: Record<string, string>): RestReply {
  return { status, body, headers };
}

function noContent(): RestReply {
  return { status: 204 };
}

function errorReply(status: number, code: number, message: string, errors?: object): RestReply {
  return jsonReply(status, errors ? { code, message, errors } : { code, message });
}

function fail(status: number, code: number, message: string): never {
  throw new ApiError(errorReply(status, code, message));
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

interface ParsedBody {
  json: unknown;
  files: RecordedFile[];
  invalidJson?: boolean;
}

/** JSON, or multipart with `payload_json` + `files[n]` (what discord.js sends with attachments). */
async function parseBody(contentType: string, raw: Buffer): Promise<ParsedBody> {
  if (raw.length === 0) return { json: undefined, files: [] };
  try {
    if (contentType.startsWith('multipart/form-data')) return await parseMultipart(contentType, raw);
    // OAuth2 token requests (and the consent form) are form-encoded.
    if (contentType.startsWith('application/x-www-form-urlencoded'))
      return { json: Object.fromEntries(new URLSearchParams(raw.toString('utf8'))), files: [] };
    return { json: JSON.parse(raw.toString('utf8')), files: [] };
  } catch {
    return { json: undefined, files: [], invalidJson: true };
  }
}

async function parseMultipart(contentType: string, raw: Buffer): Promise<ParsedBody> {
  const form = await new Request('http://fake-discord.invalid/', {
    method: 'POST',
    headers: { 'content-type': contentType },
    body: raw,
  }).formData();
  let json: unknown;
  const files: RecordedFile[] = [];
  for (const [field, value] of form.entries()) {
    if (typeof value === 'string') {
      if (field === 'payload_json') json = JSON.parse(value);
      continue;
    }
    const data = Buffer.from(await value.arrayBuffer());
    files.push({ field, filename: value.name, contentType: value.type || 'application/octet-stream', data });
  }
  return { json, files };
}

function writeOAuth2Reply(res: ServerResponse, reply: OAuth2Reply): void {
  if (reply.html === undefined) return writeReply(res, reply);
  res.writeHead(reply.status, { 'content-type': 'text/html; charset=utf-8', ...reply.headers });
  res.end(reply.html);
}

function writeReply(res: ServerResponse, reply: RestReply): void {
  if (reply.status === 204 || reply.body === undefined) {
    res.writeHead(reply.status, reply.headers);
    res.end();
    return;
  }
  const text = JSON.stringify(reply.body);
  res.writeHead(reply.status, {
    'content-type': 'application/json',
    'content-length': String(Buffer.byteLength(text)),
    ...reply.headers,
  });
  res.end(text);
}

/** The headers discord.js reads to wait out a 429 (retry-after in seconds, scope, global). */
function rateLimitHeaders(retryAfter: number, global: boolean): Record<string, string> {
  const headers: Record<string, string> = {
    'retry-after': String(retryAfter),
    'x-ratelimit-limit': '1',
    'x-ratelimit-remaining': '0',
    'x-ratelimit-reset': ((Date.now() + retryAfter * 1000) / 1000).toFixed(3),
    'x-ratelimit-reset-after': retryAfter.toFixed(3),
    'x-ratelimit-scope': global ? 'global' : 'user',
  };
  if (global) headers['x-ratelimit-global'] = 'true';
  return headers;
}

// ---------------------------------------------------------------------------
// Shape validation (pure functions: body in, field errors out)
// ---------------------------------------------------------------------------

type FieldPath = Array<string | number>;

interface FieldError {
  path: FieldPath;
  code: string;
  message: string;
}

/** Collects errors under a path prefix, so nested checks stay short. */
class Checker {
  readonly errors: FieldError[] = [];

  add(path: FieldPath, code: string, message: string): void {
    this.errors.push({ path, code, message });
  }

  maxLength(path: FieldPath, value: unknown, max: number): void {
    if (charLength(value) > max) this.add(path, 'BASE_TYPE_MAX_LENGTH', `Must be ${max} or fewer in length.`);
  }

  length(path: FieldPath, value: unknown, min: number, max: number): void {
    if (typeof value !== 'string') {
      this.add(path, 'BASE_TYPE_REQUIRED', 'This field is required');
      return;
    }
    if (charLength(value) < min) this.add(path, 'BASE_TYPE_MIN_LENGTH', `Must be ${min} or more in length.`);
    this.maxLength(path, value, max);
  }

  maxItems(path: FieldPath, value: unknown[], max: number): void {
    if (value.length > max) this.add(path, 'BASE_TYPE_MAX_LENGTH', `Must be ${max} or fewer in length.`);
  }

  range(path: FieldPath, value: unknown, min: number, max: number): void {
    if (value === undefined || value === null) return;
    if (typeof value !== 'number' || value < min || value > max) {
      this.add(path, 'NUMBER_TYPE_OUT_OF_RANGE', `Must be between ${min} and ${max}.`);
    }
  }
}

/** Turns field errors into Discord's nested `errors` object: { content: { _errors: [...] } }. */
function errorTree(errors: FieldError[]): Json {
  const root: Json = {};
  for (const error of errors) {
    let node = root;
    for (const key of error.path) {
      const next = node[String(key)];
      node = isRecord(next) ? next : ((node[String(key)] = {}) as Json);
    }
    const list = Array.isArray(node._errors) ? node._errors : (node._errors = []);
    (list as unknown[]).push({ code: error.code, message: error.message });
  }
  return root;
}

function describeFieldError(error: FieldError): string {
  return `${error.path.join('.') || '(body)'}: ${error.message} (${error.code})`;
}

/** Limits on a message body (create, edit, interaction response or follow-up). */
function checkMessageBody(check: Checker, body: Json, uploads: RecordedFile[], existing: FakeAttachment[]): void {
  const flags = typeof body.flags === 'number' ? body.flags : 0;
  check.maxLength(['content'], body.content, LIMITS.content);
  checkEmbeds(check, body.embeds);
  if (flags & MessageFlags.IsComponentsV2) checkComponentsV2(check, body);
  else checkActionRows(check, body.components);
  checkNonce(check, body.nonce);
  checkAllowedMentionsShape(check, body.allowed_mentions);
  checkAttachmentList(check, body.attachments, uploads, existing);
}

function checkEmbeds(check: Checker, embeds: unknown): void {
  if (embeds === undefined || embeds === null) return;
  const list = asArray(embeds);
  check.maxItems(['embeds'], list, LIMITS.embeds);
  let total = 0;
  list.forEach((embed, i) => {
    if (!isRecord(embed)) return;
    total += checkEmbed(check, embed, ['embeds', i]);
  });
  if (total > LIMITS.embedTotal) {
    check.add(['embeds'], 'MAX_EMBED_SIZE_EXCEEDED', `Embed size exceeds maximum size of ${LIMITS.embedTotal}`);
  }
}

/** Checks one embed and returns its size as Discord counts it toward the 6000-character total. */
function checkEmbed(check: Checker, embed: Json, path: FieldPath): number {
  check.maxLength([...path, 'title'], embed.title, LIMITS.embedTitle);
  check.maxLength([...path, 'description'], embed.description, LIMITS.embedDescription);
  const footer = isRecord(embed.footer) ? embed.footer : {};
  const author = isRecord(embed.author) ? embed.author : {};
  check.maxLength([...path, 'footer', 'text'], footer.text, LIMITS.embedFooter);
  check.maxLength([...path, 'author', 'name'], author.name, LIMITS.embedAuthor);
  const fields = asArray(embed.fields);
  check.maxItems([...path, 'fields'], fields, LIMITS.embedFields);
  let size = charLength(embed.title) + charLength(embed.description) + charLength(footer.text) + charLength(author.name);
  fields.forEach((field, i) => {
    if (!isRecord(field)) return;
    check.length([...path, 'fields', i, 'name'], field.name, 1, LIMITS.embedFieldName);
    check.length([...path, 'fields', i, 'value'], field.value, 1, LIMITS.embedFieldValue);
    size += charLength(field.name) + charLength(field.value);
  });
  return size;
}

/** Classic components: at most 5 action rows at the top level. */
function checkActionRows(check: Checker, components: unknown): void {
  if (components === undefined || components === null) return;
  const rows = asArray(components);
  check.maxItems(['components'], rows, LIMITS.actionRows);
  const customIds = new Map<string, FieldPath>();
  rows.forEach((row, i) => {
    if (!isRecord(row) || row.type !== ComponentType.ActionRow) {
      check.add(['components', i, 'type'], 'BASE_TYPE_CHOICES', 'Value must be one of {1}. (Set IS_COMPONENTS_V2 for other top-level components.)');
      return;
    }
    checkActionRow(check, row, ['components', i], customIds);
  });
}

/** Components V2: content/embeds are not allowed, nested layouts count toward 40 components. */
function checkComponentsV2(check: Checker, body: Json): void {
  if (charLength(body.content) > 0)
    check.add(
      ['content'],
      'MESSAGE_CANNOT_USE_LEGACY_FIELDS_WITH_COMPONENTS_V2',
      'The content field cannot be used when using MessageFlags.IS_COMPONENTS_V2',
    );
  if (asArray(body.embeds).length > 0)
    check.add(
      ['embeds'],
      'MESSAGE_CANNOT_USE_LEGACY_FIELDS_WITH_COMPONENTS_V2',
      'The embeds field cannot be used when using MessageFlags.IS_COMPONENTS_V2',
    );
  const customIds = new Map<string, FieldPath>();
  let count = 0;
  const walk = (component: unknown, path: FieldPath): void => {
    if (!isRecord(component)) return;
    count += 1;
    if (component.type === ComponentType.ActionRow) {
      checkActionRow(check, component, path, customIds);
      count += asArray(component.components).length;
      return;
    }
    asArray(component.components).forEach((child, i) => walk(child, [...path, 'components', i]));
    if (isRecord(component.accessory)) walk(component.accessory, [...path, 'accessory']);
  };
  asArray(body.components).forEach((component, i) => walk(component, ['components', i]));
  if (count > LIMITS.v2Components) check.add(['components'], 'BASE_TYPE_MAX_LENGTH', `Must be ${LIMITS.v2Components} or fewer in length.`);
}

function checkActionRow(check: Checker, row: Json, path: FieldPath, customIds: Map<string, FieldPath>): void {
  const children = asArray(row.components);
  if (children.length === 0) check.add([...path, 'components'], 'BASE_TYPE_MIN_LENGTH', 'Must be 1 or more in length.');
  check.maxItems([...path, 'components'], children, LIMITS.rowWidth);
  const hasSelect = children.some((child) => isRecord(child) && SELECT_TYPES.has(Number(child.type)));
  if (hasSelect && children.length > 1) {
    check.add([...path, 'components'], 'COMPONENT_LAYOUT_WIDTH_EXCEEDED', 'The specified component exceeds the maximum width');
  }
  children.forEach((child, i) => {
    if (!isRecord(child)) return;
    const childPath = [...path, 'components', i];
    if (child.type === ComponentType.Button) checkButton(check, child, childPath);
    else if (SELECT_TYPES.has(Number(child.type))) checkSelect(check, child, childPath);
    else check.add([...childPath, 'type'], 'COMPONENT_TYPE_INVALID', `Component type ${String(child.type)} is not allowed in a message action row`);
    if (typeof child.custom_id === 'string') {
      if (customIds.has(child.custom_id)) {
        check.add([...childPath, 'custom_id'], 'COMPONENT_CUSTOM_ID_DUPLICATED', 'Component custom id cannot be duplicated');
      }
      customIds.set(child.custom_id, childPath);
    }
  });
}

function checkButton(check: Checker, button: Json, path: FieldPath): void {
  const style = button.style;
  if (typeof style !== 'number' || style < ButtonStyle.Primary || style > ButtonStyle.Premium) {
    check.add([...path, 'style'], 'BASE_TYPE_CHOICES', 'Value must be one of {1, 2, 3, 4, 5, 6}.');
    return;
  }
  check.maxLength([...path, 'label'], button.label, LIMITS.buttonLabel);
  if (style === ButtonStyle.Link) {
    if (typeof button.url !== 'string') check.add([...path, 'url'], 'BUTTON_COMPONENT_URL_REQUIRED', 'A url is required for link buttons');
    check.maxLength([...path, 'url'], button.url, LIMITS.buttonUrl);
    if (button.custom_id !== undefined)
      check.add([...path, 'custom_id'], 'BUTTON_COMPONENT_CUSTOM_ID_NOT_ALLOWED', 'Link buttons cannot have a custom_id');
  } else if (style === ButtonStyle.Premium) {
    if (typeof button.sku_id !== 'string') check.add([...path, 'sku_id'], 'BASE_TYPE_REQUIRED', 'This field is required');
  } else {
    check.length([...path, 'custom_id'], button.custom_id, 1, LIMITS.customId);
    if (button.url !== undefined) check.add([...path, 'url'], 'BUTTON_COMPONENT_URL_NOT_ALLOWED', 'Only link buttons can have a url');
  }
  if (style !== ButtonStyle.Premium && !button.label && !button.emoji) {
    check.add([...path, 'label'], 'BUTTON_COMPONENT_LABEL_OR_EMOJI_REQUIRED', 'A label or an emoji is required');
  }
}

function checkSelect(check: Checker, select: Json, path: FieldPath): void {
  check.length([...path, 'custom_id'], select.custom_id, 1, LIMITS.customId);
  check.maxLength([...path, 'placeholder'], select.placeholder, LIMITS.selectPlaceholder);
  check.range([...path, 'min_values'], select.min_values, 0, LIMITS.selectOptions);
  check.range([...path, 'max_values'], select.max_values, 1, LIMITS.selectOptions);
  if (select.type !== ComponentType.StringSelect) return;
  const options = asArray(select.options);
  if (options.length === 0) check.add([...path, 'options'], 'BASE_TYPE_MIN_LENGTH', 'Must be 1 or more in length.');
  check.maxItems([...path, 'options'], options, LIMITS.selectOptions);
  if (typeof select.max_values === 'number' && select.max_values > options.length) {
    check.add([...path, 'max_values'], 'SELECT_COMPONENT_MAX_VALUES_TOO_HIGH', 'max_values cannot exceed the number of options');
  }
  options.forEach((option, i) => {
    if (!isRecord(option)) return;
    check.length([...path, 'options', i, 'label'], option.label, 1, LIMITS.selectOptionText);
    check.length([...path, 'options', i, 'value'], option.value, 1, LIMITS.selectOptionText);
    check.maxLength([...path, 'options', i, 'description'], option.description, LIMITS.selectOptionText);
  });
}

function checkNonce(check: Checker, nonce: unknown): void {
  if (nonce === undefined || nonce === null) return;
  if (typeof nonce === 'number' && Number.isInteger(nonce)) return;
  if (typeof nonce !== 'string') check.add(['nonce'], 'BASE_TYPE_BAD_TYPE', 'Must be a string or an integer.');
  else check.maxLength(['nonce'], nonce, LIMITS.nonce);
}

function checkAllowedMentionsShape(check: Checker, allowed: unknown): void {
  if (!isRecord(allowed)) return;
  const parse = asArray(allowed.parse);
  parse.forEach((entry, i) => {
    if (entry !== 'users' && entry !== 'roles' && entry !== 'everyone') {
      check.add(['allowed_mentions', 'parse', i], 'BASE_TYPE_CHOICES', 'Value must be one of {"users", "roles", "everyone"}.');
    }
  });
  if (parse.includes('users') && asArray(allowed.users).length > 0) {
    check.add(['allowed_mentions'], 'MESSAGE_ALLOWED_MENTIONS_PARSE_EXCLUSIVE', 'parse:["users"] and users: [ids] are mutually exclusive.');
  }
  if (parse.includes('roles') && asArray(allowed.roles).length > 0) {
    check.add(['allowed_mentions'], 'MESSAGE_ALLOWED_MENTIONS_PARSE_EXCLUSIVE', 'parse:["roles"] and roles: [ids] are mutually exclusive.');
  }
  for (const field of ['users', 'roles'] as const) checkSnowflakeList(check, ['allowed_mentions', field], allowed[field]);
}

/** Discord's SnowflakeType: a decimal string without leading zeros; lists hold at most 100. */
const SNOWFLAKE = /^(0|[1-9][0-9]*)$/;

function checkSnowflakeList(check: Checker, path: FieldPath, value: unknown): void {
  if (value === undefined || value === null) return;
  if (!Array.isArray(value)) {
    check.add(path, 'BASE_TYPE_BAD_TYPE', 'Must be an array.');
    return;
  }
  check.maxItems(path, value, LIMITS.allowedMentionIds);
  value.forEach((entry, i) => {
    // Discord coerces numbers too, but a JSON number that large has already lost digits.
    if (typeof entry !== 'string' || !SNOWFLAKE.test(entry) || BigInt(entry) >= 2n ** 64n) {
      check.add([...path, i], 'NUMBER_TYPE_COERCE', `Value "${String(entry)}" is not snowflake.`);
    }
  });
}

/** `attachments` entries must name an upload (`files[id]`) or an attachment the message already has. */
function checkAttachmentList(check: Checker, attachments: unknown, uploads: RecordedFile[], existing: FakeAttachment[]): void {
  check.maxItems(['attachments'], uploads, LIMITS.files);
  if (attachments === undefined || attachments === null) return;
  const list = asArray(attachments);
  check.maxItems(['attachments'], list, LIMITS.files);
  const uploadIds = new Set(uploads.map((file, i) => uploadIndex(file, i)));
  list.forEach((entry, i) => {
    const id = isRecord(entry) ? String(entry.id) : '';
    if (!uploadIds.has(id) && !existing.some((attachment) => attachment.id === id)) {
      check.add(['attachments', i, 'id'], 'ATTACHMENT_NOT_FOUND', `Unknown attachment id ${id}: no files[${id}] and no existing attachment`);
    }
  });
}

/** The n of a `files[n]` multipart field (discord.js numbers them from 0). */
function uploadIndex(file: RecordedFile, position: number): string {
  return /^files\[(\d+)\]$/.exec(file.field)?.[1] ?? String(position);
}

function isEmptyMessage(body: Json, uploads: RecordedFile[]): boolean {
  return (
    charLength(body.content) === 0 &&
    asArray(body.embeds).length === 0 &&
    asArray(body.components).length === 0 &&
    asArray(body.sticker_ids).length === 0 &&
    asArray(body.attachments).length === 0 &&
    uploads.length === 0 &&
    body.poll === undefined
  );
}

/**
 * The project's own rule (Discord itself would accept these): every message with content or
 * embeds carries allowed_mentions, and never lets @everyone/@here or roles ping.
 */
function mentionPolicyProblem(body: Json): string | undefined {
  const hasText = charLength(body.content) > 0 || asArray(body.embeds).length > 0;
  if (!hasText) return undefined;
  const allowed = body.allowed_mentions;
  if (!isRecord(allowed)) {
    return 'allowed_mentions is missing on a message with content or embeds; send allowed_mentions: { parse: [] } (or explicit users) so nobody is pinged by accident';
  }
  const parse = asArray(allowed.parse);
  const risky = parse.filter((entry) => entry === 'everyone' || entry === 'roles');
  if (risky.length > 0) return `allowed_mentions.parse contains ${risky.join(', ')}; the bot must never ping @everyone/@here or roles`;
  return undefined;
}

/** Modal: title ≤ 45, custom_id ≤ 100, 1–5 inputs (action rows with a text input, or labels). */
function checkModal(check: Checker, data: Json): void {
  check.length(['data', 'custom_id'], data.custom_id, 1, LIMITS.customId);
  check.length(['data', 'title'], data.title, 1, LIMITS.modalTitle);
  const customIds = new Set<string>();
  let inputs = 0;
  asArray(data.components).forEach((component, i) => {
    if (!isRecord(component)) return;
    const path: FieldPath = ['data', 'components', i];
    let input: unknown;
    if (component.type === ComponentType.ActionRow) {
      const children = asArray(component.components);
      if (children.length !== 1) check.add([...path, 'components'], 'BASE_TYPE_BAD_LENGTH', 'Must be 1 in length.');
      input = children[0];
    } else if (component.type === ComponentType.Label) {
      check.length([...path, 'label'], component.label, 1, LIMITS.textInputLabel);
      input = component.component;
    } else if (component.type === ComponentType.TextDisplay) {
      return;
    } else {
      check.add([...path, 'type'], 'COMPONENT_TYPE_INVALID', `Component type ${String(component.type)} is not allowed in a modal`);
      return;
    }
    if (!isRecord(input)) return;
    inputs += 1;
    const inputPath = [...path, component.type === ComponentType.Label ? 'component' : 'components'];
    check.length([...inputPath, 'custom_id'], input.custom_id, 1, LIMITS.customId);
    if (typeof input.custom_id === 'string') {
      if (customIds.has(input.custom_id))
        check.add([...inputPath, 'custom_id'], 'COMPONENT_CUSTOM_ID_DUPLICATED', 'Component custom id cannot be duplicated');
      customIds.add(input.custom_id);
    }
    if (input.type === ComponentType.TextInput) checkTextInput(check, input, inputPath, component.type === ComponentType.ActionRow);
    if (input.type === ComponentType.FileUpload) {
      // A File Upload lives only inside a Label; it takes 0–10 files.
      if (component.type !== ComponentType.Label) check.add([...path, 'type'], 'COMPONENT_TYPE_INVALID', 'File Upload must be inside a Label');
      check.range([...inputPath, 'min_values'], input.min_values, 0, 10);
      check.range([...inputPath, 'max_values'], input.max_values, 1, 10);
    }
  });
  if (inputs < 1 || inputs > LIMITS.modalInputs) {
    check.add(['data', 'components'], 'BASE_TYPE_BAD_LENGTH', `Must contain between 1 and ${LIMITS.modalInputs} inputs.`);
  }
}

function checkTextInput(check: Checker, input: Json, path: FieldPath, needsLabel: boolean): void {
  if (input.style !== 1 && input.style !== 2) check.add([...path, 'style'], 'BASE_TYPE_CHOICES', 'Value must be one of {1, 2}.');
  if (needsLabel) check.length([...path, 'label'], input.label, 1, LIMITS.textInputLabel);
  check.maxLength([...path, 'value'], input.value, LIMITS.textInputValue);
  check.maxLength([...path, 'placeholder'], input.placeholder, LIMITS.textInputPlaceholder);
  check.range([...path, 'min_length'], input.min_length, 0, LIMITS.textInputValue);
  check.range([...path, 'max_length'], input.max_length, 1, LIMITS.textInputValue);
}

/** Application command definitions (bulk overwrite or create). */
function checkCommands(check: Checker, commands: unknown[]): void {
  const seen = new Set<string>();
  let chatInput = 0;
  const contextMenus = new Map<number, number>();
  commands.forEach((command, i) => {
    if (!isRecord(command)) {
      check.add([i], 'BASE_TYPE_BAD_TYPE', 'Must be an object.');
      return;
    }
    const type = typeof command.type === 'number' ? command.type : ApplicationCommandType.ChatInput;
    const key = `${type}:${String(command.name)}`;
    if (seen.has(key))
      check.add([i, 'name'], 'APPLICATION_COMMANDS_DUPLICATE_NAME', `Application command names must be unique (${String(command.name)})`);
    seen.add(key);
    if (type === ApplicationCommandType.ChatInput) chatInput += 1;
    else contextMenus.set(type, (contextMenus.get(type) ?? 0) + 1);
    checkCommand(check, command, [i], type);
  });
  if (chatInput > LIMITS.chatInputCommands) check.add([], 'APPLICATION_COMMANDS_TOO_MANY', `At most ${LIMITS.chatInputCommands} chat input commands`);
  for (const count of contextMenus.values()) {
    if (count > LIMITS.contextMenuCommands)
      check.add([], 'APPLICATION_COMMANDS_TOO_MANY', `At most ${LIMITS.contextMenuCommands} context menu commands per type`);
  }
}

function checkCommand(check: Checker, command: Json, path: FieldPath, type: number): void {
  if (type === ApplicationCommandType.ChatInput) {
    checkChatInputName(check, [...path, 'name'], command.name);
    check.length([...path, 'description'], command.description, 1, LIMITS.commandDescription);
    checkCommandOptions(check, command.options, [...path, 'options']);
  } else {
    check.length([...path, 'name'], command.name, 1, LIMITS.commandName);
    if (charLength(command.description) > 0)
      check.add([...path, 'description'], 'APPLICATION_COMMAND_DESCRIPTION_NOT_ALLOWED', 'Context menu commands cannot have a description');
  }
}

function checkChatInputName(check: Checker, path: FieldPath, name: unknown): void {
  if (typeof name !== 'string' || !CHAT_INPUT_NAME.test(name) || name !== name.toLowerCase()) {
    check.add(path, 'APPLICATION_COMMAND_INVALID_NAME', `Command name is invalid (${String(name)}): 1-32 lowercase letters, digits, - or _`);
  }
}

function checkCommandOptions(check: Checker, options: unknown, path: FieldPath): void {
  const list = asArray(options);
  check.maxItems(path, list, LIMITS.commandOptions);
  let sawOptional = false;
  list.forEach((option, i) => {
    if (!isRecord(option)) return;
    const optionPath = [...path, i];
    checkChatInputName(check, [...optionPath, 'name'], option.name);
    check.length([...optionPath, 'description'], option.description, 1, LIMITS.commandDescription);
    check.maxItems([...optionPath, 'choices'], asArray(option.choices), LIMITS.commandChoices);
    if (option.required === true && sawOptional) {
      check.add(
        [...optionPath, 'required'],
        'APPLICATION_COMMAND_OPTIONS_REQUIRED_INVALID',
        'Required options must be placed before non-required options',
      );
    }
    if (option.required !== true) sawOptional = true;
    const isGroup = option.type === ApplicationCommandOptionType.Subcommand || option.type === ApplicationCommandOptionType.SubcommandGroup;
    if (isGroup) checkCommandOptions(check, option.options, [...optionPath, 'options']);
  });
}

// ---------------------------------------------------------------------------
// Gateway
// ---------------------------------------------------------------------------

interface GatewayDispatch {
  s: number;
  t: string;
  d: unknown;
  /** Whether it went out on a live socket (a new session re-delivers the ones that did not). */
  sent: boolean;
}

interface GatewaySession {
  id: string;
  seq: number;
  intents: number;
  history: GatewayDispatch[];
}

/** What the gateway needs from the rest of the fake. */
interface GatewayHost {
  readonly token: string;
  readonly gatewayUrl: string;
  readonly privilegedIntents: number;
  readyPayload(sessionId: string, shard: [number, number], inShard: (guildId: string) => boolean): unknown;
  guildCreatePayloads(): unknown[];
  membersChunk(request: Json): unknown[];
  /** Drops (undefined) or adjusts an event for a session with these intents. */
  prepareDispatch(t: string, d: unknown, intents: number): unknown;
  gatewayEvent(kind: GatewayEventKind): void;
  gatewayViolation(message: string): void;
}

const PRIVILEGED_INTENTS = GatewayIntentBits.GuildMembers | GatewayIntentBits.GuildPresences | GatewayIntentBits.MessageContent;

/** One shard's connection and session (a bot with one shard has just shard 0). */
interface ShardSlot {
  id: number;
  socket: WebSocket | undefined;
  session: GatewaySession | undefined;
  /** Dispatched before this shard ever identified; delivered to its first session. */
  early: Array<{ t: string; d: unknown }>;
}

/** Dispatches whose guild is their `id` rather than their `guild_id`. */
const GUILD_ITSELF_EVENTS: ReadonlySet<string> = new Set(['GUILD_CREATE', 'GUILD_UPDATE', 'GUILD_DELETE']);

/** Which shard Discord sends a guild's events on: `(guild_id >> 22) % shard_count`. */
export function shardOfGuild(guildId: string, shardCount: number): number {
  return Number((BigInt(guildId) >> 22n) % BigInt(Math.max(1, shardCount)));
}

/**
 * The Gateway, sharded as Discord's: HELLO, heartbeats, IDENTIFY (with `shard: [id, count]`) →
 * READY + GUILD_CREATE of that shard's guilds, RESUME with replay of missed events, sequence
 * numbers, intent filtering. Each guild's events go only to its shard; events without a guild
 * (DMs) to shard 0. Plain JSON, no compression.
 */
class FakeGateway {
  identifyCount = 0;
  resumeCount = 0;
  connectionCount = 0;
  /** Every IDENTIFY, in order: its shard and when (max_concurrency is checked against these). */
  readonly identifies: Array<{ shard: [number, number]; at: number }> = [];
  private readonly wss = new WebSocketServer({ noServer: true });
  private readonly slots = new Map<number, ShardSlot>();

  constructor(
    private readonly host: GatewayHost,
    private readonly heartbeatIntervalMs: number,
    /** Shards in all: what GET /gateway/bot recommends, then what clients identify with. */
    public shardCount: number,
    private readonly maxConcurrency: number,
    /** How long one max_concurrency bucket must wait between identifies (0: not checked). */
    private readonly identifyWindowMs: number,
  ) {}

  /** Every shard that has a session is connected (and at least one has). */
  get connected(): boolean {
    const withSession = [...this.slots.values()].filter((slot) => slot.session);
    return withSession.length > 0 && withSession.every((slot) => slot.socket?.readyState === WebSocket.OPEN);
  }

  /** Shards with a live, identified connection. */
  get connectedShards(): number[] {
    return [...this.slots.values()].filter((slot) => slot.session && slot.socket?.readyState === WebSocket.OPEN).map((slot) => slot.id);
  }

  get intents(): number | undefined {
    return (this.slots.get(0)?.session ?? [...this.slots.values()].find((slot) => slot.session)?.session)?.intents;
  }

  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const params = new URL(req.url ?? '/', 'http://127.0.0.1').searchParams;
    this.wss.handleUpgrade(req, socket, head, (ws) => this.onConnection(ws, params));
  }

  /** The shard an event goes out on. */
  shardOf(t: string, d: unknown): number {
    if (!isRecord(d)) return 0;
    const guildId = GUILD_ITSELF_EVENTS.has(t) ? d.id : d.guild_id;
    return typeof guildId === 'string' && /^\d+$/.test(guildId) ? shardOfGuild(guildId, this.shardCount) : 0;
  }

  /** Sends (or queues) a dispatch event on its guild's shard, like Discord does for a connected bot. */
  dispatch(t: string, d: unknown): void {
    const slot = this.slot(this.shardOf(t, d));
    if (!slot.session) slot.early.push({ t, d });
    else this.push(slot, t, d);
  }

  /** Server-side disconnect of every shard (or one). 4000 makes discord.js resume; 1000 makes it identify again. */
  disconnect(code: number, reason = 'fake-discord disconnect', shard?: number): void {
    for (const slot of this.slots.values()) if (shard === undefined || slot.id === shard) slot.socket?.close(code, reason);
  }

  /** Low-level: send any opcode (e.g. 7 Reconnect, 9 Invalid Session) to every live connection. */
  sendOp(op: number, d: unknown): void {
    for (const slot of this.slots.values()) if (slot.socket) this.send(slot.socket, { op, d, s: null, t: null });
  }

  shutdown(): Promise<void> {
    for (const client of this.wss.clients) client.terminate();
    for (const slot of this.slots.values()) slot.socket = undefined;
    return new Promise((resolve) => this.wss.close(() => resolve()));
  }

  private slot(id: number): ShardSlot {
    let slot = this.slots.get(id);
    if (!slot) {
      slot = { id, socket: undefined, session: undefined, early: [] };
      this.slots.set(id, slot);
    }
    return slot;
  }

  /** The shard this socket identified or resumed as, if any. */
  private slotOf(ws: WebSocket): ShardSlot | undefined {
    return [...this.slots.values()].find((slot) => slot.socket === ws);
  }

  private onConnection(ws: WebSocket, params: URLSearchParams): void {
    this.connectionCount += 1;
    if (params.get('v') !== '10') this.host.gatewayViolation(`gateway connected with v=${String(params.get('v'))}, expected v=10`);
    if (params.get('encoding') && params.get('encoding') !== 'json') {
      this.host.gatewayViolation(`gateway encoding ${String(params.get('encoding'))} is not supported by the fake (json only)`);
    }
    ws.on('message', (raw) => this.onMessage(ws, raw));
    ws.on('close', () => {
      const slot = this.slotOf(ws);
      if (!slot) return;
      slot.socket = undefined;
      this.host.gatewayEvent('disconnect');
    });
    ws.on('error', () => undefined); // a client vanishing mid-frame is not a test failure
    this.send(ws, { op: GatewayOpcodes.Hello, d: { heartbeat_interval: this.heartbeatIntervalMs, _trace: ['fake-discord'] }, s: null, t: null });
    this.host.gatewayEvent('connect');
  }

  private onMessage(ws: WebSocket, raw: RawData): void {
    let payload: { op?: unknown; d?: unknown };
    try {
      payload = JSON.parse(raw.toString()) as { op?: unknown; d?: unknown };
    } catch {
      ws.close(GatewayCloseCodes.DecodeError, 'Error while decoding payload.');
      return;
    }
    const d = isRecord(payload.d) ? payload.d : {};
    switch (payload.op) {
      case GatewayOpcodes.Heartbeat:
        this.send(ws, { op: GatewayOpcodes.HeartbeatAck, d: null, s: null, t: null });
        this.host.gatewayEvent('heartbeat');
        return;
      case GatewayOpcodes.Identify:
        this.identify(ws, d);
        return;
      case GatewayOpcodes.Resume:
        this.resume(ws, d);
        return;
      case GatewayOpcodes.PresenceUpdate:
      case GatewayOpcodes.VoiceStateUpdate:
        if (!this.slotOf(ws)) ws.close(GatewayCloseCodes.NotAuthenticated, 'Not authenticated.');
        return;
      case GatewayOpcodes.RequestGuildMembers: {
        const slot = this.slotOf(ws);
        if (!slot) ws.close(GatewayCloseCodes.NotAuthenticated, 'Not authenticated.');
        else for (const chunk of this.host.membersChunk(d)) this.push(slot, 'GUILD_MEMBERS_CHUNK', chunk);
        return;
      }
      default:
        ws.close(GatewayCloseCodes.UnknownOpcode, 'Unknown opcode.');
    }
  }

  private identify(ws: WebSocket, d: Json): void {
    if (this.slotOf(ws)) {
      ws.close(GatewayCloseCodes.AlreadyAuthenticated, 'Already authenticated.');
      return;
    }
    if (d.token !== this.host.token) {
      ws.close(GatewayCloseCodes.AuthenticationFailed, 'Authentication failed.');
      return;
    }
    const intents = typeof d.intents === 'number' ? d.intents : -1;
    if (intents < 0) {
      ws.close(GatewayCloseCodes.InvalidIntents, 'Invalid intent(s).');
      return;
    }
    const disallowed = intents & PRIVILEGED_INTENTS & ~this.host.privilegedIntents;
    if (disallowed) {
      this.host.gatewayViolation(`IDENTIFY asked for privileged intents ${disallowed} that are not enabled (FakeDiscordOptions.privilegedIntents)`);
      ws.close(GatewayCloseCodes.DisallowedIntents, 'Disallowed intent(s).');
      return;
    }
    const shard = Array.isArray(d.shard) ? d.shard : [0, 1];
    const [shardId, count] = shard;
    if (typeof shardId !== 'number' || typeof count !== 'number' || !Number.isInteger(shardId) || count < 1 || shardId < 0 || shardId >= count) {
      ws.close(GatewayCloseCodes.InvalidShard, 'Invalid shard.');
      return;
    }
    const otherShards = [...this.slots.values()].filter((slot) => slot.id !== shardId && slot.socket?.readyState === WebSocket.OPEN);
    if (count !== this.shardCount && otherShards.length > 0) {
      this.host.gatewayViolation(`shard ${shardId} identified with ${count} shards while others run with ${this.shardCount}`);
    }
    this.shardCount = count;
    const now = Date.now();
    const bucket = shardId % this.maxConcurrency;
    const previous = [...this.identifies].reverse().find((identify) => identify.shard[0] % this.maxConcurrency === bucket);
    if (this.identifyWindowMs > 0 && previous && now - previous.at < this.identifyWindowMs) {
      this.host.gatewayViolation(
        `shard ${shardId} identified ${now - previous.at} ms after shard ${previous.shard[0]} in the same max_concurrency bucket (Discord allows one per ${this.identifyWindowMs} ms)`,
      );
    }
    this.identifies.push({ shard: [shardId, count], at: now });
    const slot = this.slot(shardId);
    const previousSession = slot.session;
    slot.socket?.close(GatewayCloseCodes.SessionTimedOut, 'Replaced by a new session.');
    slot.socket = ws;
    slot.session = { id: randomToken(16), seq: 0, intents, history: [] };
    this.identifyCount += 1;
    this.host.gatewayEvent('identify');
    const inShard = (guildId: string) => shardOfGuild(guildId, count) === shardId;
    this.push(slot, 'READY', this.host.readyPayload(slot.session.id, [shardId, count], inShard));
    for (const guild of this.host.guildCreatePayloads()) if (this.shardOf('GUILD_CREATE', guild) === shardId) this.push(slot, 'GUILD_CREATE', guild);
    // Events that never reached a client (dispatched while nobody was connected) are not lost.
    const missed = [...slot.early.splice(0), ...(previousSession?.history.filter((event) => !event.sent) ?? [])];
    for (const event of missed) this.push(slot, event.t, event.d);
    this.host.gatewayEvent('ready');
  }

  private resume(ws: WebSocket, d: Json): void {
    if (this.slotOf(ws)) {
      ws.close(GatewayCloseCodes.AlreadyAuthenticated, 'Already authenticated.');
      return;
    }
    if (d.token !== this.host.token) {
      ws.close(GatewayCloseCodes.AuthenticationFailed, 'Authentication failed.');
      return;
    }
    const slot = [...this.slots.values()].find((candidate) => candidate.session && candidate.session.id === d.session_id);
    const session = slot?.session;
    if (!slot || !session) {
      this.send(ws, { op: GatewayOpcodes.InvalidSession, d: false, s: null, t: null });
      this.host.gatewayEvent('invalid-session');
      return;
    }
    slot.socket = ws;
    const lastSeen = typeof d.seq === 'number' ? d.seq : 0;
    // Replay everything after what the client last saw, then RESUMED, as Discord does.
    for (const event of session.history) {
      if (event.s > lastSeen) this.deliver(slot, event);
    }
    this.resumeCount += 1;
    this.push(slot, 'RESUMED', {});
    this.host.gatewayEvent('resume');
  }

  private push(slot: ShardSlot, t: string, d: unknown): void {
    const session = slot.session;
    if (!session) return;
    const prepared = this.host.prepareDispatch(t, d, session.intents);
    if (prepared === undefined) return;
    session.seq += 1;
    const event: GatewayDispatch = { s: session.seq, t, d: prepared, sent: false };
    session.history.push(event);
    if (session.history.length > GATEWAY_HISTORY_LIMIT) session.history.shift();
    this.deliver(slot, event);
  }

  private deliver(slot: ShardSlot, event: GatewayDispatch): void {
    if (!slot.socket || slot.socket.readyState !== WebSocket.OPEN) return;
    this.send(slot.socket, { op: GatewayOpcodes.Dispatch, t: event.t, s: event.s, d: event.d });
    event.sent = true;
  }

  private send(ws: WebSocket, payload: object): void {
    if (ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(payload));
  }
}

/** Which intent a dispatch needs (undefined: always sent). */
function requiredIntent(t: string, d: unknown): number | undefined {
  const inGuild = isRecord(d) && typeof d.guild_id === 'string';
  if (t.startsWith('MESSAGE_REACTION_')) return inGuild ? GatewayIntentBits.GuildMessageReactions : GatewayIntentBits.DirectMessageReactions;
  if (t.startsWith('MESSAGE_')) return inGuild ? GatewayIntentBits.GuildMessages : GatewayIntentBits.DirectMessages;
  if (t === 'GUILD_MEMBERS_CHUNK') return undefined;
  if (t.startsWith('GUILD_') || t.startsWith('CHANNEL_') || t.startsWith('THREAD_')) return GatewayIntentBits.Guilds;
  return undefined;
}

// ---------------------------------------------------------------------------
// Interactions
// ---------------------------------------------------------------------------

/** An interaction the fake dispatched, and what the bot did with it. */
export class FakeInteraction {
  readonly id: string;
  readonly token: string;
  readonly type: InteractionType;
  /** The raw INTERACTION_CREATE payload (the fake only makes guild interactions). */
  readonly payload: APIGuildInteraction;
  readonly createdAt: number;
  readonly dispatchedAt = Date.now();
  readonly guildId: string | undefined;
  readonly channelId: string | undefined;
  /** The initial response (interaction callback), once the bot sent one. */
  callback: InteractionCallbackRecord | undefined;
  /** The message @original refers to, once there is one. */
  originalMessageId: string | undefined;
  readonly followUpIds: string[] = [];
  /** Autocomplete choices the bot answered with. */
  choices: unknown[] | undefined;
  expired = false;

  constructor(
    private readonly discord: FakeDiscord,
    payload: APIGuildInteraction,
    createdAt: number,
    private readonly tokenLifetimeMs: number,
  ) {
    this.id = payload.id;
    this.token = payload.token;
    this.type = payload.type;
    this.payload = payload;
    this.createdAt = createdAt;
    this.guildId = payload.guild_id;
    this.channelId = payload.channel?.id;
  }

  /** Resolves with the initial callback the bot sent ({type, data}). */
  response(timeoutMs = 10_000): Promise<{ type: InteractionResponseType; data: any }> {
    return this.discord.waitFor(
      () => this.callback && { type: this.callback.type, data: this.callback.data },
      timeoutMs,
      `the initial response to interaction ${this.id}`,
    );
  }

  /** Makes the token invalid, as if 15 minutes had passed. */
  expire(): void {
    this.expired = true;
    this.discord.notify();
  }

  get tokenExpired(): boolean {
    return this.expired || Date.now() - this.createdAt > this.tokenLifetimeMs;
  }

  original(): FakeMessage | undefined {
    return this.originalMessageId ? this.discord.message(this.originalMessageId) : undefined;
  }

  followUps(): FakeMessage[] {
    return this.followUpIds.flatMap((id) => this.discord.message(id) ?? []);
  }
}

/** The interaction's `data` as a plain record. */
function payloadData(interaction: FakeInteraction): Json {
  const data: unknown = interaction.payload.data;
  return isRecord(data) ? data : {};
}

/** Which callback types Discord accepts for which interaction. */
function allowedCallbackTypes(interaction: FakeInteraction): InteractionResponseType[] {
  const R = InteractionResponseType;
  switch (interaction.type) {
    case InteractionType.ApplicationCommand:
      return [R.ChannelMessageWithSource, R.DeferredChannelMessageWithSource, R.Modal];
    case InteractionType.MessageComponent:
      return [R.ChannelMessageWithSource, R.DeferredChannelMessageWithSource, R.DeferredMessageUpdate, R.UpdateMessage, R.Modal];
    case InteractionType.ModalSubmit:
      return interaction.payload.message
        ? [R.ChannelMessageWithSource, R.DeferredChannelMessageWithSource, R.DeferredMessageUpdate, R.UpdateMessage]
        : [R.ChannelMessageWithSource, R.DeferredChannelMessageWithSource];
    case InteractionType.ApplicationCommandAutocomplete:
      return [R.ApplicationCommandAutocompleteResult];
    default:
      return [];
  }
}

// ---------------------------------------------------------------------------
// The fake
// ---------------------------------------------------------------------------

interface RestContext {
  method: string;
  path: string;
  params: Record<string, string>;
  query: URLSearchParams;
  headers: Record<string, string>;
  json: unknown;
  files: RecordedFile[];
}

interface Route {
  method: string;
  segments: string[];
  auth: boolean;
  handler: (ctx: RestContext) => RestReply;
}

interface MemberState {
  roles: string[];
  nick: string | null;
  permissions?: string;
  joinedAt: number;
}

interface Waiter {
  check: () => boolean;
  timer: NodeJS.Timeout;
}

interface CreateMessageInit {
  channel: FakeChannel;
  authorId: string;
  body: Json;
  files: RecordedFile[];
  flags: number;
  type?: MessageType;
  interaction?: FakeInteraction;
  webhookId?: string;
  reference?: FakeMessage['messageReference'];
}

export interface FakeDiscord {
  on(event: 'request', listener: (request: RecordedRequest) => void): this;
  on(event: 'messageCreate' | 'messageUpdate' | 'messageDelete', listener: (message: FakeMessage) => void): this;
  on(event: 'interactionCallback', listener: (interaction: FakeInteraction) => void): this;
  on(event: 'gateway', listener: (kind: GatewayEventKind) => void): this;
  on(event: string | symbol, listener: (...args: any[]) => void): this;
}

export class FakeDiscord extends EventEmitter {
  readonly token: string;
  readonly applicationId: string;
  readonly botUser: APIUser;
  /** Who performs interactions when no userId is given (an ordinary member). */
  readonly defaultUser: APIUser;
  readonly guilds: FakeGuild[];
  /** Every REST request, in the order the fake answered them. */
  readonly requests: RecordedRequest[] = [];
  /** Every shape violation found in what the bot sent (and fake-internal errors). */
  readonly validationErrors: string[] = [];
  /** Resolves when a client has IDENTIFYed and received READY + GUILD_CREATEs. */
  readonly ready: Promise<void>;
  /** Messages deleted so far (they leave `messages()`). */
  readonly deletedMessages: FakeMessage[] = [];
  /** "Login with Discord": authorize page, token endpoint, bearer-token calls (fake-discord-oauth2.ts). */
  readonly oauth2: FakeOAuth2;

  private readonly options: Required<Pick<FakeDiscordOptions, 'callbackWindowMs' | 'tokenLifetimeMs' | 'privilegedIntents'>>;
  private readonly botPermissions: bigint;
  private readonly recommendedShards: number;
  private readonly maxConcurrency: number;
  /** The application's signing key pair: HTTP interactions are signed with it, as Discord does. */
  private readonly signingKeys = generateKeyPairSync('ed25519');
  /** Set (PATCH /applications/@me, or setInteractionsEndpoint): interactions are POSTed there, not dispatched. */
  private interactionsEndpoint: string | undefined;
  /** What the interactions endpoint answered to each POSTed interaction. */
  readonly httpInteractionAnswers: Array<{ interactionId: string; status: number; body: string }> = [];
  private readonly gateway: FakeGateway;
  private readonly routes: Route[];
  private server: Server | undefined;
  private port = 0;
  private closed = false;
  private resolveReady!: () => void;
  private userCounter = 0;

  private readonly users = new Map<string, APIUser>();
  private readonly members = new Map<string, MemberState>();
  private readonly channels = new Map<string, FakeChannel>();
  private readonly messagesById = new Map<string, FakeMessage>();
  private readonly channelMessages = new Map<string, FakeMessage[]>();
  private readonly messageOrder: FakeMessage[] = [];
  private readonly attachmentsByPath = new Map<string, FakeAttachment>();
  private readonly attachmentsById = new Map<string, FakeAttachment>();
  private readonly interactions = new Map<string, FakeInteraction>();
  private readonly interactionsByToken = new Map<string, FakeInteraction>();
  private readonly nonces = new Map<string, { messageId: string; at: number }>();
  private readonly faults: Array<FaultRule & { remaining: number }> = [];
  private readonly holds: Array<HoldRule & { reached(request: RecordedRequest): void; released: Promise<void> }> = [];
  private readonly globalCommands: APIApplicationCommand[] = [];
  private readonly guildCommands = new Map<string, APIApplicationCommand[]>();
  /** Modals the bot showed, by custom_id, so modalSubmit can mirror their layout. */
  private readonly modalsShown = new Map<string, Json>();
  private readonly waiters = new Set<Waiter>();
  /** Guilds the bot was removed from. */
  private readonly guildsWithoutBot = new Set<string>();

  constructor(options: FakeDiscordOptions = {}) {
    super();
    this.applicationId = options.applicationId ?? snowflake(Date.now() - 400 * 24 * 3600_000);
    const botUserId = options.botUserId ?? this.applicationId;
    // A bot token starts with its user's id, in base64.
    this.token = options.token ?? `${Buffer.from(botUserId).toString('base64url')}.${randomToken(4)}.${randomToken(28)}`;
    this.options = {
      callbackWindowMs: options.callbackWindowMs ?? DEFAULT_CALLBACK_WINDOW_MS,
      tokenLifetimeMs: options.tokenLifetimeMs ?? DEFAULT_TOKEN_LIFETIME_MS,
      privilegedIntents: options.privilegedIntents ?? 0,
    };
    this.botPermissions = options.botPermissions ?? BOT_PERMISSIONS;
    this.recommendedShards = options.shards ?? 1;
    this.maxConcurrency = options.maxConcurrency ?? 1;
    this.botUser = this.user({ id: botUserId, username: options.botUsername ?? 'Atelier', globalName: null, bot: true });
    this.botUser.discriminator = '4242'; // bots keep legacy discriminators
    this.defaultUser = this.user({ username: 'ada', globalName: 'Ada' });
    this.guilds = (options.guilds ?? [{}]).map((guild, i) => this.createGuild(guild, i));
    this.ready = new Promise((resolve) => (this.resolveReady = resolve));
    this.gateway = new FakeGateway(
      this.gatewayHost(),
      options.heartbeatIntervalMs ?? DEFAULT_HEARTBEAT_INTERVAL_MS,
      options.shards ?? 1,
      options.maxConcurrency ?? 1,
      options.identifyWindowMs ?? 0,
    );
    this.routes = this.buildRoutes();
    this.oauth2 = new FakeOAuth2({
      applicationId: this.applicationId,
      user: (id) => this.user(id),
      userGuilds: (userId) =>
        this.guilds
          .filter((g) => g.ownerId === userId || this.members.has(`${g.id}:${userId}`))
          .map((g) => ({ id: g.id, name: g.name, owner: g.ownerId === userId })),
    });
  }

  // ---- lifecycle -----------------------------------------------------------

  async start(): Promise<void> {
    const server = createServer((req, res) => void this.handleHttp(req, res));
    server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      const { pathname } = new URL(req.url ?? '/', 'http://127.0.0.1');
      if (pathname === '/gateway' || pathname === '/gateway/') this.gateway.handleUpgrade(req, socket, head);
      else socket.destroy();
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    this.server = server;
    this.port = (server.address() as AddressInfo).port;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    // Pending waits are dropped silently: rejecting them after a test ended would only produce
    // unhandled rejections.
    for (const waiter of this.waiters) clearTimeout(waiter.timer);
    this.waiters.clear();
    await this.gateway.shutdown();
    const server = this.server;
    if (!server) return;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeAllConnections();
    await closed;
  }

  get baseUrl(): string {
    if (!this.port) throw new Error('FakeDiscord: call start() first');
    return `http://127.0.0.1:${this.port}`;
  }

  get apiUrl(): string {
    return `${this.baseUrl}/api`;
  }

  get cdnUrl(): string {
    return `${this.baseUrl}/cdn`;
  }

  get gatewayUrl(): string {
    return `ws://127.0.0.1:${this.port}/gateway`;
  }

  get defaultGuildId(): string {
    return this.guilds[0]!.id;
  }

  get defaultChannelId(): string {
    return this.guilds[0]!.channels[0]!.id;
  }

  // ---- gateway control -----------------------------------------------------

  get gatewayConnected(): boolean {
    return this.gateway.connected;
  }

  get identifyCount(): number {
    return this.gateway.identifyCount;
  }

  get resumeCount(): number {
    return this.gateway.resumeCount;
  }

  /** Shards with a live, identified gateway connection. */
  get connectedShards(): number[] {
    return this.gateway.connectedShards;
  }

  /** Every IDENTIFY so far: which shard (`[id, count]`) and when. */
  get identifies(): ReadonlyArray<{ shard: [number, number]; at: number }> {
    return this.gateway.identifies;
  }

  /** The shard a guild's events go out on, with the shard count clients identified with. */
  shardOf(guildId: string): number {
    return shardOfGuild(guildId, this.gateway.shardCount);
  }

  /** The intents of the current session (undefined before the first IDENTIFY). */
  get intents(): number | undefined {
    return this.gateway.intents;
  }

  /** Low level: send a dispatch event (queued while no client is connected, replayed on RESUME). */
  sendGatewayDispatch(t: string, d: unknown): void {
    this.gateway.dispatch(t, d);
  }

  /**
   * The bot is removed from the guild (kicked, or the guild deleted): GUILD_DELETE, and the guild is
   * no longer sent on IDENTIFY. With `unavailable`, an outage instead: the bot stays a member.
   */
  removeBotFromGuild(guildId: string, options: { unavailable?: boolean } = {}): void {
    if (options.unavailable) return this.gateway.dispatch('GUILD_DELETE', { id: guildId, unavailable: true });
    this.guildsWithoutBot.add(guildId);
    this.gateway.dispatch('GUILD_DELETE', { id: guildId });
  }

  /** The bot is added (back) to the guild: GUILD_CREATE. */
  addBotToGuild(guildId: string): void {
    this.guildsWithoutBot.delete(guildId);
    this.gateway.dispatch('GUILD_CREATE', this.guildCreatePayload(this.guild(guildId)));
  }

  // ---- HTTP interactions -----------------------------------------------------

  /** The application's public key, as the developer portal shows it (64 hex digits). */
  get publicKey(): string {
    const jwk = this.signingKeys.publicKey.export({ format: 'jwk' });
    return Buffer.from(jwk.x!, 'base64url').toString('hex');
  }

  /** Where interactions are POSTed (undefined: they go through the gateway). */
  get interactionsEndpointUrl(): string | undefined {
    return this.interactionsEndpoint;
  }

  /**
   * Sets the interactions endpoint as the developer portal (or PATCH /applications/@me) does:
   * Discord first checks that the URL answers a signed PING with PONG and refuses a request with a
   * bad signature (401), and throws otherwise. From then on interactions are POSTed there, signed.
   */
  async setInteractionsEndpoint(url: string): Promise<void> {
    const problem = await this.checkInteractionsEndpoint(url);
    if (problem) throw new Error(`interactions endpoint ${url}: ${problem}`);
    this.interactionsEndpoint = url;
    this.resolveReady();
    this.notify();
  }

  /** Discord's signature of an interaction POST: Ed25519 over timestamp + body, in hex. */
  sign(body: string, timestamp: string): string {
    return sign(null, Buffer.from(timestamp + body, 'utf8'), this.signingKeys.privateKey).toString('hex');
  }

  /** A signed POST of `body`, as Discord sends interactions (headers X-Signature-Ed25519 and -Timestamp). */
  signedPost(url: string, body: string, options: { timestamp?: string; signature?: string } = {}): Promise<Response> {
    const timestamp = options.timestamp ?? String(Math.floor(Date.now() / 1000));
    const signature = options.signature ?? this.sign(body, timestamp);
    return fetch(url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'user-agent': 'Discord-Interactions/1.0 (+https://discord.com)',
        'x-signature-ed25519': signature,
        'x-signature-timestamp': timestamp,
      },
      body,
    });
  }

  private async checkInteractionsEndpoint(url: string): Promise<string | undefined> {
    const ping = JSON.stringify({
      id: snowflake(Date.now()),
      application_id: this.applicationId,
      type: InteractionType.Ping,
      token: randomToken(32),
      version: 1,
    });
    try {
      const forged = await this.signedPost(url, ping, { signature: '0'.repeat(128) });
      if (forged.status !== 401) return `answered ${forged.status} to a request with a bad signature (Discord wants 401)`;
      const answer = await this.signedPost(url, ping);
      const body = (await answer.json().catch(() => undefined)) as { type?: unknown } | undefined;
      if (answer.status !== 200 || body?.type !== InteractionResponseType.Pong)
        return `answered ${answer.status} ${JSON.stringify(body)} to PING (Discord wants 200 {"type":1})`;
    } catch (error) {
      return `could not be reached (${error instanceof Error ? error.message : String(error)})`;
    }
    return undefined;
  }

  private async postInteraction(url: string, payload: unknown): Promise<void> {
    const id = (payload as { id: string }).id;
    try {
      const answer = await this.signedPost(url, JSON.stringify(payload));
      const body = await answer.text();
      this.httpInteractionAnswers.push({ interactionId: id, status: answer.status, body });
      // The bot answers through the callback endpoint (discord.js does): the POST itself is 202.
      if (answer.status !== 202 && answer.status !== 204) {
        this.validationErrors.push(`interactions endpoint answered interaction ${id} with ${answer.status} ${body.slice(0, 200)} (expected 202)`);
      }
    } catch (error) {
      if (!this.closed)
        this.validationErrors.push(`interactions endpoint failed for ${id}: ${error instanceof Error ? error.message : String(error)}`);
    }
    this.notify();
  }

  private async patchApplication(ctx: RestContext): Promise<RestReply> {
    if (ctx.headers.authorization !== `Bot ${this.token}`) return errorReply(401, 0, '401: Unauthorized');
    const body = isRecord(ctx.json) ? ctx.json : {};
    if ('interactions_endpoint_url' in body) {
      const url = body.interactions_endpoint_url;
      if (url === null || url === '') {
        this.interactionsEndpoint = undefined;
      } else {
        const problem = typeof url === 'string' ? await this.checkInteractionsEndpoint(url) : 'not a string';
        if (problem) {
          return errorReply(400, 50035, 'Invalid Form Body', {
            interactions_endpoint_url: {
              _errors: [
                {
                  code: 'APPLICATION_INTERACTIONS_ENDPOINT_URL_INVALID',
                  message: `The specified interactions endpoint url could not be verified: ${problem}`,
                },
              ],
            },
          });
        }
        this.interactionsEndpoint = url as string;
        this.resolveReady();
      }
    }
    return jsonReply(200, { ...this.applicationPayload(), interactions_endpoint_url: this.interactionsEndpoint ?? null });
  }

  /** Close the gateway socket from the server side. 4000 → discord.js resumes; 1000 → identifies again. */
  closeGateway(code = 4000, shard?: number): void {
    this.gateway.disconnect(code, undefined, shard);
  }

  /** Low level: send a raw opcode, e.g. 7 (Reconnect) or 9 (Invalid Session). */
  sendGatewayOp(op: number, d: unknown = null): void {
    this.gateway.sendOp(op, d);
  }

  // ---- fault injection and waiting ----------------------------------------

  /**
   * The next matching request is carried out and recorded as usual (its message is there for
   * everyone to see), but its answer reaches the bot only on `release()`: whatever the bot does once
   * it has the answer waits meanwhile. `reached` resolves when the request arrived.
   */
  holdNextAnswer(rule: HoldRule): { reached: Promise<RecordedRequest>; release(): void } {
    let reached!: (request: RecordedRequest) => void;
    let release!: () => void;
    const arrived = new Promise<RecordedRequest>((resolve) => (reached = resolve));
    const released = new Promise<void>((resolve) => (release = resolve));
    this.holds.push({ ...rule, method: rule.method?.toUpperCase(), reached, released });
    return { reached: arrived, release };
  }

  /** The next `times` (default 1) matching requests get this answer instead of the real one. */
  failNext(rule: FaultRule): void {
    this.faults.push({ ...rule, method: rule.method?.toUpperCase(), remaining: rule.times ?? 1 });
  }

  /**
   * Resolves with predicate()'s value as soon as it is not undefined/null/false. Re-evaluated on
   * every request, gateway event and state change; no polling.
   */
  waitFor<T>(predicate: () => T | undefined | null | false, timeoutMs = 10_000, description = 'condition'): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const waiter: Waiter = {
        check: () => {
          let value: T | undefined | null | false;
          try {
            value = predicate();
          } catch (error) {
            this.dropWaiter(waiter);
            reject(error instanceof Error ? error : new Error(String(error)));
            return true;
          }
          if (value === undefined || value === null || value === false) return false;
          this.dropWaiter(waiter);
          resolve(value);
          return true;
        },
        timer: setTimeout(() => {
          this.dropWaiter(waiter);
          reject(new Error(`FakeDiscord: ${description} not met within ${timeoutMs} ms.\n${this.describeRecent()}`));
        }, timeoutMs),
      };
      this.waiters.add(waiter);
      waiter.check();
    });
  }

  /** The first recorded request (past or future) matching the predicate. */
  waitForRequest(predicate: (request: RecordedRequest) => boolean, timeoutMs = 10_000): Promise<RecordedRequest> {
    return this.waitFor(() => this.requests.find(predicate), timeoutMs, 'a request matching the predicate');
  }

  /** @internal Re-evaluates pending waitFor predicates. */
  notify(): void {
    for (const waiter of [...this.waiters]) waiter.check();
  }

  private dropWaiter(waiter: Waiter): void {
    clearTimeout(waiter.timer);
    this.waiters.delete(waiter);
  }

  /** A readable summary for timeout errors: recent requests, validation errors, gateway state. */
  describeRecent(count = 15): string {
    const lines = this.requests.slice(-count).map((r) => `  ${r.method} ${displayPath(r.path)} → ${r.status}`);
    const errors = this.validationErrors.slice(-count).map((e) => `  ${e}`);
    return [
      `Recent requests (${this.requests.length} total):`,
      ...(lines.length ? lines : ['  (none)']),
      `Validation errors (${this.validationErrors.length}):`,
      ...(errors.length ? errors : ['  (none)']),
      `Gateway: ${this.gateway.connected ? 'connected' : 'not connected'}, identifies ${this.gateway.identifyCount}, resumes ${this.gateway.resumeCount}`,
    ].join('\n');
  }

  // ---- users, members, guilds, channels -------------------------------------

  /** Creates (or returns) a user. */
  user(idOrOptions: string | FakeUserOptions = {}): APIUser {
    const options = typeof idOrOptions === 'string' ? { id: idOrOptions } : idOrOptions;
    const existing = options.id ? this.users.get(options.id) : undefined;
    if (existing) {
      if (options.username) existing.username = options.username;
      if (options.globalName !== undefined) existing.global_name = options.globalName;
      return existing;
    }
    this.userCounter += 1;
    const username = options.username ?? `user${this.userCounter}`;
    const user = {
      id: options.id ?? snowflake(Date.now() - 200 * 24 * 3600_000),
      username,
      global_name: options.globalName === undefined ? `User ${this.userCounter}` : options.globalName,
      discriminator: '0',
      avatar: null,
      public_flags: 0 as UserFlags,
      flags: 0 as UserFlags,
      banner: null,
      accent_color: null,
      avatar_decoration_data: null,
      collectibles: null,
      primary_guild: null,
      ...(options.bot ? { bot: true } : {}),
    } as APIUser;
    this.users.set(user.id, user);
    return user;
  }

  /** Configures a user's membership (roles, nick, moderator/permissions) and returns it as interactions show it. */
  member(userId: string, options: FakeMemberOptions = {}): APIInteractionGuildMember {
    const guild = this.guild(options.guildId ?? this.defaultGuildId);
    this.configureMember(this.memberState(guild.id, userId), options);
    return this.interactionMember(guild, userId, {});
  }

  private configureMember(state: MemberState, options: FakeMemberOptions): void {
    if (options.roles) state.roles = options.roles;
    if (options.nick !== undefined) state.nick = options.nick;
    if (options.permissions !== undefined) state.permissions = toPermissionString(options.permissions);
    else if (options.moderator !== undefined) state.permissions = (options.moderator ? MODERATOR_PERMISSIONS : MEMBER_PERMISSIONS).toString();
  }

  guild(id: string): FakeGuild {
    const guild = this.guilds.find((g) => g.id === id);
    if (!guild) throw new Error(`FakeDiscord: unknown guild ${id}`);
    return guild;
  }

  channel(id: string): FakeChannel | undefined {
    return this.channels.get(id);
  }

  /** Threads created so far (optionally only those in one parent channel). */
  /** Deletes a thread (as a member with Manage Threads does): from then on Discord answers Unknown Channel (10003) for it. */
  deleteThread(id: string): void {
    const thread = this.threads().find((t) => t.id === id);
    if (!thread) throw new Error(`FakeDiscord: no thread ${id}`);
    this.channels.delete(id);
  }

  threads(parentId?: string): FakeChannel[] {
    return [...this.channels.values()].filter(
      (c) =>
        (c.type === ChannelType.PublicThread || c.type === ChannelType.PrivateThread || c.type === ChannelType.AnnouncementThread) &&
        (parentId === undefined || c.parentId === parentId),
    );
  }

  /** Current messages of a channel (or of all channels), oldest first. Includes ephemeral ones. */
  messages(channelId?: string): FakeMessage[] {
    if (channelId === undefined) return [...this.messageOrder];
    return [...(this.channelMessages.get(channelId) ?? [])];
  }

  message(id: string): FakeMessage | undefined {
    return this.messagesById.get(id);
  }

  /** Application commands the bot registered (global, or for one guild). */
  commands(guildId?: string): APIApplicationCommand[] {
    return guildId ? [...(this.guildCommands.get(guildId) ?? [])] : [...this.globalCommands];
  }

  /** An attachment hosted on the fake CDN (e.g. the value of an attachment option). */
  createAttachment(file: { filename: string; data: Buffer; contentType?: string }): FakeAttachment {
    return this.storeAttachment(`ephemeral-attachments/${this.applicationId}`, file.filename, file.data, file.contentType, true);
  }

  /** A message from a user, e.g. the target of a message context menu. */
  createUserMessage(options: UserMessageOptions = {}): FakeMessage {
    const channel = this.textChannel(options.channelId ?? this.defaultChannelId);
    const author = this.user(options.authorId ?? {});
    const files = (options.attachments ?? []).map((file, i) => ({
      field: `files[${i}]`,
      filename: file.filename,
      contentType: file.contentType ?? 'application/octet-stream',
      data: file.data,
    }));
    return this.createMessage({
      channel,
      authorId: author.id,
      body: { content: options.content ?? '', embeds: options.embeds ?? [] },
      files,
      flags: 0,
    });
  }

  // ---- dispatching interactions --------------------------------------------

  slashCommand(options: SlashCommandOptions): FakeInteraction {
    const place = this.place(options);
    const command = this.registeredCommand(options.name, ApplicationCommandType.ChatInput, place.guild.id);
    const commandOptions = this.commandOptions(options.options, command);
    return this.dispatchInteraction(InteractionType.ApplicationCommand, options, place, {
      data: {
        id: command?.id ?? snowflake(),
        name: options.name,
        type: ApplicationCommandType.ChatInput,
        ...(command?.guild_id ? { guild_id: command.guild_id } : {}),
        ...(commandOptions.length ? { options: commandOptions } : {}),
        ...this.resolvedFor(commandOptions, place.guild),
      },
    });
  }

  /** An autocomplete request while the user types into option `focused`. */
  autocomplete(options: AutocompleteOptions): FakeInteraction {
    const place = this.place(options);
    const command = this.registeredCommand(options.name, ApplicationCommandType.ChatInput, place.guild.id);
    const raw = this.commandOptions(options.options, command);
    const commandOptions = raw.map((option) => (option.name === options.focused ? { ...option, focused: true } : option));
    return this.dispatchInteraction(InteractionType.ApplicationCommandAutocomplete, options, place, {
      data: { id: command?.id ?? snowflake(), name: options.name, type: ApplicationCommandType.ChatInput, options: commandOptions },
    });
  }

  button(options: ComponentInteractionOptions): FakeInteraction {
    const message = this.componentMessage(options, ComponentType.Button);
    return this.dispatchInteraction(InteractionType.MessageComponent, options, this.componentPlace(options, message), {
      message: this.toAPIMessage(message),
      data: { custom_id: options.customId, component_type: ComponentType.Button },
    });
  }

  stringSelect(options: StringSelectOptions): FakeInteraction {
    const message = this.componentMessage(options, ComponentType.StringSelect);
    return this.dispatchInteraction(InteractionType.MessageComponent, options, this.componentPlace(options, message), {
      message: this.toAPIMessage(message),
      data: { custom_id: options.customId, component_type: ComponentType.StringSelect, values: options.values },
    });
  }

  modalSubmit(options: ModalSubmitOptions): FakeInteraction {
    const message = options.message ? this.resolveMessage(options.message) : undefined;
    const place = message ? this.placeOfMessage(message) : this.place(options);
    const fields = { ...options.fields };
    const attachments: Record<string, APIAttachment> = {};
    for (const [customId, files] of Object.entries(options.uploads ?? {})) {
      const stored = files.map((file) => this.createAttachment(file));
      fields[customId] = stored.map((attachment) => attachment.id);
      for (const attachment of stored) attachments[attachment.id] = this.toAPIAttachment(attachment);
    }
    return this.dispatchInteraction(InteractionType.ModalSubmit, options, place, {
      ...(message ? { message: this.toAPIMessage(message) } : {}),
      data: {
        custom_id: options.customId,
        components: this.modalSubmitComponents(options.customId, fields),
        ...(Object.keys(attachments).length > 0 ? { resolved: { attachments } } : {}),
      },
    });
  }

  messageContextMenu(options: MessageContextMenuOptions): FakeInteraction {
    const target = this.resolveMessage(options.targetMessage);
    const place = this.placeOfMessage(target);
    const command = this.registeredCommand(options.name, ApplicationCommandType.Message, place.guild.id);
    return this.dispatchInteraction(InteractionType.ApplicationCommand, options, place, {
      data: {
        id: command?.id ?? snowflake(),
        name: options.name,
        type: ApplicationCommandType.Message,
        target_id: target.id,
        resolved: { messages: { [target.id]: this.toAPIMessage(target) } },
        ...(command?.guild_id ? { guild_id: command.guild_id } : {}),
      },
    });
  }

  userContextMenu(options: UserContextMenuOptions): FakeInteraction {
    const place = this.place(options);
    const command = this.registeredCommand(options.name, ApplicationCommandType.User, place.guild.id);
    const target = this.user(options.targetUserId);
    const { user: _user, ...member } = this.interactionMember(place.guild, target.id, {});
    return this.dispatchInteraction(InteractionType.ApplicationCommand, options, place, {
      data: {
        id: command?.id ?? snowflake(),
        name: options.name,
        type: ApplicationCommandType.User,
        target_id: target.id,
        resolved: { users: { [target.id]: target }, members: { [target.id]: member } },
      },
    });
  }

  // ---- internals: guild/channel state ---------------------------------------

  private createGuild(options: FakeGuildOptions, index: number): FakeGuild {
    const id = options.id ?? snowflake(Date.now() - 300 * 24 * 3600_000);
    const owner = this.user({ username: `owner${index + 1}` });
    const guild: FakeGuild = {
      id,
      name: options.name ?? (index === 0 ? 'Atelier Test Guild' : `Test Guild ${index + 1}`),
      attachmentSizeLimit: options.attachmentSizeLimit ?? DEFAULT_ATTACHMENT_SIZE_LIMIT,
      locale: options.locale ?? 'en-US',
      ownerId: owner.id,
      everyoneRoleId: id, // Discord's @everyone role has the guild's id
      botRoleId: snowflake(Date.now() - 300 * 24 * 3600_000),
      roles: options.roles ?? [],
      channels: [],
    };
    const channelOptions = options.channels ?? [{ name: 'general' }];
    for (const { roles, nick, moderator, permissions, ...user } of options.members ?? []) {
      this.configureMember(this.memberState(id, this.user(user).id), { roles, nick, moderator, permissions });
    }
    guild.channels = channelOptions.map((channel) =>
      this.addChannel({
        id: channel.id ?? snowflake(Date.now() - 300 * 24 * 3600_000),
        type: channel.type ?? ChannelType.GuildText,
        name: channel.name ?? 'general',
        guildId: id,
        nsfw: channel.nsfw ?? false,
        permissionOverwrites: channel.permissionOverwrites,
        createdAt: Date.now(),
        messageCount: 0,
      }),
    );
    return guild;
  }

  private addChannel(channel: FakeChannel): FakeChannel {
    this.channels.set(channel.id, channel);
    this.channelMessages.set(channel.id, []);
    return channel;
  }

  private memberState(guildId: string, userId: string): MemberState {
    const key = `${guildId}:${userId}`;
    let state = this.members.get(key);
    if (!state) {
      state = { roles: [], nick: null, joinedAt: Date.now() - 30 * 24 * 3600_000 };
      this.members.set(key, state);
    }
    return state;
  }

  private interactionMember(
    guild: FakeGuild,
    userId: string,
    actor: InteractionActorOptions,
    channel?: FakeChannel,
  ): APIInteractionGuildMember & { user: APIUser } {
    const user = this.user(userId);
    const state = this.memberState(guild.id, user.id);
    const isBot = user.id === this.botUser.id;
    const permissions =
      actor.memberPermissions !== undefined
        ? toPermissionString(actor.memberPermissions)
        : actor.moderator !== undefined
          ? (actor.moderator ? MODERATOR_PERMISSIONS : MEMBER_PERMISSIONS).toString()
          : (state.permissions ?? (isBot ? this.botPermissions : this.memberPermissionsIn(guild, user.id, state.roles, channel)).toString());
    return {
      user,
      roles: isBot ? [guild.botRoleId] : state.roles,
      nick: state.nick,
      avatar: null,
      banner: null,
      joined_at: new Date(state.joinedAt).toISOString(),
      premium_since: null,
      deaf: false,
      mute: false,
      flags: 0 as GuildMemberFlags,
      pending: false,
      communication_disabled_until: null,
      permissions,
    };
  }

  /** Discord's computation: owner, roles, Administrator, then @everyone, role and member overwrites (a thread's are its parent's). */
  private memberPermissionsIn(guild: FakeGuild, userId: string, roleIds: readonly string[], channel?: FakeChannel): bigint {
    const all = Object.values(PermissionFlagsBits).reduce((sum, flag) => sum | flag, 0n);
    if (userId === guild.ownerId) return all;
    let permissions = MEMBER_PERMISSIONS;
    for (const role of guild.roles) if (roleIds.includes(role.id)) permissions |= role.permissions;
    if (permissions & PermissionFlagsBits.Administrator) return all;
    const parent = channel && this.isThread(channel) && channel.parentId ? this.channels.get(channel.parentId) : channel;
    const overwrites = parent?.permissionOverwrites ?? [];
    const apply = (list: FakePermissionOverwrite[]) => {
      const deny = list.reduce((sum, o) => sum | (o.deny ?? 0n), 0n);
      const allow = list.reduce((sum, o) => sum | (o.allow ?? 0n), 0n);
      permissions = (permissions & ~deny) | allow;
    };
    apply(overwrites.filter((o) => o.type === 0 && o.id === guild.everyoneRoleId));
    apply(overwrites.filter((o) => o.type === 0 && o.id !== guild.everyoneRoleId && roleIds.includes(o.id)));
    apply(overwrites.filter((o) => o.type === 1 && o.id === userId));
    return permissions;
  }

  private textChannel(id: string): FakeChannel {
    const channel = this.channels.get(id);
    if (!channel) throw new Error(`FakeDiscord: unknown channel ${id}`);
    return channel;
  }

  private guildOf(channel: FakeChannel): FakeGuild | undefined {
    return channel.guildId ? this.guilds.find((g) => g.id === channel.guildId) : undefined;
  }

  private sizeLimitFor(channel: FakeChannel | undefined): number {
    return (channel && this.guildOf(channel)?.attachmentSizeLimit) ?? DEFAULT_ATTACHMENT_SIZE_LIMIT;
  }

  private isThread(channel: FakeChannel): boolean {
    return channel.type === ChannelType.PublicThread || channel.type === ChannelType.PrivateThread || channel.type === ChannelType.AnnouncementThread;
  }

  // ---- internals: messages and attachments ----------------------------------

  private storeAttachment(
    folder: string,
    filename: string,
    data: Buffer,
    declaredType: string | undefined,
    ephemeral: boolean,
    description?: string,
  ): FakeAttachment {
    const id = snowflake();
    const name = sanitizeFilename(filename);
    const path = `/${folder}/${id}/${name}`;
    const attachment: FakeAttachment = {
      id,
      filename: name,
      size: data.length,
      contentType: detectContentType(data, name, declaredType),
      url: `${this.cdnUrl}${path}`,
      proxy_url: `${this.baseUrl}/media${path}`,
      ...imageSize(data),
      ...(description ? { description } : {}),
      ephemeral,
      data,
    };
    this.attachmentsByPath.set(`/cdn${path}`, attachment);
    this.attachmentsByPath.set(`/media${path}`, attachment);
    this.attachmentsById.set(id, attachment);
    return attachment;
  }

  /**
   * The attachments a message ends up with. With an `attachments` list: the existing ones it names
   * stay and `files[id]` uploads are added (Discord v10 edit semantics). Without one: existing
   * attachments stay and every upload is added.
   */
  private resolveAttachments(
    existing: FakeAttachment[],
    body: Json,
    uploads: RecordedFile[],
    channelId: string,
    ephemeral: boolean,
  ): FakeAttachment[] {
    const byIndex = new Map(uploads.map((file, i) => [uploadIndex(file, i), file] as const));
    const store = (file: RecordedFile, entry?: Json): FakeAttachment =>
      this.storeAttachment(
        `attachments/${channelId}`,
        typeof entry?.filename === 'string' ? entry.filename : file.filename,
        file.data,
        file.contentType,
        ephemeral,
        typeof entry?.description === 'string' ? entry.description : undefined,
      );
    if (!Array.isArray(body.attachments)) return [...existing, ...uploads.map((file) => store(file))];
    const result: FakeAttachment[] = [];
    const used = new Set<string>();
    for (const entry of body.attachments) {
      if (!isRecord(entry)) continue;
      const id = String(entry.id);
      const kept = existing.find((attachment) => attachment.id === id);
      const upload = byIndex.get(id);
      if (kept) result.push(kept);
      else if (upload) {
        used.add(id);
        result.push(store(upload, entry));
      }
    }
    for (const [id, upload] of byIndex) if (!used.has(id)) result.push(store(upload));
    return result;
  }

  private createMessage(init: CreateMessageInit): FakeMessage {
    const { channel, body } = init;
    const ephemeral = (init.flags & MessageFlags.Ephemeral) !== 0;
    const message: FakeMessage = {
      id: snowflake(),
      channelId: channel.id,
      ...(channel.guildId ? { guildId: channel.guildId } : {}),
      authorId: init.authorId,
      type: init.type ?? (init.reference ? MessageType.Reply : MessageType.Default),
      content: typeof body.content === 'string' ? body.content : '',
      flags: init.flags,
      ephemeral,
      ...(init.interaction ? { interactionId: init.interaction.id } : {}),
      ...(init.webhookId ? { webhookId: init.webhookId } : {}),
      embeds: asArray(body.embeds) as APIEmbed[],
      components: asArray(body.components) as APIMessageTopLevelComponent[],
      attachments: this.resolveAttachments([], body, init.files, channel.id, ephemeral),
      ...(init.reference ? { messageReference: init.reference } : {}),
      ...(isRecord(body.allowed_mentions) ? { allowedMentions: body.allowed_mentions as APIAllowedMentions } : {}),
      ...(typeof body.nonce === 'string' || typeof body.nonce === 'number' ? { nonce: body.nonce } : {}),
      tts: body.tts === true,
      createdAt: Date.now(),
      edits: 0,
      reactions: [],
    };
    this.messagesById.set(message.id, message);
    this.channelMessages.get(channel.id)?.push(message);
    this.messageOrder.push(message);
    if (!ephemeral) {
      channel.lastMessageId = message.id;
      channel.messageCount += 1;
      this.gateway.dispatch('MESSAGE_CREATE', this.messageDispatch(message));
    }
    this.emit('messageCreate', message);
    this.notify();
    return message;
  }

  /** Applies the fields present in an edit body; attachments follow Discord's v10 rules. */
  private editMessage(message: FakeMessage, body: Json, files: RecordedFile[]): FakeMessage {
    if ('content' in body) message.content = typeof body.content === 'string' ? body.content : '';
    if ('embeds' in body) message.embeds = asArray(body.embeds) as APIEmbed[];
    if ('components' in body) message.components = asArray(body.components) as APIMessageTopLevelComponent[];
    if (isRecord(body.allowed_mentions)) message.allowedMentions = body.allowed_mentions as APIAllowedMentions;
    if (typeof body.flags === 'number') {
      const editable = MessageFlags.SuppressEmbeds | MessageFlags.IsComponentsV2;
      message.flags = (message.flags & ~editable) | (body.flags & editable);
    }
    if ('attachments' in body || files.length > 0) {
      message.attachments = this.resolveAttachments(message.attachments, body, files, message.channelId, message.ephemeral);
    }
    message.flags &= ~MessageFlags.Loading; // editing a deferred reply replaces the "thinking…" state
    message.edits += 1;
    message.editedAt = Date.now();
    if (!message.ephemeral) this.gateway.dispatch('MESSAGE_UPDATE', this.messageDispatch(message));
    this.emit('messageUpdate', message);
    this.notify();
    return message;
  }

  private deleteMessage(message: FakeMessage): void {
    this.messagesById.delete(message.id);
    const list = this.channelMessages.get(message.channelId);
    list?.splice(list.indexOf(message), 1);
    this.messageOrder.splice(this.messageOrder.indexOf(message), 1);
    this.deletedMessages.push(message);
    if (!message.ephemeral) {
      this.gateway.dispatch('MESSAGE_DELETE', {
        id: message.id,
        channel_id: message.channelId,
        ...(message.guildId ? { guild_id: message.guildId } : {}),
      });
    }
    this.emit('messageDelete', message);
    this.notify();
  }

  /** The message as the API returns it. */
  toAPIMessage(message: FakeMessage, withReferenced = true): APIMessage {
    const author = this.users.get(message.authorId) ?? this.user(message.authorId);
    const interaction = message.interactionId ? this.interactions.get(message.interactionId) : undefined;
    const referenced = message.messageReference ? this.messagesById.get(message.messageReference.message_id) : undefined;
    const thread = message.threadId ? this.channels.get(message.threadId) : undefined;
    return {
      id: message.id,
      channel_id: message.channelId,
      author,
      content: message.content,
      timestamp: new Date(message.createdAt).toISOString(),
      edited_timestamp: message.editedAt ? new Date(message.editedAt).toISOString() : null,
      tts: message.tts,
      mention_everyone: false,
      mentions: this.mentionedUsers(message),
      mention_roles: [],
      attachments: message.attachments.map((a) => this.toAPIAttachment(a)),
      embeds: message.embeds,
      components: message.components,
      pinned: false,
      type: message.type,
      flags: message.flags,
      ...(message.nonce !== undefined ? { nonce: message.nonce } : {}),
      ...(message.webhookId ? { webhook_id: message.webhookId, application_id: this.applicationId } : {}),
      ...(interaction ? this.interactionMetadata(interaction, message) : {}),
      ...(message.messageReference ? { message_reference: { type: 0, ...message.messageReference } } : {}),
      ...(message.messageReference && withReferenced ? { referenced_message: referenced ? this.toAPIMessage(referenced, false) : null } : {}),
      ...(message.reactions.length
        ? {
            reactions: message.reactions.map((emoji) => ({
              count: 1,
              count_details: { burst: 0, normal: 1 },
              me: true,
              me_burst: false,
              burst_colors: [],
              emoji: { id: null, name: emoji },
            })),
          }
        : {}),
      ...(thread ? { thread: this.toAPIChannel(thread) } : {}),
    } as APIMessage;
  }

  private toAPIAttachment(attachment: FakeAttachment): APIAttachment {
    return {
      id: attachment.id,
      filename: attachment.filename,
      size: attachment.size,
      url: attachment.url,
      proxy_url: attachment.proxy_url,
      content_type: attachment.contentType,
      ...(attachment.width !== undefined ? { width: attachment.width, height: attachment.height } : {}),
      ...(attachment.description ? { description: attachment.description } : {}),
      ...(attachment.ephemeral ? { ephemeral: true } : {}), // Discord only sends the field when true
    };
  }

  /** <@id> mentions that would actually resolve (for bot messages: only those allowed_mentions lets through). */
  private mentionedUsers(message: FakeMessage): APIUser[] {
    const ids = [...message.content.matchAll(/<@!?(\d+)>/g)].map((m) => m[1]!);
    const allowed = message.allowedMentions;
    const permitted = (id: string): boolean =>
      message.authorId !== this.botUser.id || !allowed || asArray(allowed.parse).includes('users') || asArray(allowed.users).includes(id);
    return [...new Set(ids)].filter((id) => this.users.has(id) && permitted(id)).map((id) => this.users.get(id)!);
  }

  private interactionMetadata(interaction: FakeInteraction, message: FakeMessage): Json {
    const data = payloadData(interaction);
    const user = interaction.payload.member.user;
    const isFollowUp = interaction.originalMessageId !== undefined && interaction.originalMessageId !== message.id;
    return {
      interaction_metadata: {
        id: interaction.id,
        type: interaction.type,
        user,
        authorizing_integration_owners: interaction.payload.authorizing_integration_owners,
        ...(isFollowUp ? { original_response_message_id: interaction.originalMessageId } : {}),
        ...(interaction.type === InteractionType.MessageComponent && interaction.payload.message
          ? { interacted_message_id: interaction.payload.message.id }
          : {}),
      },
      interaction: { id: interaction.id, type: interaction.type, name: typeof data.name === 'string' ? data.name : '', user },
    };
  }

  /** MESSAGE_CREATE/UPDATE payload: the message plus guild_id and the author's member. */
  private messageDispatch(message: FakeMessage): Json {
    const payload: Json = { ...this.toAPIMessage(message) };
    const channel = this.channels.get(message.channelId);
    const guild = channel ? this.guildOf(channel) : undefined;
    if (guild) {
      payload.guild_id = guild.id;
      if (!message.webhookId) {
        const { user: _user, permissions: _permissions, ...member } = this.interactionMember(guild, message.authorId, {});
        payload.member = member;
      }
    }
    return payload;
  }

  private toAPIChannel(channel: FakeChannel): Json {
    if (channel.type === ChannelType.DM) {
      return {
        id: channel.id,
        type: channel.type,
        last_message_id: channel.lastMessageId ?? null,
        flags: 0,
        recipients: [this.user(channel.recipientId!)],
      };
    }
    const base = {
      id: channel.id,
      type: channel.type,
      guild_id: channel.guildId,
      name: channel.name,
      nsfw: channel.nsfw,
      last_message_id: channel.lastMessageId ?? null,
      rate_limit_per_user: 0,
      flags: 0,
    };
    if (this.isThread(channel)) {
      return {
        ...base,
        parent_id: channel.parentId ?? null,
        owner_id: channel.ownerId,
        message_count: channel.messageCount,
        total_message_sent: channel.messageCount,
        member_count: 1,
        applied_tags: [],
        thread_metadata: {
          archived: false,
          auto_archive_duration: channel.autoArchiveDuration ?? 1440,
          archive_timestamp: new Date(channel.createdAt).toISOString(),
          locked: false,
          create_timestamp: new Date(channel.createdAt).toISOString(),
          ...(channel.type === ChannelType.PrivateThread ? { invitable: true } : {}),
        },
      };
    }
    const guild = this.guildOf(channel);
    return {
      ...base,
      position: guild ? guild.channels.indexOf(channel) : 0,
      permission_overwrites: (channel.permissionOverwrites ?? []).map((o) => ({
        id: o.id,
        type: o.type,
        allow: String(o.allow ?? 0n),
        deny: String(o.deny ?? 0n),
      })),
      parent_id: null,
      topic: null,
      default_auto_archive_duration: 1440,
    };
  }

  // ---- internals: interactions -----------------------------------------------

  private place(options: InteractionPlaceOptions): { guild: FakeGuild; channel: FakeChannel } {
    const channel = options.channelId ? this.textChannel(options.channelId) : undefined;
    const guild = this.guild(options.guildId ?? channel?.guildId ?? this.defaultGuildId);
    return { guild, channel: channel ?? guild.channels[0]! };
  }

  private placeOfMessage(message: FakeMessage): { guild: FakeGuild; channel: FakeChannel } {
    return this.place({ channelId: message.channelId });
  }

  private componentPlace(options: ComponentInteractionOptions, message: FakeMessage): { guild: FakeGuild; channel: FakeChannel } {
    return options.forgedPlace ? this.place(options.forgedPlace) : this.placeOfMessage(message);
  }

  private resolveMessage(ref: MessageRef): FakeMessage {
    const message = this.messagesById.get(ref.id);
    if (!message) throw new Error(`FakeDiscord: unknown message ${ref.id} (deleted, or never created on this fake)`);
    return message;
  }

  /** A user can only click what is on the message: check the component exists and is enabled. */
  private componentMessage(options: ComponentInteractionOptions, type: ComponentType): FakeMessage {
    const message = this.resolveMessage(options.message);
    if (!options.strict) return message;
    const found = findComponent(message.components, options.customId);
    if (!found || found.type !== type) {
      throw new Error(`FakeDiscord: message ${message.id} has no ${ComponentType[type]} with custom_id "${options.customId}"`);
    }
    if (found.disabled === true) throw new Error(`FakeDiscord: component "${options.customId}" is disabled`);
    return message;
  }

  private registeredCommand(name: string, type: ApplicationCommandType, guildId: string): APIApplicationCommand | undefined {
    const matches = (command: APIApplicationCommand): boolean => command.name === name && (command.type ?? ApplicationCommandType.ChatInput) === type;
    return (this.guildCommands.get(guildId) ?? []).find(matches) ?? this.globalCommands.find(matches);
  }

  private commandOptions(
    options: SlashCommandOptions['options'],
    command: APIApplicationCommand | undefined,
  ): APIApplicationCommandInteractionDataOption[] {
    if (Array.isArray(options)) return options as APIApplicationCommandInteractionDataOption[];
    return this.toCommandOptions(options ?? {}, command?.options);
  }

  /** `{ prompt: 'a cat', seed: 3 }` → Discord options, typed from the registered command when known. */
  private toCommandOptions(values: Record<string, OptionValue>, definitions: unknown): APIApplicationCommandInteractionDataOption[] {
    const defs = asArray(definitions).filter(isRecord);
    return Object.entries(values).map(([name, value]) => {
      const declared = defs.find((d) => d.name === name)?.type;
      if (typeof value === 'object') return { name, type: ApplicationCommandOptionType.Attachment, value: value.id };
      const type =
        typeof declared === 'number'
          ? declared
          : typeof value === 'boolean'
            ? ApplicationCommandOptionType.Boolean
            : typeof value === 'number'
              ? Number.isInteger(value)
                ? ApplicationCommandOptionType.Integer
                : ApplicationCommandOptionType.Number
              : ApplicationCommandOptionType.String;
      return { name, type, value } as APIApplicationCommandInteractionDataOption;
    });
  }

  /** `resolved` for user/channel/role/attachment options, as Discord includes it. */
  private resolvedFor(options: APIApplicationCommandInteractionDataOption[], guild: FakeGuild): { resolved?: APIInteractionDataResolved } {
    const resolved: Required<Pick<APIInteractionDataResolved, 'users' | 'members' | 'channels' | 'roles' | 'attachments'>> = {
      users: {},
      members: {},
      channels: {},
      roles: {},
      attachments: {},
    };
    let any = false;
    const visit = (list: APIApplicationCommandInteractionDataOption[]): void => {
      for (const option of list) {
        if ('options' in option && Array.isArray(option.options)) visit(option.options as APIApplicationCommandInteractionDataOption[]);
        if (!('value' in option) || typeof option.value !== 'string') continue;
        const id = option.value;
        if (option.type === ApplicationCommandOptionType.User || (option.type === ApplicationCommandOptionType.Mentionable && this.users.has(id))) {
          const { user, ...member } = this.interactionMember(guild, id, {});
          resolved.users[id] = user!;
          resolved.members[id] = member as never;
          any = true;
        } else if (option.type === ApplicationCommandOptionType.Channel && this.channels.has(id)) {
          resolved.channels[id] = { ...this.toAPIChannel(this.channels.get(id)!), permissions: MEMBER_PERMISSIONS.toString() } as never;
          any = true;
        } else if (option.type === ApplicationCommandOptionType.Role || option.type === ApplicationCommandOptionType.Mentionable) {
          const role = this.roles(guild).find((r) => r.id === id);
          if (role) {
            resolved.roles[id] = role;
            any = true;
          }
        } else if (option.type === ApplicationCommandOptionType.Attachment && this.attachmentsById.has(id)) {
          resolved.attachments[id] = this.toAPIAttachment(this.attachmentsById.get(id)!);
          any = true;
        }
      }
    };
    visit(options);
    return any ? { resolved } : {};
  }

  /** Mirrors the layout of the modal the bot showed (action rows or labels), if the fake saw it. */
  private modalSubmitComponents(customId: string, fields: Record<string, string | string[]>): Json[] {
    const shown = this.modalsShown.get(customId);
    const submitted = (input: Json): Json => {
      const value = fields[String(input.custom_id)];
      return Array.isArray(value)
        ? { type: input.type, id: input.id, custom_id: input.custom_id, values: value }
        : { type: ComponentType.TextInput, id: input.id, custom_id: input.custom_id, value: value ?? '' };
    };
    if (shown) {
      return asArray(shown.components)
        .filter(isRecord)
        .flatMap((component): Json[] => {
          if (component.type === ComponentType.Label && isRecord(component.component)) {
            return [{ type: ComponentType.Label, id: component.id, component: submitted(component.component) }];
          }
          const input = asArray(component.components).find(isRecord);
          return input ? [{ type: ComponentType.ActionRow, id: component.id, components: [submitted(input)] }] : [];
        });
    }
    // Unknown modal: text inputs in action rows, selects (array values) in labels.
    return Object.entries(fields).map(([key, value], i) =>
      Array.isArray(value)
        ? { type: ComponentType.Label, id: i * 2 + 1, component: submitted({ custom_id: key, type: ComponentType.StringSelect, id: i * 2 + 2 }) }
        : { type: ComponentType.ActionRow, id: i * 2 + 1, components: [submitted({ custom_id: key, id: i * 2 + 2 })] },
    );
  }

  private dispatchInteraction(
    type: InteractionType,
    actor: InteractionActorOptions,
    place: { guild: FakeGuild; channel: FakeChannel },
    extra: Json,
  ): FakeInteraction {
    const createdAt = actor.createdAt ?? Date.now();
    const { guild, channel } = place;
    const member = this.interactionMember(guild, actor.userId ?? this.defaultUser.id, actor, channel);
    const payload = {
      id: snowflake(createdAt),
      application_id: this.applicationId,
      type,
      token: `aW50ZXJhY3Rpb246${randomToken(96)}`,
      version: 1,
      guild_id: guild.id,
      guild: { id: guild.id, locale: guild.locale, features: [] },
      channel_id: channel.id,
      channel: this.interactionChannel(channel, member.permissions),
      member,
      app_permissions: this.botPermissions.toString(),
      locale: actor.locale ?? 'en-US',
      guild_locale: guild.locale,
      entitlements: [],
      authorizing_integration_owners: { '0': guild.id },
      context: 0,
      attachment_size_limit: guild.attachmentSizeLimit,
      ...extra,
    } as unknown as APIGuildInteraction;
    const interaction = new FakeInteraction(this, payload, createdAt, this.options.tokenLifetimeMs);
    this.interactions.set(interaction.id, interaction);
    this.interactionsByToken.set(interaction.token, interaction);
    // With an interactions endpoint, Discord POSTs interactions there instead of the gateway.
    if (this.interactionsEndpoint) void this.postInteraction(this.interactionsEndpoint, payload);
    else this.gateway.dispatch('INTERACTION_CREATE', payload);
    this.notify();
    return interaction;
  }

  /** The partial channel of an interaction. As on Discord, a thread's carries no `nsfw`: that is its parent's. */
  private interactionChannel(channel: FakeChannel, permissions: string): Json {
    const { nsfw: _nsfw, ...rest } = this.toAPIChannel(channel);
    return { ...(this.isThread(channel) ? rest : { ...rest, nsfw: channel.nsfw }), permissions };
  }

  private roles(guild: FakeGuild): APIRole[] {
    const role = (id: string, name: string, permissions: bigint, position: number, extra: Partial<APIRole> = {}): APIRole => ({
      id,
      name,
      color: 0,
      colors: { primary_color: 0, secondary_color: null, tertiary_color: null },
      hoist: false,
      icon: null,
      unicode_emoji: null,
      position,
      permissions: permissions.toString(),
      managed: false,
      mentionable: false,
      flags: 0 as RoleFlags,
      ...extra,
    });
    return [
      role(guild.everyoneRoleId, '@everyone', MEMBER_PERMISSIONS, 0),
      role(guild.botRoleId, this.botUser.username, this.botPermissions, 1, { managed: true, tags: { bot_id: this.botUser.id } }),
      ...guild.roles.map((r) => role(r.id, r.name, r.permissions, r.position)),
    ];
  }

  // ---- internals: gateway payloads -------------------------------------------

  private gatewayHost(): GatewayHost {
    const fake = this; // the getters below need the instance, not the host object
    return {
      get token() {
        return fake.token;
      },
      get gatewayUrl() {
        return fake.gatewayUrl;
      },
      get privilegedIntents() {
        return fake.options.privilegedIntents;
      },
      readyPayload: (sessionId, shard, inShard) => ({
        v: 10,
        user: { ...this.botUser, verified: true, mfa_enabled: false, email: null },
        guilds: this.guilds
          .filter((guild) => !this.guildsWithoutBot.has(guild.id) && inShard(guild.id))
          .map((guild) => ({ id: guild.id, unavailable: true })),
        session_id: sessionId,
        resume_gateway_url: this.gatewayUrl,
        shard,
        application: { id: this.applicationId, flags: 0 },
        private_channels: [],
        presences: [],
        relationships: [],
        guild_join_requests: [],
        user_settings: {},
        _trace: ['fake-discord'],
      }),
      guildCreatePayloads: () => this.guilds.filter((guild) => !this.guildsWithoutBot.has(guild.id)).map((guild) => this.guildCreatePayload(guild)),
      membersChunk: (request) => this.membersChunk(request),
      prepareDispatch: (t, d, intents) => this.prepareDispatch(t, d, intents),
      gatewayEvent: (kind) => {
        if (kind === 'ready') this.resolveReady();
        this.emit('gateway', kind);
        this.notify();
      },
      gatewayViolation: (message) => {
        this.validationErrors.push(`gateway: ${message}`);
        this.notify();
      },
    };
  }

  private guildPayload(guild: FakeGuild): Json {
    return {
      id: guild.id,
      name: guild.name,
      icon: null,
      splash: null,
      discovery_splash: null,
      owner_id: guild.ownerId,
      afk_channel_id: null,
      afk_timeout: 300,
      verification_level: 0,
      default_message_notifications: 1, // "only mentions", like most community servers
      explicit_content_filter: 0,
      roles: this.roles(guild),
      emojis: [],
      stickers: [],
      features: [],
      mfa_level: 0,
      application_id: null,
      system_channel_id: null,
      system_channel_flags: 0,
      rules_channel_id: null,
      public_updates_channel_id: null,
      safety_alerts_channel_id: null,
      vanity_url_code: null,
      description: null,
      banner: null,
      premium_tier: 0,
      premium_subscription_count: 0,
      premium_progress_bar_enabled: false,
      preferred_locale: guild.locale,
      nsfw_level: 0,
      max_members: 500_000,
      max_video_channel_users: 25,
      max_stage_video_channel_users: 50,
      hub_type: null,
      incidents_data: null,
    };
  }

  private guildCreatePayload(guild: FakeGuild): Json {
    const { permissions: _p, ...botMember } = this.interactionMember(guild, this.botUser.id, {});
    return {
      ...this.guildPayload(guild),
      joined_at: new Date(Date.now() - 30 * 24 * 3600_000).toISOString(),
      large: false,
      unavailable: false,
      member_count: 1 + [...this.members.keys()].filter((key) => key.startsWith(`${guild.id}:`)).length,
      voice_states: [],
      members: [botMember],
      channels: guild.channels.map((channel) => this.toAPIChannel(channel)),
      threads: this.threads()
        .filter((thread) => thread.guildId === guild.id)
        .map((thread) => this.toAPIChannel(thread)),
      presences: [],
      stage_instances: [],
      guild_scheduled_events: [],
      soundboard_sounds: [],
    };
  }

  private membersChunk(request: Json): Json[] {
    const guild = this.guilds.find((g) => g.id === request.guild_id);
    if (!guild) return [];
    const wanted = asArray(request.user_ids).map(String);
    const ids = wanted.length ? wanted : [...this.members.keys()].filter((k) => k.startsWith(`${guild.id}:`)).map((k) => k.split(':')[1]!);
    const members = ids
      .filter((id) => this.users.has(id))
      .map((id) => {
        const { permissions: _p, ...member } = this.interactionMember(guild, id, {});
        return member;
      });
    return [
      {
        guild_id: guild.id,
        members,
        chunk_index: 0,
        chunk_count: 1,
        not_found: wanted.filter((id) => !this.users.has(id)),
        ...(request.nonce !== undefined ? { nonce: request.nonce } : {}),
      },
    ];
  }

  /** Intent filtering, and the MessageContent rule: others' content is blank without that intent. */
  private prepareDispatch(t: string, d: unknown, intents: number): unknown {
    const needed = requiredIntent(t, d);
    if (needed !== undefined && (intents & needed) === 0) return undefined;
    if ((t === 'MESSAGE_CREATE' || t === 'MESSAGE_UPDATE') && isRecord(d) && !(intents & GatewayIntentBits.MessageContent)) {
      const author = isRecord(d.author) ? d.author.id : undefined;
      const mentionsBot = asArray(d.mentions).some((user) => isRecord(user) && user.id === this.botUser.id);
      if (author !== this.botUser.id && !mentionsBot) return { ...d, content: '', embeds: [], attachments: [], components: [] };
    }
    return d;
  }

  // ---- HTTP ----------------------------------------------------------------------

  private async handleHttp(req: IncomingMessage, res: ServerResponse): Promise<void> {
    try {
      const url = new URL(req.url ?? '/', this.baseUrl);
      if (url.pathname.startsWith('/cdn/') || url.pathname.startsWith('/media/')) {
        this.serveCdn(url, req, res);
        return;
      }
      if (url.pathname === '/api/oauth2/authorize' || url.pathname === '/oauth2/authorize') {
        const form = (await parseBody(req.headers['content-type'] ?? '', await readBody(req))).json as Record<string, string> | undefined;
        writeOAuth2Reply(res, this.oauth2.authorize((req.method ?? 'GET').toUpperCase(), url.searchParams, form));
        return;
      }
      const api = /^\/api\/v(\d+)(\/.*)?$/.exec(url.pathname);
      if (!api) {
        writeReply(res, errorReply(404, 0, '404: Not Found'));
        return;
      }
      const receivedAt = Date.now();
      const raw = await readBody(req);
      writeReply(res, await this.handleRest(req, url, api[1]!, decodePath(api[2] ?? '/'), raw, receivedAt));
    } catch (error) {
      // A bug in the fake must not look like Discord misbehaving: surface it loudly.
      const message = error instanceof Error ? (error.stack ?? error.message) : String(error);
      this.validationErrors.push(`fake-discord internal error on ${req.method} ${req.url}: ${message}`);
      console.error('fake-discord internal error', error);
      if (!res.headersSent) writeReply(res, errorReply(500, 0, '500: Internal Server Error'));
      else res.end();
    }
  }

  private async handleRest(req: IncomingMessage, url: URL, version: string, path: string, raw: Buffer, receivedAt = Date.now()): Promise<RestReply> {
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(req.headers)) {
      if (value !== undefined) headers[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : value;
    }
    const parsed = await parseBody(headers['content-type'] ?? '', raw);
    const ctx: RestContext = {
      method: (req.method ?? 'GET').toUpperCase(),
      path,
      params: {},
      query: url.searchParams,
      headers,
      json: parsed.json,
      files: parsed.files,
    };
    let reply: RestReply;
    if (version !== '10') {
      this.violation(ctx, `API version v${version} requested; the bot must use v10`);
      reply = errorReply(404, 0, '404: Not Found');
    } else if (ctx.method === 'POST' && path === '/oauth2/token') {
      reply =
        this.injectedFault(ctx) ??
        this.oauth2.tokenEndpoint(headers['content-type'] ?? '', ctx.json as Record<string, string> | undefined, headers.authorization);
    } else if (headers.authorization?.startsWith('Bearer ')) {
      reply = this.injectedFault(ctx) ?? this.oauth2.bearer(ctx.method, path, headers.authorization);
    } else {
      reply =
        this.injectedFault(ctx) ??
        (parsed.invalidJson
          ? errorReply(400, 50109, 'The request body contains invalid JSON.')
          : ctx.method === 'PATCH' && path === '/applications/@me'
            ? await this.patchApplication(ctx)
            : this.route(ctx));
    }
    const record: RecordedRequest = {
      method: ctx.method,
      path,
      query: url.searchParams,
      headers,
      json: parsed.json,
      files: parsed.files,
      status: reply.status,
      response: reply.body,
      at: Date.now(),
      receivedAt,
    };
    this.requests.push(record);
    this.emit('request', record);
    this.notify();
    const hold = this.holds.findIndex((h) => (!h.method || h.method === record.method) && h.path.test(record.path) && (!h.when || h.when(record)));
    if (hold >= 0) {
      const [held] = this.holds.splice(hold, 1);
      held!.reached(record);
      await held!.released;
    }
    return reply;
  }

  private injectedFault(ctx: RestContext): RestReply | undefined {
    const index = this.faults.findIndex((f) => (!f.method || f.method === ctx.method) && f.path.test(ctx.path) && (!f.when || f.when(ctx)));
    if (index < 0) return undefined;
    const fault = this.faults[index]!;
    fault.remaining -= 1;
    if (fault.remaining <= 0) this.faults.splice(index, 1);
    if (fault.status === 429) {
      const body = { message: 'You are being rate limited.', retry_after: 0.3, global: false, ...fault.body } as Json;
      const retryAfter = typeof body.retry_after === 'number' ? body.retry_after : 0.3;
      return jsonReply(429, body, { ...rateLimitHeaders(retryAfter, body.global === true), ...fault.headers });
    }
    const body = fault.body ?? { message: `${fault.status}: ${STATUS_CODES[fault.status] ?? 'Error'}`, code: 0 };
    return jsonReply(fault.status, body, fault.headers);
  }

  private route(ctx: RestContext): RestReply {
    const segments = ctx.path.split('/').filter(Boolean); // already decoded
    let pathKnown = false;
    for (const route of this.routes) {
      const params = matchSegments(route.segments, segments);
      if (!params) continue;
      pathKnown = true;
      if (route.method !== ctx.method) continue;
      if (route.auth && ctx.headers.authorization !== `Bot ${this.token}`) return errorReply(401, 0, '401: Unauthorized');
      ctx.params = params;
      try {
        return route.handler(ctx);
      } catch (error) {
        if (error instanceof ApiError) return error.reply;
        throw error;
      }
    }
    if (pathKnown) {
      this.violation(ctx, `method ${ctx.method} is not supported on this route by the fake`);
      return errorReply(405, 0, '405: Method Not Allowed');
    }
    this.violation(ctx, 'unknown route');
    return errorReply(404, 0, '404: Not Found');
  }

  private violation(ctx: Pick<RestContext, 'method' | 'path'>, message: string): void {
    this.validationErrors.push(`${ctx.method} ${displayPath(ctx.path)}: ${message}`);
  }

  private serveCdn(url: URL, req: IncomingMessage, res: ServerResponse): void {
    const attachment = this.attachmentsByPath.get(decodeURIComponent(url.pathname));
    if (!attachment || (req.method !== 'GET' && req.method !== 'HEAD')) {
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end('404: Not Found');
      return;
    }
    res.writeHead(200, { 'content-type': attachment.contentType, 'content-length': String(attachment.size) });
    res.end(req.method === 'HEAD' ? undefined : attachment.data);
  }

  // ---- REST routes -----------------------------------------------------------------

  private buildRoutes(): Route[] {
    const routes: Route[] = [];
    const add = (method: string, pattern: string, handler: (ctx: RestContext) => RestReply, auth = true): void => {
      routes.push({ method, segments: pattern.split('/').filter(Boolean), auth, handler });
    };
    // Gateway discovery.
    add('GET', '/gateway', () => jsonReply(200, { url: this.gatewayUrl }), false);
    add('GET', '/gateway/bot', () =>
      jsonReply(200, {
        url: this.gatewayUrl,
        shards: this.recommendedShards,
        session_start_limit: {
          total: 1000,
          remaining: 1000 - this.gateway.identifyCount,
          reset_after: 0,
          max_concurrency: this.maxConcurrency,
        },
      }),
    );
    // Users, application, guilds, channels.
    add('GET', '/users/@me', () => jsonReply(200, { ...this.botUser, verified: true, mfa_enabled: false }));
    add('POST', '/users/@me/channels', (ctx) => this.openDM(ctx));
    add('GET', '/users/:userId', (ctx) => jsonReply(200, this.users.get(ctx.params.userId!) ?? fail(404, 10013, 'Unknown User')));
    add('GET', '/applications/@me', () => jsonReply(200, this.applicationPayload()));
    add('GET', '/guilds/:guildId', (ctx) => jsonReply(200, this.guildPayload(this.apiGuild(ctx))));
    add('GET', '/guilds/:guildId/channels', (ctx) =>
      jsonReply(
        200,
        this.apiGuild(ctx).channels.map((c) => this.toAPIChannel(c)),
      ),
    );
    add('GET', '/guilds/:guildId/members/:userId', (ctx) => this.getMember(ctx));
    add('GET', '/channels/:channelId', (ctx) => jsonReply(200, this.toAPIChannel(this.apiChannel(ctx))));
    // Application commands, global and per guild.
    for (const prefix of ['/applications/:appId/commands', '/applications/:appId/guilds/:guildId/commands']) {
      add('GET', prefix, (ctx) => jsonReply(200, this.commandStore(ctx)));
      add('PUT', prefix, (ctx) => this.overwriteCommands(ctx));
      add('POST', prefix, (ctx) => this.createCommand(ctx));
      add('GET', `${prefix}/:commandId`, (ctx) => jsonReply(200, this.findCommand(ctx)));
      add('PATCH', `${prefix}/:commandId`, (ctx) => this.editCommand(ctx));
      add('DELETE', `${prefix}/:commandId`, (ctx) => this.deleteCommand(ctx));
    }
    // Messages.
    add('GET', '/channels/:channelId/messages', (ctx) => this.listMessages(ctx));
    add('POST', '/channels/:channelId/messages', (ctx) => this.postChannelMessage(ctx));
    add('GET', '/channels/:channelId/messages/:messageId', (ctx) => jsonReply(200, this.toAPIMessage(this.apiMessage(ctx))));
    add('PATCH', '/channels/:channelId/messages/:messageId', (ctx) => this.patchChannelMessage(ctx));
    add('DELETE', '/channels/:channelId/messages/:messageId', (ctx) => {
      this.deleteMessage(this.apiMessage(ctx));
      return noContent();
    });
    add('PUT', '/channels/:channelId/messages/:messageId/reactions/:emoji/@me', (ctx) => this.react(ctx, true));
    add('DELETE', '/channels/:channelId/messages/:messageId/reactions/:emoji/@me', (ctx) => this.react(ctx, false));
    add('POST', '/channels/:channelId/typing', (ctx) => {
      this.apiChannel(ctx); // 404 for unknown channels
      return noContent();
    });
    // Threads.
    add('POST', '/channels/:channelId/threads', (ctx) => this.createThread(ctx, undefined));
    add('POST', '/channels/:channelId/messages/:messageId/threads', (ctx) => this.createThread(ctx, this.apiMessage(ctx)));
    add('PUT', '/channels/:channelId/thread-members/@me', (ctx) => {
      if (!this.isThread(this.apiChannel(ctx))) fail(400, 50024, 'Cannot execute action on this channel type');
      return noContent();
    });
    // Interactions: callback and the interaction webhook (no bot auth, the token is the credential).
    add('POST', '/interactions/:interactionId/:token/callback', (ctx) => this.interactionCallback(ctx), false);
    add('POST', '/webhooks/:appId/:token', (ctx) => this.followUp(ctx), false);
    add('GET', '/webhooks/:appId/:token/messages/:messageId', (ctx) => this.getWebhookMessage(ctx), false);
    add('PATCH', '/webhooks/:appId/:token/messages/:messageId', (ctx) => this.patchWebhookMessage(ctx), false);
    add('DELETE', '/webhooks/:appId/:token/messages/:messageId', (ctx) => this.deleteWebhookMessage(ctx), false);
    return routes;
  }

  private applicationPayload(): Json {
    return {
      id: this.applicationId,
      name: this.botUser.username,
      icon: null,
      description: '',
      bot_public: false,
      bot_require_code_grant: false,
      bot: this.botUser,
      verify_key: randomBytes(32).toString('hex'),
      flags: 0,
      owner: this.users.get(this.guilds[0]?.ownerId ?? '') ?? this.botUser,
      team: null,
      summary: '',
      integration_types_config: { '0': {} },
    };
  }

  private apiGuild(ctx: RestContext): FakeGuild {
    return this.guilds.find((g) => g.id === ctx.params.guildId) ?? fail(404, 10004, 'Unknown Guild');
  }

  private apiChannel(ctx: RestContext): FakeChannel {
    return this.channels.get(ctx.params.channelId!) ?? fail(404, 10003, 'Unknown Channel');
  }

  /** A message in the route's channel; ephemeral messages are invisible to channel routes. */
  private apiMessage(ctx: RestContext): FakeMessage {
    const channel = this.apiChannel(ctx);
    const message = this.messagesById.get(ctx.params.messageId!);
    if (!message || message.channelId !== channel.id || message.ephemeral) fail(404, 10008, 'Unknown Message');
    return message;
  }

  private getMember(ctx: RestContext): RestReply {
    const guild = this.apiGuild(ctx);
    const userId = ctx.params.userId!;
    if (!this.users.has(userId)) fail(404, 10007, 'Unknown Member');
    const { permissions: _p, ...member } = this.interactionMember(guild, userId, {});
    return jsonReply(200, member);
  }

  private openDM(ctx: RestContext): RestReply {
    const recipientId = isRecord(ctx.json) ? String(ctx.json.recipient_id) : '';
    if (!this.users.has(recipientId)) fail(400, 50035, 'Invalid Form Body');
    const existing = [...this.channels.values()].find((c) => c.type === ChannelType.DM && c.recipientId === recipientId);
    const channel =
      existing ??
      this.addChannel({ id: snowflake(), type: ChannelType.DM, name: '', nsfw: false, recipientId, createdAt: Date.now(), messageCount: 0 });
    return jsonReply(200, this.toAPIChannel(channel));
  }

  // Commands ---------------------------------------------------------------------------

  private commandStore(ctx: RestContext): APIApplicationCommand[] {
    if (ctx.params.appId !== this.applicationId) {
      this.violation(ctx, `application id ${String(ctx.params.appId)} is not the bot's (${this.applicationId})`);
      fail(403, 50001, 'Missing Access');
    }
    if (!ctx.params.guildId) return this.globalCommands;
    const guild = this.apiGuild(ctx);
    let list = this.guildCommands.get(guild.id);
    if (!list) this.guildCommands.set(guild.id, (list = []));
    return list;
  }

  private findCommand(ctx: RestContext): APIApplicationCommand {
    return this.commandStore(ctx).find((c) => c.id === ctx.params.commandId) ?? fail(404, 10063, 'Unknown application command');
  }

  private rejectInvalidCommands(ctx: RestContext, commands: unknown[], wrapPath: (path: FieldPath) => FieldPath): RestReply | undefined {
    const check = new Checker();
    checkCommands(check, commands);
    if (check.errors.length === 0) return undefined;
    const errors = check.errors.map((e) => ({ ...e, path: wrapPath(e.path) }));
    for (const error of errors) this.violation(ctx, describeFieldError(error));
    return errorReply(400, 50035, 'Invalid Form Body', errorTree(errors));
  }

  /** The stored form of a command; keeps the id of a same-named command, as Discord does. */
  private toCommand(ctx: RestContext, input: Json, previous: APIApplicationCommand | undefined): APIApplicationCommand {
    const type = typeof input.type === 'number' ? input.type : ApplicationCommandType.ChatInput;
    const permissions = input.default_member_permissions;
    return {
      id: previous?.id ?? snowflake(),
      application_id: this.applicationId,
      version: snowflake(),
      type,
      name: String(input.name),
      name_localizations: (input.name_localizations as never) ?? null,
      description: typeof input.description === 'string' ? input.description : '',
      description_localizations: (input.description_localizations as never) ?? null,
      options: asArray(input.options) as never,
      default_member_permissions: permissions === undefined || permissions === null ? null : String(permissions),
      dm_permission: input.dm_permission !== false,
      contexts: (input.contexts as never) ?? null,
      integration_types: (input.integration_types as never) ?? [0],
      nsfw: input.nsfw === true,
      ...(ctx.params.guildId ? { guild_id: ctx.params.guildId } : {}),
    } as APIApplicationCommand;
  }

  private overwriteCommands(ctx: RestContext): RestReply {
    const store = this.commandStore(ctx);
    const commands = asArray(ctx.json);
    const invalid = this.rejectInvalidCommands(ctx, commands, (path) => path);
    if (invalid) return invalid;
    const next = commands.filter(isRecord).map((input) =>
      this.toCommand(
        ctx,
        input,
        store.find((c) => c.name === input.name && c.type === (input.type ?? ApplicationCommandType.ChatInput)),
      ),
    );
    store.splice(0, store.length, ...next);
    this.notify();
    return jsonReply(200, next);
  }

  private createCommand(ctx: RestContext): RestReply {
    const store = this.commandStore(ctx);
    const input = isRecord(ctx.json) ? ctx.json : {};
    const invalid = this.rejectInvalidCommands(ctx, [input], (path) => path.slice(1));
    if (invalid) return invalid;
    const type = input.type ?? ApplicationCommandType.ChatInput;
    const index = store.findIndex((c) => c.name === input.name && c.type === type);
    const command = this.toCommand(ctx, input, store[index]);
    if (index >= 0) store[index] = command;
    else store.push(command);
    this.notify();
    return jsonReply(index >= 0 ? 200 : 201, command);
  }

  private editCommand(ctx: RestContext): RestReply {
    const store = this.commandStore(ctx);
    const current = this.findCommand(ctx);
    const merged = { ...current, ...(isRecord(ctx.json) ? ctx.json : {}) } as Json;
    const invalid = this.rejectInvalidCommands(ctx, [merged], (path) => path.slice(1));
    if (invalid) return invalid;
    const command = this.toCommand(ctx, merged, current);
    store[store.indexOf(current)] = command;
    this.notify();
    return jsonReply(200, command);
  }

  private deleteCommand(ctx: RestContext): RestReply {
    const store = this.commandStore(ctx);
    store.splice(store.indexOf(this.findCommand(ctx)), 1);
    this.notify();
    return noContent();
  }

  // Channel messages ------------------------------------------------------------------

  /**
   * Checks an outgoing message against Discord's limits. Violations are recorded; the reply is
   * what Discord would answer (413 for a too-large file, 400 Invalid Form Body, 400 empty message).
   * The allowed_mentions policy is only recorded: Discord itself would accept the message.
   */
  private rejectInvalidMessage(
    ctx: RestContext,
    body: Json,
    options: { creating: boolean; sizeLimit: number; prefix?: FieldPath; existing?: FakeAttachment[] },
  ): RestReply | undefined {
    const prefix = options.prefix ?? [];
    const policy = mentionPolicyProblem(body);
    if (policy) this.violation(ctx, policy);
    const tooLarge = ctx.files.find((file) => file.data.length > options.sizeLimit);
    if (tooLarge) {
      this.violation(ctx, `file ${tooLarge.filename} is ${tooLarge.data.length} bytes, over the ${options.sizeLimit}-byte attachment_size_limit`);
      return errorReply(413, 40005, 'Request entity too large');
    }
    const check = new Checker();
    checkMessageBody(check, body, ctx.files, options.existing ?? []);
    if (check.errors.length > 0) {
      const errors = check.errors.map((e) => ({ ...e, path: [...prefix, ...e.path] }));
      for (const error of errors) this.violation(ctx, describeFieldError(error));
      return errorReply(400, 50035, 'Invalid Form Body', errorTree(errors));
    }
    if (options.creating && isEmptyMessage(body, ctx.files)) {
      this.violation(ctx, 'empty message (no content, embeds, components, files or stickers)');
      return errorReply(400, 50006, 'Cannot send an empty message');
    }
    return undefined;
  }

  private listMessages(ctx: RestContext): RestReply {
    const channel = this.apiChannel(ctx);
    const limit = Math.min(100, Math.max(1, Number(ctx.query.get('limit') ?? 50) || 50));
    const visible = this.messages(channel.id)
      .filter((m) => !m.ephemeral)
      .sort((a, b) => compareIds(b.id, a.id));
    return jsonReply(
      200,
      pageOfMessages(visible, ctx.query, limit).map((m) => this.toAPIMessage(m)),
    );
  }

  private postChannelMessage(ctx: RestContext): RestReply {
    const channel = this.apiChannel(ctx);
    const body = isRecord(ctx.json) ? ctx.json : {};
    const invalid = this.rejectInvalidMessage(ctx, body, { creating: true, sizeLimit: this.sizeLimitFor(channel) });
    if (invalid) return invalid;
    const duplicate = this.nonceDuplicate(channel, body);
    if (duplicate) return jsonReply(200, this.toAPIMessage(duplicate));
    const reference = this.messageReference(ctx, channel, body.message_reference);
    const message = this.createMessage({
      channel,
      authorId: this.botUser.id,
      body,
      files: ctx.files,
      flags: (typeof body.flags === 'number' ? body.flags : 0) & CHANNEL_MESSAGE_FLAGS,
      reference,
    });
    if (body.enforce_nonce === true && body.nonce !== undefined) {
      this.nonces.set(`${channel.id}:${String(body.nonce)}`, { messageId: message.id, at: Date.now() });
    }
    return jsonReply(200, this.toAPIMessage(message));
  }

  /** enforce_nonce: the same nonce in the same channel within a few minutes returns the first message. */
  private nonceDuplicate(channel: FakeChannel, body: Json): FakeMessage | undefined {
    if (body.enforce_nonce !== true || body.nonce === undefined || body.nonce === null) return undefined;
    const seen = this.nonces.get(`${channel.id}:${String(body.nonce)}`);
    if (!seen || Date.now() - seen.at > NONCE_WINDOW_MS) return undefined;
    return this.messagesById.get(seen.messageId);
  }

  private messageReference(ctx: RestContext, channel: FakeChannel, reference: unknown): FakeMessage['messageReference'] {
    if (!isRecord(reference) || typeof reference.message_id !== 'string') return undefined;
    const channelId = typeof reference.channel_id === 'string' ? reference.channel_id : channel.id;
    const target = this.messagesById.get(reference.message_id);
    if (!target || target.channelId !== channelId || target.ephemeral) {
      if (reference.fail_if_not_exists === false) return undefined;
      const error: FieldError = { path: ['message_reference'], code: 'MESSAGE_REFERENCE_UNKNOWN_MESSAGE', message: 'Unknown message' };
      this.violation(ctx, describeFieldError(error));
      throw new ApiError(errorReply(400, 50035, 'Invalid Form Body', errorTree([error])));
    }
    return { message_id: target.id, channel_id: target.channelId, ...(target.guildId ? { guild_id: target.guildId } : {}) };
  }

  private patchChannelMessage(ctx: RestContext): RestReply {
    const message = this.apiMessage(ctx);
    const body = isRecord(ctx.json) ? ctx.json : {};
    if (message.authorId !== this.botUser.id) {
      const onlyFlags = Object.keys(body).every((key) => key === 'flags');
      if (!onlyFlags) fail(403, 50005, 'Cannot edit a message authored by another user');
    }
    const invalid = this.rejectInvalidMessage(ctx, body, {
      creating: false,
      sizeLimit: this.sizeLimitFor(this.channels.get(message.channelId)),
      existing: message.attachments,
    });
    if (invalid) return invalid;
    return jsonReply(200, this.toAPIMessage(this.editMessage(message, body, ctx.files)));
  }

  private react(ctx: RestContext, add: boolean): RestReply {
    const message = this.apiMessage(ctx);
    const emoji = ctx.params.emoji!;
    const index = message.reactions.indexOf(emoji);
    if (add && index < 0) message.reactions.push(emoji);
    if (!add && index >= 0) message.reactions.splice(index, 1);
    this.notify();
    return noContent();
  }

  private createThread(ctx: RestContext, fromMessage: FakeMessage | undefined): RestReply {
    const parent = this.apiChannel(ctx);
    if (parent.type !== ChannelType.GuildText && parent.type !== ChannelType.GuildAnnouncement) {
      fail(400, 50024, 'Cannot execute action on this channel type');
    }
    if (fromMessage?.threadId) fail(400, 160004, 'A thread has already been created for this message');
    const body = isRecord(ctx.json) ? ctx.json : {};
    const check = new Checker();
    check.length(['name'], body.name, 1, LIMITS.threadName);
    if (check.errors.length) {
      for (const error of check.errors) this.violation(ctx, describeFieldError(error));
      return errorReply(400, 50035, 'Invalid Form Body', errorTree(check.errors));
    }
    // Without a message, Discord creates a private thread unless told otherwise (documented default).
    const type = fromMessage
      ? parent.type === ChannelType.GuildAnnouncement
        ? ChannelType.AnnouncementThread
        : ChannelType.PublicThread
      : typeof body.type === 'number'
        ? (body.type as ChannelType)
        : ChannelType.PrivateThread;
    const thread = this.addChannel({
      id: fromMessage?.id ?? snowflake(), // a thread started from a message shares the message's id
      type,
      name: String(body.name),
      guildId: parent.guildId,
      parentId: parent.id,
      ownerId: this.botUser.id,
      nsfw: parent.nsfw,
      createdAt: Date.now(),
      autoArchiveDuration: typeof body.auto_archive_duration === 'number' ? body.auto_archive_duration : 1440,
      messageCount: 0,
    });
    if (fromMessage) {
      fromMessage.threadId = thread.id;
      fromMessage.flags |= MessageFlags.HasThread;
    }
    const payload = this.toAPIChannel(thread);
    this.gateway.dispatch('THREAD_CREATE', { ...payload, newly_created: true });
    this.notify();
    return jsonReply(201, payload);
  }

  // Interaction callback and webhook --------------------------------------------------

  private interactionCallback(ctx: RestContext): RestReply {
    const interaction = this.interactions.get(ctx.params.interactionId!);
    if (!interaction || interaction.token !== ctx.params.token || interaction.tokenExpired) fail(404, 10062, 'Unknown interaction');
    const age = Date.now() - interaction.dispatchedAt;
    if (age > this.options.callbackWindowMs) {
      this.violation(ctx, `initial response came ${age} ms after dispatch (Discord allows ${this.options.callbackWindowMs} ms)`);
      fail(404, 10062, 'Unknown interaction');
    }
    if (interaction.callback) fail(400, 40060, 'Interaction has already been acknowledged.');
    const body = isRecord(ctx.json) ? ctx.json : {};
    const type = body.type as InteractionResponseType;
    const data = isRecord(body.data) ? body.data : {};
    if (!allowedCallbackTypes(interaction).includes(type)) {
      const error: FieldError = {
        path: ['type'],
        code: 'INTERACTION_RESPONSE_TYPE_INVALID',
        message: `Callback type ${String(type)} is not valid for interaction type ${interaction.type}`,
      };
      this.violation(ctx, describeFieldError(error));
      return errorReply(400, 50035, 'Invalid Form Body', errorTree([error]));
    }
    const message = this.applyCallback(ctx, interaction, type, data);
    interaction.callback = { type, data, at: Date.now() };
    this.emit('interactionCallback', interaction);
    this.notify();
    if (ctx.query.get('with_response') !== 'true') return noContent();
    return jsonReply(200, this.callbackResponse(interaction, type, message));
  }

  /** Performs one callback type; returns the message it created or touched. Throws ApiError when invalid. */
  private applyCallback(ctx: RestContext, interaction: FakeInteraction, type: InteractionResponseType, data: Json): FakeMessage | undefined {
    const channel = this.channels.get(interaction.channelId ?? '');
    const sizeLimit = this.sizeLimitFor(channel);
    const R = InteractionResponseType;
    const guard = (reply: RestReply | undefined): void => {
      if (reply) throw new ApiError(reply);
    };
    switch (type) {
      case R.ChannelMessageWithSource: {
        guard(this.rejectInvalidMessage(ctx, data, { creating: true, sizeLimit, prefix: ['data'] }));
        const message = this.interactionMessage(interaction, data, ctx.files, (Number(data.flags) || 0) & INTERACTION_MESSAGE_FLAGS);
        interaction.originalMessageId = message.id;
        return message;
      }
      case R.DeferredChannelMessageWithSource: {
        const flags = MessageFlags.Loading | ((Number(data.flags) || 0) & MessageFlags.Ephemeral);
        const message = this.interactionMessage(interaction, {}, [], flags);
        interaction.originalMessageId = message.id;
        return message;
      }
      case R.DeferredMessageUpdate: {
        const message = this.componentTarget(interaction);
        interaction.originalMessageId = message.id;
        return message;
      }
      case R.UpdateMessage: {
        const message = this.componentTarget(interaction);
        guard(this.rejectInvalidMessage(ctx, data, { creating: false, sizeLimit, prefix: ['data'], existing: message.attachments }));
        interaction.originalMessageId = message.id;
        return this.editMessage(message, data, ctx.files);
      }
      case R.ApplicationCommandAutocompleteResult: {
        const check = new Checker();
        check.maxItems(['data', 'choices'], asArray(data.choices), LIMITS.autocompleteChoices);
        guard(this.formErrors(ctx, check));
        interaction.choices = asArray(data.choices);
        return undefined;
      }
      case R.Modal: {
        const check = new Checker();
        checkModal(check, data);
        guard(this.formErrors(ctx, check));
        this.modalsShown.set(String(data.custom_id), data);
        return undefined;
      }
      default:
        return undefined;
    }
  }

  private formErrors(ctx: RestContext, check: Checker): RestReply | undefined {
    if (check.errors.length === 0) return undefined;
    for (const error of check.errors) this.violation(ctx, describeFieldError(error));
    return errorReply(400, 50035, 'Invalid Form Body', errorTree(check.errors));
  }

  /** The message a component (or a modal opened from one) is attached to. */
  private componentTarget(interaction: FakeInteraction): FakeMessage {
    const id = interaction.payload.message?.id;
    return (id ? this.messagesById.get(id) : undefined) ?? fail(404, 10008, 'Unknown Message');
  }

  private interactionMessage(interaction: FakeInteraction, body: Json, files: RecordedFile[], flags: number): FakeMessage {
    const data = payloadData(interaction);
    const type =
      interaction.type !== InteractionType.ApplicationCommand
        ? MessageType.Default
        : data.type === ApplicationCommandType.ChatInput
          ? MessageType.ChatInputCommand
          : MessageType.ContextMenuCommand;
    return this.createMessage({
      channel: this.textChannel(interaction.channelId!),
      authorId: this.botUser.id,
      body,
      files,
      flags,
      type,
      interaction,
      webhookId: this.applicationId,
    });
  }

  private callbackResponse(interaction: FakeInteraction, type: InteractionResponseType, message: FakeMessage | undefined): Json {
    const createsResource =
      type === InteractionResponseType.ChannelMessageWithSource ||
      type === InteractionResponseType.DeferredChannelMessageWithSource ||
      type === InteractionResponseType.UpdateMessage;
    return {
      interaction: {
        id: interaction.id,
        type: interaction.type,
        activity_instance_id: null,
        ...(message
          ? {
              response_message_id: message.id,
              response_message_loading: (message.flags & MessageFlags.Loading) !== 0,
              response_message_ephemeral: message.ephemeral,
            }
          : {}),
      },
      ...(message && createsResource ? { resource: { type, message: this.toAPIMessage(message) } } : {}),
    };
  }

  /** The interaction behind a webhook route: wrong app → 10015, unknown/expired token → 50027. */
  private webhookInteraction(ctx: RestContext): FakeInteraction {
    if (ctx.params.appId !== this.applicationId) fail(404, 10015, 'Unknown Webhook');
    const interaction = this.interactionsByToken.get(ctx.params.token!);
    if (!interaction || interaction.tokenExpired) fail(401, 50027, 'Invalid Webhook Token');
    return interaction;
  }

  /** @original or one of the interaction's follow-ups. */
  private webhookMessage(ctx: RestContext, interaction: FakeInteraction): FakeMessage {
    const requested = ctx.params.messageId!;
    const id = requested === '@original' ? interaction.originalMessageId : requested;
    const belongs = id !== undefined && (id === interaction.originalMessageId || interaction.followUpIds.includes(id));
    const message = belongs ? this.messagesById.get(id) : undefined;
    return message ?? fail(404, 10008, 'Unknown Message');
  }

  private getWebhookMessage(ctx: RestContext): RestReply {
    const interaction = this.webhookInteraction(ctx);
    return jsonReply(200, this.toAPIMessage(this.webhookMessage(ctx, interaction)));
  }

  private patchWebhookMessage(ctx: RestContext): RestReply {
    const interaction = this.webhookInteraction(ctx);
    const message = this.webhookMessage(ctx, interaction);
    const body = isRecord(ctx.json) ? ctx.json : {};
    const invalid = this.rejectInvalidMessage(ctx, body, {
      creating: false,
      sizeLimit: this.sizeLimitFor(this.channels.get(message.channelId)),
      existing: message.attachments,
    });
    if (invalid) return invalid;
    return jsonReply(200, this.toAPIMessage(this.editMessage(message, body, ctx.files)));
  }

  private deleteWebhookMessage(ctx: RestContext): RestReply {
    const interaction = this.webhookInteraction(ctx);
    this.deleteMessage(this.webhookMessage(ctx, interaction));
    return noContent();
  }

  /**
   * Follow-up message. As on Discord, the first follow-up after a deferred reply replaces the
   * "thinking…" message (and keeps its ephemeral-ness) instead of creating a new one.
   */
  private followUp(ctx: RestContext): RestReply {
    const interaction = this.webhookInteraction(ctx);
    if (!interaction.callback) fail(404, 10015, 'Unknown Webhook');
    const body = isRecord(ctx.json) ? ctx.json : {};
    const original = interaction.original();
    const replacesDeferred = original !== undefined && (original.flags & MessageFlags.Loading) !== 0;
    const invalid = this.rejectInvalidMessage(ctx, body, {
      creating: true,
      sizeLimit: this.sizeLimitFor(this.channels.get(interaction.channelId ?? '')),
      existing: replacesDeferred ? original.attachments : [],
    });
    if (invalid) return invalid;
    let message: FakeMessage;
    if (replacesDeferred) message = this.editMessage(original, body, ctx.files);
    else {
      message = this.interactionMessage(interaction, body, ctx.files, (Number(body.flags) || 0) & INTERACTION_MESSAGE_FLAGS);
      interaction.followUpIds.push(message.id);
    }
    this.notify();
    return ctx.query.get('wait') === 'true' ? jsonReply(200, this.toAPIMessage(message)) : noContent();
  }
}

// ---------------------------------------------------------------------------
// Routing and component helpers
// ---------------------------------------------------------------------------

/** GET /channels/:id/messages paging over newest-first messages: before, after or around an id. */
function pageOfMessages(newestFirst: FakeMessage[], query: URLSearchParams, limit: number): FakeMessage[] {
  const before = query.get('before');
  const after = query.get('after');
  const around = query.get('around');
  if (before) return newestFirst.filter((m) => compareIds(m.id, before) < 0).slice(0, limit);
  if (after) return newestFirst.filter((m) => compareIds(m.id, after) > 0).slice(-limit);
  if (around) {
    const index = Math.max(
      0,
      newestFirst.findIndex((m) => compareIds(m.id, around) <= 0),
    );
    const start = Math.max(0, index - Math.floor(limit / 2));
    return newestFirst.slice(start, start + limit);
  }
  return newestFirst.slice(0, limit);
}

/** '/messages/%40original' → '/messages/@original' (discord.js encodes path segments). */
function decodePath(path: string): string {
  return path
    .split('/')
    .map((segment) => {
      try {
        return decodeURIComponent(segment);
      } catch {
        return segment; // malformed escapes stay as sent
      }
    })
    .join('/');
}

/** Matches '/channels/:channelId/messages' against path segments; literal segments win over params by route order. */
function matchSegments(pattern: string[], segments: string[]): Record<string, string> | undefined {
  if (pattern.length !== segments.length) return undefined;
  const params: Record<string, string> = {};
  for (let i = 0; i < pattern.length; i += 1) {
    const expected = pattern[i]!;
    const actual = segments[i]!;
    if (expected.startsWith(':')) params[expected.slice(1)] = actual;
    else if (expected !== actual) return undefined;
  }
  return params;
}

/** Finds a component by custom_id anywhere in a message's component tree. */
function findComponent(components: unknown, customId: string): Json | undefined {
  for (const component of asArray(components)) {
    if (!isRecord(component)) continue;
    if (component.custom_id === customId) return component;
    const nested =
      findComponent(component.components, customId) ??
      (isRecord(component.accessory) && component.accessory.custom_id === customId ? component.accessory : undefined);
    if (nested) return nested;
  }
  return undefined;
}
