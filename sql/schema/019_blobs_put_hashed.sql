-- The capture flush (engine/capture/capture.sql, pggit.refresh_anchors) stores its definitions in
-- its own statement, with the hashes it compares with live_state, instead of handing an array of
-- the objects to pggit.blobs_put_hashed; pggit.blobs_put hashes its objects itself. This drops
-- blobs_put_hashed from databases that still have it.
DROP FUNCTION IF EXISTS pggit.blobs_put_hashed(pggit.catalog_object[], text[]);
