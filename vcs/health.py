"""The ``schema`` check of ``/health/deep``: the engine is installed, HEAD exists, capture is on.

Not installed (migrations not run) is unhealthy; capture switched off globally, or its event
triggers missing or disabled, is degraded: the console works but DDL is not being captured.
"""

from __future__ import annotations

from django.db import connection

import pggit_project
from pggit_project.health import DEGRADED, HEALTHY, CheckResult, register_check

ENGINE_STATE = """
    SELECT b.name,
           (SELECT value = 'true'::jsonb FROM pggit.config WHERE key = 'capture_enabled'),
           (SELECT count(*) FROM pg_event_trigger
             WHERE evtname IN ('pggit_ddl_command_end', 'pggit_sql_drop') AND evtenabled <> 'D')
      FROM pggit.head h JOIN pggit.branches b ON b.id = h.branch_id
"""


def schema_check() -> CheckResult:
    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass('pggit.head') IS NOT NULL")
        if not cursor.fetchone()[0]:
            raise RuntimeError("the pgGit engine is not installed: run manage.py migrate")
        cursor.execute(ENGINE_STATE)
        row = cursor.fetchone()
    if row is None:
        raise RuntimeError("the pgGit engine has no HEAD: run manage.py migrate")
    head, capture_enabled, triggers = row
    details = {
        "installed": True,
        "version": pggit_project.__version__,
        "head": head,
        "capture_enabled": bool(capture_enabled),
        "event_triggers": triggers,
    }
    if not capture_enabled or triggers != 2:
        return CheckResult(DEGRADED, details)
    return CheckResult(HEALTHY, details)


def register_engine_checks() -> None:
    register_check("schema", needs_database=True)(schema_check)
