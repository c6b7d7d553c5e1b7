"""Loads sql/015_monitoring_spans.sql: pggit.operations.judged (the monitoring trigger fires only
for rows the recording functions did not judge), pggit.capture_flush_run and pggit.record_span,
and a commit that records itself and its capture flush in one statement."""

from django.db import migrations

from pggit_project.sqlfiles import run_sql_file


class Migration(migrations.Migration):
    # vcs 0009_fixes: the file replaces capture_flush, whose latest definition is in sql/008.
    dependencies = [("alerts", "0006_monitoring_fast_link"), ("vcs", "0009_fixes")]

    operations = [
        run_sql_file(
            "015_monitoring_spans.sql",
            # No reverse of its own: it replaces function bodies, adds a column and re-creates a
            # trigger; reversing alerts 0001 / vcs 0001 drops them with the pggit schema.
            reverse_sql=migrations.RunSQL.noop,
        ),
    ]
