-- pggit.capture_write (engine/capture/capture.sql) takes its entries as JSON text (json), read
-- by json_to_recordset, instead of jsonb parsed whole first. This drops the jsonb version from
-- databases that still have it.
DROP FUNCTION IF EXISTS pggit.capture_write(jsonb);
