"""Loads sql/006_install.sql: root commit of main and the event triggers (capture on)."""

from django.db import migrations

from pggit_project.sqlfiles import run_sql_file


class Migration(migrations.Migration):
    dependencies = [("vcs", "0005_history")]

    operations = [
        run_sql_file(
            "006_install.sql",
            reverse_sql="DROP EVENT TRIGGER IF EXISTS pggit_ddl_command_end; DROP EVENT TRIGGER IF EXISTS pggit_sql_drop;",
        ),
    ]
