import type { Redis } from 'ioredis';
import { z } from 'zod';
import { DELETED_MEMBER } from '../features/former-member.js';

/**
 * Series: ordered sets of panels that several members make together. The panel order, the turn
 * checks and the panel-count limit are decided inside Redis by Lua scripts, so two members adding
 * at the same moment get two distinct consecutive numbers, and a full or closed series refuses.
 *
 * Keys (under the prefix):
 *   series:<id>           hash: the series itself
 *   series:<id>:order     list of panel ids, in reading order (panel number = index + 1)
 *   series:<id>:panels    hash: panel id → panel JSON
 *   series:<id>:turns     list of member ids who joined the turn order (relay)
 *   series:<id>:owed      hash: panel id → '1'/'0' (picture already in the thread) of panels
 *                         whose announcement is not posted yet
 *   series-thread:<id>    thread id → series id
 *   series-pending:<job>  a generation that will become a panel once delivered → series id
 *                         (kept until the panel's announcement is posted, so a retry finds it)
 *   guild:<id>:series     zset of the guild's series by creation time
 *   user:<id>:series      zset of series the member created, joined or added to
 */
export const seriesModes = ['open', 'relay', 'corpse'] as const;
export type SeriesMode = (typeof seriesModes)[number];
export const seriesStatuses = ['open', 'complete', 'closed'] as const;
export type SeriesStatus = (typeof seriesStatuses)[number];

export const SERIES_PANELS_MIN = 2;
export const SERIES_PANELS_MAX = 24;
export const SERIES_STYLE_MAX = 300;
export const SERIES_TITLE_MAX = 80;

const numeric = z.coerce.number();

export const seriesRecordSchema = z.object({
  id: z.string(),
  guildId: z.string(),
  /** The text channel the series was started in; the completion is posted there. */
  channelId: z.string(),
  threadId: z.string(),
  title: z.string(),
  mode: z.enum(seriesModes),
  panelCount: numeric,
  style: z.string().optional(),
  seed: numeric.optional(),
  creatorId: z.string(),
  status: z.enum(seriesStatuses),
  createdAt: numeric,
  completedAt: numeric.optional(),
  /** Panels added so far (turn counter for relay; never decreases). */
  turn: numeric.default(0),
  /** Reserved panels whose generation is not delivered yet. */
  pending: numeric.default(0),
  lastUserId: z.string().optional(),
  /** Set with status "complete" and cleared once both completion posts are recorded. */
  completionOwed: z.string().optional(),
  completionMessageId: z.string().optional(),
  revealMessageId: z.string().optional(),
});
export type SeriesRecord = z.infer<typeof seriesRecordSchema>;
export type NewSeries = Omit<
  SeriesRecord,
  'status' | 'completedAt' | 'turn' | 'pending' | 'lastUserId' | 'completionOwed' | 'completionMessageId' | 'revealMessageId'
>;

export const panelSchema = z.object({
  id: z.string(),
  /** The member who added the panel (credited under it). */
  userId: z.string(),
  userName: z.string(),
  prompt: z.string(),
  /** Missing while the panel's generation is still under way. */
  imageId: z.string().optional(),
  /** The generation that makes (or made) this panel. */
  jobId: z.string().optional(),
  seed: z.number().optional(),
  createdAt: z.number(),
});
export type Panel = z.infer<typeof panelSchema>;
export type NumberedPanel = Panel & { number: number };

/** Why an add was refused; each has a sentence for the member in the command layer. */
export type AddRefusal = 'missing' | 'closed' | 'complete' | 'full' | 'twice_in_a_row' | 'not_your_turn' | 'not_in_turn_order';

export type AddResult =
  { ok: true; number: number; completed: boolean; duplicate: boolean } | { ok: false; reason: AddRefusal; expectedUserId?: string };

/** Seconds a pending mapping lives: long enough for any retry policy, short enough to tidy itself. */
const PENDING_TTL_SECONDS = 7 * 24 * 3600;

/**
 * Reserves the next panel. KEYS: series, order, panels, turns, pending (or "" for none), owed.
 * ARGV: panel id, user id, panel JSON, pending TTL, now. Returns {status, number|expected, completed}.
 * A panel added with its picture owes its announcement from here on.
 */
