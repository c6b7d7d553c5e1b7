-- Privileges: the kinds `privileges` (the GRANT/REVOKE statements of one object's ACL and its
-- columns' ACLs, relative to the object kind's default ACL) and `default_privileges` (one
-- pg_default_acl row: ALTER DEFAULT PRIVILEGES FOR ROLE r IN SCHEMA s ... ON <type>). Read by the
-- catalog's live_objects() and _anchor_rows() (an object's privileges hang off the object's
-- anchor; default privileges are their own anchor), DDL by sql_create/sql_drop/sql_alter, capture
-- of GRANT/REVOKE/ALTER DEFAULT PRIVILEGES by pggit.privileges_capture_anchors(). Owners are not
-- versioned (pg_dump --no-owner): the owner's own entries are left out and every grant is made
-- by whoever applies the DDL. docs/engine-catalog.md ("Privileges").
-- Re-runnable: applied again by the loader whenever this file changes.

-- The differences between an ACL and its default (the owner's own entries left out): the
-- privileges granted beyond the default (grantee, privilege, grantable) and the default ones
-- revoked (revoked = true). Grantees are quoted role names or PUBLIC; grantors are not kept.
-- Plain SQL set-returning functions (no SET clause, names qualified) so that the planner inlines
-- them into the views: a function called per object would be planned again for each.
CREATE OR REPLACE FUNCTION pggit._acl_changes(p_acl aclitem[], p_default aclitem[], p_owner oid)
RETURNS TABLE (grantee text, privilege text, grantable boolean, revoked boolean)
LANGUAGE sql STABLE
AS $$
    WITH a AS (
        SELECT DISTINCT x.grantee, x.privilege_type, x.is_grantable
          FROM pg_catalog.aclexplode(nullif(coalesce(p_acl, p_default), '{}')) x
         WHERE x.grantee IS DISTINCT FROM p_owner
    ), d AS (
        SELECT DISTINCT x.grantee, x.privilege_type, x.is_grantable
          FROM pg_catalog.aclexplode(nullif(p_default, '{}')) x
         WHERE x.grantee IS DISTINCT FROM p_owner
    ), changed AS (
        SELECT a.grantee, a.privilege_type, a.is_grantable, false AS revoked
          FROM a WHERE NOT EXISTS (SELECT 1 FROM d WHERE d.grantee = a.grantee
                                     AND d.privilege_type = a.privilege_type
                                     AND d.is_grantable = a.is_grantable)
        UNION ALL
        SELECT d.grantee, d.privilege_type, false, true
          FROM d WHERE NOT EXISTS (SELECT 1 FROM a WHERE a.grantee = d.grantee
                                     AND a.privilege_type = d.privilege_type)
    )
    SELECT CASE WHEN c.grantee = 0 THEN 'PUBLIC' ELSE pg_catalog.quote_ident(r.rolname) END,
           c.privilege_type, c.is_grantable, c.revoked
      FROM changed c LEFT JOIN pg_catalog.pg_roles r ON r.oid = c.grantee
$$;

-- The privileges of one object as statements (one per line: REVOKEs of default privileges, then
-- GRANTs per grantee and grant option, then column GRANTs per column), and the grantees named;
-- no row when the ACL is the default. p_target is what GRANT names (`TABLE app.t`, `FUNCTION
-- app.f(integer)`...); p_columns is [{name, acl}] for relations; p_implied the grants to the owner
-- a checkout applied (pggit.owner_grants: [{col, grantee, privilege, grantable}], col null for
-- the object's own), listed as the grants to any other role.
CREATE OR REPLACE FUNCTION pggit._acl_sql(p_target text, p_acl aclitem[], p_default aclitem[],
                                          p_owner oid, p_columns jsonb, p_implied jsonb)
RETURNS TABLE (statements text, grantees jsonb)
LANGUAGE sql STABLE
AS $$
    WITH implied AS (
        SELECT i->>'col' AS col, i->>'grantee' AS grantee, i->>'privilege' AS privilege,
               (i->>'grantable')::boolean AS grantable, false AS revoked
          FROM pg_catalog.jsonb_array_elements(coalesce(p_implied, '[]')) i
    ), obj AS (
        SELECT * FROM pggit._acl_changes(p_acl, p_default, p_owner)
        UNION ALL
        SELECT i.grantee, i.privilege, i.grantable, i.revoked FROM implied i WHERE i.col IS NULL
    ), col AS (
        SELECT c->>'name' AS col, x.*
          FROM pg_catalog.jsonb_array_elements(p_columns) c,
               LATERAL pggit._acl_changes((c->>'acl')::pg_catalog.aclitem[], '{}'::pg_catalog.aclitem[], p_owner) x
        UNION ALL
        SELECT i.col, i.grantee, i.privilege, i.grantable, i.revoked FROM implied i WHERE i.col IS NOT NULL
    ), lines AS (
        SELECT 0 AS part, o.grantee AS sort1, '' AS sort2,
               'REVOKE ' || pg_catalog.string_agg(o.privilege, ', ' ORDER BY o.privilege COLLATE "C") || ' ON ' || p_target
                 || ' FROM ' || o.grantee || ';' AS line
          FROM obj o WHERE o.revoked GROUP BY o.grantee
        UNION ALL
        SELECT 1, o.grantee, o.grantable::text,
               'GRANT ' || pg_catalog.string_agg(o.privilege, ', ' ORDER BY o.privilege COLLATE "C") || ' ON ' || p_target
                 || ' TO ' || o.grantee || CASE WHEN o.grantable THEN ' WITH GRANT OPTION' ELSE '' END || ';'
          FROM obj o WHERE NOT o.revoked GROUP BY o.grantee, o.grantable
        UNION ALL
        SELECT 2, c.col || ' ' || c.grantee, c.grantable::text,
               'GRANT ' || pg_catalog.string_agg(c.privilege || ' (' || pg_catalog.quote_ident(c.col) || ')', ', '
                                                 ORDER BY c.privilege COLLATE "C")
                 || ' ON ' || p_target || ' TO ' || c.grantee
                 || CASE WHEN c.grantable THEN ' WITH GRANT OPTION' ELSE '' END || ';'
          FROM col c WHERE NOT c.revoked GROUP BY c.col, c.grantee, c.grantable
    )
    SELECT x.statements, x.grantees FROM (
        SELECT pg_catalog.string_agg(l.line, E'\n' ORDER BY l.part, l.sort1 COLLATE "C", l.sort2) AS statements,
               (SELECT coalesce(pg_catalog.jsonb_agg(g.grantee ORDER BY g.grantee COLLATE "C"), '[]')
                  FROM (SELECT grantee FROM obj UNION SELECT grantee FROM col) g) AS grantees
          FROM lines l) x
     WHERE x.statements IS NOT NULL
$$;

-- Every object that can have a privileges entry: relations (tables, views, materialized views,
-- sequences), functions, procedures, aggregates, schemas, enum/composite/range types and domains
-- of tracked schemas, with its anchor, its key and the key of what it depends on, what GRANT
-- names, its ACL, the default ACL of its kind for its owner (the schema public's is what a new
-- database gives it: USAGE to PUBLIC), its owner, its columns' ACLs and the oid of the object
-- whose ACL it is (in the anchor's catalog: the anchor itself but for an identity sequence, whose
-- anchor is its table).
CREATE OR REPLACE VIEW pggit._privileges_targets AS
    -- keys are spelled out here rather than read from _key_class/_key_type, so that a filter on
    -- the anchor stays an index probe on the object's own row
    SELECT 'pg_class'::regclass::oid AS classid, c.oid AS objid, k.key AS target_key, k.key AS dep_key,
           n.nspname AS schema_name, c.relname::text AS object_name,
           CASE c.relkind WHEN 'S' THEN 'SEQUENCE ' ELSE 'TABLE ' END || n.qname || '.' || quote_ident(c.relname) AS target,
           c.relacl AS acl, acldefault(CASE c.relkind WHEN 'S' THEN 's' ELSE 'r' END::"char", c.relowner) AS dflt,
           c.relowner AS owner,
           (SELECT coalesce(jsonb_agg(jsonb_build_object('name', a.attname, 'acl', a.attacl::text) ORDER BY a.attnum), '[]')
              FROM pg_attribute a
             WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped AND a.attacl IS NOT NULL) AS columns,
           c.oid AS acl_objid
      FROM pg_class c
      JOIN pggit._ns n ON n.oid = c.relnamespace
      CROSS JOIN LATERAL (SELECT CASE c.relkind WHEN 'v' THEN 'view:' WHEN 'm' THEN 'materialized_view:'
                                                WHEN 'S' THEN 'sequence:' ELSE 'table:' END
                                 || n.nspname || '.' || c.relname AS key) k
     WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S')
       AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid
                          AND (d.deptype = 'e' OR (c.relkind = 'S' AND d.deptype = 'i'
                                                   AND d.refclassid = 'pg_class'::regclass)))
    UNION ALL
    -- an identity sequence is part of its column: its privileges hang off (and depend on) the
    -- table, which the statements name in a comment after the sequence (`SEQUENCE s.q /* identity
    -- of s.t.c */`): a sequence keeps its name when its table is renamed, and an entry whose text
    -- did not change would keep the dependency on the table of the tree that stored it first
    SELECT 'pg_class'::regclass::oid, idt.refobjid, 'sequence:' || n.nspname || '.' || c.relname,
           'table:' || tn.nspname || '.' || t.relname,
           n.nspname, c.relname::text,
           'SEQUENCE ' || n.qname || '.' || quote_ident(c.relname) || ' /* identity of '
             || pggit._comment_text(tn.qname || '.' || quote_ident(t.relname) || '.' || quote_ident(a.attname))
             || ' */',
           c.relacl, acldefault('s', c.relowner), c.relowner, '[]'::jsonb, c.oid
      FROM pg_depend idt
      JOIN pg_class c ON c.oid = idt.objid AND c.relkind = 'S'
      JOIN pggit._ns n ON n.oid = c.relnamespace
      JOIN pg_class t ON t.oid = idt.refobjid
      JOIN pggit._ns tn ON tn.oid = t.relnamespace
      JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = idt.refobjsubid
     WHERE idt.refclassid = 'pg_class'::regclass AND idt.classid = 'pg_class'::regclass AND idt.deptype = 'i'
       AND t.relkind IN ('r', 'p')
    UNION ALL
    SELECT 'pg_proc'::regclass::oid, p.oid, pk.key, pk.key, pk.nspname, p.proname::text,
           CASE p.prokind WHEN 'p' THEN 'PROCEDURE ' ELSE 'FUNCTION ' END
             || pk.qname || '(' || pg_get_function_identity_arguments(p.oid) || ')',
           p.proacl, acldefault('f', p.proowner), p.proowner, '[]'::jsonb, p.oid
      FROM pg_proc p
      JOIN pggit._proc_key pk ON pk.oid = p.oid
     WHERE NOT EXISTS (SELECT 1 FROM pg_depend x WHERE x.classid = 'pg_proc'::regclass AND x.objid = p.oid
                          AND x.deptype IN ('e', 'i'))
    UNION ALL
    SELECT 'pg_namespace'::regclass::oid, n.oid, 'schema:' || n.nspname, 'schema:' || n.nspname, n.nspname, n.nspname,
           'SCHEMA ' || n.qname, s.nspacl,
           CASE WHEN n.nspname = 'public'
                THEN acldefault('n', s.nspowner) || makeaclitem(0, s.nspowner, 'USAGE', false)
                ELSE acldefault('n', s.nspowner) END,
           s.nspowner, '[]'::jsonb, n.oid
      FROM pggit._ns n
      JOIN pg_namespace s ON s.oid = n.oid
     WHERE NOT EXISTS (SELECT 1 FROM pg_depend x WHERE x.classid = 'pg_namespace'::regclass AND x.objid = n.oid
                          AND x.deptype = 'e')
    UNION ALL
    SELECT 'pg_type'::regclass::oid, t.oid, k.key, k.key, n.nspname, t.typname::text,
           CASE t.typtype WHEN 'd' THEN 'DOMAIN ' ELSE 'TYPE ' END || n.qname || '.' || quote_ident(t.typname),
           t.typacl, acldefault('T', t.typowner), t.typowner, '[]'::jsonb, t.oid
      FROM pg_type t
      JOIN pggit._ns n ON n.oid = t.typnamespace
      CROSS JOIN LATERAL (SELECT CASE t.typtype WHEN 'd' THEN 'domain:' ELSE 'type:' END
                                 || n.nspname || '.' || t.typname AS key) k
     WHERE (t.typtype IN ('e', 'r', 'd')
            OR (t.typtype = 'c' AND (SELECT relkind FROM pg_class WHERE oid = t.typrelid) = 'c'))
       AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_type'::regclass AND d.objid = t.oid
                          AND d.deptype = 'e')
       AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = t.typrelid
                          AND t.typrelid <> 0 AND d.deptype = 'e');

