"""The corpus schema rentals.sql (tests/engine/corpus/) as its users would version it: loaded by an
ordinary role that owns it (not a superuser), committed, checked out away and back, and evolved by
an ALTER-heavy migration whose two commits check out back and forth with `pg_dump --schema-only`
identical each time. Runs on whichever server the engine tests use (test_corpus.py)."""

from __future__ import annotations

import re
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from tests.engine.enginedb import EngineDB, connect_as, engine_error, ensure_roles, scratch_copy
from tests.engine.pgdump import schema_dump
from tests.engine.test_corpus import ROLES, same_dump, server_major

RENTALS = Path(__file__).with_name("corpus") / "rentals.sql"
# PostgreSQL 18 names NOT NULL constraints; pgGit does not version those names (docs/engine.md,
# limits): a detached partition keeps its parent's, a re-created table gets the default ones
NOT_NULL_NAME = re.compile(r'CONSTRAINT ("[^"]+"|\S+) NOT NULL')


def dump(url: str, major: int) -> str:
    text = schema_dump(url, major)
    return NOT_NULL_NAME.sub("NOT NULL", text) if major >= 18 else text


# a migration in three transactions (an enum value must be committed before it is used), as a
# release would run it: columns added, dropped, renamed and retyped, constraints added and
# validated, policies altered and dropped, functions replaced, a partition detached and another
# attached, triggers renamed and disabled, identity and sequence options changed, privileges
MIGRATION = [
    "ALTER TYPE rentals.booking_state ADD VALUE 'disputed'",
    """
    ALTER TABLE rentals.units ADD COLUMN pet_friendly boolean NOT NULL DEFAULT false;
    ALTER TABLE rentals.units DROP COLUMN floor;
    ALTER TABLE rentals.units RENAME COLUMN area_m2 TO floor_area;
    ALTER TABLE rentals.reviews ALTER COLUMN body TYPE varchar(4000);
    ALTER TABLE rentals.units ALTER COLUMN features SET DEFAULT '{"wifi": true}'::jsonb;
    ALTER TABLE rentals.units ALTER COLUMN id SET INCREMENT BY 2;
    ALTER SEQUENCE rentals.booking_ref_seq INCREMENT BY 3 CACHE 20;
    ALTER TABLE rentals.guests ALTER COLUMN phone TYPE varchar(32);
    ALTER TABLE rentals.guests ADD CONSTRAINT guests_phone_shape CHECK (phone ~ '^\\+') NOT VALID;
    ALTER TABLE rentals.reviews VALIDATE CONSTRAINT reviews_stars_range;
    ALTER TABLE rentals.booking_events ALTER CONSTRAINT booking_events_booking_fk
        DEFERRABLE INITIALLY DEFERRED;
    ALTER TABLE rentals."UnitPhotos" RENAME COLUMN "Caption" TO caption;
    ALTER VIEW rentals.cheap_rooms RENAME TO budget_rooms;
    ALTER INDEX rentals.units_cheap_idx RENAME TO units_budget_idx;
    ALTER TABLE rentals.sites SET (fillfactor = 70);
    ALTER TABLE rentals.sites DISABLE TRIGGER sites_touch;
    ALTER TRIGGER units_touch ON rentals.units RENAME TO units_touch_prices;
    ALTER TABLE rentals.amenity_pets ENABLE REPLICA TRIGGER amenity_pets_touch;
    ALTER DOMAIN rentals.nightly_price DROP CONSTRAINT price_sane;
    ALTER DOMAIN rentals.nightly_price ADD CONSTRAINT price_cap CHECK (VALUE < 50000);
    ALTER POLICY payouts_readers ON "Ledger".payouts TO pggit_test_app_reader, pggit_test_app_writer
        USING (paid_at IS NOT NULL AND amount > 0);
    ALTER TABLE "Ledger".payouts NO FORCE ROW LEVEL SECURITY;
    DROP POLICY guests_self ON rentals.guests;
    CREATE OR REPLACE FUNCTION rentals.quote(p_unit bigint, p_stay daterange,
                                             p_discount numeric DEFAULT 0.1)
        RETURNS TABLE (night date, price numeric)
        LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, rentals AS $$
    BEGIN
        RETURN QUERY
            SELECT d::date, round(u.base_price * (1 - p_discount), 2)
            FROM rentals.units u,
                 generate_series(lower(p_stay), upper(p_stay) - 1, interval '1 day') d
            WHERE u.id = p_unit AND u.pet_friendly IS NOT NULL;
    END $$;
    CREATE OR REPLACE PROCEDURE rentals.confirm_booking(
        IN p_id bigint, INOUT p_state rentals.booking_state DEFAULT NULL)
        LANGUAGE plpgsql AS $$
    BEGIN
        UPDATE rentals.bookings SET state = 'confirmed'
        WHERE id = p_id AND state IN ('requested', 'pending_payment')
        RETURNING state INTO p_state;
    END $$;
    CREATE OR REPLACE VIEW rentals.public_units WITH (security_barrier = true) AS
        SELECT u.id, u.code, u.kind, u.sleeps, u.base_price, s.title AS site, s.city, u.pet_friendly
        FROM rentals.units u JOIN rentals.sites s ON s.id = u.site_id
        WHERE u.kind <> 'pitch';
    ALTER TABLE rentals.bookings DETACH PARTITION rentals.bookings_2026q4;
    CREATE TABLE rentals.bookings_archive (
        LIKE rentals.bookings INCLUDING DEFAULTS INCLUDING GENERATED INCLUDING CONSTRAINTS);
    ALTER TABLE rentals.bookings ATTACH PARTITION rentals.bookings_archive
        FOR VALUES FROM ('2020-01-01') TO ('2025-01-01');
    COMMENT ON TABLE rentals.bookings_archive IS 'bookings before the platform moved';
    COMMENT ON COLUMN rentals.units.floor_area IS 'in square metres';
    COMMENT ON TABLE rentals.sites IS NULL;
    GRANT SELECT (pet_friendly) ON rentals.units TO pggit_test_app_reader;
    REVOKE UPDATE ON rentals.guests FROM pggit_test_app_writer;
    ALTER DEFAULT PRIVILEGES IN SCHEMA rentals GRANT SELECT ON SEQUENCES TO pggit_test_app_reader;
    """,
    """
    CREATE INDEX bookings_disputed_idx ON rentals.bookings (unit_id) WHERE state = 'disputed';
    DROP MATERIALIZED VIEW rentals.occupancy_by_month;
    CREATE MATERIALIZED VIEW rentals.occupancy_by_month AS
        SELECT b.unit_id, date_trunc('month', b.starts_on)::date AS month, b.channel,
               sum(b.nights) AS nights, count(*) AS bookings
        FROM rentals.bookings b WHERE b.state NOT IN ('cancelled', 'no_show', 'disputed')
        GROUP BY 1, 2, 3;
    CREATE UNIQUE INDEX occupancy_by_month_key
        ON rentals.occupancy_by_month (unit_id, month, channel);
    """,
]


