"""Loads sql/014_monitoring_fast_path.sql: the cheap common path of the operation trigger.

The reverse is a no-op: the replaced functions keep this definition until 0001's reverse drops
them.
"""

from django.db import migrations

from pggit_project.sqlfiles import run_sql_file


class Migration(migrations.Migration):
    dependencies = [("alerts", "0005_capture_recovery")]

    operations = [run_sql_file("014_monitoring_fast_path.sql", reverse_sql=migrations.RunSQL.noop)]
