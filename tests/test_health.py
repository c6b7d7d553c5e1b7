"""/health (liveness) and /health/deep (registry of checks; degraded vs unhealthy)."""

import pytest
from django.conf import settings
from django.db import connections
from django.db.backends.postgresql import base as postgresql_base

from pggit_project import __version__, health
from pggit_project.health import (
    DEGRADED,
    UNHEALTHY,
    CheckResult,
    probe_database,
    register_check,
    unregister_check,
)

pytestmark = pytest.mark.django_db
CLOSED_PORT_REDIS = "redis://127.0.0.1:1/0"
FOUNDATION_CHECKS = ["database", "cache", "channel_layer"]


@pytest.fixture(autouse=True)
def foundation_checks_only(monkeypatch):
    """Only the foundation's checks: other apps' checks (listener, worker) need their processes."""
    registry = {
        name: check for name, check in health._registry.items() if name in FOUNDATION_CHECKS
    }
    monkeypatch.setattr(health, "_registry", registry)


@pytest.fixture
def redis_down(settings):
    """Cache and channel layer pointed at a closed port: Redis is unreachable."""
    settings.CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": CLOSED_PORT_REDIS,
            "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 1, "SOCKET_TIMEOUT": 1},
        }
    }
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": [CLOSED_PORT_REDIS]},
        }
    }


@pytest.fixture
def real_redis(settings):
    if not settings.REDIS_URL:
        pytest.skip("REDIS_URL is not set: the embedded defaults use no Redis")
    return settings.REDIS_URL


def test_liveness_is_healthy_with_version_and_no_io(api_client, django_assert_num_queries):
    with django_assert_num_queries(0):
        response = api_client.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "healthy", "version": __version__}
    assert response["Cache-Control"] == "no-store"


def test_deep_health_is_healthy_when_all_checks_pass(api_client):
    response = api_client.get("/health/deep")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "healthy"
    assert body["version"] == __version__
    assert list(body["checks"]) == FOUNDATION_CHECKS
    assert {body["checks"][name]["status"] for name in FOUNDATION_CHECKS} == {"healthy"}


def test_anonymous_callers_see_statuses_only(api_client):
    checks = api_client.get("/health/deep").json()["checks"]
    assert {name: checks[name] for name in FOUNDATION_CHECKS} == {
        name: {"status": "healthy"} for name in FOUNDATION_CHECKS
    }


def test_non_staff_users_see_statuses_only(user_client):
    checks = user_client.get("/health/deep").json()["checks"]
    assert checks["database"] == {"status": "healthy"}


def test_staff_see_check_details(staff_client):
    checks = staff_client.get("/health/deep").json()["checks"]
    database = checks["database"]
    assert database["status"] == "healthy"
    assert database["database"] == connections["default"].settings_dict["NAME"]
    assert database["server_version"]
    assert isinstance(database["duration_ms"], float)
    assert checks["cache"]["status"] == "healthy"
    assert checks["cache"]["backend"].startswith("Redis" if settings.REDIS_URL else "local memory")


def test_deep_health_uses_real_redis_when_configured(staff_client, real_redis):
    checks = staff_client.get("/health/deep").json()["checks"]
    assert checks["cache"] == {**checks["cache"], "status": "healthy", "backend": "Redis"}
    assert checks["channel_layer"]["status"] == "healthy"
    assert checks["channel_layer"]["backend"] == "Redis"


def test_redis_down_is_degraded_with_200(api_client, redis_down):
    response = api_client.get("/health/deep")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "degraded"
    assert body["checks"]["database"] == {"status": "healthy"}
    assert body["checks"]["cache"] == {"status": "degraded"}
    assert body["checks"]["channel_layer"] == {"status": "degraded"}


def test_redis_down_details_name_the_error_for_staff_only(staff_client, api_client, redis_down):
    staff_checks = staff_client.get("/health/deep").json()["checks"]
    anonymous_body = api_client.get("/health/deep").content.decode()
    assert staff_checks["cache"]["error"].startswith("ConnectionError")
    assert "127.0.0.1:1" in staff_checks["channel_layer"]["error"]
    assert "127.0.0.1" not in anonymous_body
    assert "Error" not in anonymous_body


