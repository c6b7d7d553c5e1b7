-- pgGit engine: installs the whole engine into the current database.
--
--     psql -v ON_ERROR_STOP=1 -d <database> -f sql/install.sql
--
-- This file is also the load order: `manage.py migrate` (pggit_project/engine_sql.py) reads the
-- \ir lines below and applies the same files in the same order. Files under schema/ create the
-- tables, indexes and types, and run once in a database; nothing is released, so they are edited
-- in place (a database whose schema files changed since they ran is re-created). Files under
-- engine/ hold functions, triggers and views (CREATE OR REPLACE, DROP TRIGGER IF EXISTS + CREATE
-- TRIGGER) and are applied again whenever their text changes. See docs/engine-internals.md
-- ("Layout of sql/").
\set ON_ERROR_STOP on
BEGIN;

\ir schema/001_schema.sql
-- pggit.invoking_role() and current_actor() come before the tables: columns default to them
\ir engine/core/actor.sql
\ir schema/002_foundation.sql
\ir schema/003_catalog.sql
\ir schema/004_core.sql
\ir schema/005_monitoring.sql
\ir schema/006_alerts.sql
\ir schema/007_webhooks.sql
\ir schema/008_merge_rollback.sql

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
