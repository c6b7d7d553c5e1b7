"""Loads sql/003_core.sql: blobs, trees, commits, branches, HEAD, capture, status, commit."""

from django.db import migrations

from pggit_project.sqlfiles import run_sql_file


class Migration(migrations.Migration):
    dependencies = [("vcs", "0002_catalog")]

    operations = [
        run_sql_file(
            "003_core.sql",
            # No reverse of its own: every object this file creates lives in the pggit schema,
            # which reversing 0001_engine drops as a whole.
            reverse_sql=migrations.RunSQL.noop,
        ),
    ]
