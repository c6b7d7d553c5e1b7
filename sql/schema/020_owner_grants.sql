-- Grants to an object's owner that a checkout applied (engine/catalog/privileges.sql,
-- docs/engine-catalog.md "Privileges"). An object a checkout creates is owned by the role applying
-- it, and a grant of its tree to that role is then part of its ownership: PostgreSQL keeps no ACL
-- item for it, so the catalog alone cannot show it. The apply remembers such grants here, one row
-- per privilege (on the object, or on one of its columns), and the privileges read shows them for
-- as long as the same role owns the same object and holds the privilege.
CREATE TABLE IF NOT EXISTS pggit.owner_grants (
    object_key text NOT NULL,       -- the privileges entry
    classid oid NOT NULL,           -- its anchor
    objid oid NOT NULL,
    target text NOT NULL,           -- what GRANT names (TABLE app.t), as the entry's statements do
    owner oid NOT NULL,             -- the role the grants were applied to, owner of the object
    column_name text,               -- NULL: a privilege on the object itself
    privilege text NOT NULL,
    grantable boolean NOT NULL
);
CREATE INDEX IF NOT EXISTS owner_grants_anchor_idx ON pggit.owner_grants (classid, objid);
CREATE INDEX IF NOT EXISTS owner_grants_object_key_idx ON pggit.owner_grants (object_key);
