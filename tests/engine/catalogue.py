"""A comparable description of the engine's objects in a database: the ``pggit`` schema's tables
and their columns, constraints, indexes and triggers, views, functions, types, comments and
configuration rows, and the event triggers (not the trigger Django's migration attaches to its
user table). Two databases with the same engine give equal snapshots; a difference names the
object."""

from __future__ import annotations

import psycopg

# (object kind, query returning (name, description) rows). Names are unique within a kind.
QUERIES: dict[str, str] = {
    "table": """
        SELECT c.relname, jsonb_build_object('kind', c.relkind, 'persistence', c.relpersistence)
          FROM pg_class c WHERE c.relnamespace = 'pggit'::regnamespace
           AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f', 'c')""",
    # columns in their order (attnum may have holes after a dropped column)
    "column": """
        SELECT c.relname || '.' || a.attname,
               jsonb_build_object(
                   'position', row_number() OVER (PARTITION BY c.oid ORDER BY a.attnum),
                   'type', format_type(a.atttypid, a.atttypmod), 'not_null', a.attnotnull,
                   'default', pg_get_expr(d.adbin, d.adrelid), 'identity', a.attidentity,
                   'generated', a.attgenerated, 'collation', a.attcollation::regcollation::text)
          FROM pg_attribute a
          JOIN pg_class c ON c.oid = a.attrelid
          LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
         WHERE c.relnamespace = 'pggit'::regnamespace AND a.attnum > 0 AND NOT a.attisdropped
           AND c.relkind IN ('r', 'p', 'v', 'm', 'f', 'c')""",
    "constraint": """
        SELECT conrelid::regclass::text || ' ' || conname, to_jsonb(pg_get_constraintdef(oid))
          FROM pg_constraint WHERE connamespace = 'pggit'::regnamespace""",
    "index": """
        SELECT indexrelid::regclass::text, to_jsonb(pg_get_indexdef(indexrelid))
          FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid
         WHERE c.relnamespace = 'pggit'::regnamespace""",
    "trigger": """
        SELECT tgrelid::regclass::text || ' ' || tgname, to_jsonb(pg_get_triggerdef(t.oid))
          FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
         WHERE NOT t.tgisinternal AND c.relnamespace = 'pggit'::regnamespace""",
    "view": """
        SELECT c.relname, to_jsonb(pg_get_viewdef(c.oid))
          FROM pg_class c WHERE c.relnamespace = 'pggit'::regnamespace AND c.relkind = 'v'""",
    "function": """
        SELECT p.oid::regprocedure::text, to_jsonb(pg_get_functiondef(p.oid))
          FROM pg_proc p WHERE p.pronamespace = 'pggit'::regnamespace""",
    "type": """
        SELECT t.typname, jsonb_build_object('type', t.typtype, 'category', t.typcategory)
          FROM pg_type t WHERE t.typnamespace = 'pggit'::regnamespace
           AND NOT EXISTS (SELECT 1 FROM pg_class c WHERE c.oid = t.typrelid AND c.relkind <> 'c')
           AND t.typelem = 0""",
    "event trigger": """
        SELECT evtname, jsonb_build_object('event', evtevent, 'function', evtfoid::regproc::text,
                                           'enabled', evtenabled, 'tags', evttags)
          FROM pg_event_trigger""",
    "comment": """
        SELECT d.classoid::regclass::text || ' ' || coalesce(
                   CASE d.classoid WHEN 'pg_proc'::regclass THEN d.objoid::regprocedure::text
                                   WHEN 'pg_namespace'::regclass THEN d.objoid::regnamespace::text
                                   ELSE d.objoid::regclass::text END, '?') || ' ' || d.objsubid,
               to_jsonb(d.description)
          FROM pg_description d
         WHERE (d.classoid = 'pg_namespace'::regclass AND d.objoid = 'pggit'::regnamespace)
            OR (d.classoid = 'pg_class'::regclass AND d.objoid IN (
                   SELECT oid FROM pg_class WHERE relnamespace = 'pggit'::regnamespace))
            OR (d.classoid = 'pg_proc'::regclass AND d.objoid IN (
                   SELECT oid FROM pg_proc WHERE pronamespace = 'pggit'::regnamespace))""",
    "config": """
        SELECT key, jsonb_build_object('value', value, 'description', description)
          FROM pggit.config""",
}


def snapshot(conn: psycopg.Connection) -> dict[str, dict[str, object]]:
    """{kind: {name: description}} for every kind of QUERIES."""
    return {
        kind: {name: value for name, value in conn.execute(query).fetchall()}
        for kind, query in QUERIES.items()
    }


def differences(left: dict, right: dict) -> list[str]:
    """Human-readable differences between two snapshots (empty when they are equal)."""
    found = []
    for kind in QUERIES:
        a, b = left.get(kind, {}), right.get(kind, {})
        for name in sorted(a.keys() - b.keys()):
            found.append(f"{kind} {name}: only in the first database")
        for name in sorted(b.keys() - a.keys()):
            found.append(f"{kind} {name}: only in the second database")
        for name in sorted(a.keys() & b.keys()):
            if a[name] != b[name]:
                found.append(f"{kind} {name}: {a[name]!r} != {b[name]!r}")
    return found
