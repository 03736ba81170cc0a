-- Requests accepted but not yet settled (status still 'queued'): the recovery sweep compares them
-- with the live records in Redis, to find the ones a Redis that lost its data took with it. Only
-- unsettled rows are indexed, so the index stays as small as the queue.
CREATE INDEX requests_awaiting_outcome ON requests (created_at, id) WHERE status = 'queued';