-- Every object's privileges entry: the objects of pggit._privileges_targets whose ACL differs from
-- the default, or that hold grants to their owner a checkout applied (pggit.owner_grants; that
-- table is empty unless a checkout granted something to the role applying it on an object it
-- created). A remembered grant is shown while the same role owns the object and holds the
-- privilege: in the object's ACL (its kind's default when it has none), or for a column's in the
-- object's ACL or the column's (PostgreSQL grants a column privilege held either way), and a
-- column's only while a column of that number has that name. Same columns as the catalog's
-- per-kind views (docs/engine-catalog.md).
CREATE OR REPLACE VIEW pggit._o_privileges AS
SELECT 'privileges:' || t.target_key AS object_key, 'privileges'::text AS kind,
       t.schema_name, t.object_name, t.target_key AS parent_name,
       s.statements AS definition,
       jsonb_build_object('deps', jsonb_build_array(t.dep_key), 'identity', t.target,
                          'target_key', t.target_key, 'grantees', s.grantees,
                          'public_default', (SELECT coalesce(jsonb_agg(x.privilege_type ORDER BY x.privilege_type COLLATE "C"), '[]')
                                               FROM aclexplode(t.dflt) x WHERE x.grantee = 0)) AS meta,
       t.classid AS anchor_classid, t.objid AS anchor_objid
  FROM pggit._privileges_targets t
  CROSS JOIN LATERAL (
      SELECT CASE WHEN (SELECT EXISTS (SELECT 1 FROM pggit.owner_grants)) THEN (
                 SELECT jsonb_agg(jsonb_build_object('col', a.attname, 'grantee', quote_ident(r.rolname),
                                                     'privilege', g.privilege, 'grantable', g.grantable))
                   FROM pggit.owner_grants g
                   JOIN pg_roles r ON r.oid = g.owner
                   LEFT JOIN pg_attribute a
                     ON g.objsubid > 0 AND t.classid = 'pg_class'::regclass
                    AND a.attrelid = g.objid AND a.attnum = g.objsubid AND NOT a.attisdropped
                  WHERE g.classid = t.classid AND g.objid = t.acl_objid AND g.owner = t.owner
                    AND (g.objsubid = 0 OR a.attname::text = g.column_name)
                    AND (EXISTS (SELECT 1 FROM aclexplode(coalesce(t.acl, t.dflt)) x
                                  WHERE x.grantee = t.owner AND x.privilege_type = g.privilege)
                         OR (g.objsubid > 0
                             AND EXISTS (SELECT 1 FROM aclexplode(a.attacl) x
                                          WHERE x.grantee = t.owner AND x.privilege_type = g.privilege))))
             END AS implied) i
  CROSS JOIN LATERAL pggit._acl_sql(t.target, t.acl, t.dflt, t.owner, t.columns, i.implied) s
 WHERE t.acl IS NOT NULL OR t.columns <> '[]' OR i.implied IS NOT NULL;

