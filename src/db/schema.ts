import type { ColumnType, Generated, Insertable, Selectable, Updateable } from 'kysely';

/**
 * The tables of migrations/*.sql, as Kysely sees them. Hand-written: keep them in step with the
 * migrations (test/integration/db-schema-types.test.ts compares the two). Timestamps read as Date;
 * bigint and count(*) read as number on both the server and the embedded database (see
 * connection.ts).
 */
type Timestamp = ColumnType<Date, Date | string, Date | string>;
type CreatedAt = ColumnType<Date, Date | string | undefined, Date | string>;

export interface MemberNamesTable {
  user_id: string;
  name: string;
  updated_at: CreatedAt;
}

export type RequestStatus = 'queued' | 'running' | 'done' | 'failed' | 'cancelled' | 'delivered';
export type GenerationKind = 'txt2img' | 'img2img' | 'variation' | 'upscale' | 'outpaint' | 'inpaint';

export interface RequestsTable {
  id: string;
  kind: GenerationKind;
  status: RequestStatus;
  prompt: string | null;
  negative: string | null;
  aspect: string;
  seed: number;
  image_count: number;
  model: string;
  user_id: string | null;
  guild_id: string | null;
  channel_id: string;
  parent_image_id: string | null;
  strength: number | null;
  /** Outpaint and inpaint: "x,y,w,h" (migration 0009). */
  edit_area: ColumnType<string | null, string | null | undefined, string | null>;
  cost: Generated<number>;
  refunded_at: Timestamp | null;
  error: string | null;
  error_kind: string | null;
  cancelled_by: string | null;
  result_channel_id: string | null;
  result_message_id: string | null;
  created_at: CreatedAt;
  started_at: Timestamp | null;
  finished_at: Timestamp | null;
  deleted_at: Timestamp | null;
  vote_count: Generated<number>;
  votes_closed_at: Timestamp | null;
  profile_counted: Generated<boolean>;
  chaos: number | null;
  stylize: number | null;
  tile: Generated<boolean>;
  draft: Generated<boolean>;
}

export interface ImagesTable {
  id: string;
  request_id: string | null;
  position: Generated<number>;
  kind: GenerationKind | 'upload';
  prompt: string | null;
  negative: string | null;
  seed: number | null;
  model: string | null;
  aspect: string | null;
  width: number;
  height: number;
  content_type: string;
  storage_key: string | null;
  user_id: string | null;
  guild_id: string | null;
  channel_id: string;
  message_id: string | null;
  attachment_url: string | null;
  age_restricted: Generated<boolean>;
  parent_id: string | null;
  created_at: CreatedAt;
  deleted_at: Timestamp | null;
  deleted_by: string | null;
}

export interface VotesTable {
  request_id: string;
  user_id: string;
  created_at: CreatedAt;
}

/** /profile's counters per member and server (guild_id '' outside a server). */
export interface MemberStatsTable {
  user_id: string;
  guild_id: string;
  pictures: Generated<number>;
  votes_received: Generated<number>;
  remixes_received: Generated<number>;
}

export type SeriesMode = 'open' | 'relay' | 'corpse';
export type SeriesStatus = 'open' | 'complete' | 'closed';

export interface SeriesTable {
  id: string;
  guild_id: string;
  channel_id: string;
  thread_id: string;
  title: string;
  mode: SeriesMode;
  max_panels: number;
  panel_count: Generated<number>;
  style: string | null;
  seed: number | null;
  creator_id: string | null;
  status: Generated<SeriesStatus>;
  turn: Generated<number>;
  last_user_id: string | null;
  created_at: CreatedAt;
  completed_at: Timestamp | null;
  completion_owed: Generated<boolean>;
  completion_message_id: string | null;
  reveal_message_id: string | null;
}

export interface SeriesMembersTable {
  series_id: string;
  user_id: string;
  turn_slot: number;
  joined_at: CreatedAt;
}

export interface SeriesPanelsTable {
  id: string;
  series_id: string;
  number: number;
  user_id: string | null;
  user_name: string | null;
  prompt: string | null;
  request_id: string | null;
  image_id: string | null;
  seed: number | null;
  created_at: CreatedAt;
  announce_owed: Generated<boolean>;
  in_thread: Generated<boolean>;
  prev_last_user_id: string | null;
  turn_after: number | null;
}

export type ChallengePhase = 'announce' | 'submissions' | 'voting' | 'results' | 'cancelled';

export interface ChallengesTable {
  id: Generated<string>;
  guild_id: string;
  channel_id: string;
  theme: string;
  phase: ChallengePhase;
  submit_days: number;
  vote_days: number;
  scheduled: Generated<boolean>;
  season: string | null;
  created_by: string | null;
  created_at: CreatedAt;
  announced_at: Timestamp | null;
  submissions_end_at: Timestamp | null;
  voting_started_at: Timestamp | null;
  voting_end_at: Timestamp | null;
  results_at: Timestamp | null;
  cancelled_at: Timestamp | null;
  cancelled_by: string | null;
  thread_id: string | null;
  announce_message_id: string | null;
  voting_message_id: string | null;
  result_message_id: string | null;
  cancel_message_id: string | null;
  entry_seq: Generated<number>;
  gallery_posted: Generated<boolean>;
  paused_at: Timestamp | null;
  paused_note: string | null;
}

