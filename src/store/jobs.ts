import type { Redis } from 'ioredis';
import { z } from 'zod';
import { aspectRatios, generationKinds } from '../queues.js';
import { FairQueue, REFUND_FUNCTION, RELEASE_FUNCTION, type HeldRunSlot, type RefundPlan } from './fair-queue.js';
import { runScript } from '../redis-scripts.js';

/**
 * The durable record of one generation request, kept in Redis beside the BullMQ job. The bot
 * writes it when it accepts a request; the worker moves it through its states; the bot delivers
 * from it. Status changes are compare-and-set, so a cancel and a completion racing each other
 * have exactly one winner.
 */
export const jobStatuses = ['queued', 'running', 'done', 'failed', 'cancelled', 'delivered'] as const;
export type JobStatus = (typeof jobStatuses)[number];

const optionalText = z.string().optional();
const numeric = z.coerce.number();

export const jobRecordSchema = z.object({
  id: z.string(),
  status: z.enum(jobStatuses),
  kind: z.enum(generationKinds),
  prompt: z.string(),
  negative: optionalText,
  aspect: z.enum(aspectRatios),
  seed: numeric,
  count: numeric,
  model: z.string(),
  userId: z.string(),
  userName: z.string(),
  guildId: optionalText,
  channelId: z.string(),
  applicationId: z.string(),
  /**
   * Kept beside the record under its own key that expires with the token (15 minutes), never in the
   * record itself: absent once it stopped working.
   */
  interactionToken: optionalText,
  /** Milliseconds since the epoch: the interaction token dies 15 minutes later. */
  interactionAt: numeric,
  attachmentSizeLimit: numeric,
  createdAt: numeric,
  parentImageId: optionalText,
  strength: numeric.optional(),
  /** Outpaint and inpaint: the rectangle they work with, "x,y,w,h" (see editAreaSchema). */
  area: optionalText,
  /** Pixel size and fair-queue priority it was queued with: enough to queue it again. */
  width: numeric.optional(),
  height: numeric.optional(),
  priority: numeric.optional(),
  /** The visible "Queued" message (the interaction's original response), once known. */
  messageId: optionalText,
  /** Set once the bot's first response reached Discord (or failed to). */
  ackedAt: numeric.optional(),
  ackFailed: optionalText,
  /** '1' when the "Queued" answer was ephemeral: the result must stay private too. */
  private: optionalText,
  startedAt: numeric.optional(),
  finishedAt: numeric.optional(),
  imageIds: z
    .string()
    .optional()
    .transform((raw) => (raw ? (JSON.parse(raw) as string[]) : [])),
  /**
   * What the worker learnt about each picture it made (pixel size, content type), in imageIds'
   * order: the bot archives the pictures from it, so workers need no database.
   */
  images: z
    .string()
    .optional()
    .transform((raw) => (raw ? (JSON.parse(raw) as ImageFacts[]) : [])),
  /**
   * Whether the worker also handed the pictures' bytes over in Redis (a folder the bot cannot
   * read): delivery then deletes them there. Absent (a record from an older version): it may have.
   */
  bytesInRedis: z
    .enum(['true', 'false'])
    .transform((flag) => flag === 'true')
    .optional(),
  error: optionalText,
  errorKind: optionalText,
  cancelledBy: optionalText,
  resultMessageId: optionalText,
  resultChannelId: optionalText,
  /** When delivery last posted (or tried to post) in the channel: a retry looks for that post. */
  channelPostAt: numeric.optional(),
  /** Set when Discord refused an upload as too large: the next attempt shares the limit this many times finer. */
  uploadShrink: numeric.optional(),
  /** The provider's id for the work it runs for this job (a Replicate prediction), for retries to resume. */
  remoteRun: optionalText,
  /** What admission charged against quota and budget ("day:images:cost"), refunded if it never ran. */
  charge: optionalText,
  /** '0' from delivery until every post-delivery hook (lineage, series…) has run; then '1'. */
  hooksDone: optionalText,
  /** Creative parameters (see generationParamsShape); absent: the provider's usual. */
  chaos: numeric.optional(),
  stylize: numeric.optional(),
  tile: z
    .enum(['true', 'false'])
    .transform((flag) => flag === 'true')
    .optional(),
  draft: z
    .enum(['true', 'false'])
    .transform((flag) => flag === 'true')
    .optional(),
  /** /blend: every source picture in order, and --sref's style picture and weight (see GenerateJob). */
  blendImageIds: z
    .string()
    .transform((raw) => JSON.parse(raw) as string[])
    .optional(),
  styleImageId: optionalText,
  styleWeight: numeric.optional(),
  /**
   * The feature the request was made for, when one waits for its picture (a series panel, a live
   * session's entry), else 'none': the other features' post-delivery hooks skip it without asking
   * the database. Absent (a record from an older version): every hook looks.
   */
  partOf: z.enum(['none', 'series', 'session']).optional(),
  /** Asked for in an age-restricted channel (or made from such a picture): its pictures carry the flag. */
  nsfw: z
    .enum(['true', 'false'])
    .transform((flag) => flag === 'true')
    .optional(),
});
export type JobRecord = z.infer<typeof jobRecordSchema>;