const ADD_PANEL = `
local status = redis.call('HGET', KEYS[1], 'status')
if not status then return {'missing'} end
local existing = redis.call('HGET', KEYS[3], ARGV[1])
if existing then
  local order = redis.call('LRANGE', KEYS[2], 0, -1)
  for i, id in ipairs(order) do if id == ARGV[1] then return {'duplicate', i, 0} end end
  return {'duplicate', 0, 0}
end
if status ~= 'open' then return {status} end
local count = tonumber(redis.call('HGET', KEYS[1], 'panelCount'))
local used = redis.call('LLEN', KEYS[2])
if used >= count then return {'full'} end
local mode = redis.call('HGET', KEYS[1], 'mode')
if mode == 'relay' then
  local turn = tonumber(redis.call('HGET', KEYS[1], 'turn') or '0')
  local members = redis.call('LRANGE', KEYS[4], 0, -1)
  -- Nobody adds two panels in a row, whatever the turn order says (a one-member order included).
  if redis.call('HGET', KEYS[1], 'lastUserId') == ARGV[2] then
    return {'twice_in_a_row'}
  end
  if #members > 0 then
    local expected = members[(turn % #members) + 1]
    if expected ~= ARGV[2] then
      local listed = false
      for _, id in ipairs(members) do if id == ARGV[2] then listed = true end end
      if listed then return {'not_your_turn', expected} end
      return {'not_in_turn_order', expected}
    end
  end
end
local panel = cjson.decode(ARGV[3])
local panelJson = ARGV[3]
if not panel.imageId then
  -- A reservation remembers the turn it took, so that giving it back (a refused or failed
  -- generation) also gives the turn back, unless someone has added since.
  panel.prevLastUserId = redis.call('HGET', KEYS[1], 'lastUserId') or ''
  panel.turnAfter = tonumber(redis.call('HGET', KEYS[1], 'turn') or '0') + 1
  panelJson = cjson.encode(panel)
end
redis.call('RPUSH', KEYS[2], ARGV[1])
redis.call('HSET', KEYS[3], ARGV[1], panelJson)
redis.call('HINCRBY', KEYS[1], 'turn', 1)
redis.call('HSET', KEYS[1], 'lastUserId', ARGV[2])
local number = used + 1
if not panel.imageId then
  redis.call('HINCRBY', KEYS[1], 'pending', 1)
  redis.call('SET', KEYS[5], redis.call('HGET', KEYS[1], 'id'), 'EX', tonumber(ARGV[4]))
  return {'ok', number, 0}
end
redis.call('HSET', KEYS[6], ARGV[1], '0')
local pending = tonumber(redis.call('HGET', KEYS[1], 'pending') or '0')
if number == count and pending == 0 then
  redis.call('HSET', KEYS[1], 'status', 'complete', 'completedAt', ARGV[5], 'completionOwed', '1')
  return {'ok', number, 1}
end
return {'ok', number, 0}
`;

/**
 * Gives a reserved panel its image. KEYS: series, order, panels, owed.
 * ARGV: panel id, image id, seed, now, whether the picture is already in the thread ('1'/'0').
 * Returns {status, number, completed}; a panel filled before answers 'filled' with its number.
 * Only the call that fills the last outstanding panel of a full series sees completed = 1, and
 * the panel's announcement (and the completion) are owed from the same step.
 */
const FILL_PANEL = `
local raw = redis.call('HGET', KEYS[3], ARGV[1])
if not raw then return {'gone', 0, 0} end
local panel = cjson.decode(raw)
local number = 0
local order = redis.call('LRANGE', KEYS[2], 0, -1)
for i, id in ipairs(order) do if id == ARGV[1] then number = i end end
if panel.imageId then return {'filled', number, 0} end
panel.imageId = ARGV[2]
if ARGV[3] ~= '' then panel.seed = tonumber(ARGV[3]) end
redis.call('HSET', KEYS[3], ARGV[1], cjson.encode(panel))
redis.call('HSET', KEYS[4], ARGV[1], ARGV[5])
local pending = redis.call('HINCRBY', KEYS[1], 'pending', -1)
local count = tonumber(redis.call('HGET', KEYS[1], 'panelCount'))
if redis.call('HGET', KEYS[1], 'status') == 'open' and #order >= count and pending <= 0 then
  redis.call('HSET', KEYS[1], 'status', 'complete', 'completedAt', ARGV[4], 'completionOwed', '1')
  return {'ok', number, 1}
end
return {'ok', number, 0}
`;

