-- Lookups the pictures archive needs now that Redis no longer indexes them: the pictures a
-- message shows (/lineage with a message link), a member's requests and pictures for
-- /privacy (requests_user_created and images_user already exist), and a set's children in
-- creation order (the family tree walks down from a parent).
CREATE INDEX images_message ON images (message_id) WHERE message_id IS NOT NULL;
CREATE INDEX images_parent_created ON images (parent_id, created_at) WHERE parent_id IS NOT NULL;
DROP INDEX images_parent;