-- Default privileges set for a role in a tracked schema (ALTER DEFAULT PRIVILEGES ... IN SCHEMA):
-- one entry per pg_default_acl row. Defaults set for all schemas (no IN SCHEMA) are not tracked.
CREATE OR REPLACE VIEW pggit._o_default_privileges AS
SELECT 'default_privileges:' || n.nspname || '.' || r.rolname || '.' || o.word AS object_key,
       'default_privileges'::text AS kind, n.nspname AS schema_name,
       r.rolname || '.' || o.word AS object_name, NULL::text AS parent_name,
       s.statements AS definition,
       jsonb_build_object('deps', jsonb_build_array('schema:' || n.nspname),
                          'identity', 'FOR ROLE ' || quote_ident(r.rolname) || ' IN SCHEMA ' || n.qname,
                          'on', o.word, 'grantees', s.grantees) AS meta,
       'pg_default_acl'::regclass::oid AS anchor_classid, d.oid AS anchor_objid
  FROM pg_default_acl d
  JOIN pggit._ns n ON n.oid = d.defaclnamespace
  JOIN pg_roles r ON r.oid = d.defaclrole
  CROSS JOIN LATERAL (SELECT CASE d.defaclobjtype WHEN 'r' THEN 'TABLES' WHEN 'S' THEN 'SEQUENCES'
                                  WHEN 'f' THEN 'FUNCTIONS' WHEN 'T' THEN 'TYPES' ELSE 'SCHEMAS' END AS word) o
  CROSS JOIN LATERAL (
      SELECT string_agg(
                 'ALTER DEFAULT PRIVILEGES FOR ROLE ' || quote_ident(r.rolname) || ' IN SCHEMA ' || n.qname
                   || ' GRANT ' || g.privs || ' ON ' || o.word || ' TO ' || g.grantee
                   || CASE WHEN g.grantable THEN ' WITH GRANT OPTION' ELSE '' END || ';',
                 E'\n' ORDER BY g.grantee COLLATE "C", g.grantable) AS statements,
             (SELECT coalesce(jsonb_agg(x.grantee ORDER BY x.grantee COLLATE "C"), '[]')
                FROM (SELECT DISTINCT g2.grantee FROM pggit._acl_changes(d.defaclacl, '{}'::aclitem[], NULL) g2) x)
               AS grantees
        FROM (SELECT c.grantee, c.grantable, string_agg(c.privilege, ', ' ORDER BY c.privilege COLLATE "C") AS privs
                FROM pggit._acl_changes(d.defaclacl, '{}'::aclitem[], NULL) c
               GROUP BY c.grantee, c.grantable) g) s
 WHERE s.statements IS NOT NULL;

