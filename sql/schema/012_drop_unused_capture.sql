-- Functions of an earlier capture path that nothing calls any more (capture now reads the DDL
-- command list once, in pggit.on_ddl_command_end, and buffers its audit rows:
-- docs/engine-internals.md, "Capture in three steps"). Their definitions were removed from
-- engine/capture/capture.sql; this drops them from databases that still have them.
DROP FUNCTION IF EXISTS pggit.capture_command(text, text);
DROP FUNCTION IF EXISTS pggit.command_capture();
DROP FUNCTION IF EXISTS pggit.capture_query_id();
