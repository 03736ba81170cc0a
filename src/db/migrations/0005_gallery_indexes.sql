-- The web gallery's reads. Every listing shows a server's pictures that are neither deleted nor
-- from an age-restricted channel, newest first with the id as a tie-break (keyset paging), so the
-- indexes carry exactly that predicate and order.
CREATE INDEX images_gallery_newest ON images (guild_id, created_at DESC, id DESC)
  WHERE deleted_at IS NULL AND NOT age_restricted;
CREATE INDEX images_gallery_member ON images (guild_id, user_id, created_at DESC, id DESC)
  WHERE deleted_at IS NULL AND NOT age_restricted;
CREATE INDEX images_gallery_model ON images (guild_id, model, created_at DESC, id DESC)
  WHERE deleted_at IS NULL AND NOT age_restricted;
-- Full-text search over prompts ('english': "cats" finds "cat"). The gallery's query repeats
-- this expression word for word, or the planner cannot use the index.
CREATE INDEX images_prompt_search ON images USING gin (to_tsvector('english', coalesce(prompt, '')))
  WHERE deleted_at IS NULL AND NOT age_restricted;
