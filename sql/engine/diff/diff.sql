-- Diff of trees and refs, migration plans (the DDL from one tree to another) and checkout.
-- Re-runnable: applied again by the loader whenever this file changes.

-- The live schema read from the catalogs, as a tree (definitions are stored as blobs).
-- The definitions are read without meta (pggit.live_definitions(): meta's dependency keys are about
-- half the cost of a read) and hashed; only the objects whose definitions are not stored yet are
-- read whole (by their anchors) and stored, with one INSERT (pggit.blobs_put). On a clean tree,
-- or whenever capture has stored the live definitions, nothing is read twice and nothing written.
-- Should the catalogs change between the two reads (DDL committed by another session meanwhile),
-- a definition of the tree may still be missing: the whole schema is then read once more, whole,
-- and that read is the tree.
CREATE OR REPLACE FUNCTION pggit.live_tree()
RETURNS jsonb
LANGUAGE plpgsql
SET search_path = pg_catalog, pggit
AS $$
BEGIN
    RETURN pggit.live_tree_known(NULL);
END;
$$;

-- pggit.live_tree(), given a stored tree (a commit's, or NULL): a live definition whose hash is
-- that tree's entry for the same key is stored already and is not looked up in pggit.blobs (a
-- clean tree's 50,000 lookups were a tenth of diff('HEAD', 'WORKING') at 10,000 tables).
CREATE OR REPLACE FUNCTION pggit.live_tree_known(p_known jsonb)
RETURNS jsonb
LANGUAGE plpgsql
SET search_path = pg_catalog, pggit
AS $$
DECLARE
    v_keys text[];
    v_blobs text[];
BEGIN
    SELECT array_agg(e.key), array_agg(e.value) INTO v_keys, v_blobs FROM jsonb_each_text(p_known) e;
    -- (NULL: the live tree is p_known's, which is returned as it is)
    RETURN coalesce(pggit.live_tree_against(v_keys, v_blobs), p_known);
END;
$$;

-- The live tree against a stored one given as its entries (p_keys[i]'s blob is p_blobs[i]; NULL
-- for none): NULL when the live tree is that tree (the same keys, each with the same blob), else
-- the live tree. A live definition whose hash is the stored entry of its key is stored already
-- and is not looked up in pggit.blobs. A clean tree builds no jsonb object: one of 50,000 keys
-- (sorting them) cost ~55 ms at 10,000 tables, and diff() builds neither its own nor the stored
-- tree's then.
CREATE OR REPLACE FUNCTION pggit.live_tree_against(p_keys text[], p_blobs text[])
RETURNS jsonb
LANGUAGE plpgsql
SET search_path = pg_catalog, pggit
SET work_mem = '64MB'  -- the tree of a whole schema is hashed and aggregated in memory
-- the live rows are joined with the stored entries by a hash join: with live_definitions()
-- estimated at 1,000 rows the planner sorted both sides (50,000 keys each, compared under the
-- database's collation); and no JIT for a statement whose estimate is inflated by that join
SET enable_mergejoin = off
SET jit = off
AS $$
DECLARE
    v_tree jsonb;
    v_keys text[];
    v_hashes text[];
    v_changed bigint;
    v_unseen bigint;
    v_missing jsonb;
    v_read bigint[];
    v_objects pggit.catalog_object[];
BEGIN
    WITH known AS MATERIALIZED (
        SELECT k.key, k.blob FROM unnest(p_keys, p_blobs) AS k(key, blob)
    ), live AS MATERIALIZED (
        SELECT h.object_key, h.hash, k.blob IS DISTINCT FROM h.hash AS changed,
               h.anchor_classid, h.anchor_objid, h.read
          FROM (SELECT d.object_key, pggit.sha256_hex(d.definition) AS hash, d.anchor_classid,
                       d.anchor_objid, d.ordinality AS read
                  FROM pggit.live_definitions() WITH ORDINALITY AS d
                OFFSET 0) h  -- (each hash computed once: pulled up, it was computed for each use)
          LEFT JOIN known k ON k.key = h.object_key
    ), agg AS (
        SELECT array_agg(l.object_key) AS keys, array_agg(l.hash) AS hashes,
               array_agg(l.read) AS read,
               count(*) FILTER (WHERE l.changed) AS changed,
               jsonb_agg(DISTINCT jsonb_build_array(l.anchor_classid, l.anchor_objid))
                   FILTER (WHERE l.changed AND NOT EXISTS (SELECT 1 FROM pggit.blobs b WHERE b.hash = l.hash)) AS missing
          FROM live l
    )
    -- the stored keys that are not live, counted only when every live entry is a stored one (a
    -- count: NOT EXISTS, planned for its first row, was a nested loop scanning the live rows once
    -- per stored key)
    SELECT a.keys, a.hashes, a.read, a.changed,
           CASE WHEN a.changed = 0 AND p_keys IS NOT NULL
                THEN (SELECT count(*) FROM known k
                       WHERE NOT EXISTS (SELECT 1 FROM live l WHERE l.object_key = k.key)) END,
           a.missing
      INTO v_keys, v_hashes, v_read, v_changed, v_unseen, v_missing
      FROM agg a;
    IF v_unseen = 0 THEN
        RETURN NULL;
    END IF;
    -- (jsonb_object of the two arrays in the order live_definitions() read the rows: the object
    -- jsonb_object_agg of the rows gave, where the last of two objects with one key wins; the
    -- join above may have reordered them)
    v_tree := coalesce((SELECT jsonb_object(array_agg(u.key ORDER BY u.read),
                                            array_agg(u.hash ORDER BY u.read))
                          FROM unnest(v_keys, v_hashes, v_read) AS u(key, hash, read)), '{}');
    IF v_missing IS NULL THEN
        RETURN v_tree;
    END IF;
    v_objects := ARRAY(SELECT o FROM pggit.live_objects_of(v_missing) o);
    PERFORM pggit.blobs_put(v_objects);
    IF NOT EXISTS (SELECT 1 FROM jsonb_each_text(v_tree) e
                    WHERE NOT EXISTS (SELECT 1 FROM pggit.blobs b WHERE b.hash = e.value)) THEN
        RETURN v_tree;
    END IF;
    v_objects := ARRAY(SELECT o FROM pggit.live_objects() o);
    PERFORM pggit.blobs_put(v_objects);
    RETURN (SELECT coalesce(jsonb_object_agg(o.object_key, pggit.sha256_hex(o.definition)), '{}')
              FROM unnest(v_objects) o);
END;
$$;

-- What capture knows of the live schema (cheap; equals live_tree() unless capture was bypassed).
CREATE OR REPLACE FUNCTION pggit.live_state_tree()
RETURNS jsonb
LANGUAGE sql STABLE
SET search_path = pg_catalog, pggit
AS $$ SELECT coalesce(jsonb_object_agg(object_key, blob_hash), '{}') FROM pggit.live_state $$;

CREATE OR REPLACE FUNCTION pggit.ref_tree(p_ref text)
RETURNS jsonb
LANGUAGE plpgsql
SET search_path = pg_catalog, pggit
AS $$
BEGIN
    IF upper(btrim(coalesce(p_ref, ''))) = 'WORKING' THEN
        RETURN pggit.live_tree();
    END IF;
    RETURN pggit.commit_tree(pggit.resolve_ref(p_ref));
END;
$$;

-- The changed objects between two trees, with both definitions.
CREATE OR REPLACE FUNCTION pggit.tree_changes(p_from jsonb, p_to jsonb)
RETURNS TABLE (object_type text, schema_name text, object_name text, object_key text, change text,
               before text, after text, parent_name text)
LANGUAGE sql STABLE
SET search_path = pg_catalog, pggit
AS $$
    SELECT coalesce(n.kind, o.kind), coalesce(n.schema_name, o.schema_name),
           coalesce(n.object_name, o.object_name), d.object_key, d.change, o.definition,
           n.definition, coalesce(n.parent_name, o.parent_name)
      FROM pggit.tree_diff(p_from, p_to) d
      LEFT JOIN pggit.blobs o ON o.hash = d.old_blob
      LEFT JOIN pggit.blobs n ON n.hash = d.new_blob
     ORDER BY coalesce(n.schema_name, o.schema_name), coalesce(n.kind, o.kind), d.object_key
$$;

CREATE OR REPLACE FUNCTION pggit.diff(p_from_ref text, p_to_ref text)
RETURNS TABLE (object_type text, schema_name text, object_name text, object_key text, change text,
               before text, after text)
LANGUAGE plpgsql
SET search_path = pg_catalog, pggit
AS $$
#variable_conflict use_column
DECLARE
    v_started timestamptz := clock_timestamp();
    v_n integer := 0;
    v_commit text;
    v_keys text[];
    v_blobs text[];
    v_from jsonb;
    v_to jsonb;
BEGIN
    IF upper(btrim(coalesce(p_to_ref, ''))) = 'WORKING' AND upper(btrim(coalesce(p_from_ref, ''))) <> 'WORKING' THEN
        -- a commit against the live schema: its entries as rows (the subtrees expanded, as
        -- tree_entries() does), no jsonb object built unless the trees differ
        v_commit := pggit.resolve_ref(p_from_ref);
        SELECT array_agg(e.key), array_agg(e.value) INTO v_keys, v_blobs
          FROM pggit.commits c
          JOIN pggit.trees t ON t.hash = c.tree_hash
         CROSS JOIN jsonb_each_text(t.entries) s
          JOIN pggit.subtrees st ON st.hash = s.value
         CROSS JOIN jsonb_each_text(st.entries) e
         WHERE c.hash = v_commit;
        v_to := pggit.live_tree_against(v_keys, v_blobs);
        IF v_to IS NOT NULL THEN
            v_from := pggit.commit_tree(v_commit);
        END IF;
    ELSE
        v_from := pggit.ref_tree(p_from_ref);
        v_to := pggit.ref_tree(p_to_ref);
    END IF;
    -- (v_to NULL: the live tree is the commit's; two equal trees have no change either)
    IF v_to IS NOT NULL AND v_from IS DISTINCT FROM v_to THEN
        RETURN QUERY
        SELECT c.object_type, c.schema_name, c.object_name, c.object_key, c.change, c.before, c.after
          FROM pggit.tree_changes(v_from, v_to) c;
        GET DIAGNOSTICS v_n = ROW_COUNT;
    END IF;
    PERFORM pggit.record_operation('diff', v_started, v_n, 0, NULL, true, NULL,
        jsonb_build_object('from', p_from_ref, 'to', p_to_ref));
END;
$$;

-- Kind order used to break ties between independent steps (creates ascend, drops descend).
CREATE OR REPLACE FUNCTION pggit.kind_rank(p_kind text)
RETURNS integer
LANGUAGE sql IMMUTABLE
SET search_path = pg_catalog
AS $$
    SELECT CASE p_kind
        WHEN 'schema' THEN 0 WHEN 'extension' THEN 1 WHEN 'type' THEN 2 WHEN 'domain' THEN 3
        WHEN 'collation' THEN 2 WHEN 'text_search_dictionary' THEN 2 WHEN 'text_search_configuration' THEN 3
        WHEN 'sequence' THEN 4 WHEN 'function' THEN 5 WHEN 'procedure' THEN 5 WHEN 'aggregate' THEN 6
        WHEN 'operator' THEN 6 WHEN 'cast' THEN 6 WHEN 'statistics' THEN 9
        WHEN 'table' THEN 7 WHEN 'constraint' THEN 8 WHEN 'index' THEN 9 WHEN 'view' THEN 10
        WHEN 'materialized_view' THEN 11 WHEN 'trigger' THEN 12 WHEN 'policy' THEN 13 WHEN 'rule' THEN 13
        WHEN 'comment' THEN 14 WHEN 'privileges' THEN 15 WHEN 'default_privileges' THEN 16 ELSE 15 END
$$;

-- Objects of the `from` tree that must be dropped and re-created because something they depend on
-- is dropped or re-created (transitively), plus views (and functions with SQL-standard bodies)
-- over tables whose columns lose or change.
CREATE OR REPLACE FUNCTION pggit.recreate_closure(p_from jsonb, p_seeds text[])
RETURNS text[]
LANGUAGE sql STABLE
SET search_path = pg_catalog, pggit
AS $$
    WITH RECURSIVE seeds AS MATERIALIZED (
        SELECT coalesce(jsonb_object_agg(k, true), '{}') AS keys FROM unnest(p_seeds) k
    ), fdeps AS MATERIALIZED (  -- read once, not again at each step of the recursion
        -- the seeds are in the closure already: only the other objects' dependencies are read
        -- (dropping everything reads none)
        SELECT e.key AS object_key, d.dep
          FROM jsonb_each_text(p_from) e
          JOIN pggit.blobs b ON b.hash = e.value,
               LATERAL jsonb_array_elements_text(coalesce(b.meta->'deps', '[]')) d(dep)
         WHERE NOT (SELECT seeds.keys FROM seeds) ? e.key
    ), closure(object_key) AS (
        SELECT unnest(p_seeds)
        UNION
        SELECT f.object_key FROM fdeps f JOIN closure c ON f.dep = c.object_key
    )
    SELECT coalesce(array_agg(object_key), '{}') FROM closure
$$;

-- Sequences owned by a table (ALTER SEQUENCE ... OWNED BY in its definition) go when it is dropped.
-- Each table's sequence dependencies are looked up by hash (one index probe each), never joined
-- as a set.
CREATE OR REPLACE FUNCTION pggit.owned_sequences(p_tree jsonb, p_table_keys text[])
RETURNS text[]
LANGUAGE sql STABLE
SET search_path = pg_catalog, pggit
AS $$
    SELECT coalesce(array_agg(DISTINCT d.dep), '{}')
      FROM unnest(p_table_keys) k
      JOIN pggit.blobs t ON t.hash = p_tree->>k AND t.kind = 'table'
      JOIN LATERAL jsonb_array_elements_text(coalesce(t.meta->'deps', '[]')) d(dep) ON d.dep LIKE 'sequence:%'
      JOIN LATERAL (SELECT s.schema_name, s.object_name FROM pggit.blobs s
                     WHERE s.hash = p_tree->>d.dep AND s.kind = 'sequence' OFFSET 0) s ON true
     WHERE k LIKE 'table:%'
       AND position('ALTER SEQUENCE ' || quote_ident(s.schema_name) || '.' || quote_ident(s.object_name)
                    || ' OWNED BY' IN t.definition) > 0
$$;

-- True when a table change drops or retypes a column (views over it must be re-created, and
-- functions whose SQL-standard body reads it).
CREATE OR REPLACE FUNCTION pggit.table_change_is_destructive(p_old jsonb, p_new jsonb)
RETURNS boolean
LANGUAGE sql IMMUTABLE
SET search_path = pg_catalog
AS $$
    SELECT EXISTS (
        SELECT 1 FROM jsonb_array_elements(coalesce(p_old->'columns', '[]')) oc
         WHERE NOT EXISTS (
            SELECT 1 FROM jsonb_array_elements(coalesce(p_new->'columns', '[]')) nc
             WHERE nc->>'name' = oc->>'name' AND nc->>'type' = oc->>'type'
               AND (nc->>'collation') IS NOT DISTINCT FROM (oc->>'collation')))
$$;

-- What the parents of a child table (meta p_meta: partition_of, inherits) give its columns in tree
-- p_tree, for its in-place alteration: {"parent_not_null": [columns NOT NULL in a parent],
-- "parent_defaults": {column: default, or null where it has none}}, a key for each column its
-- parents have (a column without one is not known: its parents dropped or renamed it, or the tree
-- does not have them). A parent's columns are those of its own parents, then its own defaults and
-- NOT NULL (own_defaults, own_not_null), then the columns it declares; a column's default is that
-- of the first parent giving it one, as CREATE TABLE gives it.
DROP FUNCTION IF EXISTS pggit.tree_not_null_columns(jsonb, text);  -- (replaced: NOT NULL only, partitions only)
CREATE OR REPLACE FUNCTION pggit.tree_parent_columns(p_tree jsonb, p_meta jsonb, p_depth integer DEFAULT 0)
RETURNS jsonb
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pggit
AS $$
DECLARE
    v_key text;
    v_meta jsonb;
    v_up jsonb;
    v_cols jsonb;
    v_not_null jsonb := '[]';
    v_defaults jsonb := '{}';
BEGIN
    IF p_depth > 100 THEN  -- (bounded: a hand-made tree could hold a cycle)
        RETURN '{}';
    END IF;
    FOR v_key IN SELECT k FROM (SELECT p_meta->>'partition_of', 0
                                UNION ALL
                                SELECT e.k, e.n FROM jsonb_array_elements_text(coalesce(p_meta->'inherits', '[]'))
                                                     WITH ORDINALITY e(k, n)) x(k, n)
                  WHERE k IS NOT NULL ORDER BY n LOOP
        SELECT b.meta INTO v_meta FROM pggit.blobs b WHERE b.hash = p_tree->>v_key AND b.kind = 'table';
        CONTINUE WHEN v_meta IS NULL;
        v_up := pggit.tree_parent_columns(p_tree, v_meta, p_depth + 1);
        -- (an own default without "default" is none: DROP DEFAULT)
        v_cols := coalesce(v_up->'parent_defaults', '{}')
                  || coalesce((SELECT jsonb_object_agg(e.key, coalesce(e.value->'default', 'null'))
                                 FROM jsonb_each(v_meta->'own_defaults') e), '{}')
                  || coalesce((SELECT jsonb_object_agg(c->>'name', coalesce(c->'default', 'null'))
                                 FROM jsonb_array_elements(coalesce(v_meta->'columns', '[]')) c), '{}');
        -- (an earlier parent's default stays; a later one's is taken where the earlier has none)
        v_defaults := v_defaults
                      || coalesce((SELECT jsonb_object_agg(e.key, e.value) FROM jsonb_each(v_cols) e
                                    WHERE NOT v_defaults ? e.key
                                       OR (v_defaults->e.key = 'null' AND e.value <> 'null')), '{}');
        v_not_null := v_not_null || coalesce(v_up->'parent_not_null', '[]')
                      || coalesce(v_meta->'own_not_null', '[]')
                      || coalesce((SELECT jsonb_agg(c->>'name') FROM jsonb_array_elements(coalesce(v_meta->'columns', '[]')) c
                                    WHERE (c->>'not_null')::boolean), '[]');
    END LOOP;
    RETURN jsonb_build_object('parent_not_null', v_not_null, 'parent_defaults', v_defaults);
END;
$$;

-- The columns of a table altered in place (metas p_old, p_new) whose default its alteration
-- changes with a statement that recurses to its children (pggit._alter_column's SET/DROP DEFAULT
-- and TYPE, pggit._alter_table's own defaults): a JSON array of names.
CREATE OR REPLACE FUNCTION pggit.table_default_recursions(p_old jsonb, p_new jsonb)
RETURNS jsonb
LANGUAGE sql IMMUTABLE
SET search_path = pg_catalog
AS $$
    SELECT coalesce(jsonb_agg(DISTINCT x.col), '[]')
      FROM (SELECT nc->>'name' AS col
              FROM jsonb_array_elements(coalesce(p_new->'columns', '[]')) nc
              JOIN jsonb_array_elements(coalesce(p_old->'columns', '[]')) oc ON oc->>'name' = nc->>'name'
             WHERE (oc->>'default') IS DISTINCT FROM (nc->>'default')
                OR (oc->>'type') IS DISTINCT FROM (nc->>'type')
                OR (oc->>'collation') IS DISTINCT FROM (nc->>'collation')
            UNION
            SELECT e.col
              FROM (SELECT jsonb_object_keys(coalesce(p_old->'own_defaults', '{}'))
                    UNION SELECT jsonb_object_keys(coalesce(p_new->'own_defaults', '{}'))) e(col)
             WHERE p_old->'own_defaults'->e.col IS DISTINCT FROM p_new->'own_defaults'->e.col) x
$$;

-- A table's statement ALTER TABLE t ALTER COLUMN c SET/DROP DEFAULT (or TYPE) recurses to its
-- descendants and takes their own defaults of c (a child's own default is written with ONLY). For
-- each table of p_roots ({table key: [columns]}), the statements that set again, after its own,
-- the own default of each of those columns (own_defaults) of each of its descendants in p_tree
-- (its children, theirs, ...), parents before children, each recursing too: a descendant whose
-- default is its parent's has it from the nearest one set again. Left out: descendants in p_skip
-- ({key: true}: created by the plan, with their own statements), and a child that is a root for
-- the column itself (its own default changes: its alteration, after its parent's since it
-- depends on it, sets it). Rows (root, statements as a JSON array) only for roots that have such
-- descendants; the tree's tables are read once.
CREATE OR REPLACE FUNCTION pggit.tree_default_reapply(p_tree jsonb, p_roots jsonb, p_skip jsonb)
RETURNS TABLE (object_key text, statements jsonb)
LANGUAGE sql STABLE
SET search_path = pg_catalog, pggit
AS $$
    WITH RECURSIVE tabs AS MATERIALIZED (
        -- the tables with a parent
        SELECT e.key, b.meta
          FROM jsonb_each_text(p_tree) e
          JOIN pggit.blobs b ON b.hash = e.value AND b.kind = 'table'
         WHERE e.key LIKE 'table:%'
           AND (b.meta->>'partition_of' IS NOT NULL OR coalesce(b.meta->'inherits', '[]') <> '[]')
    ), kids AS MATERIALIZED (
        SELECT p.parent, t.key AS child
          FROM tabs t,
               LATERAL (SELECT t.meta->>'partition_of'
                        UNION SELECT jsonb_array_elements_text(coalesce(t.meta->'inherits', '[]'))) p(parent)
         WHERE p.parent IS NOT NULL
    ), d(root, key, depth) AS (
        SELECT r.key, k.child, 1 FROM jsonb_object_keys(p_roots) r(key) JOIN kids k ON k.parent = r.key
        UNION
        SELECT d.root, k.child, d.depth + 1 FROM d JOIN kids k ON k.parent = d.key
         WHERE d.depth < 100  -- (bounded: a hand-made tree could hold a cycle)
    ), dd AS (
        -- (a descendant reached on several paths comes after every one of its parents)
        SELECT d.root, d.key, max(d.depth) AS depth FROM d GROUP BY d.root, d.key
    )
    SELECT dd.root,
           jsonb_agg('ALTER TABLE ' || (t.meta->>'identity') || ' ALTER COLUMN ' || quote_ident(c.col)
                     || coalesce(' SET DEFAULT ' || (t.meta->'own_defaults'->c.col->>'default'), ' DROP DEFAULT') || ';'
                     ORDER BY dd.depth, dd.key COLLATE "C", c.col COLLATE "C")
      FROM dd
      JOIN tabs t ON t.key = dd.key,
           LATERAL jsonb_array_elements_text(p_roots->dd.root) c(col)
     WHERE NOT coalesce(p_skip, '{}') ? dd.key AND t.meta->'own_defaults' ? c.col
       -- (a child that sets the column's default itself, a root too, after its parent: its own)
       AND NOT (coalesce(p_roots->dd.key, '[]') ? c.col
                AND EXISTS (SELECT 1 FROM kids k WHERE k.parent = dd.root AND k.child = dd.key))
     GROUP BY dd.root
$$;

-- The steps that turn tree p_from into tree p_to: (step, phase, object, statement), in an order
-- that respects the dependencies of both trees. Objects are altered in place where the kind allows
-- (pggit.sql_alter), otherwise dropped and re-created together with whatever depends on them.
-- Malformed trees and entries naming definitions that are not stored are refused with
-- INVALID_ARGUMENT.
CREATE OR REPLACE FUNCTION pggit.migration_plan(p_from jsonb, p_to jsonb)
RETURNS TABLE (step integer, phase text, object_key text, kind text, statement text)
LANGUAGE plpgsql
SET search_path = pg_catalog, pggit
SET work_mem = '64MB'  -- a whole schema's plan is sorted and hashed in memory, not in temp files
AS $$
#variable_conflict use_column
DECLARE
    v_ch_key text[];       -- the changes as rows: key, change, alter statements (JSON), destructive
    v_ch_change text[];
    v_ch_alter jsonb[];
    v_ch_destructive boolean[];
    v_ch_recursed jsonb[];  -- a table's columns whose default its alteration changes, recursing
    v_roots jsonb;
    v_unknown jsonb;
    v_seeds text[];
    v_destructive text[];
    v_adds boolean;        -- the plan adds an object (other than privileges)
    v_closure text[] := '{}';
    v_owned text[];
    v_in_closure jsonb := '{}';
    v_phase text[];
    v_key text[];
    v_blob text[];
    v_old_blob text[];
    v_alter jsonb[];
BEGIN
    PERFORM pggit.check_tree_argument('from', p_from);
    PERFORM pggit.check_tree_argument('to', p_to);
    -- in-memory copies: a tree read from a table column arrives TOASTed (compressed), and each
    -- lookup below would decompress all of it again (100 s instead of 3 s at 50,000 objects)
    p_from := coalesce(p_from, '{}') || '{}'::jsonb;
    p_to := coalesce(p_to, '{}') || '{}'::jsonb;
    WITH d AS MATERIALIZED (
        SELECT * FROM pggit.tree_diff(p_from, p_to)
    ), o AS MATERIALIZED (
        -- the blob a modified entry replaces, read for those only (a plan that only adds or only
        -- removes would otherwise hash every stored blob for a side it does not have)
        SELECT d.object_key, b.hash, b.kind, b.definition, b.meta
          FROM d JOIN pggit.blobs b ON b.hash = d.old_blob
         WHERE d.change = 'MODIFIED'
    ), ch AS (
        SELECT d.object_key, d.change, d.old_blob, d.new_blob,
               CASE WHEN d.change = 'REMOVED' THEN n.hash ELSE o.hash END AS old_hash,
               -- both sides name stored definitions (or none)
               n.hash IS NOT NULL AND (d.change <> 'MODIFIED' OR o.hash IS NOT NULL) AS known,
               CASE WHEN d.change = 'MODIFIED' AND o.kind = n.kind THEN
                    -- (a child's metas get what its parents give its columns in each tree
                    -- (tree_parent_columns): one that loses its own NOT NULL of a column its parent
                    -- makes NOT NULL must not drop it, the parent's SET NOT NULL, before, gave it to
                    -- the child too; the names of a partition's NOT NULL constraints are compared
                    -- knowing which are its parent's; a column whose default stops being its own
                    -- takes its parent's default)
                    to_jsonb(pggit.sql_alter(o.kind, o.definition,
                        CASE WHEN o.kind = 'table' AND (o.meta->>'partition_of' IS NOT NULL OR o.meta->'inherits' <> '[]')
                                  AND (n.meta->>'partition_of' IS NOT NULL OR n.meta->'inherits' <> '[]')
                             THEN o.meta || pggit.tree_parent_columns(p_from, o.meta)
                             ELSE o.meta END,
                        n.definition,
                        CASE WHEN o.kind = 'table' AND (o.meta->>'partition_of' IS NOT NULL OR o.meta->'inherits' <> '[]')
                                  AND (n.meta->>'partition_of' IS NOT NULL OR n.meta->'inherits' <> '[]')
                             THEN n.meta || pggit.tree_parent_columns(p_to, n.meta)
                             ELSE n.meta END)) END AS alter,
               d.change = 'MODIFIED' AND o.kind = 'table'
                   AND pggit.table_change_is_destructive(o.meta, n.meta) AS destructive,
               CASE WHEN d.change = 'MODIFIED' AND o.kind = 'table' AND n.kind = 'table'
                    THEN pggit.table_default_recursions(o.meta, n.meta) END AS recursed
          FROM d
          -- the entry's blob: the new one, or the old one when the entry is removed
          LEFT JOIN pggit.blobs n ON n.hash = coalesce(d.new_blob, d.old_blob)
          LEFT JOIN o ON o.object_key = d.object_key
    )
    SELECT array_agg(d.object_key) FILTER (WHERE d.known),
           array_agg(d.change) FILTER (WHERE d.known),
           array_agg(d.alter) FILTER (WHERE d.known),
           array_agg(d.destructive) FILTER (WHERE d.known),
           array_agg(d.recursed) FILTER (WHERE d.known),
           (array_agg(jsonb_build_array(CASE WHEN d.old_hash IS NULL AND d.old_blob IS NOT NULL
                                             THEN 'from' ELSE 'to' END, d.object_key,
                                        CASE WHEN d.old_hash IS NULL AND d.old_blob IS NOT NULL
                                             THEN d.old_blob ELSE d.new_blob END)
                      ORDER BY d.object_key)
               FILTER (WHERE NOT d.known))[1]
      INTO v_ch_key, v_ch_change, v_ch_alter, v_ch_destructive, v_ch_recursed, v_unknown
      FROM ch d;
    IF v_unknown IS NOT NULL THEN
        PERFORM pggit.raise_error('INVALID_ARGUMENT',
            format('%s: the entry %L names no stored definition (%s)', v_unknown->>0, v_unknown->>1,
                   v_unknown->>2));
    END IF;

    -- seeds: removed objects, objects that cannot be altered in place, views and functions with
    -- SQL-standard bodies (PostgreSQL records their dependencies: plain bodies name no table)
    -- over tables that lose or retype a column (the tree is read for those only when a table
    -- change is destructive)
    SELECT coalesce(array_agg(c.key) FILTER (WHERE c.change = 'REMOVED'
                        OR (c.change = 'MODIFIED' AND jsonb_typeof(c.alter) IS DISTINCT FROM 'array')), '{}'),
           coalesce(array_agg(c.key) FILTER (WHERE c.destructive), '{}'),
           coalesce(bool_or(c.change = 'ADDED' AND c.key NOT LIKE '%privileges:%'), false)
      INTO v_seeds, v_destructive, v_adds
      FROM unnest(v_ch_key, v_ch_change, v_ch_alter, v_ch_destructive) AS c(key, change, alter, destructive);
    IF cardinality(v_destructive) > 0 THEN
        SELECT v_seeds || coalesce(array_agg(e.key), '{}') INTO v_seeds
          FROM jsonb_each_text(p_from) e
          JOIN pggit.blobs b ON b.hash = e.value
                            AND b.kind IN ('view', 'materialized_view', 'function', 'procedure')
         WHERE b.meta->'deps' ?| v_destructive;
    END IF;
    IF cardinality(v_seeds) > 0 THEN
        v_closure := pggit.recreate_closure(p_from, v_seeds);
        SELECT coalesce(jsonb_object_agg(k, true), '{}') INTO v_in_closure FROM unnest(v_closure) k;
        -- sequences that tables of the closure own go with them: looked for only when p_from has
        -- a sequence outside the closure (dropping everything has none)
        IF EXISTS (SELECT 1 FROM jsonb_object_keys(p_from) k
                    WHERE k LIKE 'sequence:%' AND NOT v_in_closure ? k) THEN
            v_owned := pggit.owned_sequences(p_from, v_closure);
            IF EXISTS (SELECT 1 FROM unnest(v_owned) k WHERE NOT v_in_closure ? k) THEN
                v_closure := pggit.recreate_closure(p_from, v_closure || v_owned);
                SELECT coalesce(jsonb_object_agg(k, true), '{}') INTO v_in_closure FROM unnest(v_closure) k;
            END IF;
        END IF;
    END IF;
    -- default privileges apply to every object created while they exist: a plan that creates
    -- objects takes them away first and sets them again last (plan_order), so that a created
    -- object gets exactly the privileges its tree gives it (docs/engine-catalog.md, "Privileges")
    IF v_adds OR EXISTS (SELECT 1 FROM unnest(v_closure) k WHERE p_to ? k) THEN
        v_closure := v_closure || ARRAY(SELECT k FROM jsonb_object_keys(p_from) k
                                         WHERE k LIKE 'default\_privileges:%' AND NOT v_in_closure ? k);
        SELECT coalesce(jsonb_object_agg(k, true), '{}') INTO v_in_closure FROM unnest(v_closure) k;
    END IF;

    -- a table altered in place whose statements change a column's default recursing to its
    -- children (a parent's SET/DROP DEFAULT, a type change, a child's own default) takes their own
    -- defaults: its descendants' own defaults of those columns in p_to are set again after its
    -- statements, also where their definitions did not change (pggit.tree_default_reapply; not
    -- those the plan creates). The tree's tables are read only when there is such a table
    SELECT jsonb_object_agg(c.key, c.recursed) INTO v_roots
      FROM unnest(v_ch_key, v_ch_alter, v_ch_recursed) AS c(key, alter, recursed)
     WHERE jsonb_typeof(c.alter) = 'array' AND c.recursed <> '[]' AND NOT v_in_closure ? c.key;
    IF v_roots IS NOT NULL THEN
        SELECT array_agg(CASE WHEN r.statements IS NULL THEN c.alter ELSE c.alter || r.statements END ORDER BY c.n)
          INTO v_ch_alter
          FROM unnest(v_ch_key, v_ch_alter) WITH ORDINALITY AS c(key, alter, n)
          LEFT JOIN pggit.tree_default_reapply(
                        p_to, v_roots,
                        v_in_closure || coalesce((SELECT jsonb_object_agg(a.key, true)
                                                    FROM unnest(v_ch_key, v_ch_change) AS a(key, change)
                                                   WHERE a.change = 'ADDED' AND a.key LIKE 'table:%'), '{}')) r
                 ON r.object_key = c.key;
    END IF;

    -- the actions as rows (parallel arrays), in no particular order: plan_order orders
    SELECT array_agg(s.phase), array_agg(s.key), array_agg(s.blob), array_agg(s.old_blob),
           array_agg(s.alter)
      INTO v_phase, v_key, v_blob, v_old_blob, v_alter
      FROM (
        SELECT 'drop' AS phase, k AS key, p_from->>k AS blob, NULL::text AS old_blob, NULL::jsonb AS alter
          FROM unnest(v_closure) k WHERE p_from ? k
        UNION ALL
        SELECT 'create', k, p_to->>k, NULL, NULL
          FROM unnest(v_closure) k WHERE p_to ? k
        UNION ALL
        SELECT CASE c.change WHEN 'ADDED' THEN 'create' ELSE 'alter' END, c.key, p_to->>c.key,
               CASE c.change WHEN 'MODIFIED' THEN p_from->>c.key END,
               CASE c.change WHEN 'MODIFIED' THEN c.alter END
          FROM unnest(v_ch_key, v_ch_change, v_ch_alter) AS c(key, change, alter)
         WHERE c.change IN ('ADDED', 'MODIFIED') AND NOT v_in_closure ? c.key
      ) s;

    RETURN QUERY SELECT * FROM pggit.plan_order(v_phase, v_key, v_blob, v_old_blob, v_alter);
END;
$$;

-- Orders plan actions: a topological sort over the dependency edges (levels by longest path),
-- then drops before alters before creates, then kind, then key. Statements come from the catalog
-- layer's DDL generators.
-- The actions arrive as rows: parallel arrays, action a being element a of each (phase, key, blob,
-- the blob an alter replaces, an alter's statements), read by unnest (never by subscript: an
-- array of text passed into a query is flat, and p_key[i] walks it from the start).
-- Linear in actions and edges: each action's blob is read once, and its statements are generated
-- in the one statement that finds the edges (the definitions and meta go no further: the
-- statements leave it as parallel arrays with their action, phase, key and kind); the edges are
-- found by looking keys up in JSON maps, once (no join between sets whose size the planner cannot
-- know: with the arrays' sizes known, hash joins were 3 times slower at 50,000 actions, and
-- without them quadratic); the levels by Kahn's algorithm over
-- integer arrays (adjacency in compressed rows). A cycle (which pg_depend does not produce between
-- the objects the engine tracks, but a hand-made tree could hold) is broken at its first member in
-- the tie-break order: it is placed as if its remaining dependencies were met.
CREATE OR REPLACE FUNCTION pggit.plan_order(p_phase text[], p_key text[], p_blob text[],
                                            p_old_blob text[], p_alter jsonb[])
RETURNS TABLE (step integer, phase text, object_key text, kind text, statement text)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pggit
SET work_mem = '64MB'  -- a whole schema's plan is sorted and hashed in memory, not in temp files
SET jit = off  -- the inlined generators make the estimate huge: compiling took longer than running
AS $$
#variable_conflict use_column
DECLARE
    v_n integer := coalesce(cardinality(p_key), 0);
    v_before integer[];
    v_after integer[];
    v_name_before integer[];  -- the edges between holders of identity sequence names (nedge)
    v_name_after integer[];
    -- a table's identity sequence may pass its name to another's: something dropped or altered,
    -- and something created or altered
    v_idn boolean := 'alter' = ANY (p_phase) OR ('drop' = ANY (p_phase) AND 'create' = ANY (p_phase));
    v_unmark boolean := 'alter' = ANY (p_phase);  -- an alter may take the mark CLUSTER uses off
    v_rank integer[];      -- tie-break order of each action (1-based aid), when a cycle needs it
    v_found integer;       -- actions whose blob is stored
    v_st_aid integer[];    -- the statements as rows: action, position in its action, phase, key,
    v_st_n integer[];      -- kind, text (in no particular order: the last query orders them)
    v_st_phase text[];
    v_st_key text[];
    v_st_kind text[];
    v_st_krank integer[];  -- the kind's rank, negated for drops (pggit.kind_rank)
    v_st_text text[];
    v_indeg integer[];
    v_start integer[];     -- adjacency: successors of a are v_adj[v_start[a] .. v_start[a + 1] - 1]
    v_adj integer[];
    v_level integer[];
    v_frontier integer[];
    v_next integer[];
    v_placed integer := 0;
    v_depth integer := 0;
    v_a integer;
    v_b integer;
    v_i integer;
    v_e integer;
BEGIN
    IF v_n = 0 THEN
        RETURN;
    END IF;
    -- one statement, each blob read once: each action's statements (with its kind's rank, for
    -- the tie-break order: phase, kind, key); the edges (before, after) between actions, found by
    -- looking keys up in the maps {key: aid} of drops, of creates and alters, and of alters
    -- (aid = 1-based position in the arrays; a rule whose map is empty reads no dependencies)
    WITH act AS MATERIALIZED (
        SELECT a.aid::integer AS aid, a.phase, a.key, b.kind, coalesce(b.meta->'deps', '[]') AS deps,
               -- (for drops: what a table's DROP also drops, and what must go before a constraint)
               CASE WHEN a.phase = 'drop' AND b.kind = 'sequence' THEN b.meta->>'identity' END AS ident,
               CASE WHEN a.phase = 'drop' AND b.kind = 'table' THEN b.meta->'owned_sequences' END AS owned,
               CASE WHEN a.phase = 'drop' AND b.kind = 'constraint' THEN b.meta->'parent_constraints' END
                   AS parent_constraints,
               -- the dependencies an alter's object had: the old blob is read for alters only
               CASE WHEN a.old_blob IS NOT NULL
                    THEN coalesce((SELECT ob.meta->'deps' FROM pggit.blobs ob WHERE ob.hash = a.old_blob), '[]')
                    END AS old_deps,
               -- the names of a table's identity sequences (its blob's and, altered, its old
               -- blob's), when the plan may pass one from a table to another (v_idn): each
               -- column's identity_sequence, or the name pggit._identity_default_sequence gives
               CASE WHEN v_idn AND b.kind = 'table' THEN
                   ARRAY(SELECT coalesce(c->>'identity_sequence',
                                         quote_ident((parse_ident(b.meta->>'identity'))[1]) || '.'
                                         || quote_ident((parse_ident(b.meta->>'identity'))[2] || '_'
                                                        || (c->>'name') || '_seq'))
                           FROM jsonb_array_elements(b.meta->'columns') c WHERE c->>'identity' IS NOT NULL)
                   END AS id_names,
               CASE WHEN v_idn AND b.kind = 'table' AND a.old_blob IS NOT NULL THEN
                   ARRAY(SELECT coalesce(c->>'identity_sequence',
                                         quote_ident((parse_ident(ob.meta->>'identity'))[1]) || '.'
                                         || quote_ident((parse_ident(ob.meta->>'identity'))[2] || '_'
                                                        || (c->>'name') || '_seq'))
                           FROM pggit.blobs ob, jsonb_array_elements(ob.meta->'columns') c
                          WHERE ob.hash = a.old_blob AND c->>'identity' IS NOT NULL)
                   END AS old_id_names,
               -- the table of an index or constraint created or altered, when an alter may take
               -- the mark CLUSTER uses off (pggit._alter_cluster)
               CASE WHEN v_unmark AND b.kind IN ('index', 'constraint') AND a.phase <> 'drop'
                    THEN b.meta->>'table_key' END AS cluster_table,
               CASE a.phase
                   WHEN 'drop' THEN pggit.sql_drop(b.kind, a.key, b.meta)
                   WHEN 'create' THEN pggit.sql_create(b.kind, b.definition, b.meta)
                   ELSE ARRAY(SELECT jsonb_array_elements_text(a.alter_stmts)) END AS stmts
          FROM unnest(p_phase, p_key, p_blob, p_old_blob, p_alter)
               WITH ORDINALITY AS a(phase, key, blob, old_blob, alter_stmts, aid)
          JOIN pggit.blobs b ON b.hash = a.blob
    ), seqs AS MATERIALIZED (
        -- the dropped sequences {quoted name: key}
        SELECT coalesce(jsonb_object_agg(act.ident, act.key), '{}') AS by_name
          FROM act WHERE act.phase = 'drop' AND act.kind = 'sequence' AND act.ident IS NOT NULL
    ), owned AS MATERIALIZED (
        -- the dropped sequences that a dropped table owns (its DROP TABLE drops them too):
        -- {sequence key: that table's action}
        SELECT coalesce(jsonb_object_agg(q.by_name->>(os->>'sequence'), act.aid), '{}') AS by_key
          FROM seqs q, act, LATERAL jsonb_array_elements(act.owned) os
         WHERE q.by_name <> '{}' AND act.phase = 'drop' AND act.kind = 'table'
           AND jsonb_typeof(act.owned) = 'array' AND q.by_name ? (os->>'sequence')
    ), kinds AS MATERIALIZED (  -- one call per kind, not per action
        SELECT k.kind, pggit.kind_rank(k.kind) AS r FROM (SELECT DISTINCT act.kind FROM act) k
    ), maps AS MATERIALIZED (
        SELECT coalesce(jsonb_object_agg(act.key, act.aid) FILTER (WHERE act.phase = 'drop'), '{}') AS drops,
               coalesce(jsonb_object_agg(act.key, act.aid) FILTER (WHERE act.phase IN ('create', 'alter')), '{}') AS makes,
               coalesce(jsonb_object_agg(act.key, act.aid) FILTER (WHERE act.phase = 'alter'), '{}') AS alters
          FROM act
    ), idn AS MATERIALIZED (
        -- the identity sequence names (pggit._identity_sequences) a table action frees (a dropped
        -- table's; those an alter renames away or drops) and needs (a created table's, explicit or
        -- default; those an alter renames to or adds): the name is not free while the from-tree's
        -- relation holds it (CREATE TABLE would number the default name, or fail on an explicit one)
        SELECT act.aid,
               CASE act.phase WHEN 'drop' THEN act.id_names
                              WHEN 'alter' THEN ARRAY(SELECT unnest(act.old_id_names) EXCEPT SELECT unnest(act.id_names))
                              ELSE '{}' END AS frees,
               CASE act.phase WHEN 'create' THEN act.id_names
                              WHEN 'alter' THEN ARRAY(SELECT unnest(act.id_names) EXCEPT SELECT unnest(act.old_id_names))
                              ELSE '{}' END AS needs
          FROM act
         WHERE v_idn AND (act.id_names <> '{}' OR act.old_id_names <> '{}')
    ), nedge(before, after) AS MATERIALIZED (
        -- the action freeing an identity sequence's name before the one needing it (an in-place
        -- rename chain included: q -> q_old before t2_id_seq -> q)
        SELECT (f.by_name->>nd.name)::integer, idn.aid
          FROM (SELECT coalesce(jsonb_object_agg(fr.name, idn.aid), '{}') AS by_name
                  FROM idn, unnest(idn.frees) fr(name)) f,
               idn, unnest(idn.needs) nd(name)
         WHERE f.by_name <> '{}' AND f.by_name ? nd.name AND (f.by_name->>nd.name)::integer <> idn.aid
    ), unmark AS MATERIALIZED (
        -- the alters taking the mark CLUSTER uses off a table: {table key: action}
        SELECT coalesce(jsonb_object_agg(act.cluster_table, act.aid), '{}') AS by_table
          FROM act
         WHERE v_unmark AND act.phase = 'alter' AND act.cluster_table IS NOT NULL
           AND act.stmts[cardinality(act.stmts)] LIKE '% SET WITHOUT CLUSTER;'
    ), edge(before, after) AS (
        SELECT nedge.before, nedge.after FROM nedge
        UNION ALL
        -- SET WITHOUT CLUSTER before every create or alter of an index or constraint of its
        -- table: any of them may mark one of its indexes
        SELECT (u.by_table->>act.cluster_table)::integer, act.aid
          FROM unmark u, act
         WHERE u.by_table <> '{}' AND u.by_table ? act.cluster_table
        UNION ALL
        -- drop a before drop b when a depended on b
        SELECT act.aid, (m.drops->>d.dep)::integer
          FROM maps m, act, LATERAL jsonb_array_elements_text(act.deps) d(dep)
         WHERE m.drops <> '{}' AND act.phase = 'drop' AND m.drops ? d.dep
        UNION ALL
        -- create/alter of b before create/alter of a when a depends on b
        SELECT (m.makes->>d.dep)::integer, act.aid
          FROM maps m, act, LATERAL jsonb_array_elements_text(act.deps) d(dep)
         WHERE m.makes <> '{}' AND act.phase IN ('create', 'alter') AND m.makes ? d.dep AND d.dep <> act.key
        UNION ALL
        -- an alter that stops using b comes before b is dropped
        SELECT act.aid, (m.drops->>d.dep)::integer
          FROM maps m, act, LATERAL jsonb_array_elements_text(act.old_deps) d(dep)
         WHERE m.drops <> '{}' AND act.phase = 'alter' AND m.drops ? d.dep
        UNION ALL
        -- a dropped object that used a is dropped before a is altered
        SELECT act.aid, (m.alters->>d.dep)::integer
          FROM maps m, act, LATERAL jsonb_array_elements_text(act.deps) d(dep)
         WHERE m.alters <> '{}' AND act.phase = 'drop' AND m.alters ? d.dep
        UNION ALL
        -- a dropped object using a sequence that a dropped table owns (another table's default)
        -- is dropped before that table, whose DROP takes the sequence with it
        SELECT act.aid, (w.by_key->>d.dep)::integer
          FROM owned w, act, LATERAL jsonb_array_elements_text(act.deps) d(dep)
         WHERE w.by_key <> '{}' AND act.phase = 'drop'
           -- (what can use a sequence: a default, a standard function body, a view's query)
           AND act.kind IN ('table', 'function', 'procedure', 'view', 'materialized_view')
           AND d.dep LIKE 'sequence:%' AND w.by_key ? d.dep
           AND act.aid <> (w.by_key->>d.dep)::integer
        UNION ALL
        -- a constraint also inherited from a parent is dropped after the parent's of its name
        SELECT (m.drops->>pc.key)::integer, act.aid
          FROM maps m, act, LATERAL jsonb_array_elements_text(act.parent_constraints) pc(key)
         WHERE m.drops <> '{}' AND act.phase = 'drop' AND jsonb_typeof(act.parent_constraints) = 'array'
           AND m.drops ? pc.key
        UNION ALL
        -- re-created objects: drop before create
        SELECT act.aid, (m.makes->>act.key)::integer
          FROM maps m, act
         WHERE m.makes <> '{}' AND act.phase = 'drop' AND m.makes ? act.key
    )
    SELECT (SELECT count(*) FROM act), e.befores, e.afters,
           (SELECT coalesce(array_agg(nedge.before), '{}') FROM nedge),
           (SELECT coalesce(array_agg(nedge.after), '{}') FROM nedge),
           st.aids, st.ns, st.phases, st.keys, st.kinds, st.kranks, st.texts
      INTO v_found, v_before, v_after, v_name_before, v_name_after,
           v_st_aid, v_st_n, v_st_phase, v_st_key, v_st_kind, v_st_krank, v_st_text
      FROM (SELECT coalesce(array_agg(e.before ORDER BY e.before, e.after), '{}') AS befores,
                   coalesce(array_agg(e.after ORDER BY e.before, e.after), '{}') AS afters
              FROM (SELECT DISTINCT edge.before, edge.after FROM edge WHERE edge.before <> edge.after) e) e,
           -- one aggregate pass: the arrays are parallel (each row feeds every aggregate)
           (SELECT array_agg(act.aid) AS aids, array_agg(s.n::integer) AS ns,
                   array_agg(act.phase) AS phases, array_agg(act.key) AS keys, array_agg(act.kind) AS kinds,
                   array_agg(CASE WHEN act.phase = 'drop' THEN -kinds.r ELSE kinds.r END) AS kranks,
                   array_agg(s.stmt) AS texts
              FROM act JOIN kinds ON kinds.kind = act.kind,
                   unnest(act.stmts) WITH ORDINALITY AS s(stmt, n)) st;
    IF v_found <> v_n THEN
        PERFORM pggit.raise_error('INVALID_ARGUMENT', 'plan_order: an action names no stored definition');
    END IF;

    -- compressed adjacency (edges are sorted by before) and in-degrees
    v_indeg := array_fill(0, ARRAY[v_n]);
    v_level := array_fill(-1, ARRAY[v_n]);
    v_start := array_fill(0, ARRAY[v_n + 1]);
    v_adj := v_after;
    v_e := coalesce(cardinality(v_before), 0);
    v_i := 1;
    FOR v_a IN 1 .. v_n + 1 LOOP
        v_start[v_a] := v_i;
        WHILE v_i <= v_e AND v_before[v_i] = v_a LOOP
            v_i := v_i + 1;
        END LOOP;
    END LOOP;
    FOR v_i IN 1 .. v_e LOOP
        v_b := v_after[v_i];
        v_indeg[v_b] := v_indeg[v_b] + 1;
    END LOOP;
    v_frontier := '{}';
    FOR v_a IN 1 .. v_n LOOP
        IF v_indeg[v_a] = 0 THEN
            v_frontier := v_frontier || v_a;
        END IF;
    END LOOP;
    -- Kahn by levels: an action's level is the length of the longest dependency path to it
    LOOP
        IF cardinality(v_frontier) = 0 THEN
            EXIT WHEN v_placed = v_n;
            -- identity sequences whose names go round (a swap, q <-> q2): each rename would find
            -- its name taken, whichever runs first. Refused, naming the tables
            IF EXISTS (SELECT 1 FROM unnest(v_name_before, v_name_after) e(b, a)
                        WHERE v_level[e.b] < 0 AND v_level[e.a] < 0) THEN
                PERFORM pggit.raise_error('INVALID_ARGUMENT',
                    'identity sequence names exchanged between '
                    || (SELECT string_agg(DISTINCT k.key, ' and ' ORDER BY k.key)
                          FROM unnest(v_name_before, v_name_after) e(b, a),
                               unnest(p_key) WITH ORDINALITY k(key, aid)
                         WHERE v_level[e.b] < 0 AND v_level[e.a] < 0 AND k.aid IN (e.b, e.a))
                    || ': renaming either sequence first finds its name taken, so this change cannot be applied',
                    'make such an exchange in two commits (first one sequence renamed to a name neither has); '
                    'a commit that already holds one cannot be checked out across');
            END IF;
            -- a cycle: release its first unplaced action in the tie-break order (phase, kind, key;
            -- computed at the first cycle: the blobs are read again for the kinds)
            IF v_rank IS NULL THEN
                WITH a AS MATERIALIZED (
                    SELECT a.aid::integer AS aid, a.phase, a.key, b.kind
                      FROM unnest(p_phase, p_key, p_blob) WITH ORDINALITY AS a(phase, key, blob, aid)
                      JOIN pggit.blobs b ON b.hash = a.blob
                ), kinds AS MATERIALIZED (
                    SELECT k.kind, pggit.kind_rank(k.kind) AS r FROM (SELECT DISTINCT a.kind FROM a) k
                )
                SELECT array_agg(r.rank ORDER BY r.aid) INTO v_rank
                  FROM (SELECT a.aid, row_number() OVER (ORDER BY
                               CASE a.phase WHEN 'drop' THEN 0 WHEN 'alter' THEN 1 ELSE 2 END,
                               CASE WHEN a.phase = 'drop' THEN -kinds.r ELSE kinds.r END,
                               a.key COLLATE "C")::integer AS rank
                          FROM a JOIN kinds ON kinds.kind = a.kind) r;
            END IF;
            SELECT u.aid INTO v_a FROM unnest(v_level) WITH ORDINALITY AS u(lvl, aid)
             WHERE u.lvl < 0 ORDER BY v_rank[u.aid] LIMIT 1;
            v_indeg[v_a] := 0;
            v_frontier := ARRAY[v_a];
        END IF;
        v_next := '{}';
        FOREACH v_a IN ARRAY v_frontier LOOP
            CONTINUE WHEN v_level[v_a] >= 0;
            v_level[v_a] := v_depth;
            v_placed := v_placed + 1;
            FOR v_i IN v_start[v_a] .. v_start[v_a + 1] - 1 LOOP
                v_b := v_adj[v_i];
                IF v_level[v_b] < 0 THEN
                    v_indeg[v_b] := v_indeg[v_b] - 1;
                    IF v_indeg[v_b] = 0 THEN
                        v_next := v_next || v_b;
                    END IF;
                END IF;
            END LOOP;
        END LOOP;
        v_frontier := v_next;
        v_depth := v_depth + 1;
    END LOOP;

    RETURN QUERY
    SELECT (row_number() OVER (ORDER BY
                -- default privileges are dropped first and created last, so that they never
                -- add grants to the objects the plan creates (as pg_dump orders them)
                CASE WHEN s.kind = 'default_privileges'
                     THEN CASE WHEN s.phase = 'drop' THEN -1 ELSE 2147483647 END
                     ELSE v_level[s.aid] END,
                -- then the tie-break order: phase, kind, key
                CASE s.phase WHEN 'drop' THEN 0 WHEN 'alter' THEN 1 ELSE 2 END, s.krank, s.key COLLATE "C",
                s.n))::integer, s.phase, s.key, s.kind, s.stmt
      FROM unnest(v_st_aid, v_st_n, v_st_phase, v_st_key, v_st_kind, v_st_krank, v_st_text)
           AS s(aid, n, phase, key, kind, krank, stmt)
     -- the window's own order (the step order), so that the rows are not sorted a second time
     ORDER BY CASE WHEN s.kind = 'default_privileges'
                   THEN CASE WHEN s.phase = 'drop' THEN -1 ELSE 2147483647 END
                   ELSE v_level[s.aid] END,
              CASE s.phase WHEN 'drop' THEN 0 WHEN 'alter' THEN 1 ELSE 2 END, s.krank, s.key COLLATE "C", s.n;
END;
$$;

-- A migration plan as one JSON array of its rows ({step, phase, object_key, kind, statement}, in
-- step order): computed once, then read by the script, the data-loss check and the apply.
CREATE OR REPLACE FUNCTION pggit.migration_plan_json(p_from jsonb, p_to jsonb)
RETURNS jsonb
LANGUAGE sql
SET search_path = pg_catalog, pggit
AS $$
    SELECT coalesce(jsonb_agg(to_jsonb(p) ORDER BY p.step), '[]')
      FROM pggit.migration_plan(p_from, p_to) p
$$;

-- A plan's script from its statements in step order (a script is made from the plan's rows, never
-- through its JSON: 50,000 statements are not aggregated into JSON only to be taken apart again).
CREATE OR REPLACE FUNCTION pggit.plan_script(p_from_label text, p_to_label text, p_statements text[])
RETURNS text
LANGUAGE sql IMMUTABLE
SET search_path = pg_catalog, pggit
AS $$
    SELECT format(E'-- pgGit migration: %s -> %s\n', p_from_label, p_to_label)
        -- as in pg_dump's scripts: function bodies may name objects created after them
        || CASE WHEN count(*) > 0 THEN E'SET check_function_bodies = false;\n\n' ELSE '' END
        || coalesce(string_agg(CASE WHEN right(p.statement, 1) = ';' THEN p.statement  -- most: rtrim is a no-op
                                    WHEN right(rtrim(p.statement), 1) = ';' THEN rtrim(p.statement)
                                    ELSE rtrim(p.statement) || ';' END, E'\n\n' ORDER BY p.n), '-- no changes')
        || E'\n'
      FROM unnest(p_statements) WITH ORDINALITY AS p(statement, n)
$$;

-- The statements of a plan computed and kept as JSON (pggit.migration_plan_json), in step order.
CREATE OR REPLACE FUNCTION pggit.plan_statements(p_plan jsonb)
RETURNS text[]
LANGUAGE sql IMMUTABLE
SET search_path = pg_catalog, pggit
AS $$
    SELECT ARRAY(SELECT p.statement FROM jsonb_to_recordset(coalesce(p_plan, '[]')) AS p(step integer, statement text)
                  ORDER BY p.step)
$$;

CREATE OR REPLACE FUNCTION pggit.script_text(p_from_label text, p_to_label text, p_from jsonb, p_to jsonb)
RETURNS text
LANGUAGE sql
SET search_path = pg_catalog, pggit
AS $$
    SELECT pggit.plan_script(p_from_label, p_to_label,
                             ARRAY(SELECT p.statement FROM pggit.migration_plan(p_from, p_to) p ORDER BY p.step))
$$;

CREATE OR REPLACE FUNCTION pggit.diff_script(p_from_ref text, p_to_ref text)
RETURNS text
LANGUAGE plpgsql
SET search_path = pg_catalog, pggit
AS $$
DECLARE
    v_started timestamptz := clock_timestamp();
    v_script text;
BEGIN
    v_script := pggit.script_text(p_from_ref, p_to_ref, pggit.ref_tree(p_from_ref), pggit.ref_tree(p_to_ref));
    PERFORM pggit.record_operation('diff_script', v_started, 0, 0, NULL, true, NULL,
        jsonb_build_object('from', p_from_ref, 'to', p_to_ref));
    RETURN v_script;
END;
$$;

-- The data-destroying steps of going from p_from to p_to in the live database: each finding names
-- a relation (and column) that holds data the plan would destroy.
-- (pggit.plan_data_loss reads a plan already computed: pggit.migration_plan_json of p_from, p_to.)
-- The relations are read as the caller (the function is not SECURITY DEFINER): a role that may not
-- read a relation the plan drops or changes destructively is refused before anything is changed
-- (pggit.data_loss_readable), rather than told by the engine's owner whether it holds data.
CREATE OR REPLACE FUNCTION pggit.plan_data_loss(p_plan jsonb, p_from jsonb, p_to jsonb)
RETURNS TABLE (check_name text, level text, message text)
LANGUAGE plpgsql
SET search_path = pg_catalog, pggit
AS $$
#variable_conflict use_column
DECLARE
    r record;
    v_has_data boolean;
BEGIN
    FOR r IN
        SELECT DISTINCT p.object_key, b.kind, l.*
          FROM (SELECT x.phase, x.object_key
                  FROM jsonb_to_recordset(coalesce(p_plan, '[]')) AS x(phase text, object_key text)
                UNION
                -- a typed table of a type the plan alters: the type's ALTER ... CASCADE drops and
                -- retypes its columns, which its own step (if it has one) does not (the tree is
                -- read only when the plan alters a type)
                SELECT 'alter', e.key
                  FROM jsonb_each_text(p_from) e
                  JOIN pggit.blobs tb ON tb.hash = e.value
                 WHERE EXISTS (SELECT 1 FROM jsonb_to_recordset(coalesce(p_plan, '[]')) AS y(phase text, kind text)
                                WHERE y.phase = 'alter' AND y.kind = 'type')
                   AND tb.kind = 'table' AND tb.meta ? 'of_type' AND p_to ? e.key) p
          JOIN pggit.blobs b ON b.hash = p_from->>p.object_key
          LEFT JOIN pggit.blobs n ON n.hash = p_to->>p.object_key,
               LATERAL pggit.sql_data_loss(b.kind, p.object_key, b.meta,
                                           CASE WHEN p.phase = 'drop' THEN NULL ELSE n.meta END) l
         WHERE p.phase IN ('drop', 'alter') AND b.kind IN ('table', 'materialized_view')
           -- an alter that keeps every column with its type (e.g. adds one) destroys nothing:
           -- not asked (sql_data_loss would diff the whole table again)
           AND (p.phase = 'drop' OR b.kind <> 'table' OR pggit.table_change_is_destructive(b.meta, n.meta))
    LOOP
        IF NOT pggit.data_loss_readable(r.relation, r.column_name) THEN
            CONTINUE;  -- the relation is gone
        END IF;
        IF r.column_name IS NULL THEN
            EXECUTE format('SELECT EXISTS (SELECT 1 FROM %s)', r.relation) INTO v_has_data;
        ELSE
            EXECUTE format('SELECT EXISTS (SELECT 1 FROM %s WHERE %I IS NOT NULL)', r.relation, r.column_name)
               INTO v_has_data;
        END IF;
        IF v_has_data THEN
            check_name := 'data_loss';
            level := 'error';
            message := CASE WHEN r.column_name IS NULL
                THEN format('%s: %s holds rows that would be lost', r.check, r.relation)
                ELSE format('%s: column %s of %s holds data that would be lost', r.check, r.column_name, r.relation) END;
            RETURN NEXT;
        END IF;
    END LOOP;
END;
$$;

-- Whether the data-loss check can read p_relation (p_column of it, when given) as the caller:
-- false when the relation no longer exists; error PERMISSION_DENIED (SQLSTATE 42501, no change
-- made) naming the privilege the role lacks and what to grant, when it may not read it. Dropping
-- or altering the relation needs its ownership anyway; reading it is what the check needs.
CREATE OR REPLACE FUNCTION pggit.data_loss_readable(p_relation text, p_column text)
RETURNS boolean
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pggit
AS $$
DECLARE
    v_parts text[] := parse_ident(p_relation);
    v_schema text;
    v_missing text;
    v_grant text;
    v_relid regclass;
BEGIN
    IF cardinality(v_parts) = 2 THEN
        v_schema := v_parts[1];
        IF NOT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = v_schema) THEN
            RETURN false;
        END IF;
        IF NOT has_schema_privilege(v_schema, 'USAGE') THEN
            v_missing := format('USAGE on schema %I', v_schema);
            v_grant := format('GRANT USAGE ON SCHEMA %I TO %I; GRANT SELECT ON %s TO %I',
                              v_schema, current_user, p_relation, current_user);
        END IF;
    END IF;
    IF v_missing IS NULL THEN
        v_relid := to_regclass(p_relation);
        IF v_relid IS NULL THEN
            RETURN false;
        END IF;
        IF p_column IS NULL AND NOT has_table_privilege(v_relid, 'SELECT') THEN
            v_missing := format('SELECT on %s', p_relation);
            v_grant := format('GRANT SELECT ON %s TO %I', p_relation, current_user);
        ELSIF p_column IS NOT NULL
              AND NOT has_column_privilege(v_relid, p_column, 'SELECT') THEN
            v_missing := format('SELECT on column %I of %s', p_column, p_relation);
            v_grant := format('GRANT SELECT (%I) ON %s TO %I', p_column, p_relation, current_user);
        END IF;
    END IF;
    IF v_missing IS NULL THEN
        RETURN true;
    END IF;
    RAISE EXCEPTION USING
        MESSAGE = format('[PGGIT-PERMISSION_DENIED] role %I may not read %s, which this operation '
                         'would drop or change: it lacks %s to check the data that would be lost; '
                         'nothing was changed', current_user, p_relation, v_missing),
        HINT = format('%s (dropping or altering %s also needs its ownership: or run the operation '
                      'as its owner)', v_grant, p_relation),
        ERRCODE = '42501';
END;
$$;

CREATE OR REPLACE FUNCTION pggit.data_loss_findings(p_from jsonb, p_to jsonb)
RETURNS TABLE (check_name text, level text, message text)
LANGUAGE sql
SET search_path = pg_catalog, pggit
AS $$
    SELECT * FROM pggit.plan_data_loss(pggit.migration_plan_json(p_from, p_to), p_from, p_to)
$$;

-- The command tag PostgreSQL reports for a statement of a plan (CREATE TABLE, ALTER TABLE,
-- COMMENT, DROP INDEX...), read from its text: the engine audits the statements it runs itself.
CREATE OR REPLACE FUNCTION pggit.statement_tag(p_statement text)
RETURNS text
LANGUAGE sql IMMUTABLE
SET search_path = pg_catalog
AS $$
    SELECT coalesce(
        (SELECT upper(m[1]) || ' ' || upper(regexp_replace(m[2], '\s+', ' ', 'g'))
           FROM regexp_match(p_statement,
                '^\s*(CREATE|ALTER|DROP)\s+(?:OR\s+REPLACE\s+)?(?:(?:UNIQUE|UNLOGGED|CONSTRAINT|TRUSTED|PROCEDURAL|RECURSIVE)\s+)*'
                '(TEXT\s+SEARCH\s+[A-Za-z]+|MATERIALIZED\s+VIEW|FOREIGN\s+TABLE|EVENT\s+TRIGGER|ACCESS\s+METHOD|'
                'OPERATOR\s+(?:CLASS|FAMILY)|DEFAULT\s+PRIVILEGES|[A-Za-z]+)', 'i') m),
        upper((regexp_match(p_statement, '^\s*([A-Za-z]+)'))[1]))
$$;

-- Runs the statements of a plan (pggit.migration_plan_json of the live state and p_to) and proves
-- that the live schema is then exactly p_to; fails as a whole on the first failing statement or on
-- a difference (the caller's transaction rolls back: schema, HEAD and live state stay as they
-- were). Function bodies are not checked while they are created (check_function_bodies off, as
-- pg_dump's scripts do): a LANGUAGE sql body may name a table created later in the plan, a
-- dependency pg_depend does not record. Each statement is audited with its own text
-- (engine_operation = p_operation); no working change is recorded.
-- Two ways, by the plan's size against the schema's (pggit.apply_proof = 'touched' or 'full'
-- forces one):
-- * touched (a plan touching few objects of a large schema): capture runs in engine mode, audits
--   each statement and names the catalog rows it touched; the capture flush re-reads those rows
--   (and what depends on them after an ALTER) into the live state, which must then equal p_to.
-- * full (a plan touching a sizeable part of the schema): capture is off while the statements run;
--   the engine audits them from the plan (statement, command tag, the object it applies), then
--   reads the whole live schema once (pggit.live_definitions(), set-based: far cheaper than
--   re-reading each touched object) and requires it to be p_to exactly; the live state is set from that read.
CREATE OR REPLACE FUNCTION pggit.apply_steps(p_operation text, p_plan jsonb, p_to jsonb)
RETURNS text[]
LANGUAGE plpgsql
SET search_path = pg_catalog, pggit
SET check_function_bodies = off
AS $$
DECLARE
    r record;
    v_done text[] := '{}';
    v_replaced jsonb := '{}';
    v_instead text;
    v_mismatch text;
    v_keys integer;
    v_full boolean;
    v_started timestamptz := clock_timestamp();
BEGIN
    IF pggit.capture_state() = 'off' THEN
        PERFORM pggit.raise_error('CAPTURE_DISABLED',
            format('%s needs capture on to track what it changes', p_operation),
            'SELECT pggit.set_capture(true, ''global'')');
    END IF;
    SELECT count(DISTINCT p.object_key) INTO v_keys
      FROM jsonb_to_recordset(coalesce(p_plan, '[]')) AS p(object_key text);
    v_full := CASE coalesce(nullif(current_setting('pggit.apply_proof', true), ''), 'auto')
                  WHEN 'full' THEN true
                  WHEN 'touched' THEN false
                  -- re-reading one object costs about as much as reading 20 in one pass
                  ELSE v_keys * 20 >= (SELECT count(*) FROM pggit.live_state) END;
    PERFORM set_config('pggit.capture', CASE WHEN v_full THEN 'off' ELSE 'engine' END, true);
    PERFORM set_config('pggit.operation', p_operation, true);
    BEGIN
        FOR r IN SELECT * FROM jsonb_to_recordset(coalesce(p_plan, '[]'))
                              AS p(step integer, object_key text, kind text, statement text)
                  ORDER BY step LOOP
            -- (a REVOKE ALL from an object's owner of the grants to it a checkout applied: then a
            -- GRANT ALL to it, see pggit.owner_grants_revoke)
            IF r.kind = 'privileges' AND starts_with(r.statement, 'REVOKE ALL ON ') THEN
                v_instead := pggit.owner_grants_revoke(r.object_key, r.statement);
                IF v_instead IS NOT NULL THEN
                    v_replaced := v_replaced || jsonb_build_object(r.step::text, v_instead);
                    r.statement := v_instead;
                END IF;
            END IF;
            IF NOT v_full THEN
                PERFORM set_config('pggit.statement', r.statement, true);
            END IF;
            EXECUTE r.statement;
            v_done := v_done || r.statement;
        END LOOP;
    EXCEPTION WHEN OTHERS THEN
        PERFORM pggit.raise_error('APPLY_FAILED',
            format('%s failed at step %s (%s): %s', p_operation, r.step, r.object_key, SQLERRM),
            'statement: ' || left(r.statement, 500));
    END;
    -- the grants to the applying role on what it now owns, remembered (before anything is read)
    PERFORM pggit.owner_grants_apply(p_plan, p_to);
    PERFORM set_config('pggit.statement', '', true);
    PERFORM set_config('pggit.operation', '', true);
    PERFORM set_config('pggit.capture', '', true);
    IF NOT v_full THEN
        PERFORM pggit.capture_flush();  -- live_state follows what was applied
        -- proof: what capture now knows of the live schema must be exactly the target tree
        SELECT string_agg(d.change || ' ' || d.object_key, ', ') INTO v_mismatch
          FROM (SELECT * FROM pggit.tree_diff(pggit.live_state_tree(), p_to) LIMIT 10) d;
    ELSE
        -- the audit rows: one per statement, naming the object its step applies
        INSERT INTO pggit.ddl_log (statement, command_tag, targets, objects, application_name,
                                   client_addr, role_name, actor, branch, engine_operation,
                                   capture_ms, flushed_at)
        SELECT p.statement, t.tag,
               jsonb_build_array(jsonb_build_object(
                   'type', p.kind, 'identity', substr(p.object_key, length(split_part(p.object_key, ':', 1)) + 2),
                   'change', lower(split_part(t.tag, ' ', 1)))),
               jsonb_build_array(jsonb_build_object(
                   'key', p.object_key, 'kind', p.kind, 'schema', b.schema_name, 'name', b.object_name,
                   'change', CASE p.phase WHEN 'drop' THEN 'REMOVED' WHEN 'alter' THEN 'MODIFIED' ELSE 'ADDED' END,
                   'blob', CASE WHEN p.phase <> 'drop' THEN p_to->>p.object_key END)),
               current_setting('application_name', true), inet_client_addr(), pggit.invoking_role(),
               pggit.current_actor(), (SELECT b2.name FROM pggit.head h JOIN pggit.branches b2 ON b2.id = h.branch_id),
               p_operation, 0, clock_timestamp()
          FROM (SELECT p.step, p.phase, p.object_key, p.kind,
                       coalesce(v_replaced->>p.step::text, p.statement) AS statement
                  FROM jsonb_to_recordset(coalesce(p_plan, '[]'))
                       AS p(step integer, phase text, object_key text, kind text, statement text)) p
          CROSS JOIN LATERAL (SELECT pggit.statement_tag(p.statement) AS tag OFFSET 0) t  -- once a row
          LEFT JOIN pggit.blobs b ON b.hash = coalesce(p_to->>p.object_key,
                                                      (SELECT l.blob_hash FROM pggit.live_state l
                                                        WHERE l.object_key = p.object_key))
         ORDER BY p.step;
        -- proof: the whole live schema, read once, must be exactly the target tree; the live
        -- state is then that read (anchors of re-created objects included). Definitions only
        -- (pggit.live_definitions(): no meta): the target's definitions are stored already
        WITH live AS MATERIALIZED (
            SELECT o.object_key, o.kind, o.schema_name, o.object_name, o.parent_name,
                   pggit.sha256_hex(o.definition) AS blob, o.anchor_classid, o.anchor_objid
              FROM pggit.live_definitions() o
        ), live_tree AS (
            SELECT coalesce(jsonb_object_agg(object_key, blob), '{}') AS tree FROM live
        ), gone AS (
            DELETE FROM pggit.live_state l WHERE NOT EXISTS (SELECT 1 FROM live WHERE live.object_key = l.object_key)
        ), kept AS (
            INSERT INTO pggit.live_state (object_key, kind, schema_name, object_name, parent_name,
                                          blob_hash, anchor_classid, anchor_objid)
            SELECT live.object_key, live.kind, live.schema_name, live.object_name, live.parent_name,
                   live.blob, live.anchor_classid, live.anchor_objid
              FROM live WHERE p_to->>live.object_key = live.blob
            ON CONFLICT (object_key) DO UPDATE
               SET blob_hash = EXCLUDED.blob_hash, kind = EXCLUDED.kind,
                   schema_name = EXCLUDED.schema_name, object_name = EXCLUDED.object_name,
                   parent_name = EXCLUDED.parent_name, anchor_classid = EXCLUDED.anchor_classid,
                   anchor_objid = EXCLUDED.anchor_objid
             WHERE (live_state.blob_hash, live_state.kind, live_state.schema_name, live_state.object_name,
                    live_state.parent_name, live_state.anchor_classid, live_state.anchor_objid)
                   IS DISTINCT FROM (EXCLUDED.blob_hash, EXCLUDED.kind, EXCLUDED.schema_name,
                                     EXCLUDED.object_name, EXCLUDED.parent_name,
                                     EXCLUDED.anchor_classid, EXCLUDED.anchor_objid)
        )
        SELECT string_agg(d.change || ' ' || d.object_key, ', ') INTO v_mismatch
          FROM (SELECT * FROM pggit.tree_diff((SELECT tree FROM live_tree), p_to) LIMIT 10) d;
    END IF;
    IF v_mismatch IS NOT NULL THEN
        PERFORM pggit.raise_error('APPLY_VERIFY_FAILED',
            format('%s left the schema different from its target (%s); nothing was changed', p_operation, v_mismatch),
            'the objects named differ in a way PostgreSQL cannot alter in place (e.g. column order), '
            'or were changed while capture was off (SELECT pggit.rescan() records such changes)');
    END IF;
    RETURN v_done;
END;
$$;

CREATE OR REPLACE FUNCTION pggit.apply_plan(p_operation text, p_from jsonb, p_to jsonb)
RETURNS text[]
LANGUAGE sql
SET search_path = pg_catalog, pggit
AS $$ SELECT pggit.apply_steps(p_operation, pggit.migration_plan_json(p_from, p_to), p_to) $$;

-- The migration of the live schema (HEAD's) to tree p_to, prepared once for checkout, merge and
-- revert/reset/undo: capture flushed, the live state as the starting tree, the plan (computed once:
-- the script shown, the data-loss check and the apply all read it), the number of working changes
-- and the data-loss findings ([{check, level, message}], pggit.finding).
CREATE OR REPLACE FUNCTION pggit.head_migration(p_to jsonb, OUT from_tree jsonb, OUT plan jsonb,
                                                OUT pending integer, OUT data_loss jsonb)
LANGUAGE plpgsql
SET search_path = pg_catalog, pggit
AS $$
BEGIN
    PERFORM pggit.capture_flush();
    SELECT count(*)::integer INTO pending FROM pggit.working;
    from_tree := pggit.live_state_tree();
    plan := pggit.migration_plan_json(from_tree, p_to);
    SELECT coalesce(jsonb_agg(pggit.finding(f.check_name, f.level, f.message)), '[]') INTO data_loss
      FROM pggit.plan_data_loss(plan, from_tree, p_to) f;
END;
$$;

-- Checks out a branch. Opens its span (pggit.trace_begin): the operations recorded inside it (its
-- captures) are its children.
CREATE OR REPLACE FUNCTION pggit.checkout(p_branch text, p_force boolean DEFAULT false)
RETURNS TABLE (branch text, commit_hash text, statements text[])
LANGUAGE plpgsql
SET search_path = pg_catalog, pggit
AS $$
#variable_conflict use_column
DECLARE
    v_started timestamptz := clock_timestamp();
    v_target pggit.branches;
    v_head pggit.branches;
    v_to jsonb;
    v_m record;
    v_done text[];
BEGIN
    PERFORM pggit.trace_begin('checkout', v_started);
    PERFORM pggit.engine_lock('checkout');
    v_target := pggit.active_branch(p_branch);
    v_head := pggit.head_branch();
    v_to := pggit.commit_tree(v_target.head_commit);
    v_m := pggit.head_migration(v_to);
    IF v_m.pending > 0 AND NOT coalesce(p_force, false) THEN
        PERFORM pggit.raise_error('WORKING_CHANGES',
            format('%s uncommitted change(s) on %s would be lost', v_m.pending, v_head.name),
            'commit them (SELECT pggit.commit(''message'')) or check out with force => true');
    END IF;
    IF v_m.data_loss <> '[]'::jsonb AND NOT coalesce(p_force, false) THEN
        PERFORM pggit.raise_error('DATA_LOSS', format('checkout of %s refused: %s', p_branch,
                                  (SELECT string_agg(f->>'message', '; ') FROM jsonb_array_elements(v_m.data_loss) f)),
                                  'check out with force => true to destroy that data');
    END IF;
    v_done := pggit.apply_steps('checkout', v_m.plan, v_to);
    DELETE FROM pggit.working;
    UPDATE pggit.head SET branch_id = v_target.id, moved_at = now(), moved_by = pggit.current_actor();
    PERFORM pggit.emit_event('branch.checked_out', jsonb_build_object(
        'branch', v_target.name, 'previous', v_head.name, 'commit', v_target.head_commit,
        'statement_count', cardinality(v_done), 'forced', coalesce(p_force, false)));
    PERFORM pggit.record_operation('checkout', v_started,
                                   (SELECT count(*) FROM pggit.tree_diff(v_m.from_tree, v_to))::integer,
                                   cardinality(v_done), v_target.name);
    branch := v_target.name;
    commit_hash := v_target.head_commit;
    statements := v_done;
    RETURN NEXT;
END;
$$;
