"""Time values read through psycopg's compiled parser (pggit_project.db.CompiledTimestamptzLoader)
are the ones Django's own loader gives: the same instants, the same tzinfo, the same errors."""

import pytest
from django.db import connection
from django.db.backends.postgresql.psycopg_any import register_tzloader
from psycopg.pq import Format

from pggit_project.db import CompiledTimestamptzLoader

pytestmark = pytest.mark.django_db

TIMESTAMPTZ_OID = 1184
VALUES = [
    "2026-12-05 10:00:00.123456+05:30",
    "2026-12-05 04:35:03+00",
    "2026-02-28 23:59:59.999999-03:00",
    "2024-02-29 12:00:00.5+14",
    "0001-01-01 00:00:00+00",
    "9999-12-31 23:59:59.999999+00",
    "1969-12-31 23:59:59.000001+00",
]


def read(values, django_loader: bool):
    with connection.cursor() as cursor:
        if django_loader:
            register_tzloader(connection.timezone, cursor.cursor)
        cursor.execute(
            "SELECT v::timestamptz FROM unnest(%s::text[]) WITH ORDINALITY AS t(v, n) ORDER BY n",
            [values],
        )
        return [row[0] for row in cursor.fetchall()]


def test_connections_read_time_values_with_the_compiled_loader():
    read(VALUES[:1], django_loader=False)
    loader = connection.connection.adapters.get_loader(TIMESTAMPTZ_OID, Format.TEXT)
    assert issubclass(loader, CompiledTimestamptzLoader)
    assert loader.timezone == connection.timezone


def test_the_values_are_djangos():
    ours = read(VALUES, django_loader=False)
    djangos = read(VALUES, django_loader=True)
    assert ours == djangos
    assert [value.tzinfo for value in ours] == [value.tzinfo for value in djangos]
    assert {value.tzinfo for value in ours} == {connection.timezone}
    assert [value.isoformat() for value in ours] == [value.isoformat() for value in djangos]


@pytest.mark.parametrize("value", ["infinity", "-infinity"])
def test_values_python_cannot_hold_fail_alike(value):
    errors = []
    for django_loader in (False, True):
        with pytest.raises(Exception) as failure:
            read([value], django_loader=django_loader)
        errors.append((type(failure.value), str(failure.value)))
    assert errors[0] == errors[1]