/** Whether a feature's post-delivery hook must look at this request: it was made for it, or its record predates `partOf`. */
export function mayBePartOf(record: Pick<JobRecord, 'partOf'>, feature: 'series' | 'session'): boolean {
  return record.partOf === undefined || record.partOf === feature;
}

/** Where a live record stands (see JobStore.peek). */
export type RecordState = Pick<JobRecord, 'status' | 'ackedAt' | 'ackFailed' | 'interactionAt' | 'hooksDone' | 'resultMessageId' | 'guildId'>;

/** One picture's facts as the worker hands them over. */
export interface ImageFacts {
  width: number;
  height: number;
  contentType: string;
}

/**
 * Where records go once they settled (PostgreSQL, in the bot): Redis keeps a record only while
 * its job is on its way, and `get` falls back to the archive for everything older. Workers have
 * no archive (they need no database): to them a settled job is simply gone.
 */
export interface JobArchive {
  load(id: string): Promise<JobRecord | undefined>;
  /** A cancel moved the live record: the archive mirrors it (status cancelled, by whom, when). */
  cancelled(id: string, by: string | undefined, at: number): Promise<void>;
}

export type NewJobRecord = Omit<
  JobRecord,
  | 'interactionToken'
  | 'status'
  | 'imageIds'
  | 'images'
  | 'messageId'
  | 'ackedAt'
  | 'ackFailed'
  | 'private'
  | 'startedAt'
  | 'finishedAt'
  | 'error'
  | 'errorKind'
  | 'cancelledBy'
  | 'resultMessageId'
  | 'resultChannelId'
  | 'channelPostAt'
  | 'uploadShrink'
  | 'remoteRun'
  | 'hooksDone'
  | 'bytesInRedis'
> & { interactionToken: string };

/**
 * A live record's lifetime: far longer than any job takes (a stuck one is found by the recovery
 * sweep long before). Once settled, the archive in PostgreSQL is the lasting record.
 */
const RECORD_TTL_SECONDS = 14 * 24 * 3600;
/** A settled (cancelled, or failed and told) record lingers this long, for workers still holding its job. */
export const SETTLED_TTL_SECONDS = 3600;
/** Discord's lifetime of an interaction token, counted from the interaction. */
export const INTERACTION_TOKEN_TTL_MS = 15 * 60 * 1000;

/**
 * KEYS: record, open index, the two keys of the fair queue's release (see RELEASE_FUNCTION), then
 * the optional ones, each at the position ARGV gives (0: not there): the member's index, the four
 * keys of a refund (see REFUND_FUNCTION), the member's running slots. ARGV: n, n statuses it may
 * move from, id, the member index's position, '1' to leave the open index, the refund ('always',
 * 'if-queued' when only a move from queued refunds, 'never'), images, cost, marker TTL, '1' to
 * release the job's turn, the refund keys' position, the running slots' position, the slot's
 * member, then field/value pairs. Every key it touches is named in KEYS (Redis Cluster routes by
 * them).
 */
const TRANSITION = `${REFUND_FUNCTION}
${RELEASE_FUNCTION}
local current = redis.call('HGET', KEYS[1], 'status')
if not current then return {0, ''} end
local n = tonumber(ARGV[1])
for i = 1, n do
  if ARGV[1 + i] == current then
    local id = ARGV[n + 2]
    for j = n + 13, #ARGV, 2 do redis.call('HSET', KEYS[1], ARGV[j], ARGV[j + 1]) end
    local memberAt = tonumber(ARGV[n + 3])
    if memberAt > 0 then redis.call('ZREM', KEYS[memberAt], id) end
    if ARGV[n + 4] == '1' then
      redis.call('ZREM', KEYS[2], id)
      redis.call('EXPIRE', KEYS[1], ${SETTLED_TTL_SECONDS})
    end
    local mode = ARGV[n + 5]
    local refundAt = tonumber(ARGV[n + 10])
    if refundAt > 0 and (mode == 'always' or (mode == 'if-queued' and current == 'queued')) then
      refund(KEYS[refundAt], KEYS[refundAt + 1], KEYS[refundAt + 2], KEYS[refundAt + 3], ARGV[n + 6], ARGV[n + 7], ARGV[n + 8])
    end
    if ARGV[n + 9] == '1' then release(KEYS[3], KEYS[4], id) end
    local slotAt = tonumber(ARGV[n + 11])
    if slotAt > 0 then redis.call('SREM', KEYS[slotAt], ARGV[n + 12]) end
    return {1, current}
  end
end
return {0, current}
`;

