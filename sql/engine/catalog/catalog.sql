-- The catalog: canonical definitions of every tracked object kind, read from the system catalogs;
-- object keys, anchors and dependencies; DDL generation (create, drop, in-place alter, data-loss
-- detection). The interface is described in docs/engine-internals.md ("Catalog functions",
-- "DDL generation").
--
-- Structure: one view per object kind (pggit._o_<kind>) holds the whole per-kind definition code;
-- pggit._object_rows() adds an object's comments (the one place comments are built).
-- pggit._objects unions the per-kind views, pggit._live_ext/_live add the comments. live_objects()
-- reads pggit._live as a whole; anchor_objects() reads only the per-kind views an anchor can have
-- objects in, each filtered on the anchor's oid (index probes on the owning catalog), through the
-- same _object_rows(). The views are internal: read them only through the functions below, which
-- pin search_path so that every non-pg_catalog name comes out schema-qualified.
-- Re-runnable: applied again by the loader whenever this file changes.

-- ---------------------------------------------------------------------------------------------
-- Tracked schemas
-- ---------------------------------------------------------------------------------------------
CREATE OR REPLACE FUNCTION pggit.is_tracked_schema(p_name text)
RETURNS boolean
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pggit
AS $$
BEGIN
    IF p_name IS NULL OR p_name = '' THEN
        PERFORM pggit.raise_error('INVALID_ARGUMENT', 'is_tracked_schema: a schema name is required');
    END IF;
    -- The same rules as the view pggit._ns below (kept inline there so that it stays set-based).
    RETURN p_name NOT LIKE 'pggit%'
       AND p_name NOT IN ('pg_catalog', 'information_schema', 'pg_toast')
       AND p_name !~ '^pg_(toast_)?temp(_|$)'
       AND p_name NOT IN (SELECT e.name FROM pggit._excluded_schemas e);
END;
$$;

-- Schemas excluded by configuration (excluded_schemas, a JSON array of names).
CREATE OR REPLACE VIEW pggit._excluded_schemas AS
SELECT e.name
  FROM pggit.config c,
       jsonb_array_elements_text(CASE WHEN jsonb_typeof(c.value) = 'array' THEN c.value ELSE '[]' END) AS e(name)
 WHERE c.key = 'excluded_schemas' AND e.name IS NOT NULL;

