-- The outbox is read by id (the listener, the WebSocket replay, GET /api/v1/events, the lag of the
-- deep health check: id ranges) and by type and id (events_type_id_idx); no query reads it by
-- occurred_at. Its index on occurred_at cost an index entry per event, one per captured DDL
-- statement.
DROP INDEX IF EXISTS pggit.events_occurred_at_idx;