-- The grants to p_grantee an entry's statements make (p_definition, lines as pggit._acl_sql writes
-- them for p_target): one row per privilege, on the object (col NULL) or on a column of the
-- relation p_objid.
CREATE OR REPLACE FUNCTION pggit._privileges_granted_to(p_definition text, p_target text,
                                                        p_grantee text, p_classid oid, p_objid oid)
RETURNS TABLE (col text, privilege text, grantable boolean)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pggit
AS $$
DECLARE
    v_line text;
    v_grantable boolean;
    v_tail text;
    v_privileges text;
BEGIN
    FOR v_line IN SELECT x FROM regexp_split_to_table(p_definition, E'\n') x LOOP
        FOREACH v_grantable IN ARRAY ARRAY[false, true] LOOP
            v_tail := ' ON ' || p_target || ' TO ' || p_grantee
                      || CASE WHEN v_grantable THEN ' WITH GRANT OPTION;' ELSE ';' END;
            CONTINUE WHEN NOT starts_with(v_line, 'GRANT ') OR length(v_line) <= 6 + length(v_tail)
                          OR right(v_line, length(v_tail)) <> v_tail;
            v_privileges := substr(v_line, 7, length(v_line) - 6 - length(v_tail));
            IF v_privileges ~ '^[A-Z]+(, [A-Z]+)*$' THEN
                RETURN QUERY SELECT NULL::text, x, v_grantable
                               FROM unnest(string_to_array(v_privileges, ', ')) x;
            ELSIF p_classid = 'pg_class'::regclass THEN
                -- a column's: each privilege followed by the column's quoted name
                RETURN QUERY
                    SELECT a.attname::text, x, v_grantable
                      FROM pg_attribute a,
                           LATERAL unnest(string_to_array(
                               replace(v_privileges, ' (' || quote_ident(a.attname) || ')', ''), ', ')) x
                     WHERE a.attrelid = p_objid AND a.attnum > 0 AND NOT a.attisdropped
                       AND strpos(v_privileges, ' (' || quote_ident(a.attname) || ')') > 0
                       AND replace(v_privileges, ' (' || quote_ident(a.attname) || ')', '')
                           ~ '^[A-Z]+(, [A-Z]+)*$';
            END IF;
        END LOOP;
    END LOOP;
