-- The two catalog lookups of capture at statement time (an object's anchor, and the schema of an
-- object named without one) are one function, pggit.capture_lookup (engine/capture/capture.sql):
-- the second read again the table the first had found. Their definitions were removed; this
-- drops them from databases that still have them.
DROP FUNCTION IF EXISTS pggit.capture_anchor_of(oid, oid);
DROP FUNCTION IF EXISTS pggit.capture_schema_of(oid, oid);
