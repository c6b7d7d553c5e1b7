"""Engine tests: scratch databases with the whole engine installed (see enginedb.py).

Catalog tests (test_catalog.py) use plain scratch databases with the engine loaded up to the
catalog (sql/install.sql as far as engine/catalog/privileges.sql: no capture),
named pggit_cat_test_<random>, on the engine tests' server (enginedb.server_url: the server of
PGGIT_TEST_PG_URL, else of DATABASE_URL, else the embedded one); they need no Django. Scratch
databases are dropped in the background (enginedb.background_drops), all of them before the
session ends.
"""

import pathlib
import secrets

import psycopg
import pytest
from psycopg import conninfo, sql

from pggit_project.engine_sql import sync_connection
from tests.engine.enginedb import (  # noqa: F401
    EngineDB,
    background_drops,
    connect_as,
    drop_database_later,
    engine_db,
    engine_template,
    make_role,
    server_url,
)

# the engine up to its catalog functions (no capture, no root commit)
CATALOG_UNTIL = "engine/catalog/privileges.sql"
FIXTURE_SQL = pathlib.Path(__file__).with_name("catalog_fixture.sql")
READER_ROLE = "pggit_cat_reader"


@pytest.fixture(scope="session", autouse=True)
def scratch_databases_dropped():
    """Every scratch database dropped in the background is gone before the session ends."""
    yield
    background_drops.wait_all()


@pytest.fixture(scope="session")
def pg_url():
    return server_url()


@pytest.fixture(scope="session")
def reader_role(pg_url):
    """A role the fixture's policies name (roles are cluster-wide)."""
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute(
            "DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'pggit_cat_reader') "
            "THEN CREATE ROLE pggit_cat_reader; END IF; END $$"
        )
    return READER_ROLE


@pytest.fixture
def make_db(pg_url, reader_role):
    """Factory: a new scratch database with the engine up to its catalog; returns a connection."""
    created = []

    def factory(load_fixture=False, icu_locale=None):
        """icu_locale: the database's collation is that ICU locale's (not the server's default)."""
        name = f"pggit_cat_test_{secrets.token_hex(5)}"
        create = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
        if icu_locale is not None:
            create += sql.SQL(
                " TEMPLATE template0 ENCODING 'UTF8' LOCALE 'C' LOCALE_PROVIDER icu ICU_LOCALE {}"
            ).format(sql.Literal(icu_locale))
        with psycopg.connect(pg_url, autocommit=True) as admin:
            admin.execute(create)
        conn = psycopg.connect(conninfo.make_conninfo(pg_url, dbname=name), autocommit=True)
        created.append((name, conn))
        sync_connection(conn, until=CATALOG_UNTIL)
        if load_fixture:
            conn.execute(FIXTURE_SQL.read_text())
        return conn

    yield factory
    for name, conn in created:
        conn.close()
        drop_database_later(name)


@pytest.fixture(scope="module")
def fixture_db(pg_url, reader_role):
    """A database holding tests/engine/catalog_fixture.sql, shared by a module's read-only tests."""
    name = f"pggit_cat_test_{secrets.token_hex(5)}"
    with psycopg.connect(pg_url, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    conn = psycopg.connect(conninfo.make_conninfo(pg_url, dbname=name), autocommit=True)
    try:
        sync_connection(conn, until=CATALOG_UNTIL)
        conn.execute(FIXTURE_SQL.read_text())
        yield conn
    finally:
        conn.close()
        drop_database_later(name)


@pytest.fixture(params=["superuser", "ordinary-role"])
def client(request: pytest.FixtureRequest):
    """A connection running the DDL and the engine's operations on the test's engine_db: the
    superuser's, or an ordinary login role's (no superuser; pggit_operator; may create schemas in
    the database)."""
    db: EngineDB = request.getfixturevalue("engine_db")
    if request.param == "superuser":
        conn = db.connect()
    else:
        role = request.getfixturevalue("make_role")("pggit_operator", create_on_db=True)
        conn = connect_as(db, role)
        assert not conn.execute(
            "SELECT rolsuper FROM pg_roles WHERE rolname = current_user"
        ).fetchone()[0]
    with conn:
        yield conn
