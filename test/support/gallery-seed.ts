import { sql } from 'kysely';
import sharp from 'sharp';
import type { Database } from '../../src/db/connection.js';
import type { ChallengePhase, SeriesMode, SeriesStatus } from '../../src/db/schema.js';
import type { ImageStorage } from '../../src/storage/storage.js';

/**
 * Archive rows for gallery tests and the gallery benchmark, written straight into the tables of
 * 0001_initial.sql (and the picture bytes into the image storage), as the bot writes them: the
 * gallery is tested on its own, whatever state the bot's writers are in.
 */
export interface SeedPicture {
  guildId: string;
  /** null: a member who deleted their data. */
  userId: string | null;
  prompt?: string;
  negative?: string | null;
  model?: string;
  seed?: number;
  aspect?: string;
  createdAt?: Date;
  parentId?: string | null;
  ageRestricted?: boolean;
  deleted?: boolean;
  /** Members who voted for the picture's result. */
  voters?: string[];
  channelId?: string;
  messageId?: string | null;
  /** Fill colour of the picture (tests tell pictures apart by it). */
  color?: string;
}

export interface SeededPicture {
  id: string;
  requestId: string;
  storageKey: string;
}

let counter = 0;
/** A fresh snowflake-shaped id (unique within the test run). */
export function snowflake(): string {
  counter += 1;
  return String(1_200_000_000_000_000_000n + BigInt(Date.now() % 1_000_000) * 1_000_000n + BigInt(counter));
}

const pngs = new Map<string, Promise<Buffer>>();
/** A small PNG of one colour. */
export function png(color = '#3a6ea5', width = 64, height = 64): Promise<Buffer> {
  const key = `${color}:${width}x${height}`;
  let made = pngs.get(key);
  if (!made) {
    made = sharp({ create: { width, height, channels: 3, background: color } })
      .png()
      .toBuffer();
    pngs.set(key, made);
  }
  return made;
}

export class GallerySeed {
  constructor(
    readonly db: Database,
    readonly storage: ImageStorage,
  ) {}

  async name(userId: string, name: string): Promise<void> {
    await this.db
      .insertInto('member_names')
      .values({ user_id: userId, name })
      .onConflict((c) => c.column('user_id').doUpdateSet({ name }))
      .execute();
  }

  /** One generation request and its one picture (bytes in storage), with its votes. */
  async picture(options: SeedPicture): Promise<SeededPicture> {
    const requestId = snowflake();
    const id = `${requestId}-1`;
    const storageKey = `images/${options.guildId}/${id}.png`;
    const prompt = options.prompt ?? 'a lighthouse at dusk';
    const createdAt = options.createdAt ?? new Date();
    const channelId = options.channelId ?? '1100000000000000001';
    await this.db
      .insertInto('requests')
      .values({
        id: requestId,
        kind: options.parentId ? 'variation' : 'txt2img',
        status: 'delivered',
        prompt: options.deleted ? null : prompt,
        negative: options.negative ?? null,
        aspect: options.aspect ?? '1:1',
        seed: options.seed ?? 42,
        image_count: 1,
        model: options.model ?? 'painterly',
        user_id: options.userId,
        guild_id: options.guildId,
        channel_id: channelId,
        parent_image_id: options.parentId ?? null,
        result_channel_id: channelId,
        result_message_id: options.messageId === undefined ? snowflake() : options.messageId,
        created_at: createdAt,
        deleted_at: options.deleted ? createdAt : null,
      })
      .execute();
    if (!options.deleted) await this.storage.put(storageKey, await png(options.color), 'image/png');
    await this.db
      .insertInto('images')
      .values({
        id,
        request_id: requestId,
        position: 0,
        kind: options.parentId ? 'variation' : 'txt2img',
        prompt: options.deleted ? null : prompt,
        negative: options.negative ?? null,
        seed: options.seed ?? 42,
        model: options.model ?? 'painterly',
        aspect: options.aspect ?? '1:1',
        width: 64,
        height: 64,
        content_type: 'image/png',
        storage_key: options.deleted ? null : storageKey,
        user_id: options.userId,
        guild_id: options.guildId,
        channel_id: channelId,
        age_restricted: options.ageRestricted ?? false,
        parent_id: options.parentId ?? null,
        created_at: createdAt,
        deleted_at: options.deleted ? createdAt : null,
      })
      .execute();
    for (const voter of options.voters ?? []) await this.db.insertInto('votes').values({ request_id: requestId, user_id: voter }).execute();
    return { id, requestId, storageKey };
  }

