-- The type the catalog functions return: one tracked object and its canonical definition.

DO $$
BEGIN
    IF to_regtype('pggit.catalog_object') IS NULL THEN
        CREATE TYPE pggit.catalog_object AS (
            object_key     text,
            kind           text,
            schema_name    text,
            object_name    text,
            parent_name    text,
            definition     text,
            meta           jsonb,
            anchor_classid oid,
            anchor_objid   oid
        );
    END IF;
END;
$$;
