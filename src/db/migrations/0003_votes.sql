-- Votes, /top and /profile read from here. A result's score is kept on its request (vote_count),
-- changed in the same transaction as the vote row, so rankings never count the votes table. The
-- primary key of votes (request_id, user_id) is what makes it one vote per member.

ALTER TABLE requests
  ADD COLUMN vote_count integer NOT NULL DEFAULT 0 CHECK (vote_count >= 0),
  -- Set when the picture is deleted: it leaves the rankings and takes no more votes, but keeps
  -- its count (family trees still show what it earned).
  ADD COLUMN votes_closed_at timestamptz,
  -- Set once the delivered result was counted on its author's profile (a retried delivery counts nothing).
  ADD COLUMN profile_counted boolean NOT NULL DEFAULT false;

-- /top: ties go to the newer result (a longer snowflake, then a larger one), as they always did.
-- Period "all" walks the first index in order. For day, week and month the planner either walks it
-- too, skipping older results (created_at is in it, so no table row is read), or reads the period's
-- voted results from the second (id and count are in it) and keeps the best ten.
CREATE INDEX requests_top_guild ON requests (guild_id, vote_count DESC, length(id) DESC, id DESC) INCLUDE (created_at)
  WHERE vote_count > 0 AND votes_closed_at IS NULL;
CREATE INDEX requests_top_guild_recent ON requests (guild_id, created_at) INCLUDE (vote_count, id)
  WHERE vote_count > 0 AND votes_closed_at IS NULL;
CREATE INDEX requests_top_channel ON requests (channel_id, vote_count DESC, length(id) DESC, id DESC) INCLUDE (guild_id, created_at)
  WHERE vote_count > 0 AND votes_closed_at IS NULL;
CREATE INDEX requests_top_channel_recent ON requests (channel_id, created_at) INCLUDE (vote_count, id)
  WHERE vote_count > 0 AND votes_closed_at IS NULL;
-- /profile: a member's best picture in a server is the first entry.
CREATE INDEX requests_best_of_member ON requests (user_id, guild_id, vote_count DESC, length(id) DESC, id DESC)
  WHERE vote_count > 0 AND votes_closed_at IS NULL;

-- /profile's numbers per member and server, kept as counters: pictures made (counted at
-- delivery), votes received (changed with each vote) and remixes of their pictures by others.
-- guild_id is '' outside a server. Deleting a member's data deletes their rows.
CREATE TABLE member_stats (
  user_id           text NOT NULL,
  guild_id          text NOT NULL,
  pictures          integer NOT NULL DEFAULT 0 CHECK (pictures >= 0),
  votes_received    integer NOT NULL DEFAULT 0 CHECK (votes_received >= 0),
  remixes_received  integer NOT NULL DEFAULT 0 CHECK (remixes_received >= 0),
  PRIMARY KEY (user_id, guild_id)
);
