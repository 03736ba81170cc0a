-- The creative parameters of a request (--chaos, --stylize, --tile, --draft): a reroll, a variation
-- and a draft's 🔍 Enhance repeat them, also after the live record left Redis.
ALTER TABLE requests
  ADD COLUMN chaos smallint CHECK (chaos BETWEEN 0 AND 100),
  ADD COLUMN stylize smallint CHECK (stylize BETWEEN 0 AND 1000),
  ADD COLUMN tile boolean NOT NULL DEFAULT false,
  ADD COLUMN draft boolean NOT NULL DEFAULT false;

-- A member's personal defaults (/settings), used wherever a request leaves an option out. Personal,
-- not per server: the same member gets the same defaults everywhere. A model or aspect the bot no
-- longer offers is ignored when read, never refused.
CREATE TABLE member_preferences (
  user_id text PRIMARY KEY,
  model text CHECK (char_length(model) BETWEEN 1 AND 50),
  aspect text CHECK (char_length(aspect) BETWEEN 3 AND 5),
  image_count smallint CHECK (image_count BETWEEN 1 AND 4),
  style_code text CHECK (style_code ~ '^[A-Za-z0-9_-]{1,32}$'),
  -- V1–V4, Reroll and Vary open a form to edit the prompt first.
  remix boolean NOT NULL DEFAULT false,
  updated_at timestamptz NOT NULL DEFAULT now()
);
