-- Series move from Redis to the tables of 0001. What the Redis records also kept goes here: which
-- posts a series still owes its thread and channel (each recorded as it lands, so a retried
-- delivery posts only what is missing), and what a reserved panel took from a relay's turn order
-- (so that giving the reservation back gives the turn back).
ALTER TABLE series
  ADD COLUMN completion_owed boolean NOT NULL DEFAULT false,
  ADD COLUMN completion_message_id text,
  ADD COLUMN reveal_message_id text;

ALTER TABLE series_panels
  -- The panel has its picture and its announcement is not posted yet.
  ADD COLUMN announce_owed boolean NOT NULL DEFAULT false,
  -- Its picture was delivered in the series' thread already: the announcement need not show it.
  ADD COLUMN in_thread boolean NOT NULL DEFAULT false,
  -- For a reservation (image_id NULL): the relay state before it, restored if it is given back.
  ADD COLUMN prev_last_user_id text,
  ADD COLUMN turn_after integer CHECK (turn_after >= 1);

-- /privacy finds a member's series data by member id, and the 📚 menu lists a member's series
-- first: no scans.
CREATE INDEX series_creator ON series (creator_id) WHERE creator_id IS NOT NULL;
CREATE INDEX series_last_user ON series (last_user_id) WHERE last_user_id IS NOT NULL;
CREATE INDEX series_members_user ON series_members (user_id);
CREATE INDEX series_panels_user ON series_panels (user_id) WHERE user_id IS NOT NULL;
CREATE INDEX series_panels_prev_user ON series_panels (prev_last_user_id) WHERE prev_last_user_id IS NOT NULL;
-- Delivery finds the panel a generation draws; deleting a picture or request finds its panels.
CREATE INDEX series_panels_request ON series_panels (request_id) WHERE request_id IS NOT NULL;
CREATE INDEX series_panels_image ON series_panels (image_id) WHERE image_id IS NOT NULL;
