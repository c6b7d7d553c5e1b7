"""Loads sql/033_cache_operations_judged.sql: rows inserted into pggit.operations are announced by
the recording functions or by the monitoring trigger (sql/015); the INSERT statement trigger of
sql/032 goes."""

from django.db import migrations

from pggit_project.sqlfiles import read_sql_file, run_sql_file

# Going back: sql/032 re-creates the INSERT statement trigger (the file is all DROP TRIGGER IF
# EXISTS / CREATE TRIGGER). A one-element list: sent as one string, never split.
REVERSE_SQL = [read_sql_file("032_cache_operations_announce.sql")]


class Migration(migrations.Migration):
    dependencies = [
        ("cachemgmt", "0004_operations_announce"),
        ("alerts", "0007_monitoring_spans"),
    ]

    operations = [run_sql_file("033_cache_operations_judged.sql", reverse_sql=REVERSE_SQL)]
