-- Which server process holds an idempotency key while its request runs, so a key held by
-- a process that has died (a crash, a kill) is taken over by the next retry at once
-- instead of answering "in flight" until the hold's time runs out.
ALTER TABLE idempotency_keys ADD COLUMN locked_by TEXT;
