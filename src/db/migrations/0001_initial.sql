-- Atelier's lasting records. Redis keeps the live queue, rate limits and daily counters (all with
-- a TTL); everything here must outlive them. Discord ids (snowflakes) are text: they exceed 2^53.
-- Member ids are nullable where a member's data can be deleted (/privacy): what others built on it
-- keeps its place as an anonymous tombstone.

-- Names members had when they made something (tree labels and credits outlive Discord caches).
CREATE TABLE member_names (
  user_id     text PRIMARY KEY,
  name        text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 64),
  updated_at  timestamptz NOT NULL DEFAULT now()
);

-- The history of generation requests (the live queue stays in BullMQ). Interaction tokens are
-- secrets with a 15-minute life and are never stored here.
CREATE TABLE requests (
  id                 text PRIMARY KEY,  -- the interaction id the job was queued under
  kind               text NOT NULL CHECK (kind IN ('txt2img', 'img2img', 'variation', 'upscale')),
  status             text NOT NULL CHECK (status IN ('queued', 'running', 'done', 'failed', 'cancelled', 'delivered')),
  prompt             text CHECK (char_length(prompt) <= 4000),
  negative           text CHECK (char_length(negative) <= 4000),
  aspect             text NOT NULL,
  seed               bigint NOT NULL,
  image_count        smallint NOT NULL CHECK (image_count BETWEEN 1 AND 4),
  model              text NOT NULL,
  user_id            text,
  guild_id           text,
  channel_id         text NOT NULL,
  parent_image_id    text,              -- references images(id), added below (images refer back)
  strength           real CHECK (strength > 0 AND strength <= 1),
  -- Units taken from the server's daily budget; given back at most once (refunded_at is the
  -- compare-and-set flag).
  cost               integer NOT NULL DEFAULT 0 CHECK (cost >= 0),
  refunded_at        timestamptz,
  error              text,
  error_kind         text,
  cancelled_by       text,
  result_channel_id  text,
  result_message_id  text,
  created_at         timestamptz NOT NULL DEFAULT now(),
  started_at         timestamptz,
  finished_at        timestamptz,
  deleted_at         timestamptz,
  CHECK (prompt IS NOT NULL OR deleted_at IS NOT NULL)
);
CREATE INDEX requests_user_created ON requests (user_id, created_at);
CREATE INDEX requests_guild_created ON requests (guild_id, created_at);

-- One row per picture. A deleted picture stays as a tombstone (deleted_at set, bytes and prompt
-- gone) so that families and series keep their shape.
CREATE TABLE images (
  id              text PRIMARY KEY,
  request_id      text REFERENCES requests (id),  -- NULL for a member's upload (root of a family)
  position        smallint NOT NULL DEFAULT 0 CHECK (position BETWEEN 0 AND 3),
  kind            text NOT NULL CHECK (kind IN ('txt2img', 'img2img', 'variation', 'upscale', 'upload')),
  prompt          text CHECK (char_length(prompt) <= 4000),
  negative        text CHECK (char_length(negative) <= 4000),
  seed            bigint,
  model           text,
  aspect          text,
  width           integer NOT NULL CHECK (width > 0),
  height          integer NOT NULL CHECK (height > 0),
  content_type    text NOT NULL,
  storage_key     text UNIQUE,                    -- where the bytes are in image storage
  user_id         text,
  guild_id        text,
  channel_id      text NOT NULL,
  message_id      text,
  attachment_url  text,
  age_restricted  boolean NOT NULL DEFAULT false,  -- made in an age-restricted channel, or flagged NSFW
  parent_id       text REFERENCES images (id),
  created_at      timestamptz NOT NULL DEFAULT now(),
  deleted_at      timestamptz,
  deleted_by      text,
  UNIQUE (request_id, position),
  CHECK (id <> parent_id),
  CHECK (deleted_at IS NOT NULL OR (prompt IS NOT NULL AND storage_key IS NOT NULL))
);
CREATE INDEX images_parent ON images (parent_id);
CREATE INDEX images_user ON images (user_id);
CREATE INDEX images_guild_created ON images (guild_id, created_at) WHERE deleted_at IS NULL;

