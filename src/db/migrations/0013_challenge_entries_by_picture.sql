-- A deleted picture (🗑, /privacy) is taken out of the challenge galleries that show it: its
-- entries are found by picture.
CREATE INDEX challenge_entries_image ON challenge_entries (image_id) WHERE gallery_message_id IS NOT NULL;