def test_an_ordinary_role_versions_the_rentals_schema_it_owns(
    engine_db: EngineDB, engine_template: str, make_role
):
    db = engine_db
    # may create schemas (and trusted extensions), commit and check out
    owner_role = make_role("pggit_operator", create_on_db=True)
    ensure_roles(*ROLES)
    major = server_major(db)
    root = db.one("SELECT commit_hash FROM pggit.head()")
    with connect_as(db, owner_role) as conn:
        assert not conn.execute(
            "SELECT rolsuper FROM pg_roles WHERE rolname = current_user"
        ).fetchone()[0]
        conn.execute(RENTALS.read_text())
        before = schema_dump(db.url, major)
        conn.execute("SELECT pggit.commit('rentals, by its owner')")
        assert conn.execute("SELECT clean FROM pggit.head()").fetchone()[0] is True
        assert db.rows("SELECT sqlstate, message FROM pggit.capture_errors") == []
        assert (
            db.one("SELECT nspowner::regrole::text FROM pg_namespace WHERE nspname = 'rentals'")
            == owner_role
        )
        main_tree = db.head_tree()
        conn.execute("SELECT pggit.branch_create('empty', %s)", (root,))
        conn.execute("SELECT * FROM pggit.checkout('empty')")
        assert db.live_tree_hash() == db.branch_tree("empty")
        empty = schema_dump(db.url, major)
        conn.execute("SELECT * FROM pggit.checkout('main')")
        assert db.live_tree_hash() == main_tree
        same_dump(before, schema_dump(db.url, major), "checkout of empty and main by the owner")
        # what the checkout created belongs to the role that ran it
        assert (
            db.one("SELECT nspowner::regrole::text FROM pg_namespace WHERE nspname = 'rentals'")
            == owner_role
        )
        script = conn.execute("SELECT pggit.diff_script('empty', 'main')").fetchone()[0]
    assert db.rows("SELECT ok, breaks FROM pggit.verify()") == [(True, [])]
    with scratch_copy(engine_template) as copy:
        assert schema_dump(copy.url, major) == empty
        copy.run(script)
        same_dump(before, schema_dump(copy.url, major), "diff_script applied to a copy")
        # the script set the role's default privileges in the copy: the role can then be dropped
        copy.run(sql.SQL("DROP OWNED BY {}").format(sql.Identifier(owner_role)))