export interface ChallengeEntriesTable {
  challenge_id: string;
  entry_number: number;
  image_id: string;
  request_id: string | null;
  user_id: string | null;
  submitted_at: CreatedAt;
  withdrawn_at: Timestamp | null;
  gallery_message_id: string | null;
  votes: number | null;
  place: number | null;
  points: number | null;
}

export interface ChallengeVotesTable {
  challenge_id: string;
  entry_number: number;
  user_id: string;
  created_at: CreatedAt;
}

export interface SeasonPointsTable {
  guild_id: string;
  season: string;
  challenge_id: string;
  user_id: string;
  reason: 'entry' | 'podium';
  points: number;
  awarded_at: CreatedAt;
}

export interface ChallengeThemesTable {
  guild_id: string;
  theme: string;
  added_by: string | null;
  added_at: CreatedAt;
  last_used_at: Timestamp | null;
}

export interface ChallengeSchedulesTable {
  guild_id: string;
  channel_id: string;
  weekday: number;
  at_time: string;
  timezone: string;
  submit_days: number;
  vote_days: number;
  updated_by: string | null;
  updated_at: CreatedAt;
}

/** The settings document is validated by the bot's zod schema; the database only keeps it whole. */
export type SettingsDocument = Record<string, unknown>;

export interface GuildSettingsTable {
  guild_id: string;
  settings: ColumnType<SettingsDocument, string | undefined, string>;
  version: Generated<number>;
  updated_by: string | null;
  updated_at: CreatedAt;
}

export interface BansTable {
  guild_id: string;
  user_id: string;
  banned_by: string;
  banned_at: CreatedAt;
}

export interface MemberPreferencesTable {
  user_id: string;
  model: string | null;
  aspect: string | null;
  image_count: number | null;
  style_code: string | null;
  remix: Generated<boolean>;
  updated_at: CreatedAt;
}

export type SessionMode = 'evolve' | 'fresh';
export type SessionPhase = 'entries' | 'drawing' | 'voting' | 'ended';

export interface SessionsTable {
  id: string;
  guild_id: string;
  channel_id: string;
  thread_id: string;
  panel_message_id: string | null;
  host_id: string | null;
  theme: string;
  mode: SessionMode;
  rounds: number;
  round_seconds: number;
  vote_seconds: number;
  entries_per_round: number;
  age_restricted: boolean | null;
  round: Generated<number>;
  phase: Generated<SessionPhase>;
  phase_ends_at: Timestamp | null;
  epoch: Generated<number>;
  paused_at: Timestamp | null;
  paused_left_ms: number | null;
  series_id: string | null;
  recap_message_id: string | null;
  recap_done: Generated<boolean>;
  created_at: CreatedAt;
  ended_at: Timestamp | null;
}

export interface SessionRoundsTable {
  session_id: string;
  number: number;
  twist: string;
  base_image_id: string | null;
  entry_count: Generated<number>;
  winner_entry: number | null;
  winner_votes: number | null;
  skipped: Generated<boolean>;
  opened_message_id: string | null;
  voting_posted: Generated<boolean>;
  result_message_id: string | null;
}

export interface SessionEntriesTable {
  session_id: string;
  round: number;
  number: number;
  id: string;
  user_id: string | null;
  user_name: string | null;
  prompt: string | null;
  image_id: string | null;
  state: Generated<'drawing' | 'ready' | 'missed'>;
  created_at: CreatedAt;
}

export interface SessionVotesTable {
  session_id: string;
  round: number;
  voter_id: string;
  entry: number;
  created_at: CreatedAt;
}

/** A request that drew in another picture's style (--sref). */
export interface StyleBorrowsTable {
  request_id: string;
  style_image_id: string;
  author_id: string | null;
  borrower_id: string | null;
  guild_id: string | null;
  weight: number;
  created_at: CreatedAt;
}

/** Every parent of a blend, in order. */
export interface BlendParentsTable {
  request_id: string;
  position: number;
  image_id: string;
}

/** The prompts /describe offered for a picture. */
export interface DescribeSuggestionsTable {
  id: string;
  guild_id: string | null;
  channel_id: string;
  user_id: string | null;
  suggestions: string[];
  created_at: CreatedAt;
}

export interface DB {
  member_names: MemberNamesTable;
  requests: RequestsTable;
  images: ImagesTable;
  votes: VotesTable;
  member_stats: MemberStatsTable;
  series: SeriesTable;
  series_members: SeriesMembersTable;
  series_panels: SeriesPanelsTable;
  challenges: ChallengesTable;
  challenge_entries: ChallengeEntriesTable;
  challenge_votes: ChallengeVotesTable;
  season_points: SeasonPointsTable;
  challenge_themes: ChallengeThemesTable;
  challenge_schedules: ChallengeSchedulesTable;
  guild_settings: GuildSettingsTable;
  bans: BansTable;
  member_preferences: MemberPreferencesTable;
  sessions: SessionsTable;
  session_rounds: SessionRoundsTable;
  session_entries: SessionEntriesTable;
  session_votes: SessionVotesTable;
  style_borrows: StyleBorrowsTable;
  blend_parents: BlendParentsTable;
  describe_suggestions: DescribeSuggestionsTable;
}

export type Row<T extends keyof DB> = Selectable<DB[T]>;
export type NewRow<T extends keyof DB> = Insertable<DB[T]>;
export type RowUpdate<T extends keyof DB> = Updateable<DB[T]>;
