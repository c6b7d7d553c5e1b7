-- pgGit engine: installs the whole engine into the current database.
--
--     psql -v ON_ERROR_STOP=1 -d <database> -f sql/install.sql
--
-- This file is also the load order: `manage.py migrate` (pggit_project/engine_sql.py) reads the
-- \ir lines below and applies the same files in the same order. Files under schema/ create
-- tables, indexes and types and run once; files under engine/ hold functions, triggers and views
-- (CREATE OR REPLACE, DROP TRIGGER IF EXISTS + CREATE TRIGGER) and are applied again whenever
-- their text changes. A new schema file goes at the end of the schema/ list; a new engine file in
-- its area's place. See docs/engine-internals.md ("Layout of sql/").
\set ON_ERROR_STOP on
BEGIN;

\ir schema/001_schema.sql
-- pggit.current_actor() comes before the tables: their columns default to it
\ir engine/core/actor.sql
\ir schema/002_foundation.sql
\ir schema/003_catalog.sql
\ir schema/004_core.sql
\ir schema/005_monitoring.sql
\ir schema/006_alerts.sql
\ir schema/007_webhooks.sql
\ir schema/008_state_version.sql
\ir schema/009_invoking_role.sql
\ir schema/010_merge_rollback.sql
\ir schema/011_capture_buffer.sql
\ir schema/012_drop_unused_capture.sql
\ir schema/013_drop_per_change_flush.sql
\ir schema/014_flush_without_row_checks.sql
\ir schema/015_capture_lookup.sql
\ir schema/016_plan_as_rows.sql
\ir schema/017_capture_write_json.sql
\ir schema/018_events_unused_index.sql
\ir schema/019_blobs_put_hashed.sql
\ir schema/020_owner_grants.sql

\ir engine/core/foundation.sql
\ir engine/catalog/catalog.sql
\ir engine/catalog/privileges.sql
\ir engine/core/objects.sql
\ir engine/capture/capture.sql
\ir engine/diff/diff.sql
\ir engine/history/history.sql
\ir engine/merge/merge.sql
\ir engine/rollback/rollback.sql
\ir engine/core/install.sql
\ir engine/capture/event_triggers.sql
\ir engine/monitoring/monitoring.sql
\ir engine/monitoring/traces.sql
\ir engine/alerts/alerts.sql
\ir engine/alerts/silences.sql
\ir engine/webhooks/webhooks.sql
\ir engine/cache/announce.sql
\ir engine/cache/state_version.sql
-- the roles pggit_reader and pggit_operator (after every function they are granted)
\ir engine/core/privileges.sql

-- The root commit of main (the schema as it is now), once.
SELECT pggit.install();
COMMIT;