-- Text for a /* ... */ comment of a definition (quoted names): no comment opened or closed inside,
-- and distinct texts stay distinct (a backslash doubled, then one put inside each `/*` and `*/`:
-- `/\*`, `*\/`). A definition names in such a comment what its object depends on that its
-- statements do not name (a blob, and the dependencies in its meta, are stored once per definition
-- text: an object whose dependencies change while its text does not would keep the first tree's).
-- A plain SQL function, inlined into the views.
CREATE OR REPLACE FUNCTION pggit._comment_text(p_text text)
RETURNS text
LANGUAGE sql IMMUTABLE
AS $$
    SELECT pg_catalog.replace(pg_catalog.replace(pg_catalog.replace(p_text, E'\\', E'\\\\'),
                                                 '/*', E'/\\*'),
                              '*/', E'*\\/')
$$;

-- Tracked namespaces with their quoted names. Same rules as is_tracked_schema() (the built-in
-- exclusions are constants spelled out in both; the configured ones come from _excluded_schemas).
CREATE OR REPLACE VIEW pggit._ns AS
SELECT n.oid, n.nspname::text AS nspname, quote_ident(n.nspname) AS qname
  FROM pg_namespace n
 WHERE n.nspname NOT LIKE 'pggit%'
   AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')
   -- (two LIKEs, not the regular expression ^pg_(toast_)?temp_: the same names, and this test
   -- runs on every namespace lookup of the per-kind views' dependency keys, ~5,000 instructions a
   -- regular expression match against ~100 a LIKE)
   AND n.nspname NOT LIKE 'pg\_temp\_%' AND n.nspname NOT LIKE 'pg\_toast\_temp\_%'
   AND n.nspname NOT IN (SELECT e.name FROM pggit._excluded_schemas e);

-- Members of extensions (never tracked on their own: the extension stands for them).
CREATE OR REPLACE VIEW pggit._ext_member AS
SELECT d.classid, d.objid, e.extname::text AS extname
  FROM pg_depend d
  JOIN pg_extension e ON e.oid = d.refobjid
 WHERE d.refclassid = 'pg_extension'::regclass AND d.deptype = 'e';

-- ---------------------------------------------------------------------------------------------
-- Keys of catalog rows (used for dependencies): any catalog row a tracked object can depend on,
-- mapped to the key of the object that stands for it (array type -> element, row type -> table,
-- index backing a constraint -> the constraint, extension member -> the extension).
-- ---------------------------------------------------------------------------------------------
CREATE OR REPLACE VIEW pggit._proc_key AS
SELECT p.oid, n.nspname, n.qname AS schema_qname,
       'function:' || n.nspname || '.' || p.proname || '('
         || coalesce((SELECT string_agg(format_type(u.t, NULL), ',' ORDER BY u.o)
                        FROM unnest(p.proargtypes::oid[]) WITH ORDINALITY AS u(t, o)), '')
         || ')' AS key,
       n.qname || '.' || quote_ident(p.proname) AS qname
  FROM pg_proc p
  JOIN pggit._ns n ON n.oid = p.pronamespace;

-- The key of a relation or an index. Read inside the query of every dependency read of the per-kind
-- views (pggit._depkeys), so written to be cheap to plan as well as to run: three relations joined,
-- the optional parts (extension membership, the constraint an index backs, an index's table) as
-- scalar subqueries probing one index each.
CREATE OR REPLACE VIEW pggit._key_class AS
SELECT c.oid,
       coalesce((SELECT 'extension:' || x.extname FROM pggit._ext_member x
                  WHERE x.classid = 'pg_class'::regclass AND x.objid = r.oid),
                CASE WHEN c.relkind IN ('i', 'I')
                     THEN coalesce('constraint:' || n.nspname || '.' || r.relname || '.'
                                     || (SELECT con.conname FROM pg_constraint con
                                          WHERE con.conrelid = r.oid AND con.conindid = c.oid
                                            AND con.contype IN ('p', 'u', 'x')),
                                   'index:' || n.nspname || '.' || r.relname || '.' || c.relname)
                     ELSE CASE c.relkind WHEN 'v' THEN 'view:' WHEN 'm' THEN 'materialized_view:'
                                         WHEN 'S' THEN 'sequence:' WHEN 'c' THEN 'type:' ELSE 'table:' END
                          || n.nspname || '.' || c.relname END) AS key
  FROM pg_class c
  -- the relation whose schema and extension count: the index's table for an index
  JOIN pg_class r ON r.oid = CASE WHEN c.relkind IN ('i', 'I')
                                  THEN (SELECT i.indrelid FROM pg_index i WHERE i.indexrelid = c.oid)
                                  ELSE c.oid END
  JOIN pggit._ns n ON n.oid = r.relnamespace
 WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S', 'c', 'i', 'I');

CREATE OR REPLACE VIEW pggit._key_type AS
SELECT t.oid,
       coalesce('extension:' || coalesce(x1.extname, x2.extname),
                CASE WHEN b.typtype = 'd' THEN 'domain:'
                     WHEN b.typtype IN ('e', 'r') OR rc.relkind = 'c' THEN 'type:'
                     WHEN rc.relkind = 'v' THEN 'view:'
                     WHEN rc.relkind = 'm' THEN 'materialized_view:'
                     ELSE 'table:' END
                || n.nspname || '.' || coalesce(rc.relname, b.typname)) AS key
  FROM pg_type t
  LEFT JOIN pg_type e ON e.oid = t.typelem AND e.typarray = t.oid
  LEFT JOIN pg_range mr ON t.typtype = 'm' AND mr.rngmultitypid = t.oid
  JOIN pg_type b ON b.oid = coalesce(e.oid, mr.rngtypid, t.oid)
  JOIN pggit._ns n ON n.oid = b.typnamespace
  LEFT JOIN pg_class rc ON rc.oid = b.typrelid
  LEFT JOIN pggit._ext_member x1 ON x1.classid = 'pg_type'::regclass AND x1.objid = b.oid
  LEFT JOIN pggit._ext_member x2 ON x2.classid = 'pg_class'::regclass AND x2.objid = rc.oid
 WHERE b.typtype IN ('d', 'e', 'r') OR (b.typtype = 'c' AND rc.relkind IN ('r', 'p', 'v', 'm', 'c'))
    OR x1.extname IS NOT NULL;

CREATE OR REPLACE VIEW pggit._key_constraint AS
SELECT con.oid,
       CASE WHEN con.contypid <> 0 THEN 'domain:' || n.nspname || '.' || ty.typname
            ELSE 'constraint:' || n.nspname || '.' || t.relname || '.' || con.conname END AS key
  FROM pg_constraint con
  LEFT JOIN pg_class t ON t.oid = con.conrelid
  LEFT JOIN pg_type ty ON ty.oid = con.contypid
  JOIN pggit._ns n ON n.oid = coalesce(t.relnamespace, ty.typnamespace);

-- The key of the tracked object standing for a catalog row other than a relation or a schema that
-- something depends on (NULL when that row is not tracked): types, functions, constraints,
-- extensions and the rarer kinds. Called by pggit._depkeys for its rows that point at such a row
-- (relations, the most common by far, are looked up inside its query).
CREATE OR REPLACE FUNCTION pggit._ref_key(p_classid oid, p_objid oid)
RETURNS text
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pggit
AS $$
BEGIN
    IF p_classid IS NULL OR p_objid IS NULL THEN
        PERFORM pggit.raise_error('INVALID_ARGUMENT', '_ref_key needs classid and objid');
    END IF;
    CASE p_classid
    WHEN 'pg_type'::regclass THEN
        RETURN (SELECT k.key FROM pggit._key_type k WHERE k.oid = p_objid);
    WHEN 'pg_proc'::regclass THEN
        RETURN (SELECT coalesce('extension:' || x.extname, pk.key) FROM pggit._proc_key pk
                  LEFT JOIN pggit._ext_member x ON x.classid = 'pg_proc'::regclass AND x.objid = pk.oid
                 WHERE pk.oid = p_objid);
    WHEN 'pg_constraint'::regclass THEN
        RETURN (SELECT k.key FROM pggit._key_constraint k WHERE k.oid = p_objid);
    WHEN 'pg_extension'::regclass THEN
        RETURN (SELECT 'extension:' || e.extname FROM pg_extension e
                  JOIN pggit._ns n ON n.oid = e.extnamespace WHERE e.oid = p_objid);
    ELSE   -- operators, casts, collations, text search objects, statistics; or anything
           -- (operator classes...) belonging to an extension
        RETURN coalesce(
            (SELECT 'extension:' || x.extname FROM pggit._ext_member x
               JOIN pg_extension e ON e.extname = x.extname JOIN pggit._ns n ON n.oid = e.extnamespace
              WHERE x.classid = p_classid AND x.objid = p_objid LIMIT 1),
            CASE p_classid
            WHEN 'pg_operator'::regclass THEN (SELECT o.object_key FROM pggit._o_operator o WHERE o.objid = p_objid)
            WHEN 'pg_cast'::regclass THEN (SELECT o.object_key FROM pggit._o_cast o WHERE o.objid = p_objid)
            WHEN 'pg_collation'::regclass THEN (SELECT o.object_key FROM pggit._o_collation o WHERE o.objid = p_objid)
            WHEN 'pg_ts_config'::regclass THEN (SELECT o.object_key FROM pggit._o_ts_config o WHERE o.objid = p_objid)
            WHEN 'pg_ts_dict'::regclass THEN (SELECT o.object_key FROM pggit._o_ts_dict o WHERE o.objid = p_objid)
            WHEN 'pg_statistic_ext'::regclass THEN (SELECT o.object_key FROM pggit._o_statistics o WHERE o.objid = p_objid)
            END);
    END CASE;
END;
$$;

-- pg_depend rows (normal and automatic) with the key of the tracked object standing for what they
-- point at (NULL when that is not tracked): array type -> element, row type -> table, index backing
-- a constraint -> the constraint, extension member -> the extension. References to a schema are
-- left out (every object adds its own schema's key); callers skip the common references (their own
-- table) and add those keys themselves.
--
-- A reference to a relation or an index (most of them: foreign keys, sequences of defaults, views'
-- tables) is looked up in the query, a scalar subquery on _key_class probing its indexes per row:
-- ~6 us a row, where a PL/pgSQL call of that lookup cost ~50-70 us (the executor started for its
-- plan on every call). The other references go through pggit._ref_key(): putting every kind's
-- lookup in the query made each read of this view cost ~2.5 ms more to plan, and every per-kind
-- view has one to three. Only rows the caller's filters keep get a key. Always filter this view on
-- classid and objid (=, or per row of another catalog inside a LATERAL subquery fenced by OFFSET 0),
-- never join it plainly to another catalog: a join lets the planner, with poor statistics, scan
-- every row of a classid and compute its key before joining. (= ANY (ARRAY(...)) is no better: with
-- statistics taken on a small catalog the planner keeps the array as a filter and scans every row
-- of the classid once per object, quadratic in the schema's size.)
CREATE OR REPLACE VIEW pggit._depkeys AS
SELECT d.classid, d.objid, d.objsubid, d.deptype, d.refclassid, d.refobjid, r.key
  FROM pg_depend d
  -- computed once per row: without the fence, a caller's condition on the key (s.k <> k.key) is
  -- pushed down with the expression copied, and the lookup planned and run twice
  CROSS JOIN LATERAL (
      SELECT CASE d.refclassid
             WHEN 'pg_class'::regclass THEN (SELECT k.key FROM pggit._key_class k WHERE k.oid = d.refobjid)
             ELSE pggit._ref_key(d.refclassid, d.refobjid)
             END COLLATE "default" AS key   -- the column's collation as before: text, implicit to readers
      OFFSET 0) r
 WHERE d.deptype IN ('n', 'a') AND d.refclassid <> 'pg_namespace'::regclass::oid;

-- ---------------------------------------------------------------------------------------------
-- Sequence options
-- ---------------------------------------------------------------------------------------------

-- The options of a sequence that differ from what CREATE SEQUENCE / AS IDENTITY would choose.
CREATE OR REPLACE FUNCTION pggit._seq_nondefault_options(
    p_type oid, p_increment bigint, p_min bigint, p_max bigint, p_start bigint, p_cache bigint,
    p_cycle boolean)
RETURNS text
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pggit
AS $$
DECLARE
    v_typmax bigint;
    v_min bigint;
    v_max bigint;
    v_parts text[] := '{}';
BEGIN
    IF p_type IS NULL OR p_increment IS NULL OR p_min IS NULL OR p_max IS NULL OR p_start IS NULL
       OR p_cache IS NULL OR p_cycle IS NULL THEN
        PERFORM pggit.raise_error('INVALID_ARGUMENT', 'sequence options must all be given');
    END IF;
    v_typmax := CASE p_type WHEN 'int2'::regtype THEN 32767 WHEN 'int4'::regtype THEN 2147483647
                            ELSE 9223372036854775807 END;
    IF p_increment > 0 THEN
        v_min := 1;
        v_max := v_typmax;
    ELSE
        v_min := -v_typmax - 1;
        v_max := -1;
    END IF;
    IF p_increment <> 1 THEN v_parts := v_parts || ('INCREMENT BY ' || p_increment); END IF;
    IF p_min <> v_min THEN v_parts := v_parts || ('MINVALUE ' || p_min); END IF;
    IF p_max <> v_max THEN v_parts := v_parts || ('MAXVALUE ' || p_max); END IF;
    IF p_start <> (CASE WHEN p_increment > 0 THEN p_min ELSE p_max END) THEN
        v_parts := v_parts || ('START WITH ' || p_start);
    END IF;
    IF p_cache <> 1 THEN v_parts := v_parts || ('CACHE ' || p_cache); END IF;
    IF p_cycle THEN v_parts := v_parts || 'CYCLE'::text; END IF;
    RETURN nullif(array_to_string(v_parts, ' '), '');
END;
$$;

-- ---------------------------------------------------------------------------------------------
-- Columns of relations (tables and composite types read them)
-- ---------------------------------------------------------------------------------------------
CREATE OR REPLACE VIEW pggit._columns AS
SELECT a.attrelid, a.attnum, a.attislocal, a.attname::text AS name, x.type, x.collation,
       a.attnotnull AS not_null, x.default_expr, x.generated, x.generated_kind, x.identity,
       x.identity_options,
       quote_ident(a.attname) || ' ' || x.type || coalesce(' COLLATE ' || x.collation, '')
       || CASE WHEN x.generated IS NOT NULL
                    THEN ' GENERATED ALWAYS AS (' || x.generated || ') ' || x.generated_kind
               WHEN x.identity IS NOT NULL
                    THEN ' GENERATED ' || x.identity || ' AS IDENTITY' || coalesce(' (' || x.identity_sql || ')', '')
               WHEN x.default_expr IS NOT NULL THEN ' DEFAULT ' || x.default_expr
               ELSE '' END
       || CASE WHEN a.attnotnull THEN coalesce(' CONSTRAINT ' || quote_ident(x.not_null_name), '') || ' NOT NULL'
               ELSE '' END AS sql,
       x.identity_sql, x.identity_sequence, x.not_null_name
  FROM pg_attribute a
  LEFT JOIN pg_attrdef ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum
  CROSS JOIN LATERAL (
      -- scalar subqueries (not joins) so that every lookup is one index probe
      SELECT format_type(a.atttypid, a.atttypmod) AS type,
             CASE WHEN a.attcollation <> 0
                       AND a.attcollation <> (SELECT t.typcollation FROM pg_type t WHERE t.oid = a.atttypid)
                  THEN (SELECT CASE WHEN cn.nspname = 'pg_catalog' THEN quote_ident(co.collname)
                                    ELSE quote_ident(cn.nspname) || '.' || quote_ident(co.collname) END
                          FROM pg_collation co JOIN pg_namespace cn ON cn.oid = co.collnamespace
                         WHERE co.oid = a.attcollation) END AS collation,
             CASE WHEN a.attgenerated = '' THEN pg_get_expr(ad.adbin, ad.adrelid) END AS default_expr,
             CASE WHEN a.attgenerated <> '' THEN pg_get_expr(ad.adbin, ad.adrelid) END AS generated,
             CASE a.attgenerated WHEN 's' THEN 'STORED' WHEN 'v' THEN 'VIRTUAL' END AS generated_kind,
             CASE a.attidentity WHEN 'a' THEN 'ALWAYS' WHEN 'd' THEN 'BY DEFAULT' END AS identity,
             CASE WHEN a.attidentity <> '' THEN
                 (SELECT jsonb_build_object('increment', s.seqincrement, 'minvalue', s.seqmin,
                                            'maxvalue', s.seqmax, 'start', s.seqstart, 'cache', s.seqcache,
                                            'cycle', s.seqcycle)
                    FROM pg_depend d, pg_sequence s
                   WHERE d.refclassid = 'pg_class'::regclass AND d.refobjid = a.attrelid
                     AND d.refobjsubid = a.attnum AND d.classid = 'pg_class'::regclass AND d.deptype = 'i'
                     AND s.seqrelid = d.objid) END AS identity_options,
             -- the identity sequence's name (quoted, qualified) when it is not <table>_<column>_seq,
             -- else NULL. Written as the identity's first option, SEQUENCE NAME, only then: that is
             -- the name CREATE TABLE and ADD GENERATED choose when it fits in 63 bytes and is free,
             -- which it is wherever the definition is applied (a tree has one relation of a name
             -- per schema). A name PostgreSQL chose otherwise (truncated, or numbered because the
             -- name was taken), one given by SEQUENCE NAME (pg_dump always writes it) and one a
             -- renamed table kept are written: the definition is a function of the names alone,
             -- deterministic, and changes exactly when the name stops or starts being the default,
             -- while the definitions of the other identity columns stay those stored before the
             -- name was versioned (a definition without it means the default name: meta
             -- identity_sequence absent or NULL). The sequence is in the table's schema:
             -- PostgreSQL (15 and 18) refuses a SEQUENCE NAME in another one, does not move an
             -- owned sequence by itself, and moves it with its table (the comparison of schemas
             -- below keeps a sequence elsewhere named all the same)
             CASE WHEN a.attidentity <> '' THEN
                 (SELECT quote_ident(sn.nspname) || '.' || quote_ident(sc.relname)
                    FROM pg_depend d
                    JOIN pg_class sc ON sc.oid = d.objid
                    JOIN pg_namespace sn ON sn.oid = sc.relnamespace
                    JOIN pg_class t ON t.oid = a.attrelid
                   WHERE d.refclassid = 'pg_class'::regclass AND d.refobjid = a.attrelid
                     AND d.refobjsubid = a.attnum AND d.classid = 'pg_class'::regclass AND d.deptype = 'i'
                     AND sc.relkind = 'S'
                     AND (sc.relnamespace <> t.relnamespace
                          OR sc.relname <> t.relname || '_' || a.attname || '_seq')) END AS identity_sequence,
             CASE WHEN a.attidentity <> '' THEN
                 (SELECT nullif(concat_ws(' ',
                                'SEQUENCE NAME ' || quote_ident(sn.nspname) || '.' || quote_ident(sc.relname),
                                pggit._seq_nondefault_options(s.seqtypid, s.seqincrement, s.seqmin, s.seqmax,
                                                              s.seqstart, s.seqcache, s.seqcycle)), '')
                    FROM pg_depend d
                    JOIN pg_sequence s ON s.seqrelid = d.objid
                    JOIN pg_class t ON t.oid = a.attrelid
                    LEFT JOIN pg_class sc ON sc.oid = d.objid
                                         AND (sc.relnamespace <> t.relnamespace
                                              OR sc.relname <> t.relname || '_' || a.attname || '_seq')
                    LEFT JOIN pg_namespace sn ON sn.oid = sc.relnamespace
                   WHERE d.refclassid = 'pg_class'::regclass AND d.refobjid = a.attrelid
                     AND d.refobjsubid = a.attnum AND d.classid = 'pg_class'::regclass AND d.deptype = 'i')
                 END AS identity_sql,
             -- on PostgreSQL 18, whose NOT NULL constraints are named: the name of the column's own
             -- NOT NULL constraint (conislocal) when it is not <table>_<column>_not_null, the name
             -- CREATE TABLE and SET NOT NULL give it when that is free, else NULL. A name given by
             -- CONSTRAINT (pg_dump 18 writes it then), one a renamed table kept and one PostgreSQL
             -- truncated or numbered are written; the definitions of the others stay those of
             -- PostgreSQL 15 (no such rows there: the lookup is not even made). A constraint the
             -- column only inherits is its parent's, named by the parent
             CASE WHEN a.attnotnull AND current_setting('server_version_num')::int >= 180000 THEN
                 (SELECT cn.conname::text
                    FROM pg_constraint cn
                   WHERE cn.conrelid = a.attrelid AND cn.contype = 'n' AND cn.conkey[1] = a.attnum
                     AND cn.conislocal
                     AND cn.conname::text <> (SELECT r.relname::text FROM pg_class r WHERE r.oid = a.attrelid)
                                             || '_' || a.attname || '_not_null') END AS not_null_name
      -- computed once per column: pulled up, each use of x.type, x.collation, x.default_expr...
      -- (in the column's SQL and in its meta) evaluated the expression again, deparsing the same
      -- default up to three times (a table's meta cost a third more at 10,000 tables)
      OFFSET 0
  ) x
 WHERE a.attnum > 0 AND NOT a.attisdropped;

-- ---------------------------------------------------------------------------------------------
-- Per-kind object views. Every one has the columns of pggit.catalog_object followed by
-- classid/objid (the catalog row of the object), relid (the pg_class row holding its columns, for
-- column comments), qname (its quoted qualified name) and comment_target (what COMMENT ON names).
-- ---------------------------------------------------------------------------------------------
CREATE OR REPLACE FUNCTION pggit._storage_name(p_code text)
RETURNS text
LANGUAGE sql IMMUTABLE
SET search_path = pg_catalog, pggit
AS $$
    SELECT CASE p_code WHEN 'p' THEN 'PLAIN' WHEN 'e' THEN 'EXTERNAL' WHEN 'm' THEN 'MAIN' ELSE 'EXTENDED' END
$$;

-- The ALTER TABLE ONLY statements a table's definition carries after its CREATE TABLE for the
-- properties in meta (statistics, storage, compression, replica_identity; see _o_table), in a fixed
-- order: the definition and sql_create/_table_trailing both build them here.
CREATE OR REPLACE FUNCTION pggit._table_props_sql(p_identity text, p_props jsonb)
RETURNS text[]
LANGUAGE sql IMMUTABLE
SET search_path = pg_catalog, pggit
AS $$
    SELECT coalesce(array_agg(x.s ORDER BY x.g, x.col COLLATE "C"), '{}') FROM (
        SELECT 1 AS g, e.key AS col, 'ALTER TABLE ONLY ' || p_identity || ' ALTER COLUMN ' || quote_ident(e.key)
                                     || ' SET STATISTICS ' || e.value || ';' AS s
          FROM jsonb_each_text(coalesce(p_props->'statistics', '{}')) e
        UNION ALL
        SELECT 2, e.key, 'ALTER TABLE ONLY ' || p_identity || ' ALTER COLUMN ' || quote_ident(e.key)
                         || ' SET STORAGE ' || pggit._storage_name(e.value->>0) || ';'
          FROM jsonb_each(coalesce(p_props->'storage', '{}')) e
        UNION ALL
        SELECT 3, e.key, 'ALTER TABLE ONLY ' || p_identity || ' ALTER COLUMN ' || quote_ident(e.key)
                         || ' SET COMPRESSION ' || e.value || ';'
          FROM jsonb_each_text(coalesce(p_props->'compression', '{}')) e
        UNION ALL
        SELECT 4, e.key, 'ALTER TABLE ONLY ' || p_identity || ' ALTER COLUMN ' || quote_ident(e.key)
                         || ' SET (' || (SELECT string_agg(o, ', ') FROM jsonb_array_elements_text(e.value) o) || ');'
          FROM jsonb_each(coalesce(p_props->'column_options', '{}')) e
        UNION ALL
        SELECT 5, '', 'ALTER TABLE ONLY ' || p_identity || ' REPLICA IDENTITY ' || (p_props->>'replica_identity') || ';'
         WHERE p_props ? 'replica_identity') x
$$;

-- The ALTER VIEW ... SET DEFAULT statements of a view's column defaults (meta column_defaults).
CREATE OR REPLACE FUNCTION pggit._view_defaults_sql(p_identity text, p_defaults jsonb)
RETURNS text[]
LANGUAGE sql IMMUTABLE
SET search_path = pg_catalog, pggit
AS $$
    SELECT coalesce(array_agg('ALTER VIEW ' || p_identity || ' ALTER COLUMN ' || quote_ident(d->>'name')
                              || ' SET DEFAULT ' || (d->>'default') || ';' ORDER BY o), '{}')
      FROM jsonb_array_elements(coalesce(p_defaults, '[]')) WITH ORDINALITY e(d, o)
$$;

CREATE OR REPLACE VIEW pggit._o_schema AS
SELECT 'schema:' || n.nspname AS object_key, 'schema'::text AS kind, n.nspname AS schema_name,
       n.nspname AS object_name, NULL::text AS parent_name,
       'CREATE SCHEMA ' || n.qname || ';' AS definition,
       jsonb_build_object('deps', '[]'::jsonb, 'identity', n.qname) AS meta,
       'pg_namespace'::regclass::oid AS anchor_classid, n.oid AS anchor_objid,
       'pg_namespace'::regclass::oid AS classid, n.oid AS objid, NULL::oid AS relid,
       n.qname, 'SCHEMA ' || n.qname AS comment_target
  FROM pggit._ns n
 WHERE NOT EXISTS (SELECT 1 FROM pggit._ext_member x
                    WHERE x.classid = 'pg_namespace'::regclass AND x.objid = n.oid);

CREATE OR REPLACE VIEW pggit._o_extension AS
SELECT 'extension:' || e.extname AS object_key, 'extension'::text AS kind, n.nspname AS schema_name,
       e.extname::text AS object_name, NULL::text AS parent_name,
       'CREATE EXTENSION ' || quote_ident(e.extname) || ' WITH SCHEMA ' || n.qname
         || ' VERSION ' || quote_literal(e.extversion) || ';' AS definition,
       jsonb_build_object(
           'deps', (SELECT coalesce(to_jsonb(array_agg(DISTINCT s.k ORDER BY s.k)), '[]')
                      FROM (SELECT 'schema:' || n.nspname
                            UNION ALL
                            SELECT dk.key FROM pggit._depkeys dk
                             WHERE dk.classid = 'pg_extension'::regclass AND dk.objid = e.oid) s(k)
                     WHERE s.k <> 'extension:' || e.extname),
           'identity', quote_ident(e.extname), 'name', e.extname, 'schema', n.nspname,
           'version', e.extversion) AS meta,
       'pg_extension'::regclass::oid AS anchor_classid, e.oid AS anchor_objid,
       'pg_extension'::regclass::oid AS classid, e.oid AS objid, NULL::oid AS relid,
       quote_ident(e.extname) AS qname, 'EXTENSION ' || quote_ident(e.extname) AS comment_target
  FROM pg_extension e
  JOIN pggit._ns n ON n.oid = e.extnamespace;

CREATE OR REPLACE VIEW pggit._o_table AS
SELECT k.key AS object_key, 'table'::text AS kind, n.nspname AS schema_name, c.relname::text AS object_name,
       NULL::text AS parent_name,
       'CREATE ' || CASE WHEN c.relpersistence = 'u' THEN 'UNLOGGED ' ELSE '' END || 'TABLE ' || k.qname
       || CASE WHEN c.relispartition
               THEN ' PARTITION OF ' || par.qname || coalesce(E' (\n' || pnn.body || E'\n)', '')
                    || E'\n' || pg_get_expr(c.relpartbound, c.oid)
               -- a typed table: its columns are the type's; the options of each are written
               WHEN c.reloftype <> 0
               THEN ' OF ' || format_type(c.reloftype, NULL) || coalesce(E' (\n' || cols.typed_body || E'\n)', '')
               ELSE E' (\n' || coalesce(cols.body, '') || E'\n)'
                    || coalesce(E'\nINHERITS (' || inh.list || ')', '') END
       || CASE WHEN c.relkind = 'p' THEN E'\nPARTITION BY ' || pg_get_partkeydef(c.oid) ELSE '' END
       || coalesce(E'\nWITH (' || array_to_string(opts.list, ', ') || ')', '')
       || ';' || CASE WHEN c.reloftype <> 0 THEN coalesce(cols.typed_identity, '') ELSE '' END
       || coalesce(ihd.sql, '')
       || coalesce(own.sql, '')
       || CASE WHEN c.relrowsecurity THEN E'\nALTER TABLE ' || k.qname || ' ENABLE ROW LEVEL SECURITY;' ELSE '' END
       || CASE WHEN c.relforcerowsecurity THEN E'\nALTER TABLE ' || k.qname || ' FORCE ROW LEVEL SECURITY;' ELSE '' END
       || CASE WHEN props.statistics IS NULL AND props.storage IS NULL AND props.compression IS NULL
                    AND props.column_options IS NULL AND c.relreplident NOT IN ('f', 'n') THEN ''
               ELSE (SELECT string_agg(E'\n' || s, '' ORDER BY o)
                       FROM unnest(pggit._table_props_sql(k.qname, pj.j)) WITH ORDINALITY u(s, o)) END
       AS definition,
       to_jsonb(m) || pj.j
       -- only for a partition: its parent's quoted name (a dropped partition is detached first), its
       -- own NOT NULL columns when it has any
       || CASE WHEN c.relispartition
               THEN jsonb_strip_nulls(jsonb_build_object('partition_parent', par.qname, 'relname', c.relname,
                                                         'own_not_null', pnn.names,
                                                         'not_null_names', pnn.con_names))
               ELSE '{}' END
       -- only for a table whose definition names NOT NULL constraints of its columns (PostgreSQL
       -- 18): {column: name} of the names written (the others are <table>_<column>_not_null)
       || CASE WHEN cols.not_null_names IS NOT NULL
               THEN jsonb_build_object('not_null_names', cols.not_null_names) ELSE '{}' END
       -- only for a child with its own defaults or (INHERITS) NOT NULL of inherited columns
       || CASE WHEN ihd.sql IS NOT NULL
               THEN jsonb_strip_nulls(jsonb_build_object('own_defaults', ihd.defaults, 'own_not_null', ihd.not_null))
               ELSE '{}' END AS meta,
       'pg_class'::regclass::oid AS anchor_classid, c.oid AS anchor_objid,
       'pg_class'::regclass::oid AS classid, c.oid AS objid, c.oid AS relid,
       k.qname, 'TABLE ' || k.qname AS comment_target
  FROM pg_class c
  JOIN pggit._ns n ON n.oid = c.relnamespace
  CROSS JOIN LATERAL (SELECT 'table:' || n.nspname || '.' || c.relname AS key,
                             n.qname || '.' || quote_ident(c.relname) AS qname) k
  -- (each column's meta is the JSON of a row whose fields are named as its keys: to_jsonb of the
  -- rows looks up the type of each of its fields, where jsonb_build_object looked up the type
  -- of each of its arguments, keys included, twice as many; the same objects)
  LEFT JOIN LATERAL (
      SELECT string_agg('    ' || col.sql, E',\n' ORDER BY col.attnum) FILTER (WHERE col.attislocal) AS body,
             -- (a typed table's columns: each WITH OPTIONS, with its default and NOT NULL if it has
             -- them, and the type it has from the table's type as a comment, so that a change of the
             -- type's attributes, which CASCADE makes to the table, changes the table's definition
             -- too: the table is then seen as changed, and the data its columns lose is checked. An
             -- identity follows the CREATE TABLE, as ALTER TABLE ... ADD GENERATED: the only way
             -- PostgreSQL gives a typed table one; it refuses generated columns there)
             string_agg('    ' || quote_ident(col.name) || ' WITH OPTIONS'
                        || coalesce(' DEFAULT ' || col.default_expr, '')
                        || CASE WHEN col.not_null THEN coalesce(' CONSTRAINT ' || quote_ident(col.not_null_name), '')
                                                        || ' NOT NULL' ELSE '' END
                        || ' /* ' || col.type || coalesce(' COLLATE ' || col.collation, '') || ' */',
                        E',\n' ORDER BY col.attnum) FILTER (WHERE c.reloftype <> 0 AND col.attislocal) AS typed_body,
             string_agg(E'\nALTER TABLE ' || k.qname || ' ALTER COLUMN ' || quote_ident(col.name) || ' ADD GENERATED '
                        || col.identity || ' AS IDENTITY' || coalesce(' (' || col.identity_sql || ')', '') || ';',
                        '' ORDER BY col.attnum)
                 FILTER (WHERE c.reloftype <> 0 AND col.attislocal AND col.identity IS NOT NULL)
                 AS typed_identity,
             to_jsonb(array_agg(cm ORDER BY col.attnum) FILTER (WHERE col.attislocal)) AS meta,
             jsonb_object_agg(col.name, col.not_null_name)
                 FILTER (WHERE col.attislocal AND col.not_null_name IS NOT NULL) AS not_null_names
        FROM pggit._columns col
       CROSS JOIN LATERAL (
           SELECT col.name, col.type, col.collation, col.not_null, col.default_expr AS "default",
                  col.identity, col.identity_options, col.identity_sequence, col.generated, col.generated_kind,
                  col.sql) cm
       WHERE col.attrelid = c.oid) cols ON NOT c.relispartition
  LEFT JOIN LATERAL (
      SELECT quote_ident(pn.nspname) || '.' || quote_ident(pc.relname) AS qname,
             'table:' || pn.nspname || '.' || pc.relname AS key
        FROM pg_inherits i JOIN pg_class pc ON pc.oid = i.inhparent
        JOIN pg_namespace pn ON pn.oid = pc.relnamespace
       WHERE i.inhrelid = c.oid) par ON c.relispartition
  -- a partition's NOT NULL that its CREATE TABLE ... PARTITION OF would not give it: a column NOT
  -- NULL where its parent's column of the same name is not (its own: ALTER TABLE part ALTER COLUMN
  -- c SET NOT NULL), and on PostgreSQL 18, whose NOT NULL constraints have names, a constraint
  -- named otherwise than the partition would name it (its own: <partition>_<column>_not_null; one
  -- of the parent's: the parent's name; a table attached keeps its names). Written in column order
  -- as `c WITH OPTIONS [CONSTRAINT name] NOT NULL` (the partition's columns are its parent's);
  -- meta own_not_null lists the own ones' columns, not_null_names the names written
  LEFT JOIN LATERAL (
      SELECT string_agg('    ' || quote_ident(x.attname) || ' WITH OPTIONS '
                        || CASE WHEN x.named THEN 'CONSTRAINT ' || quote_ident(x.conname) || ' ' ELSE '' END
                        || 'NOT NULL', E',\n' ORDER BY x.attnum) AS body,
             to_jsonb(array_agg(x.attname::text ORDER BY x.attnum) FILTER (WHERE x.own)) AS names,
             jsonb_object_agg(x.attname, x.conname) FILTER (WHERE x.named) AS con_names
        FROM (SELECT a.attnum, a.attname, NOT pa.attnotnull AS own, cn.conname,
                     cn.conname IS NOT NULL
                     AND cn.conname IS DISTINCT FROM
                         CASE WHEN pa.attnotnull THEN pcn.conname
                              ELSE c.relname || '_' || a.attname || '_not_null' END AS named
                FROM pg_attribute a
                JOIN pg_inherits i ON i.inhrelid = c.oid
                JOIN pg_attribute pa ON pa.attrelid = i.inhparent AND pa.attname = a.attname
                LEFT JOIN pg_constraint cn ON cn.conrelid = c.oid AND cn.contype = 'n'
                                          AND cn.conkey[1] = a.attnum
                LEFT JOIN pg_constraint pcn ON pcn.conrelid = i.inhparent AND pcn.contype = 'n'
                                           AND pcn.conkey[1] = pa.attnum
               WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped AND a.attnotnull) x
       WHERE x.own OR x.named) pnn ON c.relispartition
  LEFT JOIN LATERAL (
      SELECT string_agg(quote_ident(pn.nspname) || '.' || quote_ident(pc.relname), ', ' ORDER BY i.inhseqno) AS list,
             to_jsonb(array_agg('table:' || pn.nspname || '.' || pc.relname ORDER BY i.inhseqno)) AS keys
        FROM pg_inherits i JOIN pg_class pc ON pc.oid = i.inhparent
        JOIN pg_namespace pn ON pn.oid = pc.relnamespace
       WHERE i.inhrelid = c.oid) inh ON NOT c.relispartition
  -- what a child's CREATE TABLE ... PARTITION OF / INHERITS does not give its inherited columns,
  -- as pg_dump writes it after the table: for a column it does not declare itself (a declared one
  -- is written whole in its body) its own default, another expression than its parent's or none
  -- where the parent has one (`ALTER TABLE ONLY t ALTER COLUMN c SET DEFAULT e;` / `DROP
  -- DEFAULT;`), for a column it declares without a default where its parent has one `DROP
  -- DEFAULT` (CREATE TABLE ... INHERITS gives the declared column the parent's default), and
  -- an INHERITS child's own NOT NULL (`... SET NOT NULL;`: a partition's is in its PARTITION OF,
  -- pnn; on PostgreSQL 18 also one of a column NOT NULL in a parent, whose inherited constraint
  -- the statement marks its own, keeping the parent's name: the name is not written). The
  -- parent's default is the one CREATE TABLE would give: that of the first parent whose column
  -- has one. The statements do not name the parent's default (a child's definition changes
  -- with it only where its own default stops or starts being another): a parent's recursing SET
  -- DEFAULT takes a child's own default, the migration plan sets it again after
  -- (pggit.tree_default_reapply); capture re-reads the children after a parent's ALTER TABLE.
  -- Only tables with a parent look at their columns here
  LEFT JOIN LATERAL (
      SELECT coalesce(string_agg(E'\nALTER TABLE ONLY ' || k.qname || ' ALTER COLUMN ' || quote_ident(x.attname)
                                 || coalesce(' SET DEFAULT ' || x.own_default, ' DROP DEFAULT') || ';', '' ORDER BY x.attnum)
                          FILTER (WHERE x.own_default IS DISTINCT FROM x.parent_default), '')
             || coalesce(string_agg(E'\nALTER TABLE ONLY ' || k.qname || ' ALTER COLUMN ' || quote_ident(x.attname)
                                    || ' SET NOT NULL;', '' ORDER BY x.attnum) FILTER (WHERE x.own_not_null), '')
                 AS sql,
             jsonb_object_agg(x.attname, jsonb_build_object('default', x.own_default))
                 FILTER (WHERE x.own_default IS DISTINCT FROM x.parent_default) AS defaults,
             to_jsonb(array_agg(x.attname::text ORDER BY x.attnum) FILTER (WHERE x.own_not_null)) AS not_null
        FROM (SELECT a.attnum, a.attname, a.attislocal, pg_get_expr(ad.adbin, ad.adrelid) AS own_default,
                     (SELECT pg_get_expr(pd.adbin, pd.adrelid)
                        FROM pg_inherits i
                        JOIN pg_attribute pa ON pa.attrelid = i.inhparent AND pa.attname = a.attname
                        JOIN pg_attrdef pd ON pd.adrelid = pa.attrelid AND pd.adnum = pa.attnum
                       WHERE i.inhrelid = c.oid AND pa.attgenerated = ''
                       ORDER BY i.inhseqno LIMIT 1) AS parent_default,
                     -- (its own: nullable in every parent, or on PostgreSQL 18 a NOT NULL constraint
                     -- of its own, conislocal, that it may inherit too: a child's SET NOT NULL of a
                     -- column NOT NULL in its parent; no such row on PostgreSQL 15)
                     NOT c.relispartition AND a.attnotnull AND NOT a.attislocal
                     AND (NOT EXISTS (SELECT 1 FROM pg_inherits i
                                        JOIN pg_attribute pa ON pa.attrelid = i.inhparent AND pa.attname = a.attname
                                       WHERE i.inhrelid = c.oid AND pa.attnotnull)
                          OR EXISTS (SELECT 1 FROM pg_constraint cn
                                      WHERE cn.conrelid = c.oid AND cn.contype = 'n' AND cn.conkey[1] = a.attnum
                                        AND cn.conislocal)) AS own_not_null
                FROM pg_attribute a
                LEFT JOIN pg_attrdef ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum
               WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
                 AND a.attgenerated = '' AND (c.relispartition OR inh.list IS NOT NULL)) x
       WHERE (NOT x.attislocal AND x.own_default IS DISTINCT FROM x.parent_default)
          OR (x.attislocal AND x.own_default IS NULL AND x.parent_default IS NOT NULL)
          OR x.own_not_null
      HAVING count(*) > 0) ihd ON c.relispartition OR inh.list IS NOT NULL
  LEFT JOIN LATERAL (
      SELECT string_agg(E'\nALTER SEQUENCE ' || quote_ident(sn.nspname) || '.' || quote_ident(s.relname)
                        || ' OWNED BY ' || k.qname || '.' || quote_ident(a.attname) || ';', ''
                        ORDER BY sn.nspname, s.relname) AS sql,
             to_jsonb(array_agg(om ORDER BY sn.nspname, s.relname)) AS meta,
             to_jsonb(array_agg('sequence:' || sn.nspname || '.' || s.relname)) AS keys
        FROM pg_depend d
        JOIN pg_class s ON s.oid = d.objid AND s.relkind = 'S'
        JOIN pg_namespace sn ON sn.oid = s.relnamespace
        JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = d.refobjsubid
       CROSS JOIN LATERAL (SELECT quote_ident(sn.nspname) || '.' || quote_ident(s.relname) AS sequence,
                                  a.attname AS "column") om
       WHERE d.refclassid = 'pg_class'::regclass AND d.refobjid = c.oid AND d.refobjsubid > 0
         AND d.classid = 'pg_class'::regclass AND d.deptype = 'a') own ON true
  -- what pg_dump writes as ALTER TABLE ONLY after the table, only when set (meta keys absent
  -- otherwise): statistics targets, storage and compression differing from the type's, replica
  -- identity FULL/NOTHING (USING INDEX is written by that index or constraint)
  -- (one scan of the table's columns for the three: an aggregate over no row is NULL, as before)
  CROSS JOIN LATERAL (
      SELECT jsonb_object_agg(a.attname, a.attstattarget) FILTER (WHERE a.attstattarget >= 0) AS statistics,
             jsonb_object_agg(a.attname, jsonb_build_array(a.attstorage, ty.typstorage))
                 FILTER (WHERE a.attstorage <> ty.typstorage) AS storage,
             jsonb_object_agg(a.attname, CASE a.attcompression WHEN 'p' THEN 'pglz' ELSE 'lz4' END)
                 FILTER (WHERE a.attcompression <> '') AS compression,
             -- a column's attribute options (n_distinct, n_distinct_inherited), sorted; not the
             -- server's own (named pg_*: some builds keep a version stamp there, which changes at
             -- each ALTER and cannot be set)
             jsonb_object_agg(a.attname, (SELECT to_jsonb(array_agg(o ORDER BY o COLLATE "C")) FROM unnest(a.attoptions) o
                                           WHERE o NOT LIKE 'pg\_%'))
                 FILTER (WHERE a.attoptions IS NOT NULL
                                AND EXISTS (SELECT 1 FROM unnest(a.attoptions) o WHERE o NOT LIKE 'pg\_%'))
                 AS column_options,
             -- whether CREATE TABLE makes it a TOAST table: a column of variable length whose
             -- type's storage is not plain (a table whose last such column was dropped keeps its
             -- TOAST table, and its toast.* options, which a re-created one does not have)
             coalesce(bool_or(a.attlen = -1 AND ty.typstorage <> 'p' AND a.attgenerated <> 'v'), false) AS toastable
        FROM pg_attribute a JOIN pg_type ty ON ty.oid = a.atttypid
       WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
      OFFSET 0  -- computed once per table: pulled up, it ran once per use (twice)
  ) props
  -- storage parameters, with those of the TOAST table as toast.<name> (WITH and SET take them
  -- so), sorted byte-wise; the TOAST table's only where the columns make one (props.toastable)
  LEFT JOIN LATERAL (SELECT array_agg(o ORDER BY o COLLATE "C") AS list
                       FROM (SELECT unnest(c.reloptions)
                             UNION ALL
                             SELECT 'toast.' || unnest(tc.reloptions) FROM pg_class tc
                              WHERE props.toastable AND tc.oid = c.reltoastrelid) s(o)) opts ON true
  -- (the properties' object, built only where it is read: the definition reads it when one of
  -- them is set, which the definition tests on the aggregates; building it for every table cost
  -- ~3 us, ~30 ms of a read of 10,000 tables' definitions)
  CROSS JOIN LATERAL (
      SELECT jsonb_strip_nulls(jsonb_build_object(
                 'statistics', props.statistics, 'storage', props.storage, 'compression', props.compression,
                 'column_options', props.column_options,
                 'replica_identity', CASE c.relreplident WHEN 'f' THEN 'FULL' WHEN 'n' THEN 'NOTHING' END,
                 'of_type', CASE WHEN c.reloftype <> 0 THEN format_type(c.reloftype, NULL) END)) AS j
  ) pj
  -- the meta (then its properties): the JSON of a row whose fields are named as its keys, which
  -- to_jsonb converts looking up no key's type (jsonb_build_object looked up every argument's,
  -- keys included, on each call)
  CROSS JOIN LATERAL (
      SELECT (SELECT coalesce(to_jsonb(array_agg(DISTINCT s.k ORDER BY s.k)), '[]')
                FROM (SELECT 'schema:' || n.nspname
                      UNION ALL
                      SELECT dk.key FROM pggit._depkeys dk
                       WHERE dk.classid = 'pg_class'::regclass AND dk.objid = c.oid
                         AND (dk.refclassid, dk.refobjid) <> ('pg_class'::regclass::oid, c.oid)
                      UNION ALL
                      SELECT dk.key FROM pg_attrdef ad
                       CROSS JOIN LATERAL (
                           SELECT dk.key FROM pggit._depkeys dk
                            WHERE dk.classid = 'pg_attrdef'::regclass AND dk.objid = ad.oid
                              AND (dk.refclassid, dk.refobjid) <> ('pg_class'::regclass::oid, c.oid)
                           OFFSET 0) dk
                       WHERE ad.adrelid = c.oid
                      UNION ALL
                      SELECT jsonb_array_elements_text(own.keys)) s(k)
               WHERE s.k <> k.key) AS deps,
             k.qname AS identity,
             CASE WHEN c.relispartition THEN '[]'::jsonb ELSE coalesce(cols.meta, '[]') END AS columns,
             c.relpersistence = 'u' AS unlogged,
             par.key AS partition_of,
             pg_get_expr(c.relpartbound, c.oid) AS partition_bound,
             CASE WHEN c.relkind = 'p' THEN pg_get_partkeydef(c.oid) END AS partition_key,
             coalesce(inh.keys, '[]') AS inherits,
             to_jsonb(coalesce(opts.list, '{}')) AS options,
             c.relrowsecurity AS rls, c.relforcerowsecurity AS rls_forced,
             coalesce(own.meta, '[]') AS owned_sequences) m
 WHERE c.relkind IN ('r', 'p')
   AND NOT EXISTS (SELECT 1 FROM pggit._ext_member x WHERE x.classid = 'pg_class'::regclass AND x.objid = c.oid);

CREATE OR REPLACE VIEW pggit._o_constraint AS
SELECT k.key AS object_key, 'constraint'::text AS kind, n.nspname AS schema_name,
       con.conname::text AS object_name, t.relname::text AS parent_name,
       'ALTER TABLE ' || k.tq || ' ADD CONSTRAINT ' || quote_ident(con.conname) || ' '
         || pg_get_constraintdef(con.oid) || ';'
         || CASE WHEN con.contype IN ('p', 'u')
                      AND (SELECT x.indisreplident FROM pg_index x WHERE x.indexrelid = con.conindid)
                 THEN E'\nALTER TABLE ONLY ' || k.tq || ' REPLICA IDENTITY USING INDEX '
                      || quote_ident((SELECT x.relname FROM pg_class x WHERE x.oid = con.conindid)) || ';'
                 ELSE '' END
         -- the index CLUSTER uses (CLUSTER ON), last, as for an index (_alter_cluster)
         || CASE WHEN con.contype IN ('p', 'u', 'x')
                      AND (SELECT x.indisclustered FROM pg_index x WHERE x.indexrelid = con.conindid)
                 THEN E'\nALTER TABLE ' || k.tq || ' CLUSTER ON '
                      || quote_ident((SELECT x.relname FROM pg_class x WHERE x.oid = con.conindid)) || ';'
                 ELSE '' END AS definition,
       to_jsonb(m)
       -- a constraint also inherited from a parent (declared on both: a child of INHERITS that
       -- declares its parent's CHECK): the keys of the parents' constraints of that name, which a
       -- plan dropping both drops first (PostgreSQL refuses to drop it while it is inherited)
       || CASE WHEN con.coninhcount > 0
               THEN jsonb_build_object('parent_constraints', (
                   SELECT coalesce(to_jsonb(array_agg('constraint:' || pn.nspname || '.' || pt.relname || '.' || pc.conname
                                                      ORDER BY pn.nspname, pt.relname)), '[]')
                     FROM pg_inherits inh
                     JOIN pg_constraint pc ON pc.conrelid = inh.inhparent AND pc.conname = con.conname
                     JOIN pg_class pt ON pt.oid = inh.inhparent
                     JOIN pg_namespace pn ON pn.oid = pt.relnamespace
                    WHERE inh.inhrelid = t.oid))
               ELSE '{}' END AS meta,
       'pg_class'::regclass::oid AS anchor_classid, t.oid AS anchor_objid,
       'pg_constraint'::regclass::oid AS classid, con.oid AS objid, NULL::oid AS relid,
       quote_ident(con.conname) AS qname, 'CONSTRAINT ' || quote_ident(con.conname) || ' ON ' || k.tq AS comment_target
  FROM pg_constraint con
  JOIN pg_class t ON t.oid = con.conrelid
  JOIN pggit._ns n ON n.oid = t.relnamespace
  CROSS JOIN LATERAL (SELECT 'constraint:' || n.nspname || '.' || t.relname || '.' || con.conname AS key,
                             'table:' || n.nspname || '.' || t.relname AS tkey,
                             n.qname || '.' || quote_ident(t.relname) AS tq) k
  -- the meta: the JSON of a row named as its keys (see _o_table)
  CROSS JOIN LATERAL (
      SELECT (SELECT coalesce(to_jsonb(array_agg(DISTINCT s.k ORDER BY s.k)), '[]')
                FROM (SELECT 'schema:' || n.nspname
                      UNION ALL SELECT k.tkey
                      UNION ALL
                      SELECT dk.key FROM pggit._depkeys dk
                       WHERE dk.classid = 'pg_constraint'::regclass AND dk.objid = con.oid
                         AND (dk.refclassid, dk.refobjid) <> ('pg_class'::regclass::oid, t.oid)
                      UNION ALL
                      SELECT dk.key FROM pggit._depkeys dk
                       WHERE con.contype IN ('p', 'u', 'x') AND dk.classid = 'pg_class'::regclass
                         AND dk.objid = con.conindid
                         AND (dk.refclassid, dk.refobjid) <> ('pg_class'::regclass::oid, t.oid)) s(k)
               WHERE s.k <> k.key) AS deps,
             quote_ident(con.conname) AS identity, k.tq AS "table", k.tkey AS table_key, con.conname AS name,
             CASE con.contype WHEN 'p' THEN 'PRIMARY KEY' WHEN 'u' THEN 'UNIQUE' WHEN 'f' THEN 'FOREIGN KEY'
                              WHEN 'c' THEN 'CHECK' ELSE 'EXCLUDE' END AS type) m
 WHERE con.contype IN ('p', 'u', 'f', 'c', 'x') AND con.conparentid = 0
   AND (con.contype <> 'c' OR con.conislocal) AND t.relkind IN ('r', 'p')
   AND NOT EXISTS (SELECT 1 FROM pggit._ext_member x WHERE x.classid = 'pg_class'::regclass AND x.objid = t.oid);

CREATE OR REPLACE VIEW pggit._o_index AS
SELECT k.key AS object_key, 'index'::text AS kind, n.nspname AS schema_name, ic.relname::text AS object_name,
       t.relname::text AS parent_name,
       (coalesce(ia.plain,
                 CASE WHEN t.relkind = 'p' THEN regexp_replace(pg_get_indexdef(ic.oid), ' ON ONLY ', ' ON ')
                      ELSE pg_get_indexdef(ic.oid) END) || ';'
       -- statistics targets of its (expression) columns, replica identity using it, the index
       -- CLUSTER uses (pg_dump's ALTER TABLE ... CLUSTER ON; a materialized view's:
       -- ALTER MATERIALIZED VIEW), last: gained and lost in place (_alter_cluster)
       || coalesce(ia.statistics, '')
       || CASE WHEN i.indisreplident THEN E'\nALTER TABLE ONLY ' || k.tq || ' REPLICA IDENTITY USING INDEX '
                                          || quote_ident(ic.relname) || ';' ELSE '' END
       || CASE WHEN i.indisclustered
               THEN E'\nALTER ' || CASE WHEN t.relkind = 'm' THEN 'MATERIALIZED VIEW ' ELSE 'TABLE ' END
                    || k.tq || ' CLUSTER ON ' || quote_ident(ic.relname) || ';' ELSE '' END) COLLATE "default" AS definition,
       to_jsonb(m) AS meta,
       'pg_class'::regclass::oid AS anchor_classid, t.oid AS anchor_objid,
       'pg_class'::regclass::oid AS classid, ic.oid AS objid, NULL::oid AS relid,
       n.qname || '.' || quote_ident(ic.relname) AS qname,
       -- (COMMENT ON INDEX names the index alone: its table, part of the comment's key and
       -- dependency, is named in a comment, `INDEX s.i /* on s.t */`; an index keeps its name when
       -- its table is renamed, and so would its comment's text: pggit._comment_text)
       'INDEX ' || n.qname || '.' || quote_ident(ic.relname) || ' /* on ' || pggit._comment_text(k.tq) || ' */'
         AS comment_target
  FROM pg_index i
  JOIN pg_class ic ON ic.oid = i.indexrelid
  JOIN pg_class t ON t.oid = i.indrelid
  JOIN pggit._ns n ON n.oid = t.relnamespace
  CROSS JOIN LATERAL (SELECT 'index:' || n.nspname || '.' || t.relname || '.' || ic.relname AS key,
                             CASE t.relkind WHEN 'm' THEN 'materialized_view:' ELSE 'table:' END
                               || n.nspname || '.' || t.relname AS tkey,
                             n.qname || '.' || quote_ident(t.relname) AS tq) k
  -- the index's columns, once: the statistics targets its definition carries, and for a plain btree
  -- index its definition as pg_get_indexdef prints it, written here: key columns of the table only
  -- (no expression, predicate, INCLUDE, storage parameters, NULLS NOT DISTINCT), each with its
  -- column's collation (or none), no DESC/NULLS flag, no options (an operator class's parameters),
  -- and an operator class of pg_catalog that is the default of btree for exactly the column's
  -- type (which is then never a domain): GetDefaultOpClass, whose scan of every btree operator
  -- class was most of pg_get_indexdef's cost (~100 ms of 10,000 indexes), returns that class and
  -- nothing is printed for it. Names as pg_get_indexdef writes them: the index's quoted, the
  -- table's always qualified. plain is NULL for any other index (and for a partitioned one):
  -- pg_get_indexdef writes it. (The table's column is looked up from the index's own column, a
  -- probe each: joined with the arrays unnested, the planner hashed the table's columns for
  -- every index.) Tests: test_catalog.py (plain btree indexes' fast path).
  CROSS JOIN LATERAL (
      SELECT string_agg(E'\nALTER INDEX ' || n.qname || '.' || quote_ident(ic.relname)
                        || ' ALTER COLUMN ' || a.attnum || ' SET STATISTICS ' || a.attstattarget || ';',
                        '' ORDER BY a.attnum) FILTER (WHERE a.attstattarget >= 0) AS statistics,
             CASE WHEN ic.relam = (SELECT am.oid FROM pg_am am WHERE am.amname = 'btree') AND ic.relkind = 'i'
                       AND i.indnatts = i.indnkeyatts AND i.indexprs IS NULL AND i.indpred IS NULL
                       AND ic.reloptions IS NULL AND NOT i.indnullsnotdistinct
                       AND bool_and(coalesce(a.attoptions IS NULL AND i.indoption[a.attnum - 1] = 0
                                             AND (i.indcollation[a.attnum - 1] = 0
                                                  OR i.indcollation[a.attnum - 1] = ta.attcollation)
                                             AND (i.indclass[a.attnum - 1], ta.atttypid)
                                                 IN (SELECT oc.oid, oc.opcintype FROM pg_opclass oc
                                                      WHERE oc.opcdefault
                                                        AND oc.opcnamespace = 'pg_catalog'::regnamespace),
                                             false))
                  THEN 'CREATE ' || CASE WHEN i.indisunique THEN 'UNIQUE ' ELSE '' END || 'INDEX '
                       || quote_ident(ic.relname) || ' ON ' || k.tq || ' USING btree ('
                       || string_agg(quote_ident(ta.attname), ', ' ORDER BY a.attnum) || ')' END AS plain
        FROM pg_attribute a
        LEFT JOIN LATERAL (
            SELECT ta.attname, ta.atttypid, ta.attcollation FROM pg_attribute ta
             WHERE ta.attrelid = i.indrelid AND ta.attnum = i.indkey[a.attnum - 1]
            OFFSET 0) ta ON true
       WHERE a.attrelid = ic.oid AND a.attnum > 0
  ) ia
  -- the meta: the JSON of a row named as its keys (see _o_table)
  CROSS JOIN LATERAL (
      SELECT (SELECT coalesce(to_jsonb(array_agg(DISTINCT s.k ORDER BY s.k)), '[]')
                FROM (SELECT 'schema:' || n.nspname
                      UNION ALL SELECT k.tkey
                      UNION ALL
                      SELECT dk.key FROM pggit._depkeys dk
                       WHERE dk.classid = 'pg_class'::regclass AND dk.objid = ic.oid
                         AND (dk.refclassid, dk.refobjid) <> ('pg_class'::regclass::oid, t.oid)) s(k)
               WHERE s.k <> k.key) AS deps,
             n.qname || '.' || quote_ident(ic.relname) AS identity, k.tq AS "table", k.tkey AS table_key,
             ic.relname AS name) m
 WHERE t.relkind IN ('r', 'p', 'm') AND NOT ic.relispartition
   AND NOT EXISTS (SELECT 1 FROM pg_constraint con
                    WHERE con.conrelid = i.indrelid AND con.conindid = i.indexrelid
                      AND con.contype IN ('p', 'u', 'x'))
   AND NOT EXISTS (SELECT 1 FROM pggit._ext_member x WHERE x.classid = 'pg_class'::regclass AND x.objid = t.oid);

CREATE OR REPLACE VIEW pggit._o_view AS
SELECT k.key AS object_key, k.kind, n.nspname AS schema_name, c.relname::text AS object_name,
       NULL::text AS parent_name,
       'CREATE ' || CASE c.relkind WHEN 'v' THEN 'VIEW ' ELSE 'MATERIALIZED VIEW ' END || k.qname
         || coalesce(' WITH (' || array_to_string(opts.list, ', ') || ')', '')
         || E' AS\n' || rtrim(pg_get_viewdef(c.oid), E'; \n\t\r') || ';'
         || coalesce((SELECT string_agg(E'\n' || s, '' ORDER BY o)
                        FROM unnest(pggit._view_defaults_sql(k.qname, vd.defaults)) WITH ORDINALITY u(s, o)), '')
         || coalesce((SELECT string_agg(E'\n' || s, '' ORDER BY o)
                        FROM unnest(pggit._table_props_sql(k.qname, mp.j)) WITH ORDINALITY u(s, o)), '')
         AS definition,
       jsonb_build_object(
           'deps', (SELECT coalesce(to_jsonb(array_agg(DISTINCT s.k ORDER BY s.k)), '[]')
                      FROM (SELECT 'schema:' || n.nspname
                            UNION ALL
                            SELECT dk.key FROM pg_rewrite r
                             CROSS JOIN LATERAL (
                                 SELECT dk.key FROM pggit._depkeys dk
                                  WHERE dk.classid = 'pg_rewrite'::regclass AND dk.objid = r.oid
                                    AND dk.deptype = 'n'
                                 OFFSET 0) dk
                             WHERE r.ev_class = c.oid
                            UNION ALL
                            SELECT dk.key FROM pg_attrdef ad
                             CROSS JOIN LATERAL (
                                 SELECT dk.key FROM pggit._depkeys dk
                                  WHERE dk.classid = 'pg_attrdef'::regclass AND dk.objid = ad.oid
                                    AND (dk.refclassid, dk.refobjid) <> ('pg_class'::regclass::oid, c.oid)
                                 OFFSET 0) dk
                             WHERE vd.defaults IS NOT NULL AND ad.adrelid = c.oid) s(k)
                     WHERE s.k <> k.key),
           'identity', k.qname,
           'options', to_jsonb(coalesce(opts.list, '{}')),
           'columns', (SELECT to_jsonb(array_agg(jsonb_build_object('name', a.attname,
                                                           'type', format_type(a.atttypid, a.atttypmod))
                                        ORDER BY a.attnum))
                         FROM pg_attribute a
                        WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped))
       -- only when present: column defaults (ALTER VIEW ... SET DEFAULT), a reference to itself
       -- (a normal dependency of its _RETURN rule on one of its own columns; every view's rule has
       -- one on the view as a whole)
       || coalesce(mp.j, '{}')
       || jsonb_strip_nulls(jsonb_build_object(
              'column_defaults', vd.defaults,
              'self_reference', CASE WHEN EXISTS (
                  SELECT 1 FROM pg_rewrite r JOIN pg_depend d ON d.classid = 'pg_rewrite'::regclass AND d.objid = r.oid
                   WHERE r.ev_class = c.oid AND d.refclassid = 'pg_class'::regclass AND d.refobjid = c.oid
                     AND d.deptype = 'n' AND d.refobjsubid > 0) THEN true END)) AS meta,
       'pg_class'::regclass::oid AS anchor_classid, c.oid AS anchor_objid,
       'pg_class'::regclass::oid AS classid, c.oid AS objid, c.oid AS relid,
       k.qname, CASE c.relkind WHEN 'v' THEN 'VIEW ' ELSE 'MATERIALIZED VIEW ' END || k.qname AS comment_target
  FROM pg_class c
  JOIN pggit._ns n ON n.oid = c.relnamespace
  CROSS JOIN LATERAL (SELECT CASE c.relkind WHEN 'v' THEN 'view' ELSE 'materialized_view' END AS kind,
                             CASE c.relkind WHEN 'v' THEN 'view:' ELSE 'materialized_view:' END
                               || n.nspname || '.' || c.relname AS key,
                             n.qname || '.' || quote_ident(c.relname) AS qname) k
  LEFT JOIN LATERAL (SELECT to_jsonb(array_agg(jsonb_build_object('name', a.attname, 'default', pg_get_expr(ad.adbin, ad.adrelid))
                                      ORDER BY a.attnum)) AS defaults
                       FROM pg_attrdef ad JOIN pg_attribute a ON a.attrelid = ad.adrelid AND a.attnum = ad.adnum
                      WHERE ad.adrelid = c.oid) vd ON true
  -- a materialized view's columns' statistics targets, storage and compression other than their
  -- type's, attribute options: as a table's (meta keys only when set; pg_dump writes them as
  -- ALTER TABLE ONLY too). NULL when none is set
  LEFT JOIN LATERAL (
      SELECT nullif(jsonb_strip_nulls(jsonb_build_object(
                 'statistics', jsonb_object_agg(a.attname, a.attstattarget) FILTER (WHERE a.attstattarget >= 0),
                 'storage', jsonb_object_agg(a.attname, jsonb_build_array(a.attstorage, ty.typstorage))
                                FILTER (WHERE a.attstorage <> ty.typstorage),
                 'compression', jsonb_object_agg(a.attname, CASE a.attcompression WHEN 'p' THEN 'pglz' ELSE 'lz4' END)
                                    FILTER (WHERE a.attcompression <> ''),
                 'column_options', jsonb_object_agg(a.attname, (SELECT to_jsonb(array_agg(o ORDER BY o COLLATE "C"))
                                                                  FROM unnest(a.attoptions) o WHERE o NOT LIKE 'pg\_%'))
                                       FILTER (WHERE a.attoptions IS NOT NULL
                                               AND EXISTS (SELECT 1 FROM unnest(a.attoptions) o
                                                            WHERE o NOT LIKE 'pg\_%')))), '{}') AS j,
             -- whether CREATE MATERIALIZED VIEW makes it a TOAST table (as a table's toastable)
             coalesce(bool_or(a.attlen = -1 AND ty.typstorage <> 'p'), false) AS toastable
        FROM pg_attribute a JOIN pg_type ty ON ty.oid = a.atttypid
       WHERE c.relkind = 'm' AND a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped) mp ON true
  -- storage parameters (a view's check_option among them), sorted byte-wise; a materialized
  -- view's TOAST table's as toast.<name>, only where its columns make one (mp.toastable)
  LEFT JOIN LATERAL (SELECT array_agg(o ORDER BY o COLLATE "C") AS list
                       FROM (SELECT unnest(c.reloptions)
                             UNION ALL
                             SELECT 'toast.' || unnest(tc.reloptions) FROM pg_class tc
                              WHERE mp.toastable AND tc.oid = c.reltoastrelid) s(o)) opts ON true
 WHERE c.relkind IN ('v', 'm')
   AND NOT EXISTS (SELECT 1 FROM pggit._ext_member x WHERE x.classid = 'pg_class'::regclass AND x.objid = c.oid);

CREATE OR REPLACE VIEW pggit._o_function AS
SELECT pk.key AS object_key, k.kind, pk.nspname AS schema_name, p.proname::text AS object_name,
       NULL::text AS parent_name,
       rtrim(pg_get_functiondef(p.oid), E' \n\t\r') || ';' AS definition,
       jsonb_build_object(
           'deps', (SELECT coalesce(to_jsonb(array_agg(DISTINCT s.k ORDER BY s.k)), '[]')
                      FROM (SELECT 'schema:' || pk.nspname
                            UNION ALL
                            SELECT dk.key FROM pggit._depkeys dk
                             WHERE dk.classid = 'pg_proc'::regclass AND dk.objid = p.oid) s(k)
                     WHERE s.k <> pk.key),
           'identity', k.identity, 'kind', k.kind,
           'returns', pg_get_function_result(p.oid),
           'arguments', pg_get_function_arguments(p.oid),
           'signature', (SELECT coalesce(to_jsonb(array_agg(jsonb_build_object(
                                    'mode', coalesce(u.m::text, 'i'), 'name', coalesce(u.nm, ''),
                                    'type', format_type(u.t, NULL)) ORDER BY u.o)), '[]')
                           FROM unnest(coalesce(p.proallargtypes, p.proargtypes::oid[]), p.proargmodes,
                                       p.proargnames) WITH ORDINALITY AS u(t, m, nm, o)),
           'defaults', p.pronargdefaults,
           'language', (SELECT l.lanname FROM pg_language l WHERE l.oid = p.prolang)) AS meta,
       'pg_proc'::regclass::oid AS anchor_classid, p.oid AS anchor_objid,
       'pg_proc'::regclass::oid AS classid, p.oid AS objid, NULL::oid AS relid,
       k.identity AS qname, upper(k.kind) || ' ' || k.identity AS comment_target
  FROM pg_proc p
  JOIN pggit._proc_key pk ON pk.oid = p.oid
  CROSS JOIN LATERAL (SELECT CASE p.prokind WHEN 'p' THEN 'procedure' ELSE 'function' END AS kind,
                             pk.qname || '(' || pg_get_function_identity_arguments(p.oid) || ')' AS identity) k
 WHERE p.prokind IN ('f', 'p')
   AND NOT EXISTS (SELECT 1 FROM pg_depend x WHERE x.classid = 'pg_proc'::regclass AND x.objid = p.oid
                      AND x.deptype IN ('e', 'i'));

CREATE OR REPLACE VIEW pggit._o_aggregate AS
SELECT pk.key AS object_key, 'aggregate'::text AS kind, pk.nspname AS schema_name, p.proname::text AS object_name,
       NULL::text AS parent_name,
       'CREATE AGGREGATE ' || k.head || E' (\n    ' || array_to_string(ARRAY[
           'SFUNC = ' || a.aggtransfn::regproc::text,
           'STYPE = ' || format_type(a.aggtranstype, NULL),
           CASE WHEN a.aggtransspace <> 0 THEN 'SSPACE = ' || a.aggtransspace END,
           CASE WHEN a.aggfinalfn <> 0 THEN 'FINALFUNC = ' || a.aggfinalfn::regproc::text END,
           CASE WHEN a.aggfinalextra THEN 'FINALFUNC_EXTRA' END,
           CASE WHEN a.aggfinalfn <> 0 THEN 'FINALFUNC_MODIFY = '
                || CASE a.aggfinalmodify WHEN 'r' THEN 'READ_ONLY' WHEN 's' THEN 'SHAREABLE' ELSE 'READ_WRITE' END END,
           CASE WHEN a.aggcombinefn <> 0 THEN 'COMBINEFUNC = ' || a.aggcombinefn::regproc::text END,
           CASE WHEN a.aggserialfn <> 0 THEN 'SERIALFUNC = ' || a.aggserialfn::regproc::text END,
           CASE WHEN a.aggdeserialfn <> 0 THEN 'DESERIALFUNC = ' || a.aggdeserialfn::regproc::text END,
           CASE WHEN a.agginitval IS NOT NULL THEN 'INITCOND = ' || quote_literal(a.agginitval) END,
           CASE WHEN a.aggmtransfn <> 0 THEN 'MSFUNC = ' || a.aggmtransfn::regproc::text END,
           CASE WHEN a.aggminvtransfn <> 0 THEN 'MINVFUNC = ' || a.aggminvtransfn::regproc::text END,
           CASE WHEN a.aggmtranstype <> 0 THEN 'MSTYPE = ' || format_type(a.aggmtranstype, NULL) END,
           CASE WHEN a.aggmtransspace <> 0 THEN 'MSSPACE = ' || a.aggmtransspace END,
           CASE WHEN a.aggmfinalfn <> 0 THEN 'MFINALFUNC = ' || a.aggmfinalfn::regproc::text END,
           CASE WHEN a.aggmfinalextra THEN 'MFINALFUNC_EXTRA' END,
           CASE WHEN a.aggmfinalfn <> 0 THEN 'MFINALFUNC_MODIFY = '
                || CASE a.aggmfinalmodify WHEN 'r' THEN 'READ_ONLY' WHEN 's' THEN 'SHAREABLE' ELSE 'READ_WRITE' END END,
           CASE WHEN a.aggminitval IS NOT NULL THEN 'MINITCOND = ' || quote_literal(a.aggminitval) END,
           -- OPERATOR(schema.name): CREATE AGGREGATE takes a bare operator name, which the
           -- regoperator text (with its argument types) is not
           (SELECT 'SORTOP = OPERATOR(' || quote_ident(son.nspname) || '.' || so.oprname || ')'
              FROM pg_operator so JOIN pg_namespace son ON son.oid = so.oprnamespace
             WHERE so.oid = a.aggsortop),
           CASE p.proparallel WHEN 's' THEN 'PARALLEL = SAFE' WHEN 'r' THEN 'PARALLEL = RESTRICTED' END,
           CASE WHEN a.aggkind = 'h' THEN 'HYPOTHETICAL' END], E',\n    ') || E'\n);' AS definition,
       jsonb_build_object(
           'deps', (SELECT coalesce(to_jsonb(array_agg(DISTINCT s.k ORDER BY s.k)), '[]')
                      FROM (SELECT 'schema:' || pk.nspname
                            UNION ALL
                            SELECT dk.key FROM pggit._depkeys dk
                             WHERE dk.classid = 'pg_proc'::regclass AND dk.objid = p.oid) s(k)
                     WHERE s.k <> pk.key),
           'identity', k.head, 'kind', 'aggregate', 'returns', pg_get_function_result(p.oid)) AS meta,
       'pg_proc'::regclass::oid AS anchor_classid, p.oid AS anchor_objid,
       'pg_proc'::regclass::oid AS classid, p.oid AS objid, NULL::oid AS relid,
       k.head AS qname, 'AGGREGATE ' || k.head AS comment_target
  FROM pg_proc p
  JOIN pggit._proc_key pk ON pk.oid = p.oid
  JOIN pg_aggregate a ON a.aggfnoid = p.oid
  CROSS JOIN LATERAL (SELECT pk.qname || '(' || CASE WHEN p.pronargs = 0 THEN '*'
                                                    ELSE pg_get_function_arguments(p.oid) END || ')' AS head) k
 WHERE p.prokind = 'a'
   AND NOT EXISTS (SELECT 1 FROM pggit._ext_member x WHERE x.classid = 'pg_proc'::regclass AND x.objid = p.oid);

CREATE OR REPLACE VIEW pggit._o_trigger AS
SELECT k.key AS object_key, 'trigger'::text AS kind, n.nspname AS schema_name, tg.tgname::text AS object_name,
       t.relname::text AS parent_name,
       -- a trigger switched off or to fire on replicas keeps that state (as pg_dump writes it)
       (pg_get_triggerdef(tg.oid) || ';'
         || CASE tg.tgenabled WHEN 'D' THEN E'\nALTER TABLE ' || k.tq || ' DISABLE TRIGGER ' || quote_ident(tg.tgname) || ';'
                              WHEN 'A' THEN E'\nALTER TABLE ' || k.tq || ' ENABLE ALWAYS TRIGGER ' || quote_ident(tg.tgname) || ';'
                              WHEN 'R' THEN E'\nALTER TABLE ' || k.tq || ' ENABLE REPLICA TRIGGER ' || quote_ident(tg.tgname) || ';'
                              ELSE '' END) COLLATE "default" AS definition,
       jsonb_build_object(
           'deps', (SELECT coalesce(to_jsonb(array_agg(DISTINCT s.k ORDER BY s.k)), '[]')
                      FROM (SELECT 'schema:' || n.nspname
                            UNION ALL SELECT k.tkey
                            UNION ALL
                            SELECT dk.key FROM pggit._depkeys dk
                             WHERE dk.classid = 'pg_trigger'::regclass AND dk.objid = tg.oid
                               AND (dk.refclassid, dk.refobjid) <> ('pg_class'::regclass::oid, t.oid)) s(k)
                     WHERE s.k <> k.key),
           'identity', quote_ident(tg.tgname), 'table', k.tq, 'table_key', k.tkey, 'name', tg.tgname,
           'constraint_trigger', tg.tgconstraint <> 0) AS meta,
       'pg_class'::regclass::oid AS anchor_classid, t.oid AS anchor_objid,
       'pg_trigger'::regclass::oid AS classid, tg.oid AS objid, NULL::oid AS relid,
       quote_ident(tg.tgname) AS qname, 'TRIGGER ' || quote_ident(tg.tgname) || ' ON ' || k.tq AS comment_target
  FROM pg_trigger tg
  JOIN pg_class t ON t.oid = tg.tgrelid
  JOIN pggit._ns n ON n.oid = t.relnamespace
  CROSS JOIN LATERAL (SELECT 'trigger:' || n.nspname || '.' || t.relname || '.' || tg.tgname AS key,
                             CASE t.relkind WHEN 'v' THEN 'view:' ELSE 'table:' END
                               || n.nspname || '.' || t.relname AS tkey,
                             n.qname || '.' || quote_ident(t.relname) AS tq) k
 WHERE NOT tg.tgisinternal AND tg.tgparentid = 0 AND t.relkind IN ('r', 'p', 'v')
   AND NOT EXISTS (SELECT 1 FROM pggit._ext_member x WHERE x.classid = 'pg_class'::regclass AND x.objid = t.oid);

-- Rules other than a view's _RETURN rule (CREATE RULE), hanging off their table or view.
CREATE OR REPLACE VIEW pggit._o_rule AS
SELECT k.key AS object_key, 'rule'::text AS kind, n.nspname AS schema_name, r.rulename::text AS object_name,
       t.relname::text AS parent_name,
       (rtrim(pg_get_ruledef(r.oid), E'; \n\t\r') || ';'
         || CASE r.ev_enabled WHEN 'D' THEN E'\nALTER TABLE ' || k.tq || ' DISABLE RULE ' || quote_ident(r.rulename) || ';'
                              WHEN 'A' THEN E'\nALTER TABLE ' || k.tq || ' ENABLE ALWAYS RULE ' || quote_ident(r.rulename) || ';'
                              WHEN 'R' THEN E'\nALTER TABLE ' || k.tq || ' ENABLE REPLICA RULE ' || quote_ident(r.rulename) || ';'
                              ELSE '' END) COLLATE "default" AS definition,
       jsonb_build_object(
           'deps', (SELECT coalesce(to_jsonb(array_agg(DISTINCT s.k ORDER BY s.k)), '[]')
                      FROM (SELECT 'schema:' || n.nspname
                            UNION ALL SELECT k.tkey
                            UNION ALL
                            SELECT dk.key FROM pggit._depkeys dk
                             WHERE dk.classid = 'pg_rewrite'::regclass AND dk.objid = r.oid
                               AND (dk.refclassid, dk.refobjid) <> ('pg_class'::regclass::oid, t.oid)) s(k)
                     WHERE s.k <> k.key),
           'identity', quote_ident(r.rulename), 'table', k.tq, 'table_key', k.tkey, 'name', r.rulename) AS meta,
       'pg_class'::regclass::oid AS anchor_classid, t.oid AS anchor_objid,
       'pg_rewrite'::regclass::oid AS classid, r.oid AS objid, NULL::oid AS relid,
       quote_ident(r.rulename) AS qname, 'RULE ' || quote_ident(r.rulename) || ' ON ' || k.tq AS comment_target
  FROM pg_rewrite r
  JOIN pg_class t ON t.oid = r.ev_class
  JOIN pggit._ns n ON n.oid = t.relnamespace
  CROSS JOIN LATERAL (SELECT 'rule:' || n.nspname || '.' || t.relname || '.' || r.rulename AS key,
                             CASE t.relkind WHEN 'v' THEN 'view:' WHEN 'm' THEN 'materialized_view:' ELSE 'table:' END
                               || n.nspname || '.' || t.relname AS tkey,
                             n.qname || '.' || quote_ident(t.relname) AS tq) k
 WHERE r.rulename <> '_RETURN' AND t.relkind IN ('r', 'p', 'v')
   AND NOT EXISTS (SELECT 1 FROM pggit._ext_member x WHERE x.classid = 'pg_class'::regclass AND x.objid = t.oid);

CREATE OR REPLACE VIEW pggit._o_policy AS
SELECT k.key AS object_key, 'policy'::text AS kind, n.nspname AS schema_name, pol.polname::text AS object_name,
       t.relname::text AS parent_name,
       'CREATE POLICY ' || quote_ident(pol.polname) || ' ON ' || k.tq
         || ' AS ' || k.permissive || ' FOR ' || k.command || ' TO ' || array_to_string(r.roles, ', ')
         || coalesce(' USING (' || k.qual || ')', '')
         || coalesce(' WITH CHECK (' || k.check_expr || ')', '') || ';' AS definition,
       jsonb_build_object(
           'deps', (SELECT coalesce(to_jsonb(array_agg(DISTINCT s.k ORDER BY s.k)), '[]')
                      FROM (SELECT 'schema:' || n.nspname
                            UNION ALL SELECT k.tkey
                            UNION ALL
                            SELECT dk.key FROM pggit._depkeys dk
                             WHERE dk.classid = 'pg_policy'::regclass AND dk.objid = pol.oid
                               AND (dk.refclassid, dk.refobjid) <> ('pg_class'::regclass::oid, t.oid)) s(k)
                     WHERE s.k <> k.key),
           'identity', quote_ident(pol.polname), 'table', k.tq, 'table_key', k.tkey, 'name', pol.polname,
           'permissive', k.permissive, 'command', k.command, 'roles', to_jsonb(r.roles),
           'using', k.qual, 'with_check', k.check_expr) AS meta,
       'pg_class'::regclass::oid AS anchor_classid, t.oid AS anchor_objid,
       'pg_policy'::regclass::oid AS classid, pol.oid AS objid, NULL::oid AS relid,
       quote_ident(pol.polname) AS qname, 'POLICY ' || quote_ident(pol.polname) || ' ON ' || k.tq AS comment_target
  FROM pg_policy pol
  JOIN pg_class t ON t.oid = pol.polrelid
  JOIN pggit._ns n ON n.oid = t.relnamespace
  CROSS JOIN LATERAL (
      SELECT 'policy:' || n.nspname || '.' || t.relname || '.' || pol.polname AS key,
             'table:' || n.nspname || '.' || t.relname AS tkey,
             n.qname || '.' || quote_ident(t.relname) AS tq,
             CASE WHEN pol.polpermissive THEN 'PERMISSIVE' ELSE 'RESTRICTIVE' END AS permissive,
             CASE pol.polcmd WHEN 'r' THEN 'SELECT' WHEN 'a' THEN 'INSERT' WHEN 'w' THEN 'UPDATE'
                             WHEN 'd' THEN 'DELETE' ELSE 'ALL' END AS command,
             pg_get_expr(pol.polqual, pol.polrelid) AS qual,
             pg_get_expr(pol.polwithcheck, pol.polrelid) AS check_expr) k
  CROSS JOIN LATERAL (
      SELECT array_agg(CASE WHEN u.r = 0 THEN 'PUBLIC' ELSE quote_ident(ro.rolname) END
                       ORDER BY CASE WHEN u.r = 0 THEN '' ELSE ro.rolname::text END) AS roles
        FROM unnest(pol.polroles) AS u(r) LEFT JOIN pg_roles ro ON ro.oid = u.r) r
 WHERE NOT EXISTS (SELECT 1 FROM pggit._ext_member x WHERE x.classid = 'pg_class'::regclass AND x.objid = t.oid);

CREATE OR REPLACE VIEW pggit._o_sequence AS
SELECT k.key AS object_key, 'sequence'::text AS kind, n.nspname AS schema_name, c.relname::text AS object_name,
       NULL::text AS parent_name,
       'CREATE ' || CASE WHEN c.relpersistence = 'u' THEN 'UNLOGGED ' ELSE '' END || 'SEQUENCE ' || k.qname
         || ' AS ' || format_type(s.seqtypid, NULL) || ' INCREMENT BY ' || s.seqincrement
         || ' MINVALUE ' || s.seqmin || ' MAXVALUE ' || s.seqmax || ' START WITH ' || s.seqstart
         || ' CACHE ' || s.seqcache || CASE WHEN s.seqcycle THEN ' CYCLE' ELSE ' NO CYCLE' END || ';' AS definition,
       to_jsonb(m) AS meta,
       'pg_class'::regclass::oid AS anchor_classid, c.oid AS anchor_objid,
       'pg_class'::regclass::oid AS classid, c.oid AS objid, NULL::oid AS relid,
       k.qname, 'SEQUENCE ' || k.qname AS comment_target
  FROM pg_class c
  JOIN pg_sequence s ON s.seqrelid = c.oid
  JOIN pggit._ns n ON n.oid = c.relnamespace
  CROSS JOIN LATERAL (SELECT 'sequence:' || n.nspname || '.' || c.relname AS key,
                             n.qname || '.' || quote_ident(c.relname) AS qname) k
  -- the meta: the JSON of a row named as its keys (see _o_table)
  CROSS JOIN LATERAL (
      SELECT (SELECT coalesce(to_jsonb(array_agg(DISTINCT s2.k ORDER BY s2.k)), '[]')
                FROM (SELECT 'schema:' || n.nspname
                      UNION ALL
                      SELECT dk.key FROM pggit._depkeys dk
                       WHERE dk.classid = 'pg_class'::regclass AND dk.objid = c.oid AND dk.deptype = 'n') s2(k)
               WHERE s2.k <> k.key) AS deps,
             k.qname AS identity, format_type(s.seqtypid, NULL) AS type, s.seqincrement AS increment,
             s.seqmin AS minvalue, s.seqmax AS maxvalue, s.seqstart AS start, s.seqcache AS cache,
             s.seqcycle AS cycle, c.relpersistence = 'u' AS unlogged) m
 WHERE c.relkind = 'S'
   AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid
                      AND d.deptype IN ('i', 'e'));

CREATE OR REPLACE VIEW pggit._o_enum AS
SELECT k.key AS object_key, 'type'::text AS kind, n.nspname AS schema_name, t.typname::text AS object_name,
       NULL::text AS parent_name,
       'CREATE TYPE ' || k.qname || ' AS ENUM ('
         || coalesce(array_to_string(v.labels, ', ', NULL), '') || ');' AS definition,
       jsonb_build_object(
           'deps', (SELECT coalesce(to_jsonb(array_agg(DISTINCT s.k ORDER BY s.k)), '[]')
                      FROM (SELECT 'schema:' || n.nspname
                            UNION ALL
                            SELECT dk.key FROM pggit._depkeys dk
                             WHERE dk.classid = 'pg_type'::regclass AND dk.objid = t.oid) s(k)
                     WHERE s.k <> k.key),
           'identity', k.qname, 'type_kind', 'enum', 'values', coalesce(v.vals, '[]')) AS meta,
       'pg_type'::regclass::oid AS anchor_classid, t.oid AS anchor_objid,
       'pg_type'::regclass::oid AS classid, t.oid AS objid, NULL::oid AS relid,
       k.qname, 'TYPE ' || k.qname AS comment_target
  FROM pg_type t
  JOIN pggit._ns n ON n.oid = t.typnamespace
  CROSS JOIN LATERAL (SELECT 'type:' || n.nspname || '.' || t.typname AS key,
                             n.qname || '.' || quote_ident(t.typname) AS qname) k
  CROSS JOIN LATERAL (SELECT array_agg(quote_literal(e.enumlabel) ORDER BY e.enumsortorder) AS labels,
                             to_jsonb(array_agg(e.enumlabel ORDER BY e.enumsortorder)) AS vals
                        FROM pg_enum e WHERE e.enumtypid = t.oid) v
 WHERE t.typtype = 'e'
   AND NOT EXISTS (SELECT 1 FROM pggit._ext_member x WHERE x.classid = 'pg_type'::regclass AND x.objid = t.oid);

CREATE OR REPLACE VIEW pggit._o_composite AS
SELECT k.key AS object_key, 'type'::text AS kind, n.nspname AS schema_name, t.typname::text AS object_name,
       NULL::text AS parent_name,
       'CREATE TYPE ' || k.qname || E' AS (\n' || coalesce(a.body, '') || E'\n);' AS definition,
       jsonb_build_object(
           'deps', (SELECT coalesce(to_jsonb(array_agg(DISTINCT s.k ORDER BY s.k)), '[]')
                      FROM (SELECT 'schema:' || n.nspname
                            UNION ALL
                            SELECT dk.key FROM pggit._depkeys dk
                             WHERE dk.classid = 'pg_type'::regclass AND dk.objid = t.oid
                            UNION ALL
                            SELECT dk.key FROM pggit._depkeys dk
                             WHERE dk.classid = 'pg_class'::regclass AND dk.objid = t.typrelid) s(k)
                     WHERE s.k <> k.key),
           'identity', k.qname, 'type_kind', 'composite', 'attributes', coalesce(a.meta, '[]')) AS meta,
       'pg_type'::regclass::oid AS anchor_classid, t.oid AS anchor_objid,
       'pg_type'::regclass::oid AS classid, t.oid AS objid, t.typrelid AS relid,
       k.qname, 'TYPE ' || k.qname AS comment_target
  FROM pg_type t
  JOIN pg_class c ON c.oid = t.typrelid AND c.relkind = 'c'
  JOIN pggit._ns n ON n.oid = t.typnamespace
  CROSS JOIN LATERAL (SELECT 'type:' || n.nspname || '.' || t.typname AS key,
                             n.qname || '.' || quote_ident(t.typname) AS qname) k
  CROSS JOIN LATERAL (
      SELECT string_agg('    ' || quote_ident(col.name) || ' ' || col.type || coalesce(' COLLATE ' || col.collation, ''),
                        E',\n' ORDER BY col.attnum) AS body,
             to_jsonb(array_agg(jsonb_build_object('name', col.name, 'type', col.type, 'collation', col.collation)
                       ORDER BY col.attnum)) AS meta
        FROM pggit._columns col WHERE col.attrelid = t.typrelid) a
 WHERE t.typtype = 'c'
   AND NOT EXISTS (SELECT 1 FROM pggit._ext_member x WHERE x.classid = 'pg_type'::regclass AND x.objid = t.oid);

CREATE OR REPLACE VIEW pggit._o_range AS
SELECT k.key AS object_key, 'type'::text AS kind, n.nspname AS schema_name, t.typname::text AS object_name,
       NULL::text AS parent_name,
       'CREATE TYPE ' || k.qname || E' AS RANGE (\n    ' || array_to_string(ARRAY[
           'SUBTYPE = ' || format_type(r.rngsubtype, NULL),
           'SUBTYPE_OPCLASS = ' || CASE WHEN ocn.nspname = 'pg_catalog' THEN quote_ident(oc.opcname)
                                        ELSE quote_ident(ocn.nspname) || '.' || quote_ident(oc.opcname) END,
           CASE WHEN r.rngcollation <> 0 AND r.rngcollation <> st.typcollation THEN 'COLLATION = '
                || CASE WHEN coln.nspname = 'pg_catalog' THEN quote_ident(col.collname)
                        ELSE quote_ident(coln.nspname) || '.' || quote_ident(col.collname) END END,
           CASE WHEN r.rngcanonical <> 0 THEN 'CANONICAL = ' || r.rngcanonical::regproc::text END,
           CASE WHEN r.rngsubdiff <> 0 THEN 'SUBTYPE_DIFF = ' || r.rngsubdiff::regproc::text END,
           'MULTIRANGE_TYPE_NAME = ' || quote_ident(mn.nspname) || '.' || quote_ident(mt.typname)],
           E',\n    ') || E'\n);' AS definition,
       jsonb_build_object(
           'deps', (SELECT coalesce(to_jsonb(array_agg(DISTINCT s.k ORDER BY s.k)), '[]')
                      FROM (SELECT 'schema:' || n.nspname
                            UNION ALL
                            SELECT dk.key FROM pggit._depkeys dk
                             WHERE dk.classid = 'pg_type'::regclass AND dk.objid = t.oid) s(k)
                     WHERE s.k <> k.key),
           'identity', k.qname, 'type_kind', 'range', 'subtype', format_type(r.rngsubtype, NULL),
           'multirange', quote_ident(mn.nspname) || '.' || quote_ident(mt.typname)) AS meta,
       'pg_type'::regclass::oid AS anchor_classid, t.oid AS anchor_objid,
       'pg_type'::regclass::oid AS classid, t.oid AS objid, NULL::oid AS relid,
       k.qname, 'TYPE ' || k.qname AS comment_target
  FROM pg_type t
  JOIN pg_range r ON r.rngtypid = t.oid
  JOIN pg_type st ON st.oid = r.rngsubtype
  JOIN pg_opclass oc ON oc.oid = r.rngsubopc
  JOIN pg_namespace ocn ON ocn.oid = oc.opcnamespace
  JOIN pg_type mt ON mt.oid = r.rngmultitypid
  JOIN pg_namespace mn ON mn.oid = mt.typnamespace
  LEFT JOIN pg_collation col ON col.oid = r.rngcollation
  LEFT JOIN pg_namespace coln ON coln.oid = col.collnamespace
  JOIN pggit._ns n ON n.oid = t.typnamespace
  CROSS JOIN LATERAL (SELECT 'type:' || n.nspname || '.' || t.typname AS key,
                             n.qname || '.' || quote_ident(t.typname) AS qname) k
 WHERE t.typtype = 'r'
   AND NOT EXISTS (SELECT 1 FROM pggit._ext_member x WHERE x.classid = 'pg_type'::regclass AND x.objid = t.oid);

CREATE OR REPLACE VIEW pggit._o_domain AS
SELECT k.key AS object_key, 'domain'::text AS kind, n.nspname AS schema_name, t.typname::text AS object_name,
       NULL::text AS parent_name,
       'CREATE DOMAIN ' || k.qname || ' AS ' || k.base || coalesce(' COLLATE ' || k.collation, '')
         || coalesce(' DEFAULT ' || k.default_expr, '') || CASE WHEN t.typnotnull THEN ' NOT NULL' ELSE '' END
         || coalesce(cc.sql, '') || ';' || coalesce(cc.not_valid, '') AS definition,
       jsonb_build_object(
           'deps', (SELECT coalesce(to_jsonb(array_agg(DISTINCT s.k ORDER BY s.k)), '[]')
                      FROM (SELECT 'schema:' || n.nspname
                            UNION ALL
                            SELECT dk.key FROM pggit._depkeys dk
                             WHERE dk.classid = 'pg_type'::regclass AND dk.objid = t.oid
                            UNION ALL
                            SELECT dk.key FROM pg_constraint con
                             CROSS JOIN LATERAL (
                                 SELECT dk.key FROM pggit._depkeys dk
                                  WHERE dk.classid = 'pg_constraint'::regclass AND dk.objid = con.oid
                                 OFFSET 0) dk
                             WHERE con.contypid = t.oid) s(k)
                     WHERE s.k <> k.key),
           'identity', k.qname, 'base_type', k.base, 'collation', k.collation, 'default', k.default_expr,
           'not_null', t.typnotnull, 'constraints', coalesce(cc.meta, '[]')) AS meta,
       'pg_type'::regclass::oid AS anchor_classid, t.oid AS anchor_objid,
       'pg_type'::regclass::oid AS classid, t.oid AS objid, NULL::oid AS relid,
       k.qname, 'DOMAIN ' || k.qname AS comment_target
  FROM pg_type t
  JOIN pg_type bt ON bt.oid = t.typbasetype
  JOIN pggit._ns n ON n.oid = t.typnamespace
  LEFT JOIN pg_collation co ON co.oid = t.typcollation AND t.typcollation <> bt.typcollation
  LEFT JOIN pg_namespace con ON con.oid = co.collnamespace
  CROSS JOIN LATERAL (
      SELECT 'domain:' || n.nspname || '.' || t.typname AS key,
             n.qname || '.' || quote_ident(t.typname) AS qname,
             format_type(t.typbasetype, t.typtypmod) AS base,
             CASE WHEN co.oid IS NULL THEN NULL
                  WHEN con.nspname = 'pg_catalog' THEN quote_ident(co.collname)
                  ELSE quote_ident(con.nspname) || '.' || quote_ident(co.collname) END AS collation,
             pg_get_expr(t.typdefaultbin, 0) AS default_expr) k
  -- a constraint added NOT VALID cannot be written inside CREATE DOMAIN: it follows as the
  -- ALTER DOMAIN that made it (as pg_dump writes it); its definition ends in NOT VALID
  CROSS JOIN LATERAL (
      SELECT string_agg(E'\n    CONSTRAINT ' || quote_ident(c.conname) || ' ' || d.def, ''
                        ORDER BY c.conname) FILTER (WHERE c.convalidated) AS sql,
             string_agg(E'\nALTER DOMAIN ' || k.qname || ' ADD CONSTRAINT ' || quote_ident(c.conname)
                        || ' ' || d.def || ';', '' ORDER BY c.conname) FILTER (WHERE NOT c.convalidated)
                 AS not_valid,
             to_jsonb(array_agg(jsonb_build_object('name', c.conname, 'definition', d.def)
                       ORDER BY c.conname)) AS meta
        FROM pg_constraint c
       CROSS JOIN LATERAL (SELECT pg_get_constraintdef(c.oid) AS def) d
       WHERE c.contypid = t.oid AND c.contype = 'c') cc
 WHERE t.typtype = 'd'
   AND NOT EXISTS (SELECT 1 FROM pggit._ext_member x WHERE x.classid = 'pg_type'::regclass AND x.objid = t.oid);

-- Operators: CREATE OPERATOR rebuilt from pg_operator (the function, argument types, commutator,
-- negator, selectivity estimators, HASHES/MERGES). A commutator or negator not created yet is made
-- a shell by PostgreSQL and completed when it is created.
CREATE OR REPLACE VIEW pggit._o_operator AS
SELECT k.key AS object_key, 'operator'::text AS kind, n.nspname AS schema_name, o.oprname::text AS object_name,
       NULL::text AS parent_name,
       ('CREATE OPERATOR ' || n.qname || '.' || o.oprname || E' (\n    ' || array_to_string(ARRAY[
           'FUNCTION = ' || o.oprcode::regproc::text,
           CASE WHEN o.oprleft <> 0 THEN 'LEFTARG = ' || format_type(o.oprleft, NULL) END,
           'RIGHTARG = ' || format_type(o.oprright, NULL),
           CASE WHEN o.oprcom <> 0 THEN 'COMMUTATOR = OPERATOR(' || quote_ident(cn.nspname) || '.' || co.oprname || ')' END,
           CASE WHEN o.oprnegate <> 0 THEN 'NEGATOR = OPERATOR(' || quote_ident(nn.nspname) || '.' || ne.oprname || ')' END,
           CASE WHEN o.oprrest <> 0 THEN 'RESTRICT = ' || o.oprrest::regproc::text END,
           CASE WHEN o.oprjoin <> 0 THEN 'JOIN = ' || o.oprjoin::regproc::text END,
           CASE WHEN o.oprcanhash THEN 'HASHES' END,
           CASE WHEN o.oprcanmerge THEN 'MERGES' END], E',\n    ') || E'\n);') COLLATE "default" AS definition,
       jsonb_build_object(
           'deps', (SELECT coalesce(to_jsonb(array_agg(DISTINCT s.k ORDER BY s.k)), '[]')
                      FROM (SELECT 'schema:' || n.nspname
                            UNION ALL
                            SELECT dk.key FROM pggit._depkeys dk
                             WHERE dk.classid = 'pg_operator'::regclass AND dk.objid = o.oid) s(k)
                     WHERE s.k <> k.key),
           'identity', k.identity) AS meta,
       'pg_operator'::regclass::oid AS anchor_classid, o.oid AS anchor_objid,
       'pg_operator'::regclass::oid AS classid, o.oid AS objid, NULL::oid AS relid,
       k.identity AS qname, 'OPERATOR ' || k.identity AS comment_target
  FROM pg_operator o
  JOIN pggit._ns n ON n.oid = o.oprnamespace
  LEFT JOIN pg_operator co ON co.oid = o.oprcom LEFT JOIN pg_namespace cn ON cn.oid = co.oprnamespace
  LEFT JOIN pg_operator ne ON ne.oid = o.oprnegate LEFT JOIN pg_namespace nn ON nn.oid = ne.oprnamespace
  CROSS JOIN LATERAL (
      SELECT 'operator:' || n.nspname || '.' || o.oprname || '('
               || CASE WHEN o.oprleft = 0 THEN 'NONE' ELSE format_type(o.oprleft, NULL) END || ','
               || format_type(o.oprright, NULL) || ')' AS key,
             n.qname || '.' || o.oprname || ' ('
               || CASE WHEN o.oprleft = 0 THEN 'NONE' ELSE format_type(o.oprleft, NULL) END || ', '
               || format_type(o.oprright, NULL) || ')' AS identity) k
 WHERE o.oprcode <> 0   -- not a shell
   AND NOT EXISTS (SELECT 1 FROM pggit._ext_member x WHERE x.classid = 'pg_operator'::regclass AND x.objid = o.oid);

-- Casts between types of which one (or the cast's function) is tracked, as pg_dump chooses them.
-- A cast has no schema: schema_name is the schema of its source type (else target type, else
-- function) when tracked.
CREATE OR REPLACE VIEW pggit._o_cast AS
SELECT k.key AS object_key, 'cast'::text AS kind, k.nsp AS schema_name,
       format_type(c.castsource, NULL) || ' AS ' || format_type(c.casttarget, NULL) AS object_name,
       NULL::text AS parent_name,
       ('CREATE CAST (' || format_type(c.castsource, NULL) || ' AS ' || format_type(c.casttarget, NULL) || ') '
         || CASE c.castmethod WHEN 'f' THEN 'WITH FUNCTION ' || c.castfunc::regprocedure::text
                              WHEN 'i' THEN 'WITH INOUT' ELSE 'WITHOUT FUNCTION' END
         || CASE c.castcontext WHEN 'a' THEN ' AS ASSIGNMENT' WHEN 'i' THEN ' AS IMPLICIT' ELSE '' END || ';')
         COLLATE "default" AS definition,
       jsonb_build_object(
           'deps', (SELECT coalesce(to_jsonb(array_agg(DISTINCT s.k ORDER BY s.k)), '[]')
                      FROM (SELECT dk.key FROM pggit._depkeys dk
                             WHERE dk.classid = 'pg_cast'::regclass AND dk.objid = c.oid) s(k)
                     WHERE s.k IS NOT NULL AND s.k <> k.key),
           'identity', '(' || format_type(c.castsource, NULL) || ' AS ' || format_type(c.casttarget, NULL) || ')') AS meta,
       'pg_cast'::regclass::oid AS anchor_classid, c.oid AS anchor_objid,
       'pg_cast'::regclass::oid AS classid, c.oid AS objid, NULL::oid AS relid,
       '(' || format_type(c.castsource, NULL) || ' AS ' || format_type(c.casttarget, NULL) || ')' AS qname,
       'CAST (' || format_type(c.castsource, NULL) || ' AS ' || format_type(c.casttarget, NULL) || ')' AS comment_target
  FROM pg_cast c
  CROSS JOIN LATERAL (
      SELECT 'cast:' || format_type(c.castsource, NULL) || ',' || format_type(c.casttarget, NULL) AS key,
             coalesce((SELECT n.nspname FROM pg_type t JOIN pggit._ns n ON n.oid = t.typnamespace WHERE t.oid = c.castsource),
                      (SELECT n.nspname FROM pg_type t JOIN pggit._ns n ON n.oid = t.typnamespace WHERE t.oid = c.casttarget),
                      (SELECT n.nspname FROM pg_proc p JOIN pggit._ns n ON n.oid = p.pronamespace WHERE p.oid = c.castfunc))
               AS nsp) k
 WHERE c.oid >= 16384 AND k.nsp IS NOT NULL
   -- not members of extensions, nor the casts a range type makes to its multirange (internal)
   AND NOT EXISTS (SELECT 1 FROM pg_depend x WHERE x.classid = 'pg_cast'::regclass AND x.objid = c.oid
                      AND x.deptype IN ('e', 'i'));

-- Collations (provider, determinism, locale or lc_collate/lc_ctype, ICU rules). Columns that
-- differ between server versions are read through to_jsonb().
CREATE OR REPLACE VIEW pggit._o_collation AS
SELECT 'collation:' || n.nspname || '.' || co.collname AS object_key, 'collation'::text AS kind,
       n.nspname AS schema_name, co.collname::text AS object_name, NULL::text AS parent_name,
       ('CREATE COLLATION ' || n.qname || '.' || quote_ident(co.collname) || ' (provider = '
         || CASE co.collprovider WHEN 'i' THEN 'icu' WHEN 'b' THEN 'builtin' ELSE 'libc' END
         || CASE WHEN NOT co.collisdeterministic THEN ', deterministic = false' ELSE '' END
         || CASE WHEN co.collprovider = 'c' AND j.v->>'collcollate' IS DISTINCT FROM j.v->>'collctype'
                 THEN ', lc_collate = ' || quote_literal(j.v->>'collcollate') || ', lc_ctype = ' || quote_literal(j.v->>'collctype')
                 ELSE ', locale = ' || quote_literal(coalesce(j.v->>'colllocale', j.v->>'colliculocale', j.v->>'collcollate', '')) END
         || coalesce(', rules = ' || quote_literal(j.v->>'collicurules'), '') || ');') COLLATE "default" AS definition,
       jsonb_build_object('deps', jsonb_build_array('schema:' || n.nspname),
                          'identity', n.qname || '.' || quote_ident(co.collname)) AS meta,
       'pg_collation'::regclass::oid AS anchor_classid, co.oid AS anchor_objid,
       'pg_collation'::regclass::oid AS classid, co.oid AS objid, NULL::oid AS relid,
       n.qname || '.' || quote_ident(co.collname) AS qname,
       'COLLATION ' || n.qname || '.' || quote_ident(co.collname) AS comment_target
  FROM pg_collation co
  JOIN pggit._ns n ON n.oid = co.collnamespace
  CROSS JOIN LATERAL (SELECT to_jsonb(co) AS v) j
 WHERE NOT EXISTS (SELECT 1 FROM pggit._ext_member x WHERE x.classid = 'pg_collation'::regclass AND x.objid = co.oid);

-- Text search configurations: the parser, then one ADD MAPPING per token type (dictionaries in order).
CREATE OR REPLACE VIEW pggit._o_ts_config AS
SELECT 'text_search_configuration:' || n.nspname || '.' || cfg.cfgname AS object_key,
       'text_search_configuration'::text AS kind, n.nspname AS schema_name, cfg.cfgname::text AS object_name,
       NULL::text AS parent_name,
       ('CREATE TEXT SEARCH CONFIGURATION ' || q.q || ' (PARSER = ' || quote_ident(pn.nspname) || '.'
         || quote_ident(prs.prsname) || ');'
         || coalesce((SELECT string_agg(E'\nALTER TEXT SEARCH CONFIGURATION ' || q.q || ' ADD MAPPING FOR '
                                        || tt.alias || ' WITH ' || mm.dicts || ';', '' ORDER BY tt.alias)
                        FROM (SELECT m.maptokentype,
                                     string_agg(m.mapdict::regdictionary::text, ', ' ORDER BY m.mapseqno) AS dicts
                                FROM pg_ts_config_map m WHERE m.mapcfg = cfg.oid GROUP BY m.maptokentype) mm
                        JOIN ts_token_type(cfg.cfgparser) tt ON tt.tokid = mm.maptokentype), '')) COLLATE "default" AS definition,
       jsonb_build_object(
           'deps', (SELECT coalesce(to_jsonb(array_agg(DISTINCT s.k ORDER BY s.k)), '[]')
                      FROM (SELECT 'schema:' || n.nspname
                            UNION ALL
                            SELECT dk.key FROM pggit._depkeys dk
                             WHERE dk.classid = 'pg_ts_config'::regclass AND dk.objid = cfg.oid) s(k)
                     WHERE s.k IS NOT NULL),
           'identity', q.q) AS meta,
       'pg_ts_config'::regclass::oid AS anchor_classid, cfg.oid AS anchor_objid,
       'pg_ts_config'::regclass::oid AS classid, cfg.oid AS objid, NULL::oid AS relid,
       q.q AS qname, 'TEXT SEARCH CONFIGURATION ' || q.q AS comment_target
  FROM pg_ts_config cfg
  JOIN pggit._ns n ON n.oid = cfg.cfgnamespace
  JOIN pg_ts_parser prs ON prs.oid = cfg.cfgparser
  JOIN pg_namespace pn ON pn.oid = prs.prsnamespace
  CROSS JOIN LATERAL (SELECT n.qname || '.' || quote_ident(cfg.cfgname) AS q) q
 WHERE NOT EXISTS (SELECT 1 FROM pggit._ext_member x WHERE x.classid = 'pg_ts_config'::regclass AND x.objid = cfg.oid);

-- Text search dictionaries: template and options.
CREATE OR REPLACE VIEW pggit._o_ts_dict AS
SELECT 'text_search_dictionary:' || n.nspname || '.' || d.dictname AS object_key,
       'text_search_dictionary'::text AS kind, n.nspname AS schema_name, d.dictname::text AS object_name,
       NULL::text AS parent_name,
       ('CREATE TEXT SEARCH DICTIONARY ' || q.q || ' (TEMPLATE = ' || quote_ident(tn.nspname) || '.'
         || quote_ident(tmpl.tmplname) || coalesce(', ' || d.dictinitoption, '') || ');') COLLATE "default" AS definition,
       jsonb_build_object(
           'deps', (SELECT coalesce(to_jsonb(array_agg(DISTINCT s.k ORDER BY s.k)), '[]')
                      FROM (SELECT 'schema:' || n.nspname
                            UNION ALL
                            SELECT dk.key FROM pggit._depkeys dk
                             WHERE dk.classid = 'pg_ts_dict'::regclass AND dk.objid = d.oid) s(k)
                     WHERE s.k IS NOT NULL),
           'identity', q.q) AS meta,
       'pg_ts_dict'::regclass::oid AS anchor_classid, d.oid AS anchor_objid,
       'pg_ts_dict'::regclass::oid AS classid, d.oid AS objid, NULL::oid AS relid,
       q.q AS qname, 'TEXT SEARCH DICTIONARY ' || q.q AS comment_target
  FROM pg_ts_dict d
  JOIN pggit._ns n ON n.oid = d.dictnamespace
  JOIN pg_ts_template tmpl ON tmpl.oid = d.dicttemplate
  JOIN pg_namespace tn ON tn.oid = tmpl.tmplnamespace
  CROSS JOIN LATERAL (SELECT n.qname || '.' || quote_ident(d.dictname) AS q) q
 WHERE NOT EXISTS (SELECT 1 FROM pggit._ext_member x WHERE x.classid = 'pg_ts_dict'::regclass AND x.objid = d.oid);

-- Extended statistics (CREATE STATISTICS), with their statistics target when set.
CREATE OR REPLACE VIEW pggit._o_statistics AS
SELECT 'statistics:' || n.nspname || '.' || s.stxname AS object_key, 'statistics'::text AS kind,
       n.nspname AS schema_name, s.stxname::text AS object_name, NULL::text AS parent_name,
       (pg_get_statisticsobjdef(s.oid) || ';'
         || CASE WHEN (to_jsonb(s)->>'stxstattarget')::integer >= 0
                 THEN E'\nALTER STATISTICS ' || q.q || ' SET STATISTICS ' || (to_jsonb(s)->>'stxstattarget') || ';'
                 ELSE '' END) COLLATE "default" AS definition,
       jsonb_build_object(
           'deps', (SELECT coalesce(to_jsonb(array_agg(DISTINCT x.k ORDER BY x.k)), '[]')
                      FROM (SELECT 'schema:' || n.nspname
                            UNION ALL
                            SELECT dk.key FROM pggit._depkeys dk
                             WHERE dk.classid = 'pg_statistic_ext'::regclass AND dk.objid = s.oid) x(k)
                     WHERE x.k IS NOT NULL),
           'identity', q.q) AS meta,
       'pg_statistic_ext'::regclass::oid AS anchor_classid, s.oid AS anchor_objid,
       'pg_statistic_ext'::regclass::oid AS classid, s.oid AS objid, NULL::oid AS relid,
       q.q AS qname, 'STATISTICS ' || q.q AS comment_target
  FROM pg_statistic_ext s
  JOIN pggit._ns n ON n.oid = s.stxnamespace
  CROSS JOIN LATERAL (SELECT n.qname || '.' || quote_ident(s.stxname) AS q) q;

CREATE OR REPLACE VIEW pggit._objects AS
          SELECT * FROM pggit._o_schema
UNION ALL SELECT * FROM pggit._o_extension
UNION ALL SELECT * FROM pggit._o_table
UNION ALL SELECT * FROM pggit._o_constraint
UNION ALL SELECT * FROM pggit._o_index
UNION ALL SELECT * FROM pggit._o_view
UNION ALL SELECT * FROM pggit._o_function
UNION ALL SELECT * FROM pggit._o_aggregate
UNION ALL SELECT * FROM pggit._o_trigger
UNION ALL SELECT * FROM pggit._o_policy
UNION ALL SELECT * FROM pggit._o_rule
UNION ALL SELECT * FROM pggit._o_sequence
UNION ALL SELECT * FROM pggit._o_enum
UNION ALL SELECT * FROM pggit._o_composite
UNION ALL SELECT * FROM pggit._o_range
UNION ALL SELECT * FROM pggit._o_domain
UNION ALL SELECT * FROM pggit._o_operator
UNION ALL SELECT * FROM pggit._o_cast
UNION ALL SELECT * FROM pggit._o_collation
UNION ALL SELECT * FROM pggit._o_ts_config
UNION ALL SELECT * FROM pggit._o_ts_dict
UNION ALL SELECT * FROM pggit._o_statistics;

-- One object row (the columns of the per-kind views) followed by its comment and the comments on
-- its columns (tables, views, materialized views and composite types). The one place comments are
-- built: live_objects() applies it to every object (pggit._live_ext), anchor_objects() to the
-- objects of one anchor (pggit._anchor_rows). A plain SQL set-returning function (no SET clause,
-- not STRICT) so that the planner inlines it as a lateral subquery wherever it is used: the
-- description lookups stay index probes on the object's own row.
CREATE OR REPLACE FUNCTION pggit._object_rows(
    p_object_key text, p_kind text, p_schema_name text, p_object_name text, p_parent_name text,
    p_definition text, p_meta jsonb, p_anchor_classid oid, p_anchor_objid oid,
    p_classid oid, p_objid oid, p_relid oid, p_qname text, p_comment_target text)
RETURNS SETOF pggit.catalog_object
LANGUAGE sql STABLE
AS $$
    SELECT p_object_key, p_kind, p_schema_name, p_object_name, p_parent_name, p_definition, p_meta,
           p_anchor_classid, p_anchor_objid
    UNION ALL
    SELECT 'comment:' || p_object_key, 'comment'::text, p_schema_name, p_object_name, p_object_key,
           'COMMENT ON ' || p_comment_target || ' IS ' || pg_catalog.quote_literal(d.description) || ';',
           pg_catalog.jsonb_build_object('deps', pg_catalog.jsonb_build_array(p_object_key),
                                         'target', p_comment_target, 'target_key', p_object_key,
                                         'comment', d.description),
           p_anchor_classid, p_anchor_objid
      FROM pg_catalog.pg_description d
     WHERE d.objoid = p_objid AND d.classoid = p_classid AND d.objsubid = 0
    UNION ALL
    SELECT 'comment:column:' || p_schema_name || '.' || p_object_name || '.' || a.attname, 'comment'::text,
           p_schema_name, p_object_name || '.' || a.attname,
           'column:' || p_schema_name || '.' || p_object_name || '.' || a.attname,
           'COMMENT ON COLUMN ' || p_qname || '.' || pg_catalog.quote_ident(a.attname) || ' IS '
             || pg_catalog.quote_literal(d.description) || ';',
           pg_catalog.jsonb_build_object(
               'deps', pg_catalog.jsonb_build_array(p_object_key),
               'target', 'COLUMN ' || p_qname || '.' || pg_catalog.quote_ident(a.attname),
               'target_key', 'column:' || p_schema_name || '.' || p_object_name || '.' || a.attname,
               'comment', d.description),
           p_anchor_classid, p_anchor_objid
      FROM pg_catalog.pg_description d
      JOIN pg_catalog.pg_attribute a ON a.attrelid = d.objoid AND a.attnum = d.objsubid AND NOT a.attisdropped
     WHERE p_relid IS NOT NULL AND d.objoid = p_relid AND d.classoid = 'pg_catalog.pg_class'::pg_catalog.regclass
       AND d.objsubid > 0
$$;

-- Every object followed by its comment and the comments on its columns. owner_* are the kind and
-- anchor of the object the row comes from (the object itself or the commented object). The text
-- columns keep the "C" collation the per-kind views give them (names are of type name).
CREATE OR REPLACE VIEW pggit._live_ext AS
SELECT o.kind AS owner_kind, o.anchor_classid AS owner_classid, o.anchor_objid AS owner_objid,
       x.object_key COLLATE "C" AS object_key, x.kind, x.schema_name COLLATE "C" AS schema_name,
       x.object_name COLLATE "C" AS object_name, x.parent_name COLLATE "C" AS parent_name,
       x.definition COLLATE "C" AS definition, x.meta, x.anchor_classid, x.anchor_objid
  FROM pggit._objects o
 CROSS JOIN LATERAL pggit._object_rows(o.object_key, o.kind, o.schema_name, o.object_name, o.parent_name,
                                       o.definition, o.meta, o.anchor_classid, o.anchor_objid,
                                       o.classid, o.objid, o.relid, o.qname, o.comment_target) x;

CREATE OR REPLACE VIEW pggit._live AS
SELECT l.object_key, l.kind, l.schema_name, l.object_name, l.parent_name, l.definition, l.meta,
       l.anchor_classid, l.anchor_objid
  FROM pggit._live_ext l;

-- Every object's definition without its meta: the same per-kind views and the same comment
-- function, given no meta, so that the planner computes no meta column of any per-kind view (their
-- dependency keys, index probes per pg_depend row through _depkeys, are a large part of the cost of
-- a full read). What a tree needs when the definitions are stored already (pggit.live_definitions()).
CREATE OR REPLACE VIEW pggit._live_defs AS
SELECT x.object_key COLLATE "C" AS object_key, x.kind, x.schema_name COLLATE "C" AS schema_name,
       x.object_name COLLATE "C" AS object_name, x.parent_name COLLATE "C" AS parent_name,
       x.definition COLLATE "C" AS definition, x.anchor_classid, x.anchor_objid
  FROM pggit._objects o
 CROSS JOIN LATERAL pggit._object_rows(o.object_key, o.kind, o.schema_name, o.object_name, o.parent_name,
                                       o.definition, NULL, o.anchor_classid, o.anchor_objid,
                                       o.classid, o.objid, o.relid, o.qname, o.comment_target) x;

-- ---------------------------------------------------------------------------------------------
-- Validation helpers
-- ---------------------------------------------------------------------------------------------

-- The key prefix of a kind ('function' for functions, procedures and aggregates), or an error
-- [PGGIT-UNKNOWN_KIND] for anything that is not a tracked kind.
CREATE OR REPLACE FUNCTION pggit._unknown_kind(p_kind text)
RETURNS text
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pggit
AS $$
BEGIN
    PERFORM pggit.raise_error('UNKNOWN_KIND', format('unknown object kind %L', p_kind),
        'kinds: schema, extension, table, constraint, index, view, materialized_view, function, '
        'procedure, aggregate, trigger, sequence, type, domain, policy, rule, comment, operator, cast, '
        'collation, text_search_configuration, text_search_dictionary, statistics, privileges, '
        'default_privileges');
    RETURN NULL;
END;
$$;

-- A SQL function of one expression (no SET clause, not STRICT): the planner inlines it into the
-- query that calls it, so that a plan's statement generators (sql_create, sql_drop) check kinds
-- without a function call per object. Names are schema-qualified for that reason.
CREATE OR REPLACE FUNCTION pggit._kind_prefix(p_kind text)
RETURNS text
LANGUAGE sql IMMUTABLE
AS $$
    SELECT CASE
        WHEN p_kind IN ('procedure', 'aggregate') THEN 'function'
        WHEN p_kind IN ('schema', 'extension', 'table', 'constraint', 'index', 'view', 'materialized_view',
                        'function', 'trigger', 'sequence', 'type', 'domain', 'policy', 'comment',
                        'rule', 'operator', 'cast', 'collation', 'text_search_configuration',
                        'text_search_dictionary', 'statistics', 'privileges', 'default_privileges')
             THEN p_kind
        ELSE pggit._unknown_kind(p_kind) END
$$;

CREATE OR REPLACE FUNCTION pggit._require_catalog_row(p_classid oid, p_objid oid)
RETURNS void
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pggit
AS $$
BEGIN
    IF p_classid IS NULL OR p_objid IS NULL THEN
        PERFORM pggit.raise_error('INVALID_ARGUMENT', 'a catalog row needs both classid and objid');
    END IF;
END;
$$;

-- ---------------------------------------------------------------------------------------------
-- Keys, anchors, live objects
-- ---------------------------------------------------------------------------------------------
CREATE OR REPLACE FUNCTION pggit.object_key(p_classid oid, p_objid oid, p_objsubid integer DEFAULT 0)
RETURNS text
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pggit
SET jit = off
SET plan_cache_mode = force_generic_plan
AS $$
BEGIN
    PERFORM pggit._require_catalog_row(p_classid, p_objid);
    IF coalesce(p_objsubid, 0) <> 0 THEN
        RETURN NULL;   -- columns are part of their table
    END IF;
    RETURN (SELECT o.object_key FROM pggit._objects o WHERE o.classid = p_classid AND o.objid = p_objid);
END;
$$;

-- True when a candidate anchor lives in a tracked schema and is not a member of an extension.
-- PL/pgSQL rather than SQL so that its plan is cached for the session (a non-inlined SQL function
-- is planned again in every transaction).
CREATE OR REPLACE FUNCTION pggit._anchor_tracked(p_classid oid, p_objid oid)
RETURNS boolean
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pggit
AS $$
BEGIN
    RETURN EXISTS (
               SELECT 1 FROM pggit._ns n
                WHERE n.oid = CASE p_classid
                    WHEN 'pg_namespace'::regclass THEN p_objid
                    WHEN 'pg_class'::regclass THEN (SELECT relnamespace FROM pg_class WHERE oid = p_objid)
                    WHEN 'pg_type'::regclass THEN (SELECT typnamespace FROM pg_type WHERE oid = p_objid)
                    WHEN 'pg_proc'::regclass THEN (SELECT pronamespace FROM pg_proc WHERE oid = p_objid)
                    WHEN 'pg_extension'::regclass THEN (SELECT extnamespace FROM pg_extension WHERE oid = p_objid)
                    WHEN 'pg_operator'::regclass THEN (SELECT oprnamespace FROM pg_operator WHERE oid = p_objid)
                    WHEN 'pg_collation'::regclass THEN (SELECT collnamespace FROM pg_collation WHERE oid = p_objid)
                    WHEN 'pg_ts_config'::regclass THEN (SELECT cfgnamespace FROM pg_ts_config WHERE oid = p_objid)
                    WHEN 'pg_ts_dict'::regclass THEN (SELECT dictnamespace FROM pg_ts_dict WHERE oid = p_objid)
                    WHEN 'pg_statistic_ext'::regclass THEN (SELECT stxnamespace FROM pg_statistic_ext WHERE oid = p_objid)
                    -- default privileges of one schema (privileges.sql); those of all schemas have 0
                    WHEN 'pg_default_acl'::regclass THEN (SELECT defaclnamespace FROM pg_default_acl WHERE oid = p_objid)
                    -- a cast has no schema: tracked when one of its types or its function is
                    WHEN 'pg_cast'::regclass THEN (SELECT coalesce(
                        (SELECT t.typnamespace FROM pg_type t JOIN pggit._ns s ON s.oid = t.typnamespace WHERE t.oid = c.castsource),
                        (SELECT t.typnamespace FROM pg_type t JOIN pggit._ns s ON s.oid = t.typnamespace WHERE t.oid = c.casttarget),
                        (SELECT p.pronamespace FROM pg_proc p JOIN pggit._ns s ON s.oid = p.pronamespace WHERE p.oid = c.castfunc))
                        FROM pg_cast c WHERE c.oid = p_objid AND c.oid >= 16384)
                END)
       AND NOT EXISTS (SELECT 1 FROM pg_depend d
                        WHERE d.classid = p_classid AND d.objid = p_objid AND d.deptype = 'e');
END;
$$;

-- The anchor of a relation (pg_class row).
CREATE OR REPLACE FUNCTION pggit._anchor_of_class(p_objid oid, OUT anchor_classid oid, OUT anchor_objid oid)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pggit
AS $$
DECLARE
    v_rel pg_class%ROWTYPE;
    v_owner oid;
BEGIN
    SELECT * INTO v_rel FROM pg_class WHERE oid = p_objid;
    IF NOT FOUND THEN
        RETURN;
    ELSIF v_rel.relkind IN ('i', 'I') THEN
        SELECT a.anchor_classid, a.anchor_objid INTO anchor_classid, anchor_objid
          FROM pg_index i, pggit._anchor_of_class(i.indrelid) a WHERE i.indexrelid = p_objid;
        RETURN;
    ELSIF v_rel.relkind = 'c' THEN
        anchor_classid := 'pg_type'::regclass;
        anchor_objid := v_rel.reltype;
    ELSIF v_rel.relkind = 'S' THEN
        SELECT d.refobjid INTO v_owner FROM pg_depend d
         WHERE d.classid = 'pg_class'::regclass AND d.objid = p_objid AND d.deptype = 'i'
           AND d.refclassid = 'pg_class'::regclass;
        anchor_classid := 'pg_class'::regclass;
        anchor_objid := coalesce(v_owner, p_objid);
    ELSIF v_rel.relkind IN ('r', 'p', 'v', 'm') THEN
        anchor_classid := 'pg_class'::regclass;
        anchor_objid := p_objid;
    ELSE
        RETURN;   -- toast tables, foreign tables: not tracked
    END IF;
    IF NOT pggit._anchor_tracked(anchor_classid, anchor_objid) THEN
        anchor_classid := NULL;
        anchor_objid := NULL;
    END IF;
END;
$$;

-- The anchor of a type (pg_type row): arrays and multiranges go to their element or range, row
-- types to their relation.
CREATE OR REPLACE FUNCTION pggit._anchor_of_type(p_objid oid, OUT anchor_classid oid, OUT anchor_objid oid)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pggit
AS $$
DECLARE
    v_type pg_type%ROWTYPE;
    v_base oid;
BEGIN
    SELECT * INTO v_type FROM pg_type WHERE oid = p_objid;
    IF NOT FOUND THEN
        RETURN;
    END IF;
    SELECT e.oid INTO v_base FROM pg_type e WHERE e.oid = v_type.typelem AND e.typarray = p_objid;
    IF v_base IS NULL AND v_type.typtype = 'm' THEN
        SELECT r.rngtypid INTO v_base FROM pg_range r WHERE r.rngmultitypid = p_objid;
    END IF;
    IF v_base IS NOT NULL THEN
        SELECT a.anchor_classid, a.anchor_objid INTO anchor_classid, anchor_objid
          FROM pggit._anchor_of_type(v_base) a;
        RETURN;
    END IF;
    IF v_type.typrelid <> 0 AND (SELECT relkind FROM pg_class WHERE oid = v_type.typrelid) <> 'c' THEN
        SELECT a.anchor_classid, a.anchor_objid INTO anchor_classid, anchor_objid
          FROM pggit._anchor_of_class(v_type.typrelid) a;
        RETURN;
    END IF;
    IF v_type.typtype IN ('e', 'r', 'd', 'c') AND pggit._anchor_tracked('pg_type'::regclass, p_objid) THEN
        anchor_classid := 'pg_type'::regclass;
        anchor_objid := p_objid;
    END IF;
END;
$$;

CREATE OR REPLACE FUNCTION pggit.anchor_of(p_classid oid, p_objid oid, OUT anchor_classid oid, OUT anchor_objid oid)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pggit
AS $$
DECLARE
    v_rel oid;
    v_owner record;
BEGIN
    IF p_classid IS NULL OR p_objid IS NULL THEN   -- tested here: a PERFORM on every call costs a query
        PERFORM pggit._require_catalog_row(p_classid, p_objid);
    END IF;
    CASE p_classid
    WHEN 'pg_class'::regclass THEN
        SELECT a.* INTO anchor_classid, anchor_objid FROM pggit._anchor_of_class(p_objid) a;
        RETURN;
    WHEN 'pg_type'::regclass THEN
        SELECT a.* INTO anchor_classid, anchor_objid FROM pggit._anchor_of_type(p_objid) a;
        RETURN;
    WHEN 'pg_proc'::regclass THEN
        -- functions created internally for a type (range constructors) belong to that type
        SELECT d.refclassid, d.refobjid INTO v_owner FROM pg_depend d
         WHERE d.classid = 'pg_proc'::regclass AND d.objid = p_objid AND d.deptype = 'i' LIMIT 1;
        IF FOUND THEN
            SELECT a.* INTO anchor_classid, anchor_objid FROM pggit.anchor_of(v_owner.refclassid, v_owner.refobjid) a;
        ELSIF EXISTS (SELECT 1 FROM pg_proc WHERE oid = p_objid) AND pggit._anchor_tracked(p_classid, p_objid) THEN
            anchor_classid := p_classid;
            anchor_objid := p_objid;
        END IF;
        RETURN;
    WHEN 'pg_namespace'::regclass, 'pg_extension'::regclass, 'pg_operator'::regclass, 'pg_cast'::regclass,
         'pg_collation'::regclass, 'pg_ts_config'::regclass, 'pg_ts_dict'::regclass,
         'pg_statistic_ext'::regclass, 'pg_default_acl'::regclass THEN
        IF pggit._anchor_tracked(p_classid, p_objid) THEN
            anchor_classid := p_classid;
            anchor_objid := p_objid;
        END IF;
        RETURN;
    WHEN 'pg_constraint'::regclass THEN
        SELECT CASE WHEN c.conrelid <> 0 THEN c.conrelid END INTO v_rel FROM pg_constraint c WHERE c.oid = p_objid;
        IF v_rel IS NOT NULL THEN
            SELECT a.* INTO anchor_classid, anchor_objid FROM pggit._anchor_of_class(v_rel) a;
        ELSE
            SELECT a.* INTO anchor_classid, anchor_objid
              FROM pg_constraint c, pggit._anchor_of_type(c.contypid) a WHERE c.oid = p_objid AND c.contypid <> 0;
        END IF;
        RETURN;
    WHEN 'pg_trigger'::regclass THEN
        SELECT tgrelid INTO v_rel FROM pg_trigger WHERE oid = p_objid;
    WHEN 'pg_policy'::regclass THEN
        SELECT polrelid INTO v_rel FROM pg_policy WHERE oid = p_objid;
    WHEN 'pg_attrdef'::regclass THEN
        SELECT adrelid INTO v_rel FROM pg_attrdef WHERE oid = p_objid;
    WHEN 'pg_rewrite'::regclass THEN
        SELECT ev_class INTO v_rel FROM pg_rewrite WHERE oid = p_objid;
    ELSE
        RETURN;
    END CASE;
    IF v_rel IS NOT NULL THEN
        SELECT a.* INTO anchor_classid, anchor_objid FROM pggit._anchor_of_class(v_rel) a;
    END IF;
END;
$$;

-- Every tracked object of the live database, then the privileges entries (privileges.sql).
CREATE OR REPLACE FUNCTION pggit.live_objects()
RETURNS SETOF pggit.catalog_object
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pggit
SET jit = off
AS $$
BEGIN
    RETURN QUERY SELECT * FROM pggit._live;
    RETURN QUERY SELECT * FROM pggit._privileges_live();
END;
$$;

-- The rows of live_objects() without meta (NULL): the same objects with the same definitions,
-- read at about half the cost (pggit._live_defs). For readers that need definitions (or their
-- hashes) and not dependencies: the live tree when its definitions are stored, the proof of an
-- apply.
CREATE OR REPLACE FUNCTION pggit.live_definitions()
RETURNS SETOF pggit.catalog_object
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pggit
SET jit = off
AS $$
BEGIN
    RETURN QUERY SELECT d.object_key, d.kind, d.schema_name, d.object_name, d.parent_name, d.definition,
                        NULL::jsonb, d.anchor_classid, d.anchor_objid
                   FROM pggit._live_defs d;
    RETURN QUERY SELECT p.object_key, p.kind, p.schema_name, p.object_name, p.parent_name, p.definition,
                        NULL::jsonb, p.anchor_classid, p.anchor_objid
                   FROM pggit._privileges_live() p;
END;
$$;

-- The live objects of many anchors at once: the rows live_objects() gives for them, read through
-- the same per-kind views, each filtered on the anchors (p_rels: relations' oids; p_others: the
-- oids of the other anchors, whatever their catalog — the caller keeps the rows whose
-- (anchor_classid, anchor_objid) it asked for). The filters reach each view's own catalog scan, so
-- the cost follows the number of anchors, not the size of the schema. When the relations asked for
-- are nearly all of the tracked ones (a first status after a large load, a rescan) every relation
-- is read, without the filter: the planner folds it away (v_all is a constant of the custom plan)
-- instead of estimating the `= ANY` element by element in each per-kind branch (at 20,000 anchors
-- that doubled the CPU of planning the read: docs/benchmarks.md); the few rows not asked for are
-- the caller's to drop.
CREATE OR REPLACE FUNCTION pggit._anchors_live(p_rels oid[], p_others oid[])
RETURNS SETOF pggit.catalog_object
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pggit
SET jit = off
AS $$
DECLARE
    v_all boolean := false;
BEGIN
    IF cardinality(p_rels) > 0 THEN
        -- (tables and views counted; sequences, most of them anchored to their table, left out)
        v_all := (SELECT count(*) FROM unnest(p_rels) r JOIN pg_class c ON c.oid = r
                   WHERE c.relkind IN ('r', 'p', 'v', 'm'))
                 >= 0.9 * (SELECT count(*) FROM pg_class c
                            WHERE c.relnamespace IN (SELECT n.oid FROM pggit._ns n)
                              AND c.relkind IN ('r', 'p', 'v', 'm'));
        RETURN QUERY
        SELECT l.object_key, l.kind, l.schema_name, l.object_name, l.parent_name, l.definition,
               l.meta, l.anchor_classid, l.anchor_objid
          FROM pggit._live_ext l
         WHERE l.owner_classid = 'pg_class'::regclass AND (v_all OR l.owner_objid = ANY (p_rels));
        RETURN QUERY
        SELECT o.object_key, o.kind, o.schema_name, o.object_name, o.parent_name, o.definition,
               o.meta, o.anchor_classid, o.anchor_objid
          FROM pggit._o_privileges o
         WHERE o.anchor_classid = 'pg_class'::regclass AND (v_all OR o.anchor_objid = ANY (p_rels));
    END IF;
    IF cardinality(p_others) > 0 THEN
        RETURN QUERY
        SELECT l.object_key, l.kind, l.schema_name, l.object_name, l.parent_name, l.definition,
               l.meta, l.anchor_classid, l.anchor_objid
          FROM pggit._live_ext l
         WHERE l.owner_classid <> 'pg_class'::regclass AND l.owner_objid = ANY (p_others);
        RETURN QUERY
        SELECT o.object_key, o.kind, o.schema_name, o.object_name, o.parent_name, o.definition,
               o.meta, o.anchor_classid, o.anchor_objid
          FROM pggit._o_privileges o
         WHERE o.anchor_classid <> 'pg_class'::regclass AND o.anchor_objid = ANY (p_others);
        RETURN QUERY
        SELECT o.object_key, o.kind, o.schema_name, o.object_name, o.parent_name, o.definition,
               o.meta, o.anchor_classid, o.anchor_objid
          FROM pggit._o_default_privileges o
         WHERE o.anchor_objid = ANY (p_others);
    END IF;
END;
$$;

-- The objects of the given anchors ([[classid, objid], ...], anchors as live_objects() gives them),
-- whole: few anchors each by itself (pggit._anchor_rows, index probes), many together
-- (pggit._anchors_live: each per-kind view filtered on them).
CREATE OR REPLACE FUNCTION pggit.live_objects_of(p_anchors jsonb)
RETURNS SETOF pggit.catalog_object
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pggit
SET jit = off
AS $$
BEGIN
    IF jsonb_array_length(coalesce(p_anchors, '[]')) >= 100 THEN
        RETURN QUERY
        WITH wanted AS MATERIALIZED (
            SELECT DISTINCT (a->>0)::oid AS classid, (a->>1)::oid AS objid FROM jsonb_array_elements(p_anchors) a
        )
        SELECT l.*
          FROM pggit._anchors_live(
                   ARRAY(SELECT w.objid FROM wanted w WHERE w.classid = 'pg_class'::regclass),
                   ARRAY(SELECT w.objid FROM wanted w WHERE w.classid <> 'pg_class'::regclass)) l
          JOIN wanted w ON w.classid = l.anchor_classid AND w.objid = l.anchor_objid;
        RETURN;
    END IF;
    RETURN QUERY
    SELECT o.*
      FROM (SELECT DISTINCT (a->>0)::oid AS classid, (a->>1)::oid AS objid
              FROM jsonb_array_elements(coalesce(p_anchors, '[]')) a) w,
           LATERAL pggit._anchor_rows(w.classid, w.objid) o;
END;
$$;

-- The objects of one anchor, read through the same per-kind views and the same comment function
-- (_object_rows) as live_objects(). Each statement reads one per-kind view filtered on the anchor's
-- oid, which the planner turns into index probes on the owning catalog (pg_class.oid,
-- pg_constraint.conrelid, pg_index.indrelid, pg_trigger.tgrelid, pg_policy.polrelid, pg_type.oid,
-- pg_proc.oid...): nothing is computed for other objects. The plans are generic and cached for
-- the session; the kinds hanging off a table are read only when the table has rows of that kind,
-- so the first call of a session plans only the views it needs.
CREATE OR REPLACE FUNCTION pggit._anchor_rows(p_classid oid, p_objid oid)
RETURNS SETOF pggit.catalog_object
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pggit
SET jit = off
SET plan_cache_mode = force_generic_plan
AS $$
DECLARE
    v_relkind "char";
BEGIN
    -- the anchor's privileges (or the default privileges it is): privileges.sql
    RETURN QUERY SELECT * FROM pggit._privileges_anchor_rows(p_classid, p_objid);
    CASE p_classid
    WHEN 'pg_class'::regclass THEN
        SELECT relkind INTO v_relkind FROM pg_class WHERE oid = p_objid;
        IF v_relkind IN ('r', 'p') THEN
            RETURN QUERY SELECT x.* FROM pggit._o_table o
                CROSS JOIN LATERAL pggit._object_rows(o.object_key, o.kind, o.schema_name, o.object_name, o.parent_name,
                                                    o.definition, o.meta, o.anchor_classid, o.anchor_objid, o.classid,
                                                    o.objid, o.relid, o.qname, o.comment_target) x
                WHERE o.objid = p_objid;
            IF EXISTS (SELECT 1 FROM pg_constraint WHERE conrelid = p_objid) THEN
                RETURN QUERY SELECT x.* FROM pggit._o_constraint o
                    CROSS JOIN LATERAL pggit._object_rows(o.object_key, o.kind, o.schema_name, o.object_name, o.parent_name,
                                                        o.definition, o.meta, o.anchor_classid, o.anchor_objid, o.classid,
                                                        o.objid, o.relid, o.qname, o.comment_target) x
                    WHERE o.anchor_objid = p_objid;
            END IF;
            IF EXISTS (SELECT 1 FROM pg_index WHERE indrelid = p_objid) THEN
                RETURN QUERY SELECT x.* FROM pggit._o_index o
                    CROSS JOIN LATERAL pggit._object_rows(o.object_key, o.kind, o.schema_name, o.object_name, o.parent_name,
                                                        o.definition, o.meta, o.anchor_classid, o.anchor_objid, o.classid,
                                                        o.objid, o.relid, o.qname, o.comment_target) x
                    WHERE o.anchor_objid = p_objid;
            END IF;
            IF EXISTS (SELECT 1 FROM pg_trigger WHERE tgrelid = p_objid) THEN
                RETURN QUERY SELECT x.* FROM pggit._o_trigger o
                    CROSS JOIN LATERAL pggit._object_rows(o.object_key, o.kind, o.schema_name, o.object_name, o.parent_name,
                                                        o.definition, o.meta, o.anchor_classid, o.anchor_objid, o.classid,
                                                        o.objid, o.relid, o.qname, o.comment_target) x
                    WHERE o.anchor_objid = p_objid;
            END IF;
            IF EXISTS (SELECT 1 FROM pg_policy WHERE polrelid = p_objid) THEN
                RETURN QUERY SELECT x.* FROM pggit._o_policy o
                    CROSS JOIN LATERAL pggit._object_rows(o.object_key, o.kind, o.schema_name, o.object_name, o.parent_name,
                                                        o.definition, o.meta, o.anchor_classid, o.anchor_objid, o.classid,
                                                        o.objid, o.relid, o.qname, o.comment_target) x
                    WHERE o.anchor_objid = p_objid;
            END IF;
            IF EXISTS (SELECT 1 FROM pg_rewrite WHERE ev_class = p_objid AND rulename <> '_RETURN') THEN
                RETURN QUERY SELECT x.* FROM pggit._o_rule o
                    CROSS JOIN LATERAL pggit._object_rows(o.object_key, o.kind, o.schema_name, o.object_name, o.parent_name,
                                                        o.definition, o.meta, o.anchor_classid, o.anchor_objid, o.classid,
                                                        o.objid, o.relid, o.qname, o.comment_target) x
                    WHERE o.anchor_objid = p_objid;
            END IF;
        ELSIF v_relkind IN ('v', 'm') THEN
            RETURN QUERY SELECT x.* FROM pggit._o_view o
                CROSS JOIN LATERAL pggit._object_rows(o.object_key, o.kind, o.schema_name, o.object_name, o.parent_name,
                                                    o.definition, o.meta, o.anchor_classid, o.anchor_objid, o.classid,
                                                    o.objid, o.relid, o.qname, o.comment_target) x
                WHERE o.objid = p_objid;
            IF EXISTS (SELECT 1 FROM pg_index WHERE indrelid = p_objid) THEN
                RETURN QUERY SELECT x.* FROM pggit._o_index o
                    CROSS JOIN LATERAL pggit._object_rows(o.object_key, o.kind, o.schema_name, o.object_name, o.parent_name,
                                                        o.definition, o.meta, o.anchor_classid, o.anchor_objid, o.classid,
                                                        o.objid, o.relid, o.qname, o.comment_target) x
                    WHERE o.anchor_objid = p_objid;
            END IF;
            IF EXISTS (SELECT 1 FROM pg_trigger WHERE tgrelid = p_objid) THEN
                RETURN QUERY SELECT x.* FROM pggit._o_trigger o
                    CROSS JOIN LATERAL pggit._object_rows(o.object_key, o.kind, o.schema_name, o.object_name, o.parent_name,
                                                        o.definition, o.meta, o.anchor_classid, o.anchor_objid, o.classid,
                                                        o.objid, o.relid, o.qname, o.comment_target) x
                    WHERE o.anchor_objid = p_objid;
            END IF;
            IF EXISTS (SELECT 1 FROM pg_rewrite WHERE ev_class = p_objid AND rulename <> '_RETURN') THEN
                RETURN QUERY SELECT x.* FROM pggit._o_rule o
                    CROSS JOIN LATERAL pggit._object_rows(o.object_key, o.kind, o.schema_name, o.object_name, o.parent_name,
                                                        o.definition, o.meta, o.anchor_classid, o.anchor_objid, o.classid,
                                                        o.objid, o.relid, o.qname, o.comment_target) x
                    WHERE o.anchor_objid = p_objid;
            END IF;
        ELSIF v_relkind = 'S' THEN
            RETURN QUERY SELECT x.* FROM pggit._o_sequence o
                CROSS JOIN LATERAL pggit._object_rows(o.object_key, o.kind, o.schema_name, o.object_name, o.parent_name,
                                                    o.definition, o.meta, o.anchor_classid, o.anchor_objid, o.classid,
                                                    o.objid, o.relid, o.qname, o.comment_target) x
                WHERE o.objid = p_objid;
        END IF;
    WHEN 'pg_type'::regclass THEN
        -- one type is of one kind: read only its view
        CASE (SELECT typtype FROM pg_type WHERE oid = p_objid)
        WHEN 'e' THEN
            RETURN QUERY SELECT x.* FROM pggit._o_enum o
                CROSS JOIN LATERAL pggit._object_rows(o.object_key, o.kind, o.schema_name, o.object_name, o.parent_name,
                                                    o.definition, o.meta, o.anchor_classid, o.anchor_objid, o.classid,
                                                    o.objid, o.relid, o.qname, o.comment_target) x
                WHERE o.objid = p_objid;
        WHEN 'c' THEN
            RETURN QUERY SELECT x.* FROM pggit._o_composite o
                CROSS JOIN LATERAL pggit._object_rows(o.object_key, o.kind, o.schema_name, o.object_name, o.parent_name,
                                                    o.definition, o.meta, o.anchor_classid, o.anchor_objid, o.classid,
                                                    o.objid, o.relid, o.qname, o.comment_target) x
                WHERE o.objid = p_objid;
        WHEN 'r' THEN
            RETURN QUERY SELECT x.* FROM pggit._o_range o
                CROSS JOIN LATERAL pggit._object_rows(o.object_key, o.kind, o.schema_name, o.object_name, o.parent_name,
                                                    o.definition, o.meta, o.anchor_classid, o.anchor_objid, o.classid,
                                                    o.objid, o.relid, o.qname, o.comment_target) x
                WHERE o.objid = p_objid;
        WHEN 'd' THEN
            RETURN QUERY SELECT x.* FROM pggit._o_domain o
                CROSS JOIN LATERAL pggit._object_rows(o.object_key, o.kind, o.schema_name, o.object_name, o.parent_name,
                                                    o.definition, o.meta, o.anchor_classid, o.anchor_objid, o.classid,
                                                    o.objid, o.relid, o.qname, o.comment_target) x
                WHERE o.objid = p_objid;
        ELSE
            RETURN;
        END CASE;
    WHEN 'pg_proc'::regclass THEN
        IF (SELECT prokind FROM pg_proc WHERE oid = p_objid) = 'a' THEN
            RETURN QUERY SELECT x.* FROM pggit._o_aggregate o
                CROSS JOIN LATERAL pggit._object_rows(o.object_key, o.kind, o.schema_name, o.object_name, o.parent_name,
                                                    o.definition, o.meta, o.anchor_classid, o.anchor_objid, o.classid,
                                                    o.objid, o.relid, o.qname, o.comment_target) x
                WHERE o.objid = p_objid;
        ELSE
            RETURN QUERY SELECT x.* FROM pggit._o_function o
                CROSS JOIN LATERAL pggit._object_rows(o.object_key, o.kind, o.schema_name, o.object_name, o.parent_name,
                                                    o.definition, o.meta, o.anchor_classid, o.anchor_objid, o.classid,
                                                    o.objid, o.relid, o.qname, o.comment_target) x
                WHERE o.objid = p_objid;
        END IF;
    WHEN 'pg_namespace'::regclass THEN
        RETURN QUERY SELECT x.* FROM pggit._o_schema o
            CROSS JOIN LATERAL pggit._object_rows(o.object_key, o.kind, o.schema_name, o.object_name, o.parent_name,
                                                o.definition, o.meta, o.anchor_classid, o.anchor_objid, o.classid,
                                                o.objid, o.relid, o.qname, o.comment_target) x
            WHERE o.objid = p_objid;
    WHEN 'pg_extension'::regclass THEN
        RETURN QUERY SELECT x.* FROM pggit._o_extension o
            CROSS JOIN LATERAL pggit._object_rows(o.object_key, o.kind, o.schema_name, o.object_name, o.parent_name,
                                                o.definition, o.meta, o.anchor_classid, o.anchor_objid, o.classid,
                                                o.objid, o.relid, o.qname, o.comment_target) x
            WHERE o.objid = p_objid;
    WHEN 'pg_operator'::regclass THEN
        RETURN QUERY SELECT x.* FROM pggit._o_operator o
            CROSS JOIN LATERAL pggit._object_rows(o.object_key, o.kind, o.schema_name, o.object_name, o.parent_name,
                                                o.definition, o.meta, o.anchor_classid, o.anchor_objid, o.classid,
                                                o.objid, o.relid, o.qname, o.comment_target) x
            WHERE o.objid = p_objid;
    WHEN 'pg_cast'::regclass THEN
        RETURN QUERY SELECT x.* FROM pggit._o_cast o
            CROSS JOIN LATERAL pggit._object_rows(o.object_key, o.kind, o.schema_name, o.object_name, o.parent_name,
                                                o.definition, o.meta, o.anchor_classid, o.anchor_objid, o.classid,
                                                o.objid, o.relid, o.qname, o.comment_target) x
            WHERE o.objid = p_objid;
    WHEN 'pg_collation'::regclass THEN
        RETURN QUERY SELECT x.* FROM pggit._o_collation o
            CROSS JOIN LATERAL pggit._object_rows(o.object_key, o.kind, o.schema_name, o.object_name, o.parent_name,
                                                o.definition, o.meta, o.anchor_classid, o.anchor_objid, o.classid,
                                                o.objid, o.relid, o.qname, o.comment_target) x
            WHERE o.objid = p_objid;
    WHEN 'pg_ts_config'::regclass THEN
        RETURN QUERY SELECT x.* FROM pggit._o_ts_config o
            CROSS JOIN LATERAL pggit._object_rows(o.object_key, o.kind, o.schema_name, o.object_name, o.parent_name,
                                                o.definition, o.meta, o.anchor_classid, o.anchor_objid, o.classid,
                                                o.objid, o.relid, o.qname, o.comment_target) x
            WHERE o.objid = p_objid;
    WHEN 'pg_ts_dict'::regclass THEN
        RETURN QUERY SELECT x.* FROM pggit._o_ts_dict o
            CROSS JOIN LATERAL pggit._object_rows(o.object_key, o.kind, o.schema_name, o.object_name, o.parent_name,
                                                o.definition, o.meta, o.anchor_classid, o.anchor_objid, o.classid,
                                                o.objid, o.relid, o.qname, o.comment_target) x
            WHERE o.objid = p_objid;
    WHEN 'pg_statistic_ext'::regclass THEN
        RETURN QUERY SELECT x.* FROM pggit._o_statistics o
            CROSS JOIN LATERAL pggit._object_rows(o.object_key, o.kind, o.schema_name, o.object_name, o.parent_name,
                                                o.definition, o.meta, o.anchor_classid, o.anchor_objid, o.classid,
                                                o.objid, o.relid, o.qname, o.comment_target) x
            WHERE o.objid = p_objid;
    ELSE
        RETURN;
    END CASE;
END;
$$;

CREATE OR REPLACE FUNCTION pggit.anchor_objects(p_classid oid, p_objid oid)
RETURNS SETOF pggit.catalog_object
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pggit
AS $$
DECLARE
    v_anchor record;
    v_owner oid;
BEGIN
    IF p_classid IS NULL OR p_objid IS NULL THEN   -- tested here: a PERFORM on every call costs a query
        PERFORM pggit._require_catalog_row(p_classid, p_objid);
    END IF;
    SELECT * INTO v_anchor FROM pggit.anchor_of(p_classid, p_objid);
    IF v_anchor.anchor_classid IS NULL THEN
        RETURN;
    END IF;
    RETURN QUERY SELECT * FROM pggit._anchor_rows(v_anchor.anchor_classid, v_anchor.anchor_objid);
    IF v_anchor.anchor_classid = 'pg_class'::regclass THEN
        -- a sequence owned by a column: the owning table's definition names it
        SELECT d.refobjid INTO v_owner
          FROM pg_depend d JOIN pg_class s ON s.oid = d.objid AND s.relkind = 'S'
         WHERE d.classid = 'pg_class'::regclass AND d.objid = v_anchor.anchor_objid
           AND d.refclassid = 'pg_class'::regclass AND d.deptype = 'a' AND d.refobjsubid > 0;
        IF v_owner IS NOT NULL AND pggit._anchor_tracked('pg_class'::regclass, v_owner) THEN
            RETURN QUERY SELECT * FROM pggit._anchor_rows('pg_class'::regclass, v_owner);
        END IF;
    END IF;
END;
$$;

-- Anchors whose definitions name the given anchor (one level): views, foreign keys of other
-- tables, triggers using a function, tables with columns of a type, objects of a schema...
CREATE OR REPLACE FUNCTION pggit.anchor_dependents(p_classid oid, p_objid oid)
RETURNS TABLE (classid oid, objid oid)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pggit
SET plan_cache_mode = force_generic_plan
AS $$
DECLARE
    v_anchor record;
BEGIN
    IF p_classid IS NULL OR p_objid IS NULL THEN   -- tested here: a PERFORM on every call costs a query
        PERFORM pggit._require_catalog_row(p_classid, p_objid);
    END IF;
    SELECT * INTO v_anchor FROM pggit.anchor_of(p_classid, p_objid);
    IF v_anchor.anchor_classid IS NULL THEN
        RETURN;
    END IF;
    RETURN QUERY
    WITH rows (c, o) AS (
        SELECT v_anchor.anchor_classid, v_anchor.anchor_objid
        UNION ALL   -- a relation's row type, its array, its indexes and constraints
        SELECT 'pg_type'::regclass, t.oid FROM pg_class r JOIN pg_type t ON t.oid IN (r.reltype, (SELECT typarray FROM pg_type WHERE oid = r.reltype))
         WHERE v_anchor.anchor_classid = 'pg_class'::regclass AND r.oid = v_anchor.anchor_objid
        UNION ALL
        SELECT 'pg_class'::regclass, i.indexrelid FROM pg_index i
         WHERE v_anchor.anchor_classid = 'pg_class'::regclass AND i.indrelid = v_anchor.anchor_objid
        UNION ALL
        SELECT 'pg_constraint'::regclass, con.oid FROM pg_constraint con
         WHERE v_anchor.anchor_classid = 'pg_class'::regclass AND con.conrelid = v_anchor.anchor_objid
        UNION ALL   -- a type's array, multirange (and its array), composite relation
        SELECT 'pg_type'::regclass, x.oid
          FROM pg_type t
          LEFT JOIN pg_range r ON r.rngtypid = t.oid
          JOIN pg_type x ON x.oid IN (t.typarray, r.rngmultitypid,
                                      (SELECT typarray FROM pg_type WHERE oid = r.rngmultitypid))
         WHERE v_anchor.anchor_classid = 'pg_type'::regclass AND t.oid = v_anchor.anchor_objid
        UNION ALL
        SELECT 'pg_class'::regclass, t.typrelid FROM pg_type t
         WHERE v_anchor.anchor_classid = 'pg_type'::regclass AND t.oid = v_anchor.anchor_objid AND t.typrelid <> 0
    )
    SELECT DISTINCT a.anchor_classid, a.anchor_objid
      FROM rows
      JOIN pg_depend d ON d.refclassid = rows.c AND d.refobjid = rows.o AND d.deptype IN ('n', 'a')
           -- parts of the anchor relation itself (its defaults, constraints, indexes, triggers,
           -- policies, rules), whose anchor_of() is the anchor: skipped without calling it
           AND (v_anchor.anchor_classid <> 'pg_class'::regclass
                OR CASE d.classid
                   WHEN 'pg_attrdef'::regclass THEN (SELECT x.adrelid FROM pg_attrdef x WHERE x.oid = d.objid)
                   WHEN 'pg_constraint'::regclass THEN (SELECT x.conrelid FROM pg_constraint x WHERE x.oid = d.objid)
                   WHEN 'pg_class'::regclass THEN (SELECT x.indrelid FROM pg_index x WHERE x.indexrelid = d.objid)
                   WHEN 'pg_trigger'::regclass THEN (SELECT x.tgrelid FROM pg_trigger x WHERE x.oid = d.objid)
                   WHEN 'pg_policy'::regclass THEN (SELECT x.polrelid FROM pg_policy x WHERE x.oid = d.objid)
                   WHEN 'pg_rewrite'::regclass THEN (SELECT x.ev_class FROM pg_rewrite x WHERE x.oid = d.objid)
                   END IS DISTINCT FROM v_anchor.anchor_objid)
     CROSS JOIN LATERAL pggit.anchor_of(d.classid, d.objid) a
     WHERE a.anchor_objid IS NOT NULL
       AND (a.anchor_classid, a.anchor_objid) IS DISTINCT FROM (v_anchor.anchor_classid, v_anchor.anchor_objid);
END;
$$;

-- ---------------------------------------------------------------------------------------------
-- DDL generation
-- ---------------------------------------------------------------------------------------------

-- The statements a table definition carries after its CREATE TABLE (owned sequences, row level
-- security, statistics/storage/compression/replica identity), rebuilt from its meta in the order
-- the definition lists them.
CREATE OR REPLACE FUNCTION pggit._table_trailing(p_meta jsonb)
RETURNS text[]
LANGUAGE plpgsql IMMUTABLE  -- not sql: a nested SQL function is planned again on every call
SET search_path = pg_catalog, pggit
AS $$
DECLARE
    v_props text[] := pggit._table_props_sql(p_meta->>'identity', p_meta);
BEGIN
    RETURN coalesce((SELECT array_agg('ALTER SEQUENCE ' || (o->>'sequence') || ' OWNED BY ' || (p_meta->>'identity')
                                      || '.' || quote_ident(o->>'column') || ';' ORDER BY n)
                       FROM jsonb_array_elements(coalesce(p_meta->'owned_sequences', '[]')) WITH ORDINALITY e(o, n)),
                    '{}')
        || CASE WHEN (p_meta->>'rls')::boolean
                THEN ARRAY['ALTER TABLE ' || (p_meta->>'identity') || ' ENABLE ROW LEVEL SECURITY;'] ELSE '{}' END
        || CASE WHEN (p_meta->>'rls_forced')::boolean
                THEN ARRAY['ALTER TABLE ' || (p_meta->>'identity') || ' FORCE ROW LEVEL SECURITY;'] ELSE '{}' END
        || v_props;
END;
$$;

-- The statements creating an object from its definition and meta. sql_create and sql_drop are SQL
-- functions of one expression (no SET clause, not STRICT, every name schema-qualified): the
-- planner inlines them into the query that calls them, so that a migration plan generates its
-- statements inside its one query, kind by kind, not by a function call per object
-- (pggit.plan_order). The few kinds that need more than an expression (a table with trailing
-- statements, a view referring to itself, privileges) call their own function; malformed
-- arguments go to a function that raises the error. They are pure, but declared VOLATILE with
-- these helpers: the planner would otherwise evaluate a helper whose arguments are constants
-- while planning (a refusal in a branch a query with constant arguments never takes would raise),
-- and an IMMUTABLE SQL function is only inlined when everything it calls is IMMUTABLE.
CREATE OR REPLACE FUNCTION pggit._sql_create_refused(p_kind text)
RETURNS text[]
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pggit
AS $$
BEGIN
    PERFORM pggit._kind_prefix(p_kind);
    PERFORM pggit.raise_error('INVALID_ARGUMENT', format('sql_create(%s): a definition is required', p_kind));
    RETURN NULL;
END;
$$;

-- A view that refers to itself: first a stand-in with its columns (as pg_dump does), then the
-- real query replaces it.
CREATE OR REPLACE FUNCTION pggit._sql_create_self_referencing_view(p_definition text, p_meta jsonb)
RETURNS text[]
LANGUAGE sql VOLATILE
SET search_path = pg_catalog, pggit
AS $$
    SELECT ARRAY['CREATE VIEW ' || (p_meta->>'identity') || ' AS SELECT '
                 || (SELECT string_agg('NULL::' || (c->>'type') || ' AS ' || quote_ident(c->>'name'), ', ' ORDER BY o)
                       FROM jsonb_array_elements(p_meta->'columns') WITH ORDINALITY e(c, o)) || ';',
                 regexp_replace(p_definition, '^CREATE VIEW ', 'CREATE OR REPLACE VIEW ')]
$$;

-- A table: its CREATE TABLE, then the statements its definition carries after it (owned
-- sequences, row level security, ...) each by itself, when the definition ends with them.
CREATE OR REPLACE FUNCTION pggit._sql_create_table(p_definition text, p_meta jsonb)
RETURNS text[]
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pggit
AS $$
DECLARE
    v_trailing text[] := pggit._table_trailing(p_meta);
    v_suffix text;
BEGIN
    v_suffix := coalesce((SELECT string_agg(E'\n' || t, '' ORDER BY n) FROM unnest(v_trailing) WITH ORDINALITY u(t, n)), '');
    IF v_suffix <> '' AND right(p_definition, length(v_suffix)) = v_suffix THEN
        RETURN ARRAY[left(p_definition, length(p_definition) - length(v_suffix))] || v_trailing;
    END IF;
    RETURN ARRAY[p_definition];
END;
$$;

-- The two privileges kinds (privileges.sql, loaded after this file: a SQL function's body must
-- name functions that exist when it is created, a PL/pgSQL one need not).
CREATE OR REPLACE FUNCTION pggit._sql_privileges(p_phase text, p_kind text, p_definition text, p_meta jsonb)
RETURNS text[]
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pggit
AS $$
BEGIN
    IF p_phase = 'create' THEN
        RETURN pggit._privileges_create(p_definition);  -- one statement per line
    END IF;
    RETURN pggit._privileges_drop(p_kind, p_meta);  -- REVOKE back to the default
END;
$$;

-- The definition of a table (PostgreSQL 18) with CONSTRAINT <table>_<column>_not_null written in
-- each column line whose NOT NULL it leaves to the default name, for sql_create: CREATE TABLE
-- chooses a name free in the whole schema, so while another table's constraint holds the default
-- one (a renamed table's, which its definition writes, still there when a plan creates this one)
-- the created table would get it numbered; named here it gets exactly the name its definition
-- means. The column list is matched whole (CREATE [UNLOGGED] TABLE <name> (, each column's line
-- from the meta, the closing parenthesis) and written again from the meta's columns, never
-- searched for a column's text (which a string default or a quoted name before it may hold); a
-- definition that does not begin so (a typed table, a partition) is returned as it is.
CREATE OR REPLACE FUNCTION pggit._not_null_named_create(p_definition text, p_meta jsonb)
RETURNS text
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pggit
AS $$
DECLARE
    v_body text;
    v_named text;
    v_head text;
BEGIN
    SELECT coalesce(string_agg('    ' || (c->>'sql'), E',\n' ORDER BY n), ''),
           coalesce(string_agg('    ' || pggit._column_sql_named(p_meta, c), E',\n' ORDER BY n), '')
      INTO v_body, v_named
      FROM jsonb_array_elements(coalesce(p_meta->'columns', '[]')) WITH ORDINALITY e(c, n);
    FOREACH v_head IN ARRAY ARRAY['CREATE TABLE ', 'CREATE UNLOGGED TABLE '] LOOP
        v_head := v_head || (p_meta->>'identity') || E' (\n';
        IF starts_with(p_definition, v_head || v_body || E'\n)') THEN
            RETURN v_head || v_named || substr(p_definition, length(v_head || v_body) + 1);
        END IF;
    END LOOP;
    RETURN p_definition;
END;
$$;

CREATE OR REPLACE FUNCTION pggit.sql_create(p_kind text, p_definition text, p_meta jsonb)
RETURNS text[]
LANGUAGE sql VOLATILE
AS $$
    SELECT CASE
        WHEN pggit._kind_prefix(p_kind) IS NULL OR p_definition IS NULL OR pg_catalog.btrim(p_definition) = ''
            THEN pggit._sql_create_refused(p_kind)
        -- idempotent: the public schema exists in every new database
        WHEN p_kind = 'schema'
            THEN ARRAY[pg_catalog.regexp_replace(p_definition, '^CREATE SCHEMA ', 'CREATE SCHEMA IF NOT EXISTS ')]
        WHEN p_kind IN ('privileges', 'default_privileges')
            THEN pggit._sql_privileges('create', p_kind, p_definition, p_meta)
        WHEN p_kind = 'view' AND (p_meta->>'self_reference')::boolean AND p_definition ~ '^CREATE VIEW '
            THEN pggit._sql_create_self_referencing_view(p_definition, p_meta)
        -- a table whose meta gives no statement after its CREATE TABLE (pggit._table_trailing: no
        -- owned sequence, no row level security, no statistics, storage, compression, attribute options or replica
        -- identity) is its definition alone, decided here without the call per table
        WHEN p_kind = 'table' AND p_meta IS NOT NULL
             AND coalesce(p_meta->'owned_sequences', '[]') = '[]'
             AND coalesce(p_meta->'statistics', '{}') = '{}'
             AND coalesce(p_meta->'storage', '{}') = '{}'
             AND coalesce(p_meta->'compression', '{}') = '{}'
             AND NOT p_meta ? 'column_options'
             AND NOT p_meta ? 'replica_identity'
             AND NOT coalesce((p_meta->>'rls')::boolean, false)
             AND NOT coalesce((p_meta->>'rls_forced')::boolean, false)
            THEN ARRAY[CASE WHEN pg_catalog.strpos(p_definition, ' NOT NULL') > 0
                                 AND pg_catalog.current_setting('server_version_num')::int >= 180000
                            THEN pggit._not_null_named_create(p_definition, p_meta) ELSE p_definition END]
        -- (on PostgreSQL 18 a CREATE TABLE names the NOT NULL constraints its definition leaves to
        -- their default name: pggit._not_null_named_create, called only there, keeping this one
        -- expression)
        WHEN p_kind = 'table' AND p_meta IS NOT NULL
            THEN pggit._sql_create_table(CASE WHEN pg_catalog.strpos(p_definition, ' NOT NULL') > 0
                                                   AND pg_catalog.current_setting('server_version_num')::int >= 180000
                                              THEN pggit._not_null_named_create(p_definition, p_meta)
                                              ELSE p_definition END, p_meta)
        ELSE ARRAY[p_definition] END
$$;

CREATE OR REPLACE FUNCTION pggit._sql_drop_refused(p_kind text, p_object_key text, p_meta jsonb)
RETURNS text[]
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pggit
AS $$
BEGIN
    IF p_object_key IS NULL OR split_part(p_object_key, ':', 1) <> pggit._kind_prefix(p_kind) THEN
        PERFORM pggit.raise_error('INVALID_ARGUMENT',
            format('sql_drop: key %L is not a key of kind %L', p_object_key, p_kind));
    END IF;
    IF p_kind = 'comment' THEN
        PERFORM pggit.raise_error('INVALID_ARGUMENT', format('sql_drop(%s): meta has no "target"', p_object_key));
    END IF;
    PERFORM pggit.raise_error('INVALID_ARGUMENT',
        format('sql_drop(%s): meta lacks "identity"%s', p_object_key,
               CASE WHEN p_kind IN ('constraint', 'trigger', 'policy', 'rule') THEN ' or "table"' ELSE '' END));
    RETURN NULL;
END;
$$;

CREATE OR REPLACE FUNCTION pggit.sql_drop(p_kind text, p_object_key text, p_meta jsonb)
RETURNS text[]
LANGUAGE sql VOLATILE
AS $$
    SELECT CASE
        WHEN p_object_key IS NULL OR pg_catalog.split_part(p_object_key, ':', 1) IS DISTINCT FROM pggit._kind_prefix(p_kind)
            THEN pggit._sql_drop_refused(p_kind, p_object_key, p_meta)
        WHEN p_kind IN ('privileges', 'default_privileges') THEN pggit._sql_privileges('drop', p_kind, NULL, p_meta)
        WHEN p_kind = 'comment' AND p_meta->>'target' IS NOT NULL
            THEN ARRAY['COMMENT ON ' || (p_meta->>'target') || ' IS NULL;']
        WHEN p_kind = 'comment' OR p_meta->>'identity' IS NULL
             OR (p_kind IN ('constraint', 'trigger', 'policy', 'rule') AND p_meta->>'table' IS NULL)
            THEN pggit._sql_drop_refused(p_kind, p_object_key, p_meta)
        -- a partition is detached before it is dropped: a foreign key of its partitioned parent
        -- that references the parent itself has a row on the parent for each partition it
        -- references, which a DROP TABLE of the partition alone is refused for
        WHEN p_kind = 'table' AND p_meta->>'partition_parent' IS NOT NULL
            THEN ARRAY['ALTER TABLE IF EXISTS ' || (p_meta->>'partition_parent') || ' DETACH PARTITION '
                       || (p_meta->>'identity') || ';',
                       'DROP TABLE IF EXISTS ' || (p_meta->>'identity') || ';']
        WHEN p_kind = 'constraint'
            THEN ARRAY['ALTER TABLE IF EXISTS ' || (p_meta->>'table') || ' DROP CONSTRAINT IF EXISTS '
                       || (p_meta->>'identity') || ';']
        WHEN p_kind IN ('trigger', 'policy', 'rule')
            THEN ARRAY['DROP ' || pg_catalog.upper(p_kind) || ' IF EXISTS ' || (p_meta->>'identity') || ' ON '
                       || (p_meta->>'table') || ';']
        ELSE ARRAY['DROP ' || pg_catalog.upper(pg_catalog.replace(p_kind, '_', ' ')) || ' IF EXISTS '
                   || (p_meta->>'identity') || ';'] END
$$;

-- The quoted, qualified name of the sequence an identity of column p_column of table p_table (its
-- quoted, qualified name) has when its definition names none: <table>_<column>_seq in the table's
-- schema (pggit._columns, identity_sequence).
CREATE OR REPLACE FUNCTION pggit._identity_default_sequence(p_table text, p_column text)
RETURNS text
LANGUAGE sql IMMUTABLE
SET search_path = pg_catalog, pggit
AS $$
    SELECT quote_ident(n[1]) || '.' || quote_ident(n[2] || '_' || p_column || '_seq')
      FROM (SELECT parse_ident(p_table) AS n) t
$$;

-- ALTER TABLE ... ALTER COLUMN statements turning column p_old into p_new (same name), or NULL
-- when PostgreSQL cannot do it in place. p_is_last: the column is the last one before and after.
CREATE OR REPLACE FUNCTION pggit._alter_column(p_table text, p_old jsonb, p_new jsonb, p_is_last boolean)
RETURNS text[]
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pggit
AS $$
DECLARE
    v_col text := quote_ident(p_new->>'name');
    v_alter text := 'ALTER TABLE ' || p_table || ' ALTER COLUMN ' || v_col || ' ';
    v_out text[] := '{}';
    v_type_changed boolean := (p_old->>'type') IS DISTINCT FROM (p_new->>'type')
                              OR (p_old->>'collation') IS DISTINCT FROM (p_new->>'collation');
    v_old_default text := p_old->>'default';
    v_new_default text := p_new->>'default';
    v_default_dropped boolean := false;
    v_old_seq text;
    v_new_seq text;
BEGIN
    IF (p_old->>'generated') IS DISTINCT FROM (p_new->>'generated')
       OR (p_old->>'generated_kind') IS DISTINCT FROM (p_new->>'generated_kind') THEN
        IF p_old->>'generated' IS NOT NULL AND p_new->>'generated' IS NOT NULL AND NOT v_type_changed
           AND p_old->>'generated_kind' = 'STORED' AND p_new->>'generated_kind' = 'STORED'
           AND current_setting('server_version_num')::int >= 170000 THEN
            v_out := v_out || (v_alter || 'SET EXPRESSION AS (' || (p_new->>'generated') || ');');
        ELSIF p_old->>'generated' IS NOT NULL AND p_new->>'generated' IS NULL
              AND p_old->>'generated_kind' = 'STORED' THEN
            v_out := v_out || (v_alter || 'DROP EXPRESSION;');
        ELSIF p_is_last THEN
            RETURN ARRAY['ALTER TABLE ' || p_table || ' DROP COLUMN ' || v_col || ';',
                         'ALTER TABLE ' || p_table || ' ADD COLUMN ' || (p_new->>'sql') || ';'];
        ELSE
            RETURN NULL;
        END IF;
    END IF;
    IF p_old->>'identity' IS NOT NULL AND p_new->>'identity' IS NULL THEN
        v_out := v_out || (v_alter || 'DROP IDENTITY;');
    END IF;
    IF v_old_default IS NOT NULL AND (v_type_changed OR v_old_default IS DISTINCT FROM v_new_default) THEN
        v_out := v_out || (v_alter || 'DROP DEFAULT;');
        v_default_dropped := true;
    END IF;
    IF v_type_changed THEN
        v_out := v_out || (v_alter || 'TYPE ' || (p_new->>'type') || coalesce(' COLLATE ' || (p_new->>'collation'), '')
                           || CASE WHEN p_new->>'generated' IS NULL
                                   THEN ' USING ' || v_col || '::' || (p_new->>'type') ELSE '' END || ';');
    END IF;
    -- (on PostgreSQL 18 pggit._alter_table gives the same NOT NULL on both sides: it sets, drops
    -- and renames the named constraints of all columns itself)
    IF (p_new->>'not_null')::boolean AND NOT (p_old->>'not_null')::boolean THEN
        v_out := v_out || (v_alter || 'SET NOT NULL;');
    END IF;
    -- the identity sequence renamed (meta identity_sequence: NULL for <table>_<column>_seq),
    -- which keeps its counter where dropping and adding the identity would start it again (it is
    -- in the table's schema: see pggit._columns)
    IF p_old->>'identity' IS NOT NULL AND p_new->>'identity' IS NOT NULL THEN
        v_old_seq := coalesce(p_old->>'identity_sequence', pggit._identity_default_sequence(p_table, p_old->>'name'));
        v_new_seq := coalesce(p_new->>'identity_sequence', pggit._identity_default_sequence(p_table, p_new->>'name'));
        IF v_old_seq <> v_new_seq THEN
            v_out := v_out || ('ALTER SEQUENCE ' || v_old_seq || ' RENAME TO '
                               || quote_ident((parse_ident(v_new_seq))[2]) || ';');
        END IF;
    END IF;
    v_out := v_out || pggit._alter_identity(v_alter, p_old, p_new);
    IF v_new_default IS NOT NULL AND (v_default_dropped OR v_old_default IS NULL) THEN
        v_out := v_out || (v_alter || 'SET DEFAULT ' || v_new_default || ';');
    END IF;
    IF NOT (p_new->>'not_null')::boolean AND (p_old->>'not_null')::boolean THEN
        v_out := v_out || (v_alter || 'DROP NOT NULL;');
    END IF;
    RETURN v_out;
END;
$$;

-- Identity changes of one column (added, with its sequence's name when not the default; kind
-- changed; sequence options changed). A renamed sequence: pggit._alter_column.
CREATE OR REPLACE FUNCTION pggit._alter_identity(p_alter text, p_old jsonb, p_new jsonb)
RETURNS text[]
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pggit
AS $$
DECLARE
    v_opts jsonb := p_new->'identity_options';
    v_text text;
BEGIN
    IF p_new->>'identity' IS NULL THEN
        RETURN '{}';
    END IF;
    IF p_old->>'identity' IS NULL THEN
        v_text := nullif(concat_ws(' ', 'SEQUENCE NAME ' || (p_new->>'identity_sequence'),
                      pggit._seq_nondefault_options(to_regtype(p_new->>'type'), (v_opts->>'increment')::bigint,
                          (v_opts->>'minvalue')::bigint, (v_opts->>'maxvalue')::bigint, (v_opts->>'start')::bigint,
                          (v_opts->>'cache')::bigint, (v_opts->>'cycle')::boolean)), '');
        RETURN ARRAY[p_alter || 'ADD GENERATED ' || (p_new->>'identity') || ' AS IDENTITY'
                     || coalesce(' (' || v_text || ')', '') || ';'];
    END IF;
    RETURN CASE WHEN p_old->>'identity' <> p_new->>'identity'
                THEN ARRAY[p_alter || 'SET GENERATED ' || (p_new->>'identity') || ';'] ELSE '{}' END
        || CASE WHEN p_old->'identity_options' IS DISTINCT FROM v_opts
                THEN ARRAY[p_alter || 'SET INCREMENT BY ' || (v_opts->>'increment')
                           || ' SET MINVALUE ' || (v_opts->>'minvalue') || ' SET MAXVALUE ' || (v_opts->>'maxvalue')
                           || ' SET START WITH ' || (v_opts->>'start') || ' SET CACHE ' || (v_opts->>'cache')
                           || CASE WHEN (v_opts->>'cycle')::boolean THEN ' SET CYCLE' ELSE ' SET NO CYCLE' END || ';']
                ELSE '{}' END;
END;
$$;

-- Table-level changes: persistence, storage options, row level security, owned sequences,
-- statistics targets, column storage and compression, replica identity.
CREATE OR REPLACE FUNCTION pggit._alter_table_props(p_old jsonb, p_new jsonb)
RETURNS text[]
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pggit
AS $$
DECLARE
    v_t text := 'ALTER TABLE ' || (p_new->>'identity') || ' ';
    v_out text[] := '{}';
    v_reset text;
    v_set text;
BEGIN
    IF (p_old->>'unlogged')::boolean <> (p_new->>'unlogged')::boolean THEN
        v_out := v_out || (v_t || CASE WHEN (p_new->>'unlogged')::boolean THEN 'SET UNLOGGED;' ELSE 'SET LOGGED;' END);
    END IF;
    SELECT string_agg(split_part(o, '=', 1), ', ' ORDER BY o COLLATE "C") INTO v_reset
      FROM jsonb_array_elements_text(p_old->'options') o
     WHERE split_part(o, '=', 1) NOT IN (SELECT split_part(n, '=', 1) FROM jsonb_array_elements_text(p_new->'options') n);
    SELECT string_agg(n, ', ' ORDER BY n COLLATE "C") INTO v_set
      FROM jsonb_array_elements_text(p_new->'options') n
     WHERE n NOT IN (SELECT o FROM jsonb_array_elements_text(p_old->'options') o);
    IF v_reset IS NOT NULL THEN v_out := v_out || (v_t || 'RESET (' || v_reset || ');'); END IF;
    IF v_set IS NOT NULL THEN v_out := v_out || (v_t || 'SET (' || v_set || ');'); END IF;
    IF (p_old->>'rls')::boolean <> (p_new->>'rls')::boolean THEN
        v_out := v_out || (v_t || CASE WHEN (p_new->>'rls')::boolean THEN 'ENABLE' ELSE 'DISABLE' END
                           || ' ROW LEVEL SECURITY;');
    END IF;
    IF (p_old->>'rls_forced')::boolean <> (p_new->>'rls_forced')::boolean THEN
        v_out := v_out || (v_t || CASE WHEN (p_new->>'rls_forced')::boolean THEN 'FORCE' ELSE 'NO FORCE' END
                           || ' ROW LEVEL SECURITY;');
    END IF;
    v_out := v_out || coalesce((SELECT array_agg('ALTER SEQUENCE IF EXISTS ' || (o->>'sequence') || ' OWNED BY NONE;')
                                  FROM jsonb_array_elements(p_old->'owned_sequences') o
                                 WHERE NOT (p_new->'owned_sequences') @> jsonb_build_array(o)), '{}')
                   || coalesce((SELECT array_agg('ALTER SEQUENCE ' || (n->>'sequence') || ' OWNED BY '
                                                 || (p_new->>'identity') || '.' || quote_ident(n->>'column') || ';')
                                  FROM jsonb_array_elements(p_new->'owned_sequences') n
                                 WHERE NOT (p_old->'owned_sequences') @> jsonb_build_array(n)), '{}');
    -- statistics targets, storage, compression: set the new value, or back to the default for a
    -- kept column that no longer has one
    v_out := v_out || coalesce((
        SELECT array_agg('ALTER TABLE ONLY ' || (p_new->>'identity') || ' ALTER COLUMN ' || quote_ident(x.col) || ' '
                         || x.stmt || ';' ORDER BY x.g, x.col COLLATE "C")
          FROM (SELECT 1 AS g, s.col, 'SET STATISTICS ' || coalesce(p_new->'statistics'->>s.col, '-1') AS stmt,
                       p_new->'statistics' ? s.col AS in_new
                  FROM (SELECT jsonb_object_keys(coalesce(p_old->'statistics', '{}'))
                        UNION SELECT jsonb_object_keys(coalesce(p_new->'statistics', '{}'))) s(col)
                 WHERE p_old->'statistics'->s.col IS DISTINCT FROM p_new->'statistics'->s.col
                UNION ALL
                SELECT 2, s.col, 'SET STORAGE ' || pggit._storage_name(coalesce(p_new->'storage'->s.col->>0,
                                                                                  p_old->'storage'->s.col->>1)),
                       p_new->'storage' ? s.col
                  FROM (SELECT jsonb_object_keys(coalesce(p_old->'storage', '{}'))
                        UNION SELECT jsonb_object_keys(coalesce(p_new->'storage', '{}'))) s(col)
                 WHERE p_old->'storage'->s.col->0 IS DISTINCT FROM p_new->'storage'->s.col->0
                UNION ALL
                SELECT 3, s.col, 'SET COMPRESSION ' || coalesce(p_new->'compression'->>s.col, 'default'),
                       p_new->'compression' ? s.col
                  FROM (SELECT jsonb_object_keys(coalesce(p_old->'compression', '{}'))
                        UNION SELECT jsonb_object_keys(coalesce(p_new->'compression', '{}'))) s(col)
                 WHERE p_old->'compression'->s.col IS DISTINCT FROM p_new->'compression'->s.col
                UNION ALL
                -- attribute options: the ones the column no longer has reset, then the new set
                SELECT 4, s.col,
                       concat_ws(', ALTER COLUMN ' || quote_ident(s.col) || ' ',
                                 'RESET (' || (SELECT string_agg(split_part(o, '=', 1), ', ' ORDER BY o COLLATE "C")
                                                 FROM jsonb_array_elements_text(coalesce(p_old->'column_options'->s.col, '[]')) o
                                                WHERE split_part(o, '=', 1) NOT IN (
                                                      SELECT split_part(n, '=', 1)
                                                        FROM jsonb_array_elements_text(coalesce(p_new->'column_options'->s.col, '[]')) n))
                                          || ')',
                                 'SET (' || (SELECT string_agg(n, ', ' ORDER BY n COLLATE "C")
                                               FROM jsonb_array_elements_text(coalesce(p_new->'column_options'->s.col, '[]')) n)
                                         || ')'),
                       p_new->'column_options' ? s.col
                  FROM (SELECT jsonb_object_keys(coalesce(p_old->'column_options', '{}'))
                        UNION SELECT jsonb_object_keys(coalesce(p_new->'column_options', '{}'))) s(col)
                 WHERE p_old->'column_options'->s.col IS DISTINCT FROM p_new->'column_options'->s.col) x
         -- a reset only for a column the new table still has (a dropped column takes it along)
         WHERE x.in_new OR EXISTS (SELECT 1 FROM jsonb_array_elements(p_new->'columns') c
                                    WHERE c->>'name' = x.col)), '{}');
    IF p_old->>'replica_identity' IS DISTINCT FROM p_new->>'replica_identity' THEN
        v_out := v_out || ('ALTER TABLE ONLY ' || (p_new->>'identity') || ' REPLICA IDENTITY '
                           || coalesce(p_new->>'replica_identity', 'DEFAULT') || ';');
    END IF;
    RETURN v_out;
END;
$$;

-- The name of the NOT NULL constraint of column p_column of a partition (meta p_meta, PostgreSQL
-- 18): the one its definition writes, else its own default (<partition>_<column>_not_null) when
-- the NOT NULL is its own, else '' (its parent's name) when the column is NOT NULL in its parent
-- (parent_not_null, given by migration_plan), else NULL (nullable, or not known).
CREATE OR REPLACE FUNCTION pggit._partition_not_null_name(p_meta jsonb, p_column text)
RETURNS text
LANGUAGE sql IMMUTABLE
SET search_path = pg_catalog, pggit
AS $$
    SELECT coalesce(p_meta->'not_null_names'->>p_column,
                    CASE WHEN coalesce(p_meta->'own_not_null', '[]') ? p_column
                         THEN (p_meta->>'relname') || '_' || p_column || '_not_null'
                         WHEN coalesce(p_meta->'parent_not_null', '[]') ? p_column THEN '' END)
$$;

-- The name of the NOT NULL constraint of a column of a table (not a partition: see
-- pggit._partition_not_null_name) whose meta p_meta names some (PostgreSQL 18): the one its
-- definition writes, else <table>_<column>_not_null.
CREATE OR REPLACE FUNCTION pggit._not_null_name(p_meta jsonb, p_column text)
RETURNS text
LANGUAGE sql IMMUTABLE
SET search_path = pg_catalog, pggit
AS $$
    SELECT coalesce(p_meta->'not_null_names'->>p_column,
                    (parse_ident(p_meta->>'identity'))[2] || '_' || p_column || '_not_null')
$$;

-- The column line (meta p_column: its sql) of a table of meta p_meta as a CREATE TABLE
-- (pggit._not_null_named_create) or an ADD COLUMN writes it on PostgreSQL 18: its NOT NULL named
-- CONSTRAINT <table>_<column>_not_null where its line writes no name, so that the default name is
-- never numbered while another table of the schema holds it.
CREATE OR REPLACE FUNCTION pggit._column_sql_named(p_meta jsonb, p_column jsonb)
RETURNS text
LANGUAGE sql IMMUTABLE
SET search_path = pg_catalog, pggit
AS $$
    SELECT CASE WHEN (p_column->>'not_null')::boolean
                     AND right(p_column->>'sql', 9) = ' NOT NULL'
                     AND NOT coalesce(p_meta->'not_null_names', '{}') ? (p_column->>'name')
                     AND octet_length(pggit._not_null_name(p_meta, p_column->>'name')) <= 63
                THEN left(p_column->>'sql', -9) || ' CONSTRAINT '
                     || quote_ident(pggit._not_null_name(p_meta, p_column->>'name')) || ' NOT NULL'
                ELSE p_column->>'sql' END
$$;

-- In-place alteration of a table, or NULL when it has to be re-created (partitioning or
-- inheritance changed, columns reordered).
CREATE OR REPLACE FUNCTION pggit._alter_table(p_old jsonb, p_new jsonb)
RETURNS text[]
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pggit
AS $$
DECLARE
    v_t text := p_new->>'identity';
    v_old text[];
    v_new text[];
    v_out text[] := '{}';
    v_stmts text[];
    v_name text;
    v_typed boolean;
    v_col jsonb;
    v_oldcol jsonb;
    v_pg18 boolean;
    v_old_nn text;
    v_new_nn text;
    v_nn_drop text[] := '{}';
    v_nn_add text[] := '{}';
    v_nn_from text[] := '{}';
    v_nn_to text[] := '{}';
    v_id_add text[] := '{}';
BEGIN
    IF (p_old->>'identity') IS DISTINCT FROM v_t
       OR p_old->'partition_of' IS DISTINCT FROM p_new->'partition_of'
       OR p_old->'partition_bound' IS DISTINCT FROM p_new->'partition_bound'
       OR p_old->'partition_key' IS DISTINCT FROM p_new->'partition_key'
       OR p_old->'inherits' IS DISTINCT FROM p_new->'inherits' THEN
        RETURN NULL;
    END IF;
    -- a table typed on both sides, by the same type, has the columns of its type: the type's
    -- ALTER ... CASCADE (an earlier step: the table depends on the type) adds, drops and retypes
    -- them; here only each column's default and NOT NULL. A table that stops being typed (or
    -- changes type) is made plain first, its columns dropped and added with IF [NOT] EXISTS (a
    -- change of its old type in the same plan has already cascaded to it); one that becomes
    -- typed, once its columns are the type's, last (ALTER TABLE ... OF checks that they are)
    v_typed := coalesce(p_old->'of_type' = p_new->'of_type', false);
    IF p_old ? 'of_type' AND NOT v_typed THEN
        v_out := v_out || ('ALTER TABLE ' || v_t || ' NOT OF;');
    END IF;
    SELECT coalesce(array_agg(c->>'name' ORDER BY n), '{}') INTO v_old FROM jsonb_array_elements(p_old->'columns') WITH ORDINALITY e(c, n);
    SELECT coalesce(array_agg(c->>'name' ORDER BY n), '{}') INTO v_new FROM jsonb_array_elements(p_new->'columns') WITH ORDINALITY e(c, n);
    -- kept columns keep their order, added ones come after all kept ones (ADD COLUMN appends)
    IF (SELECT array_agg(x ORDER BY n) FROM unnest(v_old) WITH ORDINALITY u(x, n) WHERE x = ANY (v_new))
       IS DISTINCT FROM (SELECT array_agg(x ORDER BY n) FROM unnest(v_new) WITH ORDINALITY u(x, n) WHERE x = ANY (v_old))
       OR EXISTS (SELECT 1 FROM unnest(v_new) WITH ORDINALITY a(x, n), unnest(v_new) WITH ORDINALITY k(y, m)
                   WHERE NOT a.x = ANY (v_old) AND k.y = ANY (v_old) AND m > n) THEN
        RETURN NULL;
    END IF;
    FOREACH v_name IN ARRAY v_old LOOP
        IF NOT v_name = ANY (v_new) AND NOT v_typed THEN
            v_out := v_out || ('ALTER TABLE ' || v_t || ' DROP COLUMN '
                               || CASE WHEN p_old ? 'of_type' THEN 'IF EXISTS ' ELSE '' END || quote_ident(v_name) || ';');
        END IF;
    END LOOP;
    -- on PostgreSQL 18, whose NOT NULL constraints are named (pggit._not_null_name: the name a
    -- definition writes, else <table>_<column>_not_null), the kept columns' NOT NULL is changed
    -- after their other changes, for all columns at once: first each DROP NOT NULL, then each
    -- RENAME CONSTRAINT, then each ADD CONSTRAINT <name> NOT NULL (never SET NOT NULL, which
    -- would number the default name while another table of the schema holds it), so that a name
    -- freed by one column is free when another takes it. Where a new name is held by another
    -- column's constraint until it is renamed too (names swapped), every renamed constraint
    -- goes through a temporary name (pggit_nn_<n>) first. PostgreSQL refuses RENAME CONSTRAINT
    -- on a typed table: there the constraint is dropped and added under its new name
    v_pg18 := current_setting('server_version_num')::int >= 180000 AND p_new->>'partition_of' IS NULL;
    FOREACH v_name IN ARRAY v_old LOOP
        CONTINUE WHEN NOT v_name = ANY (v_new);
        v_col := (SELECT c FROM jsonb_array_elements(p_new->'columns') c WHERE c->>'name' = v_name);
        v_oldcol := (SELECT CASE WHEN v_typed THEN c || jsonb_build_object('type', v_col->'type', 'collation', v_col->'collation')
                                 ELSE c END
                       FROM jsonb_array_elements(p_old->'columns') c WHERE c->>'name' = v_name);
        -- (on PostgreSQL 18 an identity added to a column that becomes NOT NULL is added after
        -- the NOT NULL constraints, below: PostgreSQL adds none to a nullable column)
        v_stmts := pggit._alter_column(v_t,
            CASE WHEN v_pg18 THEN v_oldcol || jsonb_build_object('not_null', v_col->'not_null') ELSE v_oldcol END,
            CASE WHEN v_pg18 AND v_oldcol->>'identity' IS NULL AND v_col->>'identity' IS NOT NULL
                      AND NOT (v_oldcol->>'not_null')::boolean
                 THEN v_col - 'identity' ELSE v_col END,
            v_name = v_old[cardinality(v_old)] AND v_name = v_new[cardinality(v_new)]);
        IF v_stmts IS NULL THEN
            RETURN NULL;
        END IF;
        -- (a column dropped and added again, its last line: its constraint goes and comes with
        -- it, named as in any ADD COLUMN)
        IF v_pg18 AND v_stmts = ARRAY['ALTER TABLE ' || v_t || ' DROP COLUMN ' || quote_ident(v_name) || ';',
                                      'ALTER TABLE ' || v_t || ' ADD COLUMN ' || (v_col->>'sql') || ';'] THEN
            v_out := v_out || v_stmts[1]
                || ('ALTER TABLE ' || v_t || ' ADD COLUMN ' || pggit._column_sql_named(p_new, v_col) || ';');
            CONTINUE;
        END IF;
        v_out := v_out || v_stmts;
        CONTINUE WHEN NOT v_pg18;
        IF v_oldcol->>'identity' IS NULL AND v_col->>'identity' IS NOT NULL
           AND NOT (v_oldcol->>'not_null')::boolean THEN
            v_id_add := v_id_add || pggit._alter_identity('ALTER TABLE ' || v_t || ' ALTER COLUMN ' || quote_ident(v_name) || ' ',
                                                          v_oldcol, v_col);
        END IF;
        v_old_nn := CASE WHEN (v_oldcol->>'not_null')::boolean THEN pggit._not_null_name(p_old, v_name) END;
        v_new_nn := CASE WHEN (v_col->>'not_null')::boolean THEN pggit._not_null_name(p_new, v_name) END;
        CONTINUE WHEN v_old_nn IS NOT DISTINCT FROM v_new_nn;
        IF v_old_nn IS NOT NULL AND (v_new_nn IS NULL OR v_typed) THEN
            v_nn_drop := v_nn_drop || ('ALTER TABLE ' || v_t || ' ALTER COLUMN ' || quote_ident(v_name) || ' DROP NOT NULL;');
        END IF;
        IF v_new_nn IS NOT NULL AND (v_old_nn IS NULL OR v_typed) THEN
            v_nn_add := v_nn_add || ('ALTER TABLE ' || v_t || ' ADD CONSTRAINT ' || quote_ident(v_new_nn)
                                     || ' NOT NULL ' || quote_ident(v_name) || ';');
        ELSIF v_new_nn IS NOT NULL THEN
            v_nn_from := v_nn_from || v_old_nn;
            v_nn_to := v_nn_to || v_new_nn;
        END IF;
    END LOOP;
    IF v_pg18 THEN
        -- (the names held while the renames run: those of the constraints kept, renamed or not)
        IF EXISTS (SELECT 1 FROM unnest(v_nn_to) t(x)
                    WHERE x = ANY (v_nn_from)
                       OR x IN (SELECT pggit._not_null_name(p_old, c->>'name')
                                  FROM jsonb_array_elements(p_old->'columns') c
                                 WHERE (c->>'not_null')::boolean AND (c->>'name') = ANY (v_new)
                                   AND EXISTS (SELECT 1 FROM jsonb_array_elements(p_new->'columns') d
                                                WHERE d->>'name' = c->>'name' AND (d->>'not_null')::boolean))) THEN
            v_out := v_out || v_nn_drop
                || coalesce((SELECT array_agg('ALTER TABLE ' || v_t || ' RENAME CONSTRAINT ' || quote_ident(f)
                                              || ' TO ' || quote_ident('pggit_nn_' || n) || ';' ORDER BY n)
                               FROM unnest(v_nn_from) WITH ORDINALITY u(f, n)), '{}')
                || coalesce((SELECT array_agg('ALTER TABLE ' || v_t || ' RENAME CONSTRAINT ' || quote_ident('pggit_nn_' || n)
                                              || ' TO ' || quote_ident(t) || ';' ORDER BY n)
                               FROM unnest(v_nn_to) WITH ORDINALITY u(t, n)), '{}');
        ELSE
            v_out := v_out || v_nn_drop
                || coalesce((SELECT array_agg('ALTER TABLE ' || v_t || ' RENAME CONSTRAINT ' || quote_ident(f)
                                              || ' TO ' || quote_ident(v_nn_to[n]) || ';' ORDER BY n)
                               FROM unnest(v_nn_from) WITH ORDINALITY u(f, n)), '{}');
        END IF;
        v_out := v_out || v_nn_add || v_id_add;
    END IF;
    v_out := v_out || coalesce((SELECT array_agg(CASE WHEN v_typed
                                                      THEN 'ALTER TABLE ' || v_t || ' ALTER COLUMN ' || quote_ident(c->>'name')
                                                           || CASE WHEN (c->>'not_null')::boolean THEN ' SET' ELSE ' DROP' END
                                                           || ' NOT NULL'
                                                           || coalesce(', ALTER COLUMN ' || quote_ident(c->>'name')
                                                                       || ' SET DEFAULT ' || (c->>'default'), '') || ';'
                                                      ELSE 'ALTER TABLE ' || v_t || ' ADD COLUMN '
                                                           || CASE WHEN p_old ? 'of_type' THEN 'IF NOT EXISTS ' ELSE '' END
                                                           || CASE WHEN v_pg18 THEN pggit._column_sql_named(p_new, c)
                                                                   ELSE c->>'sql' END || ';' END
                                                 ORDER BY n)
                                  FROM jsonb_array_elements(p_new->'columns') WITH ORDINALITY e(c, n)
                                 WHERE NOT (c->>'name') = ANY (v_old)
                                   AND (NOT v_typed OR (c->>'not_null')::boolean OR c->>'default' IS NOT NULL)), '{}');
    IF p_new ? 'of_type' AND NOT v_typed THEN
        v_out := v_out || ('ALTER TABLE ' || v_t || ' OF ' || (p_new->>'of_type') || ';');
    END IF;
    -- a partition's own NOT NULL columns (its CREATE TABLE names them): SET/DROP NOT NULL. On
    -- PostgreSQL 18 the name each of its NOT NULL constraints has (pggit._partition_not_null_name)
    -- must then be the one it had, or the default one a SET NOT NULL gives; any other change of
    -- a name: re-created
    IF p_new->>'partition_of' IS NOT NULL
       AND (p_old ? 'not_null_names' OR p_new ? 'not_null_names') THEN
        FOR v_name IN SELECT k FROM jsonb_object_keys(coalesce(p_old->'not_null_names', '{}')) k
                      UNION SELECT k FROM jsonb_object_keys(coalesce(p_new->'not_null_names', '{}')) k
                      UNION SELECT jsonb_array_elements_text(coalesce(p_old->'own_not_null', '[]'))
                      UNION SELECT jsonb_array_elements_text(coalesce(p_new->'own_not_null', '[]')) LOOP
            CONTINUE WHEN pggit._partition_not_null_name(p_old, v_name)
                          IS NOT DISTINCT FROM pggit._partition_not_null_name(p_new, v_name)
                       -- nullable now: dropped (below, or by its parent's DROP NOT NULL)
                       OR pggit._partition_not_null_name(p_new, v_name) IS NULL
                       -- its own now, with the default name: set (below), where it was nullable or
                       -- had it from a parent that drops it first
                       OR (coalesce(p_new->'own_not_null', '[]') ? v_name
                           AND NOT coalesce(p_new->'not_null_names', '{}') ? v_name
                           AND (pggit._partition_not_null_name(p_old, v_name) IS NULL
                                OR (pggit._partition_not_null_name(p_old, v_name) = ''
                                    AND NOT coalesce(p_new->'parent_not_null', '[]') ? v_name)));
            RETURN NULL;
        END LOOP;
    END IF;
    -- on PostgreSQL 18 an INHERITS child's own NOT NULL constraint that it also inherits (a
    -- parent's column is NOT NULL in the new tree) cannot stop being its own in place (DROP NOT
    -- NULL refuses an inherited constraint): re-created
    IF p_new->>'partition_of' IS NULL AND current_setting('server_version_num')::int >= 180000
       AND EXISTS (SELECT 1 FROM jsonb_array_elements_text(coalesce(p_old->'own_not_null', '[]')) x
                    WHERE NOT coalesce(p_new->'own_not_null', '[]') ? x
                      AND coalesce(p_new->'parent_not_null', '[]') ? x) THEN
        RETURN NULL;
    END IF;
    v_out := v_out
        || coalesce((SELECT array_agg('ALTER TABLE ' || v_t || ' ALTER COLUMN ' || quote_ident(x) || ' DROP NOT NULL;' ORDER BY n)
                       FROM jsonb_array_elements_text(coalesce(p_old->'own_not_null', '[]')) WITH ORDINALITY u(x, n)
                      WHERE NOT coalesce(p_new->'own_not_null', '[]') ? x
                        -- (NOT NULL in the parent by then: migration_plan's parent_not_null)
                        AND NOT coalesce(p_new->'parent_not_null', '[]') ? x), '{}')
        || coalesce((SELECT array_agg('ALTER TABLE ' || v_t || ' ALTER COLUMN ' || quote_ident(x) || ' SET NOT NULL;' ORDER BY n)
                       FROM jsonb_array_elements_text(coalesce(p_new->'own_not_null', '[]')) WITH ORDINALITY u(x, n)
                      WHERE NOT coalesce(p_old->'own_not_null', '[]') ? x), '{}');
    -- a child's own defaults of inherited columns: set where its entry changes; one that is no
    -- longer its own takes its parent's default as the new tree has it, or none (parent_defaults,
    -- given by migration_plan: {column: default or null} for each column its parents give it); a
    -- column the new table does not have (dropped or renamed in its parent) is left out. Not
    -- ONLY: the children that have the default from it (their definitions unchanged) get it too,
    -- and migration_plan sets again after it the own defaults of its descendants
    -- (pggit.tree_default_reapply)
    v_out := v_out
        || coalesce((SELECT array_agg('ALTER TABLE ' || v_t || ' ALTER COLUMN ' || quote_ident(x.col)
                                      || coalesce(' SET DEFAULT ' || x.target, ' DROP DEFAULT') || ';' ORDER BY x.col COLLATE "C")
                       FROM (SELECT e.col,
                                    CASE WHEN p_new->'own_defaults' ? e.col
                                         THEN p_new->'own_defaults'->e.col->>'default'
                                         ELSE p_new->'parent_defaults'->>e.col END AS target
                               FROM (SELECT jsonb_object_keys(coalesce(p_old->'own_defaults', '{}'))
                                     UNION SELECT jsonb_object_keys(coalesce(p_new->'own_defaults', '{}'))) e(col)
                              WHERE p_old->'own_defaults'->e.col IS DISTINCT FROM p_new->'own_defaults'->e.col
                                AND (p_new->'own_defaults' ? e.col
                                     OR coalesce(p_new->'parent_defaults', '{}') ? e.col)) x),
                    '{}');
    RETURN v_out || pggit._alter_table_props(p_old, p_new);
END;
$$;

CREATE OR REPLACE FUNCTION pggit._alter_enum(p_old jsonb, p_new jsonb)
RETURNS text[]
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pggit
AS $$
DECLARE
    v_old text[] := ARRAY(SELECT jsonb_array_elements_text(p_old->'values'));
    v_new text[] := ARRAY(SELECT jsonb_array_elements_text(p_new->'values'));
    v_out text[] := '{}';
    v_first_old text;
BEGIN
    -- only insertions: the old values, in order, must be what is left of the new list
    IF v_old IS DISTINCT FROM ARRAY(SELECT x FROM unnest(v_new) WITH ORDINALITY u(x, n) WHERE x = ANY (v_old) ORDER BY n) THEN
        RETURN NULL;
    END IF;
    SELECT x INTO v_first_old FROM unnest(v_new) WITH ORDINALITY u(x, n) WHERE x = ANY (v_old) ORDER BY n LIMIT 1;
    FOR i IN 1 .. coalesce(cardinality(v_new), 0) LOOP
        CONTINUE WHEN v_new[i] = ANY (v_old);
        v_out := v_out || ('ALTER TYPE ' || (p_new->>'identity') || ' ADD VALUE ' || quote_literal(v_new[i])
                           || CASE WHEN i > 1 THEN ' AFTER ' || quote_literal(v_new[i - 1])
                                   WHEN v_first_old IS NOT NULL THEN ' BEFORE ' || quote_literal(v_first_old)
                                   ELSE '' END || ';');
    END LOOP;
    RETURN v_out;
END;
$$;

CREATE OR REPLACE FUNCTION pggit._alter_composite(p_old jsonb, p_new jsonb)
RETURNS text[]
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pggit
AS $$
DECLARE
    v_t text := 'ALTER TYPE ' || (p_new->>'identity') || ' ';
    v_old text[] := ARRAY(SELECT a->>'name' FROM jsonb_array_elements(p_old->'attributes') a);
    v_new text[] := ARRAY(SELECT a->>'name' FROM jsonb_array_elements(p_new->'attributes') a);
BEGIN
    IF ARRAY(SELECT x FROM unnest(v_old) WITH ORDINALITY u(x, n) WHERE x = ANY (v_new) ORDER BY n)
       IS DISTINCT FROM ARRAY(SELECT x FROM unnest(v_new) WITH ORDINALITY u(x, n) WHERE x = ANY (v_old) ORDER BY n)
       OR EXISTS (SELECT 1 FROM unnest(v_new) WITH ORDINALITY a(x, n), unnest(v_new) WITH ORDINALITY k(y, m)
                   WHERE NOT a.x = ANY (v_old) AND k.y = ANY (v_old) AND m > n) THEN
        RETURN NULL;
    END IF;
    RETURN coalesce((SELECT array_agg(v_t || 'DROP ATTRIBUTE ' || quote_ident(o->>'name') || ' CASCADE;')
                       FROM jsonb_array_elements(p_old->'attributes') o WHERE NOT (o->>'name') = ANY (v_new)), '{}')
        || coalesce((SELECT array_agg(v_t || 'ALTER ATTRIBUTE ' || quote_ident(n->>'name') || ' TYPE ' || (n->>'type')
                                      || coalesce(' COLLATE ' || (n->>'collation'), '') || ' CASCADE;')
                       FROM jsonb_array_elements(p_old->'attributes') o
                       JOIN jsonb_array_elements(p_new->'attributes') n ON n->>'name' = o->>'name'
                      WHERE o IS DISTINCT FROM n), '{}')
        || coalesce((SELECT array_agg(v_t || 'ADD ATTRIBUTE ' || quote_ident(n->>'name') || ' ' || (n->>'type')
                                      || coalesce(' COLLATE ' || (n->>'collation'), '') || ' CASCADE;' ORDER BY i)
                       FROM jsonb_array_elements(p_new->'attributes') WITH ORDINALITY e(n, i)
                      WHERE NOT (n->>'name') = ANY (v_old)), '{}');
END;
$$;

-- a constraint definition (pg_get_constraintdef's) as it reads once validated: without the
-- NOT VALID it ends in while it is not; NULL for a validated one
CREATE OR REPLACE FUNCTION pggit._validated_def(p_def text)
RETURNS text
LANGUAGE sql IMMUTABLE
SET search_path = pg_catalog, pggit
AS $$
    SELECT CASE WHEN right(p_def, 10) = ' NOT VALID' THEN left(p_def, -10) END
$$;

CREATE OR REPLACE FUNCTION pggit._alter_domain(p_old jsonb, p_new jsonb)
RETURNS text[]
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pggit
AS $$
DECLARE
    v_d text := 'ALTER DOMAIN ' || (p_new->>'identity') || ' ';
    v_out text[] := '{}';
BEGIN
    IF p_old->>'base_type' IS DISTINCT FROM p_new->>'base_type'
       OR p_old->>'collation' IS DISTINCT FROM p_new->>'collation' THEN
        RETURN NULL;
    END IF;
    IF p_old->>'default' IS DISTINCT FROM p_new->>'default' THEN
        v_out := v_out || (v_d || coalesce('SET DEFAULT ' || (p_new->>'default'), 'DROP DEFAULT') || ';');
    END IF;
    IF (p_old->>'not_null')::boolean <> (p_new->>'not_null')::boolean THEN
        v_out := v_out || (v_d || CASE WHEN (p_new->>'not_null')::boolean THEN 'SET' ELSE 'DROP' END || ' NOT NULL;');
    END IF;
    -- a constraint that only lost its NOT VALID is validated in place; any other change of a
    -- constraint drops the old one and adds the new
    RETURN v_out
        || coalesce((SELECT array_agg(v_d || 'DROP CONSTRAINT ' || quote_ident(o->>'name') || ';' ORDER BY o->>'name')
                       FROM jsonb_array_elements(p_old->'constraints') o
                      WHERE NOT (p_new->'constraints') @> jsonb_build_array(o)
                        AND NOT (p_new->'constraints') @> jsonb_build_array(jsonb_build_object(
                                'name', o->>'name', 'definition', pggit._validated_def(o->>'definition')))),
                    '{}')
        || coalesce((SELECT array_agg(v_d || 'VALIDATE CONSTRAINT ' || quote_ident(o->>'name') || ';' ORDER BY o->>'name')
                       FROM jsonb_array_elements(p_old->'constraints') o
                      WHERE NOT (p_new->'constraints') @> jsonb_build_array(o)
                        AND (p_new->'constraints') @> jsonb_build_array(jsonb_build_object(
                                'name', o->>'name', 'definition', pggit._validated_def(o->>'definition')))),
                    '{}')
        || coalesce((SELECT array_agg(v_d || 'ADD CONSTRAINT ' || quote_ident(n->>'name') || ' ' || (n->>'definition') || ';'
                                      ORDER BY n->>'name')
                       FROM jsonb_array_elements(p_new->'constraints') n
                      WHERE NOT (p_old->'constraints') @> jsonb_build_array(n)
                        AND NOT (p_old->'constraints') @> jsonb_build_array(jsonb_build_object(
                                'name', n->>'name', 'definition', n->>'definition' || ' NOT VALID'))),
                    '{}');
END;
$$;

CREATE OR REPLACE FUNCTION pggit._alter_policy(p_old jsonb, p_new jsonb)
RETURNS text[]
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pggit
AS $$
BEGIN
    -- ALTER POLICY cannot change the command or permissiveness, nor remove an expression
    IF p_old->>'permissive' IS DISTINCT FROM p_new->>'permissive'
       OR p_old->>'command' IS DISTINCT FROM p_new->>'command'
       OR (p_old->>'using' IS NOT NULL AND p_new->>'using' IS NULL)
       OR (p_old->>'with_check' IS NOT NULL AND p_new->>'with_check' IS NULL) THEN
        RETURN NULL;
    END IF;
    RETURN ARRAY['ALTER POLICY ' || (p_new->>'identity') || ' ON ' || (p_new->>'table')
                 || ' TO ' || (SELECT string_agg(r, ', ') FROM jsonb_array_elements_text(p_new->'roles') r)
                 || coalesce(' USING (' || (p_new->>'using') || ')', '')
                 || coalesce(' WITH CHECK (' || (p_new->>'with_check') || ')', '') || ';'];
END;
$$;

CREATE OR REPLACE FUNCTION pggit._alter_sequence(p_old jsonb, p_new jsonb)
RETURNS text[]
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pggit
AS $$
DECLARE
    v_s text := 'ALTER SEQUENCE ' || (p_new->>'identity');
    v_out text[] := '{}';
BEGIN
    IF (p_old - 'deps' - 'unlogged') IS DISTINCT FROM (p_new - 'deps' - 'unlogged') THEN
        v_out := v_out || (v_s || ' AS ' || (p_new->>'type') || ' INCREMENT BY ' || (p_new->>'increment')
                           || ' MINVALUE ' || (p_new->>'minvalue') || ' MAXVALUE ' || (p_new->>'maxvalue')
                           || ' START WITH ' || (p_new->>'start') || ' CACHE ' || (p_new->>'cache')
                           || CASE WHEN (p_new->>'cycle')::boolean THEN ' CYCLE' ELSE ' NO CYCLE' END || ';');
    END IF;
    IF (p_old->>'unlogged')::boolean <> (p_new->>'unlogged')::boolean THEN
        v_out := v_out || (v_s || CASE WHEN (p_new->>'unlogged')::boolean THEN ' SET UNLOGGED;' ELSE ' SET LOGGED;' END);
    END IF;
    RETURN v_out;
END;
$$;

-- CREATE OR REPLACE is possible when the kind, the result type and every argument (mode, name,
-- type) stay, and no parameter default is removed.
CREATE OR REPLACE FUNCTION pggit._alter_routine(p_old jsonb, p_new jsonb, p_new_definition text)
RETURNS text[]
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pggit
AS $$
BEGIN
    IF p_old->>'kind' IS DISTINCT FROM p_new->>'kind'
       OR p_old->>'returns' IS DISTINCT FROM p_new->>'returns'
       OR p_old->'signature' IS DISTINCT FROM p_new->'signature'
       OR coalesce((p_new->>'defaults')::int, 0) < coalesce((p_old->>'defaults')::int, 0)
       OR p_new_definition !~ '^CREATE OR REPLACE ' THEN
        RETURN NULL;
    END IF;
    RETURN ARRAY[p_new_definition];
END;
$$;

CREATE OR REPLACE FUNCTION pggit._alter_view(p_old jsonb, p_new jsonb, p_new_definition text)
RETURNS text[]
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pggit
AS $$
BEGIN
    -- CREATE OR REPLACE VIEW keeps the existing columns (same names and types) and may append
    IF jsonb_array_length(coalesce(p_new->'columns', '[]')) < jsonb_array_length(coalesce(p_old->'columns', '[]'))
       OR EXISTS (SELECT 1 FROM jsonb_array_elements(p_old->'columns') WITH ORDINALITY o(c, i)
                   WHERE c IS DISTINCT FROM (p_new->'columns')->(i::int - 1))
       OR p_new_definition !~ '^CREATE VIEW ' THEN
        RETURN NULL;
    END IF;
    -- the query (CREATE OR REPLACE keeps the columns' defaults), then the defaults that changed
    RETURN ARRAY[regexp_replace(
               left(p_new_definition, length(p_new_definition)
                    - coalesce(length((SELECT string_agg(E'\n' || s, '' ORDER BY o)
                                         FROM unnest(pggit._view_defaults_sql(p_new->>'identity', p_new->'column_defaults'))
                                              WITH ORDINALITY u(s, o))), 0)),
               '^CREATE VIEW ', 'CREATE OR REPLACE VIEW ')]
        || coalesce((SELECT array_agg('ALTER VIEW ' || (p_new->>'identity') || ' ALTER COLUMN ' || quote_ident(o->>'name')
                                      || ' DROP DEFAULT;' ORDER BY o->>'name')
                       FROM jsonb_array_elements(coalesce(p_old->'column_defaults', '[]')) o
                      WHERE NOT EXISTS (SELECT 1 FROM jsonb_array_elements(coalesce(p_new->'column_defaults', '[]')) n
                                         WHERE n->>'name' = o->>'name')), '{}')
        || coalesce((SELECT array_agg('ALTER VIEW ' || (p_new->>'identity') || ' ALTER COLUMN ' || quote_ident(n->>'name')
                                      || ' SET DEFAULT ' || (n->>'default') || ';' ORDER BY i)
                       FROM jsonb_array_elements(coalesce(p_new->'column_defaults', '[]')) WITH ORDINALITY e(n, i)
                      WHERE NOT coalesce(p_old->'column_defaults', '[]') @> jsonb_build_array(n)), '{}');
END;
$$;

-- An index, or a constraint's index, that only gains or loses the mark CLUSTER uses (the statement
-- its definition ends with: _o_index, _o_constraint): ALTER TABLE ... CLUSTER ON (which takes the
-- mark from any other index of the table) or SET WITHOUT CLUSTER, in place. SET WITHOUT CLUSTER
-- takes the mark off whichever index of the table has it: pggit.plan_order runs it before every
-- create or alter of an index or constraint of the table, so that one gaining the mark in the same
-- plan keeps it. Any other change, NULL: re-created.
CREATE OR REPLACE FUNCTION pggit._alter_cluster(p_old_definition text, p_new_definition text, p_new_meta jsonb)
RETURNS text[]
LANGUAGE sql IMMUTABLE
SET search_path = pg_catalog, pggit
AS $$
    SELECT CASE WHEN p_new_definition = p_old_definition || E'\n' || c.alter || ' CLUSTER ON ' || c.index || ';'
                THEN ARRAY[c.alter || ' CLUSTER ON ' || c.index || ';']
                WHEN p_old_definition = p_new_definition || E'\n' || c.alter || ' CLUSTER ON ' || c.index || ';'
                THEN ARRAY[c.alter || ' SET WITHOUT CLUSTER;'] END
      FROM (SELECT 'ALTER ' || CASE WHEN p_new_meta->>'table_key' LIKE 'materialized\_view:%'
                                    THEN 'MATERIALIZED VIEW ' ELSE 'TABLE ' END
                   || (p_new_meta->>'table') AS alter,
                   quote_ident(p_new_meta->>'name') AS index) c
$$;

CREATE OR REPLACE FUNCTION pggit.sql_alter(p_kind text, p_old_definition text, p_old_meta jsonb,
                                           p_new_definition text, p_new_meta jsonb)
RETURNS text[]
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pggit
AS $$
BEGIN
    PERFORM pggit._kind_prefix(p_kind);
    IF p_old_definition IS NULL OR p_new_definition IS NULL OR p_old_meta IS NULL OR p_new_meta IS NULL THEN
        PERFORM pggit.raise_error('INVALID_ARGUMENT',
            format('sql_alter(%s): old and new definitions and metas are required', p_kind));
    END IF;
    IF p_old_definition = p_new_definition THEN
        RETURN '{}';
    END IF;
    RETURN CASE p_kind
        WHEN 'table' THEN pggit._alter_table(p_old_meta, p_new_meta)
        WHEN 'sequence' THEN pggit._alter_sequence(p_old_meta, p_new_meta)
        WHEN 'function' THEN pggit._alter_routine(p_old_meta, p_new_meta, p_new_definition)
        WHEN 'procedure' THEN pggit._alter_routine(p_old_meta, p_new_meta, p_new_definition)
        WHEN 'type' THEN CASE WHEN p_old_meta->>'type_kind' IS DISTINCT FROM p_new_meta->>'type_kind' THEN NULL
                              WHEN p_new_meta->>'type_kind' = 'enum' THEN pggit._alter_enum(p_old_meta, p_new_meta)
                              WHEN p_new_meta->>'type_kind' = 'composite' THEN pggit._alter_composite(p_old_meta, p_new_meta)
                         END
        WHEN 'domain' THEN pggit._alter_domain(p_old_meta, p_new_meta)
        WHEN 'policy' THEN pggit._alter_policy(p_old_meta, p_new_meta)
        WHEN 'view' THEN pggit._alter_view(p_old_meta, p_new_meta, p_new_definition)
        WHEN 'comment' THEN ARRAY[p_new_definition]
        WHEN 'privileges' THEN pggit._privileges_alter(p_kind, p_old_meta, p_new_definition)
        WHEN 'trigger' THEN CASE WHEN (p_old_meta->>'constraint_trigger')::boolean
                                      OR (p_new_meta->>'constraint_trigger')::boolean
                                      OR p_new_definition !~ '^CREATE TRIGGER ' THEN NULL
                                 ELSE ARRAY[regexp_replace(p_new_definition, '^CREATE TRIGGER ', 'CREATE OR REPLACE TRIGGER ')]
                            END
        WHEN 'extension' THEN
            CASE WHEN p_old_meta->>'name' IS DISTINCT FROM p_new_meta->>'name' THEN NULL
                 ELSE CASE WHEN p_old_meta->>'schema' IS DISTINCT FROM p_new_meta->>'schema'
                           THEN ARRAY['ALTER EXTENSION ' || (p_new_meta->>'identity') || ' SET SCHEMA '
                                      || quote_ident(p_new_meta->>'schema') || ';'] ELSE '{}' END
                   || CASE WHEN p_old_meta->>'version' IS DISTINCT FROM p_new_meta->>'version'
                           THEN ARRAY['ALTER EXTENSION ' || (p_new_meta->>'identity') || ' UPDATE TO '
                                      || quote_literal(p_new_meta->>'version') || ';'] ELSE '{}' END
            END
        WHEN 'index' THEN pggit._alter_cluster(p_old_definition, p_new_definition, p_new_meta)
        WHEN 'constraint' THEN pggit._alter_cluster(p_old_definition, p_new_definition, p_new_meta)
        ELSE NULL   -- materialized view, aggregate, schema: drop and re-create
        END;
END;
$$;

-- The data-destroying parts of a change, for the core to test against live data:
--   check = 'table_dropped'       relation is dropped (new_meta NULL) or must be re-created
--           'column_dropped'      column_name is dropped
--           'column_type_changed' column_name changes type without an implicit cast
-- A step loses data when EXISTS (SELECT 1 FROM relation [WHERE column_name IS NOT NULL]).
CREATE OR REPLACE FUNCTION pggit.sql_data_loss(p_kind text, p_object_key text, p_old_meta jsonb, p_new_meta jsonb)
RETURNS TABLE ("check" text, relation text, column_name text)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pggit
AS $$
BEGIN
    PERFORM pggit._kind_prefix(p_kind);
    IF p_object_key IS NULL OR p_old_meta IS NULL THEN
        PERFORM pggit.raise_error('INVALID_ARGUMENT', 'sql_data_loss: object key and old meta are required');
    END IF;
    IF p_kind <> 'table' THEN
        RETURN;
    END IF;
    IF p_new_meta IS NULL OR pggit._alter_table(p_old_meta, p_new_meta) IS NULL THEN
        RETURN QUERY SELECT 'table_dropped'::text, p_old_meta->>'identity', NULL::text;
        RETURN;
    END IF;
    RETURN QUERY
    SELECT 'column_dropped'::text, p_old_meta->>'identity', o->>'name'
      FROM jsonb_array_elements(p_old_meta->'columns') o
     WHERE NOT EXISTS (SELECT 1 FROM jsonb_array_elements(p_new_meta->'columns') n WHERE n->>'name' = o->>'name')
    UNION ALL
    SELECT 'column_type_changed'::text, p_old_meta->>'identity', o->>'name'
      FROM jsonb_array_elements(p_old_meta->'columns') o
      JOIN jsonb_array_elements(p_new_meta->'columns') n ON n->>'name' = o->>'name'
     WHERE o->>'type' <> n->>'type' AND n->>'generated' IS NULL
       AND NOT EXISTS (SELECT 1 FROM pg_cast c
                        WHERE c.castsource = to_regtype(o->>'type') AND c.casttarget = to_regtype(n->>'type')
                          AND c.castcontext = 'i' AND to_regtype(o->>'type') <> to_regtype(n->>'type'));
END;
$$;
