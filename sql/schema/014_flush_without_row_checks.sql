-- The capture flush writes live_state and the working changes with one INSERT each, set-based; the
-- foreign keys of those rows (live_state.blob_hash, working.base_blob and new_blob to pggit.blobs,
-- working.ddl_id to pggit.ddl_log) were checked one row at a time, a lookup and a row lock each:
-- about a fifth of the first status after a large load (3 s of 15 at 10,000 tables). Only the
-- engine writes these rows; it stores every definition (pggit.blobs, never deleted) before the rows
-- naming it, in the same statement, and an audit row before the working rows naming it (the audit
-- log keeps its rows; rescan deletes only its own row when it found no change, which no working
-- row names). As ddl_log.query_id, they are kept without a foreign key.
ALTER TABLE pggit.live_state DROP CONSTRAINT IF EXISTS live_state_blob_hash_fkey;
ALTER TABLE pggit.working DROP CONSTRAINT IF EXISTS working_base_blob_fkey;
ALTER TABLE pggit.working DROP CONSTRAINT IF EXISTS working_new_blob_fkey;
ALTER TABLE pggit.working DROP CONSTRAINT IF EXISTS working_ddl_id_fkey;
