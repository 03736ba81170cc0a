-- Style codes, blends and /describe.

-- Every picture has a short style code: the first 10 hex digits of the md5 of its id. It is
-- derived, never stored, so old pictures have one too; lookups repeat this expression word for
-- word (see features/styles/store.ts), or the planner cannot use the index.
CREATE INDEX images_style_code ON images ((substr(md5(id), 1, 10)));

-- A request that drew in another picture's style (--sref): whose style it borrowed, for the
-- family ("style from") and the author's /profile ("styles borrowed"). Written when the request
-- is admitted; only requests that reached Discord count.
CREATE TABLE style_borrows (
  request_id      text PRIMARY KEY,
  style_image_id  text NOT NULL REFERENCES images (id),
  -- The style's author when it was borrowed; NULL once they erased their data (/privacy).
  author_id       text,
  borrower_id     text,
  guild_id        text,
  weight          integer NOT NULL CHECK (weight BETWEEN 0 AND 1000),
  created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX style_borrows_author ON style_borrows (author_id, guild_id) WHERE author_id IS NOT NULL;
CREATE INDEX style_borrows_borrower ON style_borrows (borrower_id) WHERE borrower_id IS NOT NULL;
CREATE INDEX style_borrows_image ON style_borrows (style_image_id);

-- Every parent of a blend, in the order given (the first is also the picture's parent_id).
CREATE TABLE blend_parents (
  request_id  text NOT NULL,
  position    integer NOT NULL CHECK (position BETWEEN 0 AND 4),
  image_id    text NOT NULL REFERENCES images (id),
  PRIMARY KEY (request_id, position)
);
CREATE INDEX blend_parents_image ON blend_parents (image_id);

-- /describe: the four prompts offered for a picture, kept here so that a button names only a
-- suggestion by number and nobody can queue a prompt they wrote into a custom_id.
CREATE TABLE describe_suggestions (
  id           text PRIMARY KEY,
  guild_id     text,
  channel_id   text NOT NULL,
  user_id      text,
  suggestions  text[] NOT NULL CHECK (cardinality(suggestions) BETWEEN 1 AND 4),
  created_at   timestamptz NOT NULL DEFAULT now()
);