END;
$$;

-- After the steps of a plan (pggit.apply_steps), what pggit.owner_grants remembers. An object a
-- plan creates is owned by the role applying it; a grant its tree makes to that role is part of
-- that ownership, which PostgreSQL keeps no ACL item for, so the privileges read could not show
-- it, and the tree would not be what the apply left. Forgotten: the grants of every privileges
-- entry the plan dropped, created or altered, and those of objects gone or owned by another role
-- since. Remembered: for each entry of the plan in the target tree p_to that grants to the role
-- applying it on an object that role owns, those grants (of the privileges an ACL can hold: the
-- proof refuses any other), a column's by its number and name.
CREATE OR REPLACE FUNCTION pggit.owner_grants_apply(p_plan jsonb, p_to jsonb)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pggit
AS $$
DECLARE
    v_keys text[];
    v_me text := quote_ident(current_user);
BEGIN
    SELECT array_agg(DISTINCT p.object_key) INTO v_keys
      FROM jsonb_to_recordset(coalesce(p_plan, '[]')) AS p(object_key text, kind text)
     WHERE p.kind = 'privileges';
    DELETE FROM pggit.owner_grants g
     WHERE NOT EXISTS (SELECT 1 FROM pggit._privileges_targets t
                        WHERE t.classid = g.classid AND t.acl_objid = g.objid AND t.owner = g.owner
                          AND NOT 'privileges:' || t.target_key = ANY (coalesce(v_keys, '{}')));
    -- (the entries naming the role first: usually none, and then the objects are not read)
    SELECT array_agg(k) INTO v_keys
      FROM unnest(v_keys) k
      JOIN pggit.blobs b ON b.hash = p_to->>k
     WHERE strpos(b.definition, ' TO ' || v_me) > 0;
    IF v_keys IS NULL THEN
        RETURN;
    END IF;
    INSERT INTO pggit.owner_grants (classid, objid, objsubid, column_name, owner, privilege, grantable)
    SELECT t.classid, t.acl_objid, coalesce(a.attnum, 0), g.col, t.owner, g.privilege, g.grantable
      FROM unnest(v_keys) k(key)
      JOIN pggit.blobs b ON b.hash = p_to->>k.key
      JOIN pggit._privileges_targets t ON 'privileges:' || t.target_key = k.key
      CROSS JOIN LATERAL pggit._privileges_granted_to(b.definition, t.target, v_me, t.classid, t.acl_objid) g
      LEFT JOIN pg_attribute a
        ON g.col IS NOT NULL AND a.attrelid = t.acl_objid AND a.attname::text = g.col AND NOT a.attisdropped
     WHERE t.owner = (SELECT r.oid FROM pg_roles r WHERE r.rolname = current_user)
       AND (g.col IS NULL OR a.attnum IS NOT NULL)
       AND g.privilege IN ('SELECT', 'INSERT', 'UPDATE', 'DELETE', 'TRUNCATE', 'REFERENCES', 'TRIGGER',
                           'MAINTAIN', 'EXECUTE', 'USAGE', 'CREATE')
       AND (g.col IS NULL OR g.privilege IN ('SELECT', 'INSERT', 'UPDATE', 'REFERENCES'));
END;
$$;