ALTER TABLE requests
  ADD CONSTRAINT requests_parent_image_fkey FOREIGN KEY (parent_image_id) REFERENCES images (id);

-- A vote is on a result (the message's set of pictures): one per member.
CREATE TABLE votes (
  request_id  text NOT NULL REFERENCES requests (id) ON DELETE CASCADE,
  user_id     text NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (request_id, user_id)
);
CREATE INDEX votes_user ON votes (user_id);
CREATE INDEX votes_created ON votes (created_at);

-- Series: panels are numbered 1..N without gaps. The numbering is kept by the store, which
-- locks the series row (panel_count is the next number minus one); the unique key is the
-- safety net, deferrable so that removing a panel can shift the later ones down in one statement.
CREATE TABLE series (
  id            text PRIMARY KEY,
  guild_id      text NOT NULL,
  channel_id    text NOT NULL,
  thread_id     text NOT NULL,
  title         text NOT NULL CHECK (char_length(title) BETWEEN 1 AND 100),
  mode          text NOT NULL CHECK (mode IN ('open', 'relay', 'corpse')),
  max_panels    smallint NOT NULL CHECK (max_panels BETWEEN 2 AND 24),
  panel_count   smallint NOT NULL DEFAULT 0,
  style         text CHECK (char_length(style) <= 500),
  seed          bigint,
  creator_id    text,
  status        text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'complete', 'closed')),
  turn          integer NOT NULL DEFAULT 0 CHECK (turn >= 0),  -- relay: index into the turn order
  last_user_id  text,
  created_at    timestamptz NOT NULL DEFAULT now(),
  completed_at  timestamptz,
  CHECK (panel_count BETWEEN 0 AND max_panels)
);
CREATE INDEX series_guild ON series (guild_id, created_at);
CREATE UNIQUE INDEX series_thread ON series (thread_id);

-- Relay turn order.
CREATE TABLE series_members (
  series_id  text NOT NULL REFERENCES series (id) ON DELETE CASCADE,
  user_id    text NOT NULL,
  turn_slot  smallint NOT NULL CHECK (turn_slot >= 0),
  joined_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (series_id, user_id),
  CONSTRAINT series_members_slot_key UNIQUE (series_id, turn_slot) DEFERRABLE INITIALLY IMMEDIATE
);

CREATE TABLE series_panels (
  id          text PRIMARY KEY,
  series_id   text NOT NULL REFERENCES series (id) ON DELETE CASCADE,
  number      smallint NOT NULL CHECK (number BETWEEN 1 AND 24),
  user_id     text,
  user_name   text CHECK (char_length(user_name) <= 64),
  prompt      text CHECK (char_length(prompt) <= 4000),
  request_id  text REFERENCES requests (id),  -- the generation drawing it (NULL for an existing picture)
  image_id    text REFERENCES images (id),    -- NULL while it is being drawn
  seed        bigint,
  created_at  timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT series_panels_number_key UNIQUE (series_id, number) DEFERRABLE INITIALLY IMMEDIATE
);

-- Challenges: every phase change is a compare-and-set on (id, phase).
CREATE TABLE challenges (
  id                  text PRIMARY KEY,
  guild_id            text NOT NULL,
  channel_id          text NOT NULL,
  theme               text NOT NULL CHECK (char_length(theme) BETWEEN 1 AND 200),
  phase               text NOT NULL CHECK (phase IN ('announce', 'submissions', 'voting', 'results', 'cancelled')),
  submit_days         smallint NOT NULL CHECK (submit_days BETWEEN 1 AND 13),
  vote_days           smallint NOT NULL CHECK (vote_days BETWEEN 1 AND 6),
  scheduled           boolean NOT NULL DEFAULT false,
  season              text CHECK (season ~ '^[0-9]{4}-Q[1-4]$'),
  created_by          text,
  created_at          timestamptz NOT NULL DEFAULT now(),
  announced_at        timestamptz,
  submissions_end_at  timestamptz,
  voting_started_at   timestamptz,
  voting_end_at       timestamptz,
  results_at          timestamptz,
  cancelled_at        timestamptz,
  cancelled_by        text,
  -- Discord state, recorded as each post lands so that a retried transition skips what is done.
  thread_id           text,
  announce_message_id text,
  voting_message_id   text,
  result_message_id   text,
  cancel_message_id   text
);
-- One running challenge per server.
CREATE UNIQUE INDEX challenges_one_open ON challenges (guild_id) WHERE phase IN ('announce', 'submissions', 'voting');
CREATE INDEX challenges_guild_created ON challenges (guild_id, created_at);

