"""Loads sql/013_alert_raise_silences.sql: silences judge a re-raised alert with the severity it
keeps; an acknowledged alert whose severity rises under a silence is silenced."""

from django.db import migrations

from pggit_project.sqlfiles import read_sql_file, run_sql_file

# Going back restores the two functions as sql/011_alerts.sql defines them: that file is all
# CREATE ... IF NOT EXISTS / CREATE OR REPLACE / ON CONFLICT DO NOTHING, so re-running it is safe.
# A one-element list: sent as one string, never split.
REVERSE_SQL = [read_sql_file("011_alerts.sql")]


class Migration(migrations.Migration):
    dependencies = [("alerts", "0004_models")]

    operations = [run_sql_file("013_alert_raise_silences.sql", reverse_sql=REVERSE_SQL)]
