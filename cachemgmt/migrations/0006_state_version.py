"""Loads sql/034_cache_state_version.sql: the engine-state version that cached answers about the
engine's state are checked against on every hit (read-your-writes across channels)."""

from django.db import migrations

from pggit_project.sqlfiles import run_sql_file

REVERSE_SQL = """
DROP TRIGGER IF EXISTS state_version_bump ON pggit.events;
DROP FUNCTION IF EXISTS pggit.state_version();
DROP FUNCTION IF EXISTS pggit.state_version_bump();
DROP TABLE IF EXISTS pggit.state_version;
"""


class Migration(migrations.Migration):
    dependencies = [("cachemgmt", "0005_operations_judged")]

    operations = [run_sql_file("034_cache_state_version.sql", reverse_sql=REVERSE_SQL)]