  async series(options: {
    guildId: string;
    title: string;
    creatorId?: string | null;
    mode?: SeriesMode;
    status?: SeriesStatus;
    panels: Array<{ imageId: string | null; userId: string | null; userName?: string; prompt?: string }>;
  }): Promise<string> {
    const id = snowflake();
    await this.db
      .insertInto('series')
      .values({
        id,
        guild_id: options.guildId,
        channel_id: '1100000000000000001',
        thread_id: snowflake(),
        title: options.title,
        mode: options.mode ?? 'open',
        status: options.status ?? 'open',
        max_panels: 24,
        panel_count: options.panels.length,
        creator_id: options.creatorId ?? null,
      })
      .execute();
    let number = 0;
    for (const panel of options.panels) {
      number += 1;
      await this.db
        .insertInto('series_panels')
        .values({
          id: snowflake(),
          series_id: id,
          number,
          user_id: panel.userId,
          user_name: panel.userName ?? null,
          prompt: panel.prompt ?? 'a panel',
          image_id: panel.imageId,
        })
        .execute();
    }
    return id;
  }

  async challenge(options: {
    guildId: string;
    theme: string;
    phase?: ChallengePhase;
    season?: string;
    entries: Array<{ imageId: string; userId: string | null; votes?: number; place?: number }>;
    /** Season points, member → points. */
    points?: Record<string, number>;
  }): Promise<string> {
    const id = snowflake();
    const phase = options.phase ?? 'results';
    const start = new Date(Date.now() - 10 * 86_400_000);
    await this.db
      .insertInto('challenges')
      .values({
        id,
        guild_id: options.guildId,
        channel_id: '1100000000000000001',
        theme: options.theme,
        phase,
        submit_days: 3,
        vote_days: 2,
        season: options.season ?? '2026-Q4',
        announced_at: start,
        submissions_end_at: new Date(start.getTime() + 3 * 86_400_000),
        voting_end_at: new Date(start.getTime() + 5 * 86_400_000),
        results_at: phase === 'results' ? new Date(start.getTime() + 5 * 86_400_000) : null,
      })
      .execute();
    let number = 0;
    for (const entry of options.entries) {
      number += 1;
      await this.db
        .insertInto('challenge_entries')
        .values({
          challenge_id: id,
          entry_number: number,
          image_id: entry.imageId,
          user_id: entry.userId,
          votes: entry.votes ?? null,
          place: entry.place ?? null,
        })
        .execute();
    }
    for (const [userId, points] of Object.entries(options.points ?? {})) {
      await this.db
        .insertInto('season_points')
        .values({ guild_id: options.guildId, season: options.season ?? '2026-Q4', challenge_id: id, user_id: userId, reason: 'podium', points })
        .execute();
    }
    return id;
  }

  /**
   * Many pictures at once, with SQL only (for the benchmark): `count` pictures in one server
   * spread over `members` authors and the last 90 days, a vote on every seventh. Their storage keys
   * name no bytes: listings never read them.
   */
  async bulk(guildId: string, count: number, members = 200): Promise<void> {
    const batch = 20_000;
    for (let from = 0; from < count; from += batch) {
      const to = Math.min(count, from + batch) - 1;
      await sql`
        insert into requests (id, kind, status, prompt, aspect, seed, image_count, model, user_id, guild_id, channel_id, created_at)
        select ${guildId} || lpad(n::text, 9, '0'), 'txt2img', 'delivered',
          'picture ' || n || ' of a ' || (array['lighthouse','forest','city','dragon','portrait','harbour'])[1 + n % 6],
          '1:1', n, 1, (array['painterly','geometric','photo'])[1 + n % 3], (1300000000000000000 + n % ${members})::text, ${guildId},
          '1100000000000000001', now() - (n || ' minutes')::interval
        from generate_series(${from}::int, ${to}::int) as n`.execute(this.db);
      await sql`
        insert into images (id, request_id, position, kind, prompt, seed, model, aspect, width, height, content_type, storage_key,
          user_id, guild_id, channel_id, created_at)
        select r.id || '-1', r.id, 0, 'txt2img', r.prompt, r.seed, r.model, r.aspect, 512, 512, 'image/png', 'bulk/' || r.id || '.png',
          r.user_id, r.guild_id, r.channel_id, r.created_at
        from requests r where r.guild_id = ${guildId} and r.id between ${guildId} || lpad(${from}::text, 9, '0') and ${guildId} || lpad(${to}::text, 9, '0')`.execute(
        this.db,
      );
      await sql`
        insert into votes (request_id, user_id)
        select ${guildId} || lpad(n::text, 9, '0'), (1400000000000000000 + v)::text
        from generate_series(${from}::int, ${to}::int) as n, generate_series(1, 3) as v where n % 7 = 0`.execute(this.db);
    }
    await sql`analyze images`.execute(this.db);
    await sql`analyze votes`.execute(this.db);
  }
}