/**
 * KEYS: record, member index, open index, token. ARGV: TTL (s), created at, id, interaction token,
 * its TTL (ms; none stored unless positive), then field/value pairs. One script: a process that
 * dies while creating leaves either nothing or the whole record.
 */
const CREATE = `
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], 'status', 'queued')
for i = 6, #ARGV, 2 do redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1]) end
redis.call('EXPIRE', KEYS[1], ARGV[1])
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[3])
redis.call('ZADD', KEYS[3], ARGV[2], ARGV[3])
redis.call('EXPIRE', KEYS[2], ARGV[1])
redis.call('EXPIRE', KEYS[3], ARGV[1])
if tonumber(ARGV[5]) > 0 then redis.call('SET', KEYS[4], ARGV[4], 'PX', ARGV[5]) end
return 1
`;

/**
 * KEYS: record, token. The record's fields (flat) and its token, in one command: records are read
 * several times per job, and a MULTI costs four commands each time.
 */
const READ = `return {redis.call('HGETALL', KEYS[1]), redis.call('GET', KEYS[2])}`;

/** KEYS: open index, record, token. ARGV: id. As a MULTI would, in one command instead of four. */
const FORGET = `
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('DEL', KEYS[2], KEYS[3])
return 1
`;

/** KEYS: record. ARGV: field/value pairs. Only an existing record is changed (it keeps its TTL). */
const UPDATE = `
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
for i = 1, #ARGV, 2 do redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1]) end
return 1
`;

function toFields(values: Record<string, unknown>): string[] {
  const fields: string[] = [];
  for (const [key, value] of Object.entries(values)) {
    if (value === undefined) continue;
    fields.push(key, Array.isArray(value) ? JSON.stringify(value) : String(value));
  }
  return fields;
}