/**
 * Removes the panel at a position (1-based), or the panel with a given id when ARGV[2] is set
 * (and only if it is still waiting for its image). KEYS: series, order, panels.
 * Returns the removed panel's JSON, or false.
 */
const REMOVE_PANEL = `
local order = redis.call('LRANGE', KEYS[2], 0, -1)
local index = tonumber(ARGV[1])
if ARGV[2] ~= '' then
  index = 0
  for i, id in ipairs(order) do if id == ARGV[2] then index = i end end
end
local id = order[index]
if not id then return false end
local raw = redis.call('HGET', KEYS[3], id)
if ARGV[2] ~= '' and raw and cjson.decode(raw).imageId then return false end
redis.call('LREM', KEYS[2], 1, id)
redis.call('HDEL', KEYS[3], id)
if raw and not cjson.decode(raw).imageId then redis.call('HINCRBY', KEYS[1], 'pending', -1) end
if ARGV[2] ~= '' and raw then
  local released = cjson.decode(raw)
  if released.turnAfter and tonumber(redis.call('HGET', KEYS[1], 'turn') or '0') == released.turnAfter then
    redis.call('HINCRBY', KEYS[1], 'turn', -1)
    if released.prevLastUserId == '' then redis.call('HDEL', KEYS[1], 'lastUserId')
    else redis.call('HSET', KEYS[1], 'lastUserId', released.prevLastUserId) end
  end
end
return raw or false
`;

/** Moves the panel at ARGV[1] to position ARGV[2] (both 1-based). KEYS: order. */
const MOVE_PANEL = `
local order = redis.call('LRANGE', KEYS[1], 0, -1)
local from = tonumber(ARGV[1])
local to = tonumber(ARGV[2])
if from < 1 or from > #order or to < 1 or to > #order then return 0 end
local id = table.remove(order, from)
table.insert(order, to, id)
redis.call('DEL', KEYS[1])
redis.call('RPUSH', KEYS[1], unpack(order))
return 1
`;

/** Adds a member to the relay turn order once. KEYS: series, turns. ARGV: user id. */
const JOIN_TURNS = `
if not redis.call('HGET', KEYS[1], 'status') then return -1 end
local members = redis.call('LRANGE', KEYS[2], 0, -1)
for i, id in ipairs(members) do if id == ARGV[1] then return 0 end end
return redis.call('RPUSH', KEYS[2], ARGV[1])
`;

/** Closes an open series. KEYS: series. Returns the status it found. */
const CLOSE_SERIES = `
local status = redis.call('HGET', KEYS[1], 'status')
if status == 'open' then redis.call('HSET', KEYS[1], 'status', 'closed') end
return status or false
`;

function toFields(values: Record<string, unknown>): string[] {
  const fields: string[] = [];
  for (const [key, value] of Object.entries(values)) if (value !== undefined) fields.push(key, String(value));
  return fields;
}

/** HSET field only if it still holds what was read. */
const REPLACE_IF_SAME = `
if redis.call('HGET', KEYS[1], ARGV[1]) ~= ARGV[2] then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
return 1
`;

