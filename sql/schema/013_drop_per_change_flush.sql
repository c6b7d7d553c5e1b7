-- Functions of the per-change flush that nothing calls any more: the flush now writes live_state,
-- the working changes and the audit rows' object lists in set-based statements
-- (pggit.flush_anchors, also used by rescan). Their definitions were removed from
-- engine/capture/capture.sql; this drops them from databases that still have them.
DROP FUNCTION IF EXISTS pggit.apply_live_changes(jsonb, boolean, bigint);
DROP FUNCTION IF EXISTS pggit.working_note(text, text, text, text, text, text, text, bigint);