CREATE TABLE challenge_entries (
  challenge_id      text NOT NULL REFERENCES challenges (id) ON DELETE CASCADE,
  entry_number      integer NOT NULL CHECK (entry_number >= 1),
  image_id          text NOT NULL REFERENCES images (id),
  request_id        text REFERENCES requests (id),
  user_id           text,                        -- NULL: a former member (still counted)
  submitted_at      timestamptz NOT NULL DEFAULT now(),
  withdrawn_at      timestamptz,
  gallery_message_id text,
  -- Set by the results transition.
  votes             integer CHECK (votes >= 0),
  place             integer CHECK (place >= 1),
  PRIMARY KEY (challenge_id, entry_number),
  UNIQUE (challenge_id, image_id)
);
CREATE INDEX challenge_entries_user ON challenge_entries (challenge_id, user_id);

CREATE TABLE challenge_votes (
  challenge_id  text NOT NULL,
  entry_number  integer NOT NULL,
  user_id       text NOT NULL,
  created_at    timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (challenge_id, entry_number, user_id),
  FOREIGN KEY (challenge_id, entry_number) REFERENCES challenge_entries (challenge_id, entry_number) ON DELETE CASCADE
);

-- Season points as a ledger: one row per (challenge, member, reason), so a results transition
-- that runs twice awards nothing the second time. The leaderboard is the sum per season.
CREATE TABLE season_points (
  guild_id      text NOT NULL,
  season        text NOT NULL CHECK (season ~ '^[0-9]{4}-Q[1-4]$'),
  challenge_id  text NOT NULL REFERENCES challenges (id) ON DELETE CASCADE,
  user_id       text NOT NULL,
  reason        text NOT NULL CHECK (reason IN ('entry', 'podium')),
  points        integer NOT NULL CHECK (points > 0),
  awarded_at    timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (challenge_id, user_id, reason)
);
CREATE INDEX season_points_board ON season_points (guild_id, season, user_id);

CREATE TABLE challenge_themes (
  guild_id      text NOT NULL,
  theme         text NOT NULL CHECK (char_length(theme) BETWEEN 1 AND 200),
  added_by      text,
  added_at      timestamptz NOT NULL DEFAULT now(),
  last_used_at  timestamptz
);
CREATE UNIQUE INDEX challenge_themes_unique ON challenge_themes (guild_id, lower(theme));

CREATE TABLE challenge_schedules (
  guild_id     text PRIMARY KEY,
  channel_id   text NOT NULL,
  weekday      smallint NOT NULL CHECK (weekday BETWEEN 0 AND 6),
  at_time      text NOT NULL CHECK (at_time ~ '^([01][0-9]|2[0-3]):[0-5][0-9]$'),
  timezone     text NOT NULL,
  submit_days  smallint NOT NULL CHECK (submit_days BETWEEN 1 AND 13),
  vote_days    smallint NOT NULL CHECK (vote_days BETWEEN 1 AND 6),
  updated_by   text,
  updated_at   timestamptz NOT NULL DEFAULT now()
);

-- Server settings: one JSON document validated by the bot's schema, changed by compare-and-set
-- on version so that two moderators editing at once cannot silently undo each other.
CREATE TABLE guild_settings (
  guild_id    text PRIMARY KEY,
  settings    jsonb NOT NULL DEFAULT '{}'::jsonb CHECK (jsonb_typeof(settings) = 'object'),
  version     integer NOT NULL DEFAULT 1 CHECK (version >= 1),
  updated_by  text,
  updated_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE bans (
  guild_id   text NOT NULL,
  user_id    text NOT NULL,
  banned_by  text NOT NULL,
  banned_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (guild_id, user_id)
);