-- A plan's step that is the REVOKE ALL of an entry's drop (pggit._privileges_drop) from the owner
-- of the object, of grants pggit.owner_grants remembers for that owner: those grants are part of
-- its ownership, and the REVOKE takes from the owner its own privileges too (its column
-- privileges, which should go, and those of its ownership; it takes back no grant the owner made:
-- an owner's grant options cannot be revoked). pggit.apply_steps runs instead what this returns:
-- the REVOKE, then a GRANT ALL to the owner, which gives it back whole (forgetting the grants is
-- what drops them from the entry). NULL for any other step.
CREATE OR REPLACE FUNCTION pggit.owner_grants_revoke(p_object_key text, p_statement text)
RETURNS text
LANGUAGE sql STABLE
SET search_path = pg_catalog, pggit
AS $$
    SELECT p_statement || ' GRANT ALL ON ' || t.target || ' TO ' || quote_ident(r.rolname) || ';'
      FROM pggit._privileges_targets t
      JOIN pg_roles r ON r.oid = t.owner
     WHERE 'privileges:' || t.target_key = p_object_key
       AND p_statement = 'REVOKE ALL ON ' || t.target || ' FROM ' || quote_ident(r.rolname) || ' CASCADE;'
       AND EXISTS (SELECT 1 FROM pggit.owner_grants g
                    WHERE g.classid = t.classid AND g.objid = t.acl_objid AND g.owner = t.owner)
     LIMIT 1
$$;

-- Every privileges and default privileges entry of the live database (live_objects() adds them).
CREATE OR REPLACE FUNCTION pggit._privileges_live()
RETURNS SETOF pggit.catalog_object
LANGUAGE sql STABLE
SET search_path = pg_catalog, pggit
SET jit = off
AS $$
    SELECT object_key, kind, schema_name, object_name, parent_name, definition, meta,
           anchor_classid, anchor_objid FROM pggit._o_privileges
    UNION ALL
    SELECT object_key, kind, schema_name, object_name, parent_name, definition, meta,
           anchor_classid, anchor_objid FROM pggit._o_default_privileges
$$;

-- The privileges entries of one anchor (_anchor_rows adds them): the anchor's own ACL, or the
-- default privileges row it is.
CREATE OR REPLACE FUNCTION pggit._privileges_anchor_rows(p_classid oid, p_objid oid)
RETURNS SETOF pggit.catalog_object
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pggit
SET jit = off
SET plan_cache_mode = force_generic_plan
AS $$
BEGIN
    IF p_classid = 'pg_default_acl'::regclass THEN
        RETURN QUERY SELECT o.object_key, o.kind, o.schema_name, o.object_name, o.parent_name, o.definition,
                            o.meta, o.anchor_classid, o.anchor_objid
                       FROM pggit._o_default_privileges o WHERE o.anchor_objid = p_objid;
    ELSIF p_classid IN ('pg_class'::regclass, 'pg_proc'::regclass, 'pg_namespace'::regclass, 'pg_type'::regclass) THEN
        RETURN QUERY SELECT o.object_key, o.kind, o.schema_name, o.object_name, o.parent_name, o.definition,
                            o.meta, o.anchor_classid, o.anchor_objid
                       FROM pggit._o_privileges o
                      WHERE o.anchor_classid = p_classid AND o.anchor_objid = p_objid;
    END IF;
END;
$$;

-- What a GRANT, REVOKE, ALTER DEFAULT PRIVILEGES or DROP OWNED statement changed, for the event trigger
-- (these commands name no object in pg_event_trigger_ddl_commands(), only an object type), as
-- [classid, objid] anchors in tracked schemas: the catalog rows of that type this statement wrote.
-- A row written by the current transaction (or one of its subtransactions) has age(xmin) <= 0;
-- of those, this statement's were written after the transaction's previous captured statement
-- ended (a higher cmin: the command counter counts the whole transaction), so rows created or
-- granted by earlier statements of the transaction are not attributed to this one. That end is
-- the transaction-local setting pggit.capture_mark, set by capture (engine/capture/capture.sql)
-- after the transaction's first captured statement (and its first after a RESET ALL), after each
-- GRANT, REVOKE, ALTER DEFAULT PRIVILEGES and DROP OWNED, after each statement announced at once
-- (strict mode, capture_sync, auto_commit, the engine's DDL) and by each announcement of the
-- transaction's statements (a read: pggit.capture_announce): the command id of a row version
-- capture has just written, read at once, before anything can update or delete it. (The cmin column is the tuple's raw command id
-- field, which holds a combo command id, an index into the transaction's array of (cmin, cmax)
-- pairs unrelated to the command counter, once the version is deleted or replaced in the
-- transaction that wrote it, and still after the savepoint that did so is rolled back: a mark
-- read from the table credited a GRANT after one rolled back with other objects of the
-- transaction, or missed its own.) A savepoint rolled back restores the setting as it was before
-- (and takes back the rows its statements wrote); RESET ALL empties it, and then a GRANT right
-- after it takes every row of its kind the transaction wrote. Objects that a statement between
-- two GRANTs created or altered (rows of the granted kinds) are credited to the later GRANT too
-- when nothing between them moved the mark.
-- A row of this statement also has no xmax: when the end-of-command trigger runs, the rows the
-- statement wrote are the newest versions, written with its own command id. A row with
-- age(xmin) <= 0 that shows an xmax was updated or deleted by a subtransaction rolled back
-- since (it is visible again, with a combo command id as its cmin) or is being changed by
-- another session (a row committed by a transaction that began after this one's has
-- age(xmin) <= 0 too): an earlier statement's or another transaction's, never this
-- statement's, and left out whatever its cmin reads. (A lock-only xmax on a catalog row of the
-- transaction would leave it out too; the DDL of PostgreSQL 15 and 18 sets none on the rows it
-- writes.) For default privileges also every pg_default_acl entry live_state knows whose row is
-- gone (a REVOKE back to nothing deletes the row).
-- DROP OWNED BY (p_tag) revokes the role's grants on every kind and removes it from default
-- privileges (the event trigger names only some of the object types, and no default privileges
-- entry it changes without removing): the rows of every kind are looked for.
-- (force_generic_plan: the plan cache chose a custom plan for every call, whose constants prune
-- the branches of the object types not granted and so look far cheaper than the generic plan,
-- whose branches a one-time filter skips just as well at run time; planning the query each time
-- was 80 M of the corpus load's 1,030 M instructions of capture: docs/benchmarks.md)
CREATE OR REPLACE FUNCTION pggit.privileges_capture_anchors(p_tag text)
RETURNS jsonb
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pggit
SET plan_cache_mode = force_generic_plan
AS $$
DECLARE
    v_types text[];
    v_after bigint;
    v_out jsonb;
BEGIN
    IF p_tag = 'DROP OWNED' THEN
        v_types := ARRAY['TABLE', 'SEQUENCE', 'FUNCTION', 'SCHEMA', 'TYPE', 'TABLES'];
    ELSE
        SELECT array_agg(DISTINCT upper(d.object_type)) INTO v_types
          FROM pg_event_trigger_ddl_commands() d
         WHERE d.command_tag IN ('GRANT', 'REVOKE', 'ALTER DEFAULT PRIVILEGES');
    END IF;
    IF v_types IS NULL THEN
        RETURN '[]';
    END IF;
    v_after := nullif(current_setting('pggit.capture_mark', true), '')::bigint;
    -- each row's schema comes along, so that the tracked test is one set operation (a hashed
    -- pggit._ns and an index probe of pg_depend per row found) with the rules of
    -- pggit._anchor_tracked() for these five catalogs (its call per row found was half of this
    -- function's time on the corpus load); relations only of the kinds that anchor privileges
    -- (r, p, v, m, S). MATERIALIZED: joined to pggit._ns, the scans were planned as the inner
    -- side of a nested loop and repeated once per tracked schema.
    WITH written AS MATERIALIZED (
        SELECT 'pg_class'::regclass::oid AS classid, c.oid AS objid, c.relnamespace AS nsp
          FROM pg_class c
         WHERE v_types && ARRAY['TABLE', 'SEQUENCE'] AND c.relkind IN ('r', 'p', 'v', 'm', 'S')
           AND age(c.xmin) <= 0
           AND (v_after IS NULL OR (c.cmin::text::bigint > v_after AND c.xmax = '0'))
        UNION ALL
        -- (the few tables found looked up by their key: a join was planned as a hash of all of
        -- pg_class)
        SELECT 'pg_class'::regclass::oid, x.attrelid,
               (SELECT c.relnamespace FROM pg_class c
                 WHERE c.oid = x.attrelid AND c.relkind IN ('r', 'p', 'v', 'm', 'S'))
          FROM (SELECT DISTINCT a.attrelid FROM pg_attribute a
                 WHERE v_types && ARRAY['TABLE'] AND a.attnum > 0 AND age(a.xmin) <= 0
                   AND (v_after IS NULL OR (a.cmin::text::bigint > v_after AND a.xmax = '0'))) x
        UNION ALL
        SELECT 'pg_proc'::regclass::oid, p.oid, p.pronamespace
          FROM pg_proc p
         WHERE v_types && ARRAY['FUNCTION', 'PROCEDURE', 'ROUTINE'] AND age(p.xmin) <= 0
           AND (v_after IS NULL OR (p.cmin::text::bigint > v_after AND p.xmax = '0'))
        UNION ALL
        SELECT 'pg_namespace'::regclass::oid, n.oid, n.oid
          FROM pg_namespace n
         WHERE v_types && ARRAY['SCHEMA'] AND age(n.xmin) <= 0
           AND (v_after IS NULL OR (n.cmin::text::bigint > v_after AND n.xmax = '0'))
        UNION ALL
        SELECT 'pg_type'::regclass::oid, t.oid, t.typnamespace
          FROM pg_type t
         WHERE v_types && ARRAY['TYPE', 'DOMAIN'] AND age(t.xmin) <= 0
           AND (v_after IS NULL OR (t.cmin::text::bigint > v_after AND t.xmax = '0'))
        UNION ALL
        SELECT 'pg_default_acl'::regclass::oid, d.oid, d.defaclnamespace
          FROM pg_default_acl d
         WHERE v_types && ARRAY['TABLES', 'SEQUENCES', 'FUNCTIONS', 'ROUTINES', 'TYPES', 'SCHEMAS']
           AND age(d.xmin) <= 0
           AND (v_after IS NULL OR (d.cmin::text::bigint > v_after AND d.xmax = '0'))
    )
    SELECT coalesce(jsonb_agg(jsonb_build_array(a.classid, a.objid) ORDER BY a.classid, a.objid), '[]')
      INTO v_out FROM (
        SELECT w.classid, w.objid FROM written w
         WHERE w.nsp IN (SELECT n.oid FROM pggit._ns n)
           AND NOT EXISTS (SELECT 1 FROM pg_depend d
                            WHERE d.classid = w.classid AND d.objid = w.objid AND d.deptype = 'e')
        UNION
        SELECT l.anchor_classid, l.anchor_objid
          FROM pggit.live_state l
         WHERE l.kind = 'default_privileges'
           AND v_types && ARRAY['TABLES', 'SEQUENCES', 'FUNCTIONS', 'ROUTINES', 'TYPES', 'SCHEMAS']
           AND NOT EXISTS (SELECT 1 FROM pg_default_acl d WHERE d.oid = l.anchor_objid)
    ) a;
    RETURN v_out;
END;
$$;

-- DDL of the two kinds (sql_create, sql_drop and sql_alter hand them here). A definition holds one
-- statement per line.
CREATE OR REPLACE FUNCTION pggit._privileges_create(p_definition text)
RETURNS text[]
LANGUAGE sql IMMUTABLE
SET search_path = pg_catalog
AS $$
    SELECT array_agg(s || ';' ORDER BY n)
      FROM regexp_split_to_table(regexp_replace(p_definition, ';\s*$', ''), E';\n') WITH ORDINALITY AS x(s, n)
$$;

-- Back to the default: every grantee named loses everything (CASCADE: grants it made with a grant
-- option go too; they are granted again from the new definition), and PUBLIC gets back the
-- privileges the kind gives it by default (EXECUTE on routines, USAGE on types and domains and on
-- the schema public).
CREATE OR REPLACE FUNCTION pggit._privileges_drop(p_kind text, p_meta jsonb)
RETURNS text[]
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pggit
AS $$
BEGIN
    IF p_meta->>'identity' IS NULL OR jsonb_typeof(p_meta->'grantees') IS DISTINCT FROM 'array' THEN
        PERFORM pggit.raise_error('INVALID_ARGUMENT', format('sql_drop(%s): meta has no "identity" or "grantees"', p_kind));
    END IF;
    IF p_kind = 'default_privileges' THEN
        RETURN coalesce((SELECT array_agg('ALTER DEFAULT PRIVILEGES ' || (p_meta->>'identity') || ' REVOKE ALL ON '
                                          || (p_meta->>'on') || ' FROM ' || g || ' CASCADE;' ORDER BY g COLLATE "C")
                           FROM jsonb_array_elements_text(p_meta->'grantees') g), '{}');
    END IF;
    RETURN coalesce((SELECT array_agg('REVOKE ALL ON ' || (p_meta->>'identity') || ' FROM ' || g || ' CASCADE;'
                                      ORDER BY g COLLATE "C")
                       FROM jsonb_array_elements_text(p_meta->'grantees') g), '{}')
        || CASE WHEN p_meta->'grantees' ? 'PUBLIC' AND jsonb_array_length(coalesce(p_meta->'public_default', '[]')) > 0
                THEN ARRAY['GRANT ' || (SELECT string_agg(x, ', ' ORDER BY x COLLATE "C")
                                          FROM jsonb_array_elements_text(p_meta->'public_default') x)
                           || ' ON ' || (p_meta->>'identity') || ' TO PUBLIC;']
                ELSE '{}' END;
END;
$$;

CREATE OR REPLACE FUNCTION pggit._privileges_alter(p_kind text, p_old_meta jsonb, p_new_definition text)
RETURNS text[]
LANGUAGE sql IMMUTABLE
SET search_path = pg_catalog, pggit
AS $$
    SELECT pggit._privileges_drop(p_kind, p_old_meta) || pggit._privileges_create(p_new_definition)
$$;
