"""Loads sql/007_capture.sql: the cheaper synchronous capture (and config_set's stricter checks)."""

from django.db import migrations

from pggit_project.sqlfiles import run_sql_file


class Migration(migrations.Migration):
    dependencies = [("vcs", "0007_models")]

    operations = [
        run_sql_file(
            "007_capture.sql",
            # No reverse of its own: it replaces function bodies with equivalent ones and drops a
            # foreign key nothing relies on; reversing 0001_engine drops the pggit schema whole.
            reverse_sql=migrations.RunSQL.noop,
        ),
    ]