export class JobStore {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly archive?: JobArchive,
  ) {}

  key(id: string) {
    return `${this.prefix}:job:${id}`;
  }

  /** Every record not yet settled (delivered with what follows done, cancelled, or failed and told), by creation time. */
  private get openKey() {
    return `${this.prefix}:jobs:open`;
  }

  /**
   * Unsettled records created before `before`, a page at a time, for the recovery sweep. A cursor
   * walks the whole index, so records that stay open (however many) never hide the ones behind
   * them; records settled meanwhile simply drop out, and none is handed out twice.
   */
  async *unsettledBefore(before: number, pageSize = 200): AsyncGenerator<string[]> {
    const seen = new Set<string>();
    let cursor = '0';
    do {
      const [next, flat] = await this.redis.zscan(this.openKey, cursor, 'COUNT', pageSize);
      cursor = next;
      const page: string[] = [];
      for (let i = 0; i + 1 < flat.length; i += 2) {
        const id = flat[i]!;
        if (Number(flat[i + 1]) > before || seen.has(id)) continue;
        seen.add(id);
        page.push(id);
      }
      if (page.length > 0) yield page;
    } while (cursor !== '0');
  }

  /** The record needs no more work (a failure its author was told about): it leaves Redis soon. */
  async settle(id: string): Promise<void> {
    await this.redis.multi().zrem(this.openKey, id).expire(this.key(id), SETTLED_TTL_SECONDS).del(this.tokenKey(id)).exec();
  }

  /** A delivered record whose follow-ups all ran: the archive answers for it from now on. */
  async forget(id: string): Promise<void> {
    await runScript(this.redis, FORGET, 3, this.openKey, this.key(id), this.tokenKey(id), id);
  }

  /** Drops live records outright (the member's data is being deleted). */
  async forgetMany(ids: readonly string[]): Promise<void> {
    if (ids.length === 0) return;
    await this.redis
      .multi()
      .zrem(this.openKey, ...ids)
      .del(...ids.flatMap((id) => [this.key(id), this.tokenKey(id)]))
      .exec();
  }

  private userKey(userId: string) {
    return `${this.prefix}:user:${userId}:jobs`;
  }

  /** Where the interaction token waits while it works: it expires with the token. */
  private tokenKey(id: string) {
    return `${this.key(id)}:token`;
  }

  /** Creates the record unless one exists (a double-submitted interaction is one job). */
  async create(record: NewJobRecord, now = Date.now()): Promise<boolean> {
    return (await this.createRecord(record, now)) !== undefined;
  }

  /**
   * As `create`, returning the record as a read would now give it (undefined when one existed
   * already): the caller needs no second round trip, nor a parse, for what it just wrote.
   */
  async createRecord(record: NewJobRecord, now = Date.now()): Promise<JobRecord | undefined> {
    const { interactionToken, ...fields } = record;
    const tokenTtlMs = Math.floor(record.interactionAt + INTERACTION_TOKEN_TTL_MS - now);
    const created = await runScript(
      this.redis,
      CREATE,
      4,
      this.key(record.id),
      this.userKey(record.userId),
      this.openKey,
      this.tokenKey(record.id),
      RECORD_TTL_SECONDS,
      record.createdAt,
      record.id,
      interactionToken,
      tokenTtlMs,
      ...toFields(fields),
    );
    if (created !== 1) return undefined;
    return { ...fields, status: 'queued', imageIds: [], images: [], interactionToken: tokenTtlMs > 0 ? interactionToken : undefined };
  }

  /** Whether a live record exists (one command, nothing parsed: the usual answer is no). */
  async exists(id: string): Promise<boolean> {
    return (await this.redis.exists(this.key(id))) === 1;
  }

  /** The record, with its interaction token while that still works; a settled one from the archive. */
  async get(id: string): Promise<JobRecord | undefined> {
    return (await this.live(id)) ?? (await this.archive?.load(id));
  }

  /** The record while it is in Redis (in flight, or just settled). */
  async live(id: string): Promise<JobRecord | undefined> {
    const [flat, token] = (await runScript(this.redis, READ, 2, this.key(id), this.tokenKey(id))) as [string[], string | null];
    const raw: Record<string, string> = {};
    for (let i = 0; i + 1 < flat.length; i += 2) raw[flat[i]!] = flat[i + 1]!;
    if (!raw.status) return undefined;
    let legacy = raw.interactionToken;
    if (legacy !== undefined && Date.now() - Number(raw.interactionAt) >= INTERACTION_TOKEN_TTL_MS) {
      // A record written when tokens were kept inside it: strip the token once it stopped working.
      await this.redis.hdel(this.key(id), 'interactionToken');
      legacy = undefined;
    }
    return jobRecordSchema.parse({ ...raw, interactionToken: token ?? legacy });
  }

  /**
   * The few fields that say where a live record stands, in one command and without parsing the
   * whole record: for checks on the hot path that usually end in "go ahead" (delivery reads the
   * whole record under its lock right after). Undefined when the record is not in Redis.
   */
  async peek(id: string): Promise<RecordState | undefined> {
    const [status, ackedAt, ackFailed, interactionAt, hooksDone, resultMessageId, guildId] = await this.redis.hmget(
      this.key(id),
      'status',
      'ackedAt',
      'ackFailed',
      'interactionAt',
      'hooksDone',
      'resultMessageId',
      'guildId',
    );
    if (!status || !(jobStatuses as readonly string[]).includes(status)) return undefined;
    return {
      status: status as JobStatus,
      ackedAt: ackedAt ? Number(ackedAt) : undefined,
      ackFailed: ackFailed ?? undefined,
      interactionAt: Number(interactionAt),
      hooksDone: hooksDone ?? undefined,
      resultMessageId: resultMessageId ?? undefined,
      guildId: guildId ?? undefined,
    };
  }

  /**
   * Sets fields of an existing record; returns false (and writes nothing) when there is none: a
   * late writer must not bring an expired or deleted record back as a hash without a TTL.
   */
  async update(id: string, values: Partial<Record<keyof JobRecord, unknown>>): Promise<boolean> {
    const fields = toFields(values);
    if (fields.length === 0) return (await this.redis.exists(this.key(id))) === 1;
    return (await runScript(this.redis, UPDATE, 1, this.key(id), ...fields)) === 1;
  }

  /**
   * Moves the record to `to` only if its status is one of `from`; sets `values` in the same step.
   * Returns whether it moved and the status it found. A caller that holds the record passes it as
   * `known`: who asked and what was charged never change once written, so they need no read. A
   * worker that holds a running slot for the job passes it as `runSlot`: the move gives it back
   * (and marks it released) in the same command.
   */
  async transition(
    id: string,
    from: readonly JobStatus[],
    to: JobStatus,
    values: Partial<Record<keyof JobRecord, unknown>> = {},
    known?: Pick<JobRecord, 'userId' | 'guildId' | 'charge'>,
    runSlot?: HeldRunSlot,
  ): Promise<{ ok: boolean; previous: JobStatus | undefined }> {
    const fields = toFields({ ...values, status: to });
    const finished = to === 'delivered' || to === 'cancelled' || to === 'failed';
    // A failed record stays unsettled until its author has been told, and a delivered one until
    // what follows its post (the archive, series panels, session entries) has run: `forget` then
    // lets it go, and until then the recovery sweep can start those steps again (see delivery).
    const settled = to === 'cancelled';
    const fair = new FairQueue(this.redis, this.prefix);
    // Fair to the member: a picture that failed, or was cancelled before it started, costs nothing.
    // The refund happens in the status change's own script, so it is there the moment the status
    // is, and its marker makes a repeated move refund nothing more. Who was charged, where and
    // how much is written once, with the record, so reading it first is safe.
    const refundMode = to === 'failed' ? 'always' : to === 'cancelled' ? 'if-queued' : 'never';
    // The member's index and the refund's keys are named to the script, so they are read first.
    let plan: RefundPlan | undefined;
    let memberIndex: string | undefined;
    if (finished || refundMode !== 'never') {
      const [userId, guildId, charge] = known
        ? [known.userId, known.guildId ?? null, known.charge ?? null]
        : await this.redis.hmget(this.key(id), 'userId', 'guildId', 'charge');
      if (userId && finished) memberIndex = this.userKey(userId);
      if (userId && charge && refundMode !== 'never') plan = fair.refundPlan(id, userId, guildId ?? undefined, charge);
    }
    // Every way out of the queue passes here, and the compare-and-set lets exactly one through:
    // the member's turn counter drops as soon as the GPU is done with the job (release is
    // idempotent), in the same script as the status change.
    const leaves = to === 'done' || finished;
    const keys = [this.key(id), this.openKey, ...fair.releaseKeys];
    // Array.push answers the new length: the (1-based) position of the key just added.
    const memberAt = memberIndex ? keys.push(memberIndex) : 0;
    const refundAt = plan ? keys.push(...plan.keys) - plan.keys.length + 1 : 0;
    const slotAt = runSlot && !runSlot.released ? keys.push(fair.runningKey(runSlot.guildId, runSlot.userId)) : 0;
    const [ok, previous] = (await runScript(
      this.redis,
      TRANSITION,
      keys.length,
      ...keys,
      from.length,
      ...from,
      id,
      memberAt,
      settled ? '1' : '0',
      plan ? refundMode : 'never',
      ...(plan?.args ?? [0, 0, 0]),
      leaves ? '1' : '0',
      refundAt,
      slotAt,
      runSlot?.jobId ?? '',
      ...fields,
    )) as [number, string];
    if (ok === 1 && slotAt > 0) runSlot!.released = true;
    if (ok === 1 && to === 'cancelled') await this.archive?.cancelled(id, values.cancelledBy as string | undefined, Date.now());
    // Not in Redis any more: the archive knows how it ended (a cancel of a finished picture says so).
    const archived = !previous && ok !== 1 ? (await this.archive?.load(id))?.status : undefined;
    return { ok: ok === 1, previous: (previous || archived || undefined) as JobStatus | undefined };
  }

  /** The member's jobs that are not finished yet, oldest first. */
  async openJobsOf(userId: string): Promise<JobRecord[]> {
    // The stop bound as a string: ioredis 6.0.0 types it without number (redis/ioredis#2162).
    const ids = await this.redis.zrange(this.userKey(userId), 0, '49');
    const records = await Promise.all(ids.map((id) => this.live(id)));
    const open: JobRecord[] = [];
    for (const [index, record] of records.entries()) {
      if (record && (record.status === 'queued' || record.status === 'running' || record.status === 'done')) {
        open.push(record);
      } else {
        // The record expired or finished without passing through transition(): tidy the index.
        await this.redis.zrem(this.userKey(userId), ids[index]!);
      }
    }
    return open;
  }
}
