"""Loads sql/015_trace_stack.sql: a newest-first trace stack with constant-cost access.

The reverse is a no-op: the replaced function keeps this definition until 0001's reverse drops it.
"""

from django.db import migrations

from pggit_project.sqlfiles import run_sql_file


class Migration(migrations.Migration):
    dependencies = [("alerts", "0006_monitoring_fast_path")]

    operations = [run_sql_file("015_trace_stack.sql", reverse_sql=migrations.RunSQL.noop)]