def test_failing_critical_check_is_unhealthy_with_503(api_client):
    @register_check("always_failing", on_failure=UNHEALTHY)
    def always_failing():
        raise RuntimeError("db at 10.0.0.5 refused")

    try:
        response = api_client.get("/health/deep")
    finally:
        unregister_check("always_failing")
    assert response.status_code == 503
    assert response.json()["status"] == "unhealthy"
    assert response.json()["checks"]["always_failing"] == {"status": "unhealthy"}
    assert "10.0.0.5" not in response.content.decode()


def test_a_check_may_report_its_own_status(api_client):
    register_check("self_reporting")(lambda: CheckResult(DEGRADED, {"lag": 3}))
    try:
        response = api_client.get("/health/deep")
    finally:
        unregister_check("self_reporting")
    assert response.status_code == 200
    assert response.json()["checks"]["self_reporting"] == {"status": "degraded"}


@pytest.fixture
def unreachable_database():
    """A connection alias ``unreachable`` to a closed port."""
    unreachable = postgresql_base.DatabaseWrapper(
        {
            **connections["default"].settings_dict,
            "HOST": "127.0.0.1",
            "PORT": "1",
            "OPTIONS": {"connect_timeout": 2},
            "ENGINE": "django.db.backends.postgresql",
        },
        alias="unreachable",
    )
    connections["unreachable"] = unreachable
    yield "unreachable"
    unreachable.close()
    del connections["unreachable"]


def test_database_probe_fails_when_the_server_is_unreachable(unreachable_database):
    with pytest.raises(Exception, match="connection"):
        probe_database(unreachable_database)


def test_database_unreachable_is_unhealthy_503_without_internals(
    api_client, staff_client, unreachable_database
):
    register_check("database")(lambda: probe_database(unreachable_database))
    try:
        anonymous = api_client.get("/health/deep")
        staff = staff_client.get("/health/deep")
    finally:
        register_check("database")(probe_database)
    assert anonymous.status_code == 503
    assert anonymous.json() == {
        "status": "unhealthy",
        "version": __version__,
        "checks": {name: {"status": "healthy"} for name in FOUNDATION_CHECKS}
        | {"database": {"status": "unhealthy"}},
    }
    assert staff.status_code == 503
    assert staff.json()["checks"]["database"]["error"].startswith("OperationalError")


def test_register_check_refuses_an_unknown_failure_status():
    with pytest.raises(ValueError, match="on_failure"):
        register_check("bad", on_failure="healthy")


def test_checks_that_need_the_database_are_skipped_while_it_is_unreachable(
    staff_client, unreachable_database
):
    calls = []

    @register_check("needs_db", on_failure=DEGRADED, needs_database=True)
    def needs_db():
        calls.append(1)
        return {"rows": 1}

    register_check("database")(lambda: probe_database(unreachable_database))
    try:
        during = staff_client.get("/health/deep")
    finally:
        register_check("database")(probe_database)
    after = staff_client.get("/health/deep")
    unregister_check("needs_db")

    # the database check runs first; while it fails, the check is reported, not run
    assert during.status_code == 503
    assert during.json()["checks"]["needs_db"] == {
        "status": "degraded",
        "duration_ms": 0.0,
        "skipped": health.SKIPPED_WHILE_DATABASE_DOWN,
    }
    # the real database answers again: the check runs
    assert after.status_code == 200
    assert after.json()["checks"]["needs_db"]["status"] == "healthy"
    assert after.json()["checks"]["needs_db"]["rows"] == 1
    assert calls == [1]


def test_the_checks_of_the_apps_that_query_the_database_are_marked_so():
    from cachemgmt.health import register_cache_checks
    from vcs.health import register_engine_checks
    from webhooks.health import register_health_checks

    register_cache_checks()
    register_engine_checks()
    register_health_checks()
    marked = {name for name, check in health._registry.items() if check.needs_database}
    assert marked == {"schema", "listener", "webhook_worker"}
