-- Live art sessions: timed rounds in a thread. Every phase change is a compare-and-set on
-- (id, round, phase) with the session row locked, so a timer that fires twice changes nothing the
-- second time; entries and votes lock the same row (shared), so a tally counts exactly the votes
-- cast before it.
CREATE TABLE sessions (
  id                 text PRIMARY KEY,                  -- the /session start interaction
  guild_id           text NOT NULL,
  channel_id         text NOT NULL,                     -- where it was started (the thread's parent)
  thread_id          text NOT NULL,
  panel_message_id   text,
  host_id            text,                              -- NULL once the host deleted their data
  theme              text NOT NULL CHECK (char_length(theme) BETWEEN 1 AND 200),
  mode               text NOT NULL CHECK (mode IN ('evolve', 'fresh')),
  rounds             smallint NOT NULL CHECK (rounds BETWEEN 1 AND 10),
  round_seconds      integer NOT NULL CHECK (round_seconds BETWEEN 60 AND 1800),
  vote_seconds       integer NOT NULL CHECK (vote_seconds BETWEEN 30 AND 300),
  entries_per_round  smallint NOT NULL CHECK (entries_per_round BETWEEN 1 AND 4),
  -- Whether the channel was age-restricted when the session started (NULL: the start could not tell).
  age_restricted     boolean,
  round              smallint NOT NULL DEFAULT 1 CHECK (round BETWEEN 1 AND 10),
  phase              text NOT NULL DEFAULT 'entries' CHECK (phase IN ('entries', 'drawing', 'voting', 'ended')),
  phase_ends_at      timestamptz,
  -- Bumped when a paused phase resumes: the resumed phase's timer job gets an id of its own.
  epoch              integer NOT NULL DEFAULT 0,
  paused_at          timestamptz,
  paused_left_ms     integer CHECK (paused_left_ms >= 0),
  series_id          text REFERENCES series (id) ON DELETE SET NULL,
  recap_message_id   text,
  recap_done         boolean NOT NULL DEFAULT false,
  created_at         timestamptz NOT NULL DEFAULT now(),
  ended_at           timestamptz
);
CREATE UNIQUE INDEX sessions_thread ON sessions (thread_id);
-- The per-server limit counts running sessions; the restart sweep lists them.
CREATE INDEX sessions_running ON sessions (guild_id) WHERE phase <> 'ended';
CREATE INDEX sessions_host ON sessions (host_id) WHERE host_id IS NOT NULL;

CREATE TABLE session_rounds (
  session_id         text NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
  number             smallint NOT NULL CHECK (number BETWEEN 1 AND 10),
  twist              text NOT NULL CHECK (char_length(twist) BETWEEN 1 AND 200),
  -- Evolve mode: the previous round's winning picture, which this round's entries remix.
  base_image_id      text REFERENCES images (id),
  entry_count        smallint NOT NULL DEFAULT 0,       -- the last entry number handed out
  winner_entry       smallint,
  winner_votes       integer,
  skipped            boolean NOT NULL DEFAULT false,
  -- Posts the round owes its thread, each recorded as it lands (a retried job posts only what is missing).
  opened_message_id  text,
  voting_posted      boolean NOT NULL DEFAULT false,
  result_message_id  text,
  PRIMARY KEY (session_id, number)
);

CREATE TABLE session_entries (
  session_id  text NOT NULL,
  round       smallint NOT NULL,
  number      smallint NOT NULL CHECK (number >= 1),   -- in the order entries were made: a tie goes to the lower
  id          text NOT NULL UNIQUE,                    -- the request that draws it (its interaction id)
  user_id     text,                                    -- NULL once the member deleted their data
  user_name   text CHECK (char_length(user_name) <= 64),
  prompt      text CHECK (char_length(prompt) <= 4000),
  image_id    text REFERENCES images (id),
  state       text NOT NULL DEFAULT 'drawing' CHECK (state IN ('drawing', 'ready', 'missed')),
  created_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (session_id, round, number),
  FOREIGN KEY (session_id, round) REFERENCES session_rounds (session_id, number) ON DELETE CASCADE
);
CREATE INDEX session_entries_user ON session_entries (user_id) WHERE user_id IS NOT NULL;

CREATE TABLE session_votes (
  session_id  text NOT NULL,
  round       smallint NOT NULL,
  voter_id    text NOT NULL,
  entry       smallint NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now(),
  -- One vote per member per round.
  PRIMARY KEY (session_id, round, voter_id),
  FOREIGN KEY (session_id, round, entry) REFERENCES session_entries (session_id, round, number) ON DELETE CASCADE
);
CREATE INDEX session_votes_voter ON session_votes (voter_id);
