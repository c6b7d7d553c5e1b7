"""The engine-error table: engine codes → HTTP status and API code."""

import psycopg
import pytest
from django.db import connection

from pggit_project.errors import EngineError, engine_error_from, engine_status


@pytest.mark.parametrize(
    ("engine_code", "status"),
    [
        ("COMMIT_NOT_FOUND", 404),
        ("NOT_FOUND", 404),
        ("NOTHING_TO_COMMIT", 409),
        ("DATA_LOSS", 409),
        ("BRANCH_EXISTS", 409),
        ("LOCKED", 409),
        ("PROTECTED", 409),
        ("MERGE_IN_PROGRESS", 409),
        ("ALREADY_MERGED", 409),
        ("CHECKOUT_IN_PROGRESS", 409),
        ("TAG_EXISTS", 409),
        ("INVALID_NAME", 400),
        ("CAPTURE_FAILED", 400),
        ("PERMISSION_DENIED", 403),
    ],
)
def test_engine_status_follows_the_table(engine_code, status):
    assert engine_status(engine_code) == status


def test_message_without_engine_prefix_is_not_an_engine_error():
    assert engine_error_from(RuntimeError("relation x does not exist")) is None


@pytest.mark.django_db
def test_engine_error_is_read_from_a_real_postgresql_exception():
    with pytest.raises(Exception) as raised, connection.cursor() as cursor:
        cursor.execute(
            "DO $$ BEGIN RAISE EXCEPTION USING MESSAGE = '[PGGIT-BRANCH_EXISTS] branch ''dev'' "
            "exists', HINT = 'pick another name'; END $$"
        )
    assert isinstance(raised.value.__cause__, psycopg.errors.RaiseException)
    error = engine_error_from(raised.value)
    assert isinstance(error, EngineError)
    assert (error.engine_code, error.code, error.status) == ("BRANCH_EXISTS", "branch_exists", 409)
    assert error.detail == "branch 'dev' exists (hint: pick another name)"


@pytest.mark.django_db
def test_a_role_without_the_right_gets_permission_denied_with_what_to_grant():
    # a role that is neither pggit_reader nor pggit_operator (created and dropped with the test's
    # transaction)
    with pytest.raises(Exception) as raised, connection.cursor() as cursor:
        cursor.execute("CREATE ROLE pggit_t_no_rights")
        cursor.execute("SET LOCAL ROLE pggit_t_no_rights")
        cursor.execute("SELECT pggit.commit('x')")
    assert isinstance(raised.value.__cause__, psycopg.errors.InsufficientPrivilege)
    error = engine_error_from(raised.value)
    assert isinstance(error, EngineError)
    assert (error.engine_code, error.code, error.status) == (
        "PERMISSION_DENIED",
        "permission_denied",
        403,
    )
    assert error.detail.startswith("permission denied for schema pggit (hint: grant the database")


@pytest.mark.django_db
def test_a_data_loss_check_the_role_may_not_read_is_permission_denied_with_its_own_hint():
    # an operator that may not read the table a checkout would drop (docs/security.md)
    with pytest.raises(Exception) as raised, connection.cursor() as cursor:
        cursor.execute("CREATE ROLE pggit_t_blind_operator IN ROLE pggit_operator")
        cursor.execute("CREATE SCHEMA vault CREATE TABLE secrets (id int)")
        cursor.execute("SET LOCAL ROLE pggit_t_blind_operator")
        cursor.execute("SELECT pggit.data_loss_readable('vault.secrets', NULL)")
    assert isinstance(raised.value.__cause__, psycopg.errors.InsufficientPrivilege)
    error = engine_error_from(raised.value)
    assert (error.engine_code, error.code, error.status) == (
        "PERMISSION_DENIED",
        "permission_denied",
        403,
    )
    assert error.detail == (
        "role pggit_t_blind_operator may not read vault.secrets, which this operation would drop "
        "or change: it lacks USAGE on schema vault to check the data that would be lost; nothing "
        "was changed (hint: GRANT USAGE ON SCHEMA vault TO pggit_t_blind_operator; GRANT SELECT "
        "ON vault.secrets TO pggit_t_blind_operator (dropping or altering vault.secrets also needs "
        "its ownership: or run the operation as its owner))"
    )
