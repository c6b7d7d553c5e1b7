"""Loads sql/013_capture_recovery.sql: capture-failure alerts clear on a later captured statement.

The reverse is a no-op: the replaced function keeps this definition until 0002's reverse drops it.
"""

from django.db import migrations

from pggit_project.sqlfiles import run_sql_file


class Migration(migrations.Migration):
    dependencies = [("alerts", "0004_models")]

    operations = [run_sql_file("013_capture_recovery.sql", reverse_sql=migrations.RunSQL.noop)]