def test_an_alter_heavy_migration_of_the_rentals_schema_checks_out_back_and_forth(
    engine_db: EngineDB, engine_template: str
):
    db = engine_db
    ensure_roles(*ROLES)
    major = server_major(db)
    db.run(RENTALS.read_text())
    db.run("SELECT pggit.commit('rentals')")
    first = db.one("SELECT commit_hash FROM pggit.head()")
    dump_first = dump(db.url, major)
    # the new enum value is committed on its own: a checkout is one transaction, and PostgreSQL
    # refuses to use an enum value in the transaction that added it (docs/engine.md, limits)
    db.run(MIGRATION[0])
    db.run("SELECT pggit.commit('rentals: a booking can be disputed')")
    db.run("SELECT pggit.branch_create('release-1.1')")
    for step in MIGRATION[1:]:
        db.run(step)
    dump_second = dump(db.url, major)
    assert dump_second != dump_first
    db.run("SELECT pggit.commit('rentals: release 2')")
    assert db.rows("SELECT sqlstate, message FROM pggit.capture_errors") == []
    second_tree = db.head_tree()
    db.run("SELECT pggit.branch_create('release-1', %s)", (first,))
    for _ in range(2):
        db.run("SELECT * FROM pggit.checkout('release-1')")
        same_dump(dump_first, dump(db.url, major), "checkout of release 1")
        # straight to release 2 would add the value and index it in one transaction: refused,
        # nothing changed
        with pytest.raises(psycopg.errors.RaiseException) as refused:
            db.run("SELECT * FROM pggit.checkout('main')")
        assert engine_error(refused) == "APPLY_FAILED"
        assert 'unsafe use of new value "disputed"' in str(refused.value)
        assert db.live_tree_hash() == db.branch_tree("release-1")
        db.run("SELECT * FROM pggit.checkout('release-1.1')")
        db.run("SELECT * FROM pggit.checkout('main')")
        assert db.live_tree_hash() == second_tree
        same_dump(dump_second, dump(db.url, major), "checkout of release 2")
    assert db.rows("SELECT ok, breaks FROM pggit.verify()") == [(True, [])]
    # the migration script between the releases, applied to a copy holding release 1
    script = db.one("SELECT pggit.diff_script('release-1.1', 'main')")
    with scratch_copy(engine_template) as copy:
        copy.run(RENTALS.read_text())
        copy.run(MIGRATION[0])
        copy.run(script)
        same_dump(dump_second, dump(copy.url, major), "diff_script release 1 → 2")
