"""Loads sql/012_alert_silences.sql: silences, capture failures as alerts, the evaluation."""

from django.db import migrations

from pggit_project.sqlfiles import run_sql_file

REVERSE_SQL = """
DROP FUNCTION IF EXISTS pggit.monitoring_evaluate();
DROP TRIGGER IF EXISTS capture_errors_alert ON pggit.capture_errors;
DROP FUNCTION IF EXISTS pggit.on_capture_error();
DROP FUNCTION IF EXISTS pggit.alert_silence_delete(bigint);
DROP FUNCTION IF EXISTS pggit.alert_silence_update(bigint, jsonb, timestamptz, text, timestamptz);
DROP FUNCTION IF EXISTS pggit.alert_silence_create(jsonb, timestamptz, text, text, timestamptz);
DROP FUNCTION IF EXISTS pggit.alert_silences_apply();
"""


class Migration(migrations.Migration):
    dependencies = [("alerts", "0002_alerts")]

    operations = [run_sql_file("012_alert_silences.sql", reverse_sql=REVERSE_SQL)]
