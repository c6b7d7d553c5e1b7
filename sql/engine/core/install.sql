-- Installation: the roles' privileges (every time) and the root commit of main, once
-- (sql/install.sql and the loader call pggit.install()).
-- Re-runnable: applied again by the loader whenever this file changes.

CREATE OR REPLACE FUNCTION pggit.install()
RETURNS text
LANGUAGE plpgsql
SET search_path = pg_catalog, pggit
AS $$
DECLARE
    v_tree text;
    v_entries jsonb;
    v_objects pggit.catalog_object[];
    v_now timestamptz := clock_timestamp();
    v_actor text := pggit.current_actor();
    v_hash text;
    v_commit_id bigint;
    v_branch_id bigint;
BEGIN
    -- every load: functions and tables added since get the roles' privileges (core/privileges.sql)
    PERFORM pggit.apply_privileges();
    IF EXISTS (SELECT 1 FROM pggit.head) THEN
        RETURN (SELECT b.head_commit FROM pggit.head h JOIN pggit.branches b ON b.id = h.branch_id);
    END IF;
    -- the live schema read once; its definitions stored with one INSERT (pggit.blobs_put)
    v_objects := ARRAY(SELECT o FROM pggit.live_objects() o);
    PERFORM pggit.blobs_put(v_objects);
    INSERT INTO pggit.live_state (object_key, kind, schema_name, object_name, parent_name, blob_hash,
                                  anchor_classid, anchor_objid)
    SELECT o.object_key, o.kind, o.schema_name, o.object_name, o.parent_name, pggit.sha256_hex(o.definition),
           o.anchor_classid, o.anchor_objid
      FROM unnest(v_objects) o;
    v_entries := pggit.live_state_tree();
    v_tree := pggit.tree_put(v_entries);
    v_hash := pggit.sha256_hex(pggit.commit_payload('{}', v_tree, 'main', v_actor, v_actor, v_now,
                                                    'root', 'Initial schema'));
    INSERT INTO pggit.commits (hash, parents, tree_hash, branch, author, committer, message,
                               committed_at, kind, change_count)
    VALUES (v_hash, '{}', v_tree, 'main', v_actor, v_actor, 'Initial schema', v_now, 'root',
            (SELECT count(*) FROM pggit.live_state))
    RETURNING id INTO v_commit_id;
    INSERT INTO pggit.commit_changes (commit_id, object_key, kind, schema_name, object_name, change, new_blob)
    SELECT v_commit_id, object_key, kind, schema_name, object_name, 'ADDED', blob_hash FROM pggit.live_state;
    INSERT INTO pggit.branches (name, head_commit, base_commit, protected, description)
    VALUES ('main', v_hash, v_hash, true, 'the main line')
    RETURNING id INTO v_branch_id;
    INSERT INTO pggit.head (branch_id) VALUES (v_branch_id);
    PERFORM pggit.emit_event('commit.created', jsonb_build_object(
        'hash', v_hash, 'branch', 'main', 'parents', '[]'::jsonb, 'author', v_actor,
        'message', 'Initial schema', 'kind', 'root',
        'change_count', (SELECT count(*) FROM pggit.live_state)));
    RETURN v_hash;
END;
$$;

-- main cannot be renamed, deleted or unprotected (pggit.branch_delete, branch_rename,
-- branch_protect): it says so. Databases installed when main was created unprotected follow.
UPDATE pggit.branches SET protected = true, updated_at = now()
 WHERE name = 'main' AND status <> 'DELETED' AND NOT protected;
