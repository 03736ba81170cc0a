import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DB } from '../../src/db/schema.js';
import { createTestDatabase, type TestDatabase } from '../support/postgres.js';

/**
 * The hand-written table types (src/db/schema.ts) must match what the migrations create. The
 * compiler makes this list name every column of every interface, no more and no fewer; the test
 * compares it with the columns PostgreSQL has after the migrations.
 */
type ColumnsOf = { [T in keyof DB]: Record<keyof DB[T], true> };

const all = <K extends string>(...names: K[]) => Object.fromEntries(names.map((name) => [name, true])) as Record<K, true>;

const typed: ColumnsOf = {
  member_names: all('user_id', 'name', 'updated_at'),
  requests: all(
    'id',
    'kind',
    'status',
    'prompt',
    'negative',
    'aspect',
    'seed',
    'image_count',
    'model',
    'user_id',
    'guild_id',
    'channel_id',
    'parent_image_id',
    'strength',
    'cost',
    'refunded_at',
    'error',
    'error_kind',
    'cancelled_by',
    'result_channel_id',
    'result_message_id',
    'created_at',
    'started_at',
    'finished_at',
    'deleted_at',
    'vote_count',
    'votes_closed_at',
    'profile_counted',
  ),
  images: all(
    'id',
    'request_id',
    'position',
    'kind',
    'prompt',
    'negative',
    'seed',
    'model',
    'aspect',
    'width',
    'height',
    'content_type',
    'storage_key',
    'user_id',
    'guild_id',
    'channel_id',
    'message_id',
    'attachment_url',
    'age_restricted',
    'parent_id',
    'created_at',
    'deleted_at',
    'deleted_by',
  ),
  votes: all('request_id', 'user_id', 'created_at'),
  member_stats: all('user_id', 'guild_id', 'pictures', 'votes_received', 'remixes_received'),
  series: all(
    'id',
    'guild_id',
    'channel_id',
    'thread_id',
    'title',
    'mode',
    'max_panels',
    'panel_count',
    'style',
    'seed',
    'creator_id',
    'status',
    'turn',
    'last_user_id',
    'created_at',
    'completed_at',
    'completion_owed',
    'completion_message_id',
    'reveal_message_id',
  ),
  series_members: all('series_id', 'user_id', 'turn_slot', 'joined_at'),
  series_panels: all(
    'id',
    'series_id',
    'number',
    'user_id',
    'user_name',
    'prompt',
    'request_id',
    'image_id',
    'seed',
    'created_at',
    'announce_owed',
    'in_thread',
    'prev_last_user_id',
    'turn_after',
  ),
  challenges: all(
    'id',
    'guild_id',
    'channel_id',
    'theme',
    'phase',
    'submit_days',
    'vote_days',
    'scheduled',
    'season',
    'created_by',
    'created_at',
    'announced_at',
    'submissions_end_at',
    'voting_started_at',
    'voting_end_at',
    'results_at',
    'cancelled_at',
    'cancelled_by',
    'thread_id',
    'announce_message_id',
    'voting_message_id',
    'result_message_id',
    'cancel_message_id',
    'entry_seq',
    'gallery_posted',
    'paused_at',
    'paused_note',
  ),
  challenge_entries: all(
    'challenge_id',
    'entry_number',
    'image_id',
    'request_id',
    'user_id',
    'submitted_at',
    'withdrawn_at',
    'gallery_message_id',
    'votes',
    'place',
    'points',
  ),
  challenge_votes: all('challenge_id', 'entry_number', 'user_id', 'created_at'),
  season_points: all('guild_id', 'season', 'challenge_id', 'user_id', 'reason', 'points', 'awarded_at'),
  challenge_themes: all('guild_id', 'theme', 'added_by', 'added_at', 'last_used_at'),
  challenge_schedules: all('guild_id', 'channel_id', 'weekday', 'at_time', 'timezone', 'submit_days', 'vote_days', 'updated_by', 'updated_at'),
  guild_settings: all('guild_id', 'settings', 'version', 'updated_by', 'updated_at'),
  bans: all('guild_id', 'user_id', 'banned_by', 'banned_at'),
  style_borrows: all('request_id', 'style_image_id', 'author_id', 'borrower_id', 'guild_id', 'weight', 'created_at'),
  blend_parents: all('request_id', 'position', 'image_id'),
  describe_suggestions: all('id', 'guild_id', 'channel_id', 'user_id', 'suggestions', 'created_at'),
};

describe('table types', () => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await createTestDatabase({ migrated: true });
  });
  afterAll(async () => database.drop());

  it('name exactly the tables and columns the migrations create', async () => {
    const { rows } = await sql<{ table_name: string; column_name: string }>`
      select table_name, column_name from information_schema.columns
      where table_schema = 'public' and table_name not like 'schema_migrations%'`.execute(database.db);
    const actual: Record<string, string[]> = {};
    for (const row of rows) (actual[row.table_name] ??= []).push(row.column_name);
    const expected = Object.fromEntries(Object.entries(typed).map(([table, columns]) => [table, Object.keys(columns).sort()]));
    expect(Object.fromEntries(Object.entries(actual).map(([table, columns]) => [table, columns.sort()]))).toEqual(expected);
  });
});