export class SeriesStore {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly now: () => number = Date.now,
  ) {}

  private key(id: string) {
    return `${this.prefix}:series:${id}`;
  }

  private keys(id: string) {
    const base = this.key(id);
    return { series: base, order: `${base}:order`, panels: `${base}:panels`, turns: `${base}:turns`, owed: `${base}:owed` };
  }

  private pendingKey(jobId: string) {
    return `${this.prefix}:series-pending:${jobId}`;
  }

  private threadKey(threadId: string) {
    return `${this.prefix}:series-thread:${threadId}`;
  }

  private guildKey(guildId: string) {
    return `${this.prefix}:guild:${guildId}:series`;
  }

  private userKey(userId: string) {
    return `${this.prefix}:user:${userId}:series`;
  }

  async create(series: NewSeries): Promise<SeriesRecord> {
    await this.redis
      .multi()
      .hset(this.key(series.id), toFields({ ...series, status: 'open', turn: 0, pending: 0 }))
      .set(this.threadKey(series.threadId), series.id)
      .zadd(this.guildKey(series.guildId), series.createdAt, series.id)
      .zadd(this.userKey(series.creatorId), series.createdAt, series.id)
      .exec();
    return (await this.get(series.id))!;
  }

  async get(id: string): Promise<SeriesRecord | undefined> {
    const raw = await this.redis.hgetall(this.key(id));
    if (!raw.id) return undefined;
    return seriesRecordSchema.parse(raw);
  }

  async byThread(threadId: string): Promise<SeriesRecord | undefined> {
    const id = await this.redis.get(this.threadKey(threadId));
    return id ? this.get(id) : undefined;
  }

  /** The guild's series, newest first. */
  async ofGuild(guildId: string, limit = 50): Promise<SeriesRecord[]> {
    const ids = await this.redis.zrevrange(this.guildKey(guildId), 0, limit - 1);
    return (await Promise.all(ids.map((id) => this.get(id)))).filter((s): s is SeriesRecord => s !== undefined);
  }

  /** Series the member created, joined or added to, newest first. */
  async idsOfMember(userId: string, limit = 100): Promise<Set<string>> {
    return new Set(await this.redis.zrevrange(this.userKey(userId), 0, limit - 1));
  }

  /**
   * For /privacy: the member's panels stay (the series must still read) but no longer name them or
   * keep their prompt. Each panel is rewritten in one script, so a concurrent edit is not lost.
   */
  async anonymizeMember(userId: string): Promise<number> {
    let changed = 0;
    for (const seriesId of await this.idsOfMember(userId, 10_000)) {
      const panelsKey = this.keys(seriesId).panels;
      for (const [panelId, raw] of Object.entries(await this.redis.hgetall(panelsKey))) {
        const panel = panelSchema.parse(JSON.parse(raw));
        if (panel.userId !== userId) continue;
        const anonymous = JSON.stringify({ ...panel, userId: DELETED_MEMBER, userName: 'a former member', prompt: '' });
        changed += (await this.redis.eval(REPLACE_IF_SAME, 1, panelsKey, panelId, raw, anonymous)) as number;
      }
      await this.redis.zrem(this.userKey(userId), seriesId);
    }
    return changed;
  }

  /** Panels in reading order, numbered. */
  async panels(id: string): Promise<NumberedPanel[]> {
    const keys = this.keys(id);
    const [order, all] = await Promise.all([this.redis.lrange(keys.order, 0, -1), this.redis.hgetall(keys.panels)]);
    return order.flatMap((panelId, index) => {
      const raw = all[panelId];
      return raw ? [{ ...panelSchema.parse(JSON.parse(raw)), number: index + 1 }] : [];
    });
  }

  async turnOrder(id: string): Promise<string[]> {
    return this.redis.lrange(this.keys(id).turns, 0, -1);
  }

  /**
   * Adds a panel as the next one, atomically. A panel without `imageId` is reserved: its number is
   * fixed now, and `fillPending` gives it the image once the generation `panel.jobId` is delivered.
   */
  async addPanel(seriesId: string, panel: Panel): Promise<AddResult> {
    const keys = this.keys(seriesId);
    const pending = panel.imageId || !panel.jobId ? '' : this.pendingKey(panel.jobId);
    const [status, value, completed] = (await this.redis.eval(
      ADD_PANEL,
      6,
      keys.series,
      keys.order,
      keys.panels,
      keys.turns,
      pending,
      keys.owed,
      panel.id,
      panel.userId,
      JSON.stringify(panelSchema.parse(panel)),
      PENDING_TTL_SECONDS,
      this.now(),
    )) as [string, number | string | undefined, number | undefined];
    if (status === 'ok' || status === 'duplicate') {
      await this.redis.zadd(this.userKey(panel.userId), this.now(), seriesId);
      return { ok: true, number: Number(value), completed: completed === 1, duplicate: status === 'duplicate' };
    }
    return { ok: false, reason: status as AddRefusal, expectedUserId: typeof value === 'string' ? value : undefined };
  }

  /** The series a delivered generation was reserved for, if any. */
  async pendingSeriesOf(jobId: string): Promise<string | undefined> {
    return (await this.redis.get(this.pendingKey(jobId))) ?? undefined;
  }

  /**
   * Gives the reserved panel of generation `jobId` its image (`inThread`: the picture was delivered
   * in the series' thread, so its announcement need not show it again). The reservation stays
   * until `clearPending`, once the panel's posts are made.
   */
  async fillPending(
    seriesId: string,
    jobId: string,
    imageId: string,
    seed?: number,
    inThread = false,
  ): Promise<{ filled: boolean; number: number; completed: boolean }> {
    const keys = this.keys(seriesId);
    const [status, number, completed] = (await this.redis.eval(
      FILL_PANEL,
      4,
      keys.series,
      keys.order,
      keys.panels,
      keys.owed,
      jobId,
      imageId,
      seed ?? '',
      this.now(),
      inThread ? '1' : '0',
    )) as [string, number, number];
    return { filled: status === 'ok', number, completed: completed === 1 };
  }

  async clearPending(jobId: string): Promise<void> {
    await this.redis.del(this.pendingKey(jobId));
  }

  /** Panels whose announcement is owed → whether their picture is already in the thread. */
  async owedAnnouncements(seriesId: string): Promise<Map<string, boolean>> {
    const owed = await this.redis.hgetall(this.keys(seriesId).owed);
    return new Map(Object.entries(owed).map(([panelId, inThread]) => [panelId, inThread === '1']));
  }

  async announced(seriesId: string, panelId: string): Promise<void> {
    await this.redis.hdel(this.keys(seriesId).owed, panelId);
  }

  /** Records a completion post as it lands (`completionMessageId`, `revealMessageId`), or clears `completionOwed`. */
  async recordCompletion(seriesId: string, values: { completionMessageId?: string; revealMessageId?: string; done?: true }): Promise<void> {
    const fields = toFields({ completionMessageId: values.completionMessageId, revealMessageId: values.revealMessageId });
    if (fields.length > 0) await this.redis.hset(this.key(seriesId), fields);
    if (values.done) await this.redis.hdel(this.key(seriesId), 'completionOwed');
  }

  /** Removes the panel at `number` (1-based); returns it, or undefined when there is none. */
  async removePanel(seriesId: string, number: number): Promise<Panel | undefined> {
    const keys = this.keys(seriesId);
    const raw = (await this.redis.eval(REMOVE_PANEL, 3, keys.series, keys.order, keys.panels, number, '')) as string | null;
    return raw ? panelSchema.parse(JSON.parse(raw)) : undefined;
  }

  /** Frees a reservation whose generation failed or was cancelled (a filled panel is kept). */
  async releasePending(seriesId: string, panelId: string, jobId: string): Promise<boolean> {
    const keys = this.keys(seriesId);
    const raw = await this.redis.eval(REMOVE_PANEL, 3, keys.series, keys.order, keys.panels, 0, panelId);
    await this.redis.del(this.pendingKey(jobId));
    return Boolean(raw);
  }

  async movePanel(seriesId: string, from: number, to: number): Promise<boolean> {
    return (await this.redis.eval(MOVE_PANEL, 1, this.keys(seriesId).order, from, to)) === 1;
  }

  /** Returns whether the member was added (false: already in the turn order). */
  async join(seriesId: string, userId: string): Promise<boolean> {
    const keys = this.keys(seriesId);
    const added = (await this.redis.eval(JOIN_TURNS, 2, keys.series, keys.turns, userId)) as number;
    if (added > 0) await this.redis.zadd(this.userKey(userId), this.now(), seriesId);
    return added > 0;
  }

  /** Closes an open series; returns the status it had. */
  async close(seriesId: string): Promise<SeriesStatus | undefined> {
    return ((await this.redis.eval(CLOSE_SERIES, 1, this.key(seriesId))) as SeriesStatus | null) ?? undefined;
  }
}
