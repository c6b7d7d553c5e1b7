-- The pggit schema, and the record of which files of sql/ are loaded (the loader's bookkeeping:
-- pggit_project/engine_sql.py and docs/engine-internals.md, "Layout of sql/").

CREATE SCHEMA IF NOT EXISTS pggit;
COMMENT ON SCHEMA pggit IS 'pgGit: version control of this database''s schema';

-- One row per file of sql/schema/ applied (checksum: as it was applied) and per file of
-- sql/engine/ (checksum: of the text last applied; the loader re-applies a file whose text changed).
CREATE TABLE IF NOT EXISTS pggit.sql_files (
    path        text PRIMARY KEY,
    checksum    text NOT NULL,
    applied_at  timestamptz NOT NULL DEFAULT clock_timestamp()
);
