-- Capture's buffer (engine/capture/capture.sql): the audit rows and ddl.captured events of a
-- transaction's DDL are kept in a transaction-local setting and written in one statement each at
-- the first read that needs them (pggit.capture_flush) or at commit. A transaction that buffered
-- something inserts one row here; the deferred constraint trigger on this table
-- (pggit.capture_spill_at_commit) writes the rest of the buffer at commit and removes the row.
-- Unlogged: a row lives only inside its own transaction.
CREATE UNLOGGED TABLE IF NOT EXISTS pggit.capture_pending (
    txid xid8 NOT NULL DEFAULT pg_current_xact_id()
);
