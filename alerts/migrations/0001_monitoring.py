"""Loads sql/010_monitoring.sql: baselines, traces, the operation trigger, anomaly detection."""

from django.db import migrations

from pggit_project.sqlfiles import run_sql_file

REVERSE_SQL = """
DROP TRIGGER IF EXISTS operations_monitor ON pggit.operations;
DROP FUNCTION IF EXISTS pggit.perf_detect_anomalies();
DROP FUNCTION IF EXISTS pggit.perf_evaluate(timestamptz, timestamptz);
DROP FUNCTION IF EXISTS pggit.on_operation_recorded();
DROP FUNCTION IF EXISTS pggit.perf_check_run(pggit.operations);
DROP FUNCTION IF EXISTS pggit.operation_trace(bigint);
DROP FUNCTION IF EXISTS pggit.trace_link(bigint, timestamptz);
DROP FUNCTION IF EXISTS pggit.perf_baselines_recalculate(interval);
DROP TABLE IF EXISTS pggit.perf_baselines;
DROP FUNCTION IF EXISTS pggit.monitoring_mark(text, timestamptz, jsonb);
DROP TABLE IF EXISTS pggit.monitoring_runs;
DROP FUNCTION IF EXISTS pggit.config_interval(text);
DROP FUNCTION IF EXISTS pggit.config_number(text);
DELETE FROM pggit.config WHERE key LIKE 'perf\\_%' OR key = 'alert_resolve_after_runs';
"""


class Migration(migrations.Migration):
    dependencies = [("vcs", "0006_install")]

    operations = [run_sql_file("010_monitoring.sql", reverse_sql=REVERSE_SQL)]
