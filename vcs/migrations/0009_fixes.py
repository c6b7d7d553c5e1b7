"""Loads sql/008_fixes.sql: privilege commands in capture (no more NULL anchors), history argument checks."""

from django.db import migrations

from pggit_project.sqlfiles import run_sql_file


class Migration(migrations.Migration):
    dependencies = [("vcs", "0008_capture")]

    operations = [
        run_sql_file(
            "008_fixes.sql",
            # No reverse of its own: it replaces function bodies (the earlier ones had the defects it
            # fixes); reversing 0001_engine drops the pggit schema whole.
            reverse_sql=migrations.RunSQL.noop,
        ),
    ]
