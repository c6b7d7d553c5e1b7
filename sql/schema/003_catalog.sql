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

-- Grants to an object's owner that a checkout applied (engine/catalog/privileges.sql,
-- docs/engine-catalog.md "Privileges"). An object a checkout creates is owned by the role applying
-- it, and a grant of its tree to that role is then part of its ownership: PostgreSQL keeps no ACL
-- item for it, so the catalog alone cannot show it. The apply remembers such grants here, one row
-- per privilege (on the object, or on one of its columns), by the object's identity (its catalog
-- and oid, which a rename keeps; a column by its number and its name then), and the privileges read
-- shows them for as long as the same role owns the object, holds the privilege and, for a column's,
-- the column is there with that name.
CREATE TABLE IF NOT EXISTS pggit.owner_grants (
    classid oid NOT NULL,           -- the object whose ACL holds the privilege
    objid oid NOT NULL,
    objsubid integer NOT NULL,      -- a column's number; 0: a privilege on the object itself
    column_name text,               -- the column's name when it was granted (NULL for the object)
    owner oid NOT NULL,             -- the role the grants were applied to, owner of the object
    privilege text NOT NULL,
    grantable boolean NOT NULL,
    CHECK ((objsubid = 0) = (column_name IS NULL)),
    CHECK (privilege IN ('SELECT', 'INSERT', 'UPDATE', 'DELETE', 'TRUNCATE', 'REFERENCES', 'TRIGGER',
                         'MAINTAIN', 'EXECUTE', 'USAGE', 'CREATE')),
    CHECK (objsubid = 0 OR privilege IN ('SELECT', 'INSERT', 'UPDATE', 'REFERENCES'))
);
CREATE INDEX IF NOT EXISTS owner_grants_object_idx ON pggit.owner_grants (classid, objid);
