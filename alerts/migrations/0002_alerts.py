"""Loads sql/011_alerts.sql: the alert tables and the lifecycle functions."""

from django.db import migrations

from pggit_project.sqlfiles import run_sql_file

REVERSE_SQL = """
DROP FUNCTION IF EXISTS pggit.alerts_auto_resolve();
DROP FUNCTION IF EXISTS pggit.alert_condition_cleared(pggit.alerts);
DROP FUNCTION IF EXISTS pggit.alerts_resolve_where(text, text[], text);
DROP FUNCTION IF EXISTS pggit.alert_acknowledge_many(bigint[], text, text);
DROP FUNCTION IF EXISTS pggit.alert_resolve(bigint, text, text);
DROP FUNCTION IF EXISTS pggit.alert_close(pggit.alerts, text, text, boolean);
DROP FUNCTION IF EXISTS pggit.alert_acknowledge(bigint, text, text);
DROP FUNCTION IF EXISTS pggit.alert_for_update(bigint);
DROP FUNCTION IF EXISTS pggit.alert_raise(text, text, text, text, text, jsonb);
DROP FUNCTION IF EXISTS pggit.alert_next_status(pggit.alerts, text, bigint);
DROP FUNCTION IF EXISTS pggit.alert_check_input(text, text, text, text);
DROP FUNCTION IF EXISTS pggit.alert_active_silence(pggit.alerts);
DROP FUNCTION IF EXISTS pggit.alert_silence_matches(jsonb, pggit.alerts);
DROP FUNCTION IF EXISTS pggit.alert_silence_check_matchers(jsonb);
DROP FUNCTION IF EXISTS pggit.alert_event_data(pggit.alerts);
DROP FUNCTION IF EXISTS pggit.alert_severity_rank(text);
DROP TABLE IF EXISTS pggit.alert_occurrences;
DROP TABLE IF EXISTS pggit.alerts;
DROP TABLE IF EXISTS pggit.alert_silences;
"""


class Migration(migrations.Migration):
    dependencies = [("alerts", "0001_monitoring")]

    operations = [run_sql_file("011_alerts.sql", reverse_sql=REVERSE_SQL)]
