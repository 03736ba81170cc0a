-- Challenges move from Redis to PostgreSQL.

-- Challenge ids stay small numbers: they are part of the vote buttons' custom_ids
-- ("challenge:vote:<id>:<entry>"), and ids copied from 0.1 keep their numbers.
CREATE SEQUENCE challenge_ids;
ALTER TABLE challenges ALTER COLUMN id SET DEFAULT nextval('challenge_ids')::text;
ALTER SEQUENCE challenge_ids OWNED BY challenges.id;

ALTER TABLE challenges
  -- The last entry number handed out: numbers are never reused, even after a withdrawal. Taking
  -- one locks the challenge row, which also serialises the per-member entry limit.
  ADD COLUMN entry_seq integer NOT NULL DEFAULT 0 CHECK (entry_seq >= 0),
  -- The voting gallery was posted in full (a retried transition skips it).
  ADD COLUMN gallery_posted boolean NOT NULL DEFAULT false,
  -- Set when Discord refused a post for good: the deadlines stop and /challenge status says why.
  ADD COLUMN paused_at timestamptz,
  ADD COLUMN paused_note text CHECK (char_length(paused_note) <= 1000);

-- The points an entry earned, as announced with the results (with votes and place).
ALTER TABLE challenge_entries ADD COLUMN points integer CHECK (points >= 0);

-- /privacy finds a member's challenge data by member id, without scanning.
CREATE INDEX challenge_entries_member ON challenge_entries (user_id) WHERE user_id IS NOT NULL;
CREATE INDEX challenge_votes_member ON challenge_votes (user_id);
CREATE INDEX season_points_member ON season_points (user_id);
CREATE INDEX challenges_guild_results ON challenges (guild_id, season) WHERE phase = 'results';
