"""Loads sql/032_cache_operations_announce.sql: pggit.record_operation announces its own rows to
the cache (sql/014); the statement triggers on pggit.operations cover every other write."""

from django.db import migrations

from pggit_project.sqlfiles import read_sql_file, run_sql_file

# Going back: drop the two triggers and re-run sql/030, which recreates the one trigger of
# pggit.operations as it was (the file is all CREATE OR REPLACE / DROP TRIGGER IF EXISTS). A
# one-element list each: sent as one string, never split.
REVERSE_SQL = [
    "DROP TRIGGER IF EXISTS cache_announce_change_written ON pggit.operations;"
    " DROP TRIGGER IF EXISTS cache_announce_change_inserted ON pggit.operations;",
    read_sql_file("030_cache.sql"),
]


class Migration(migrations.Migration):
    dependencies = [
        ("cachemgmt", "0003_cache_users"),
        ("alerts", "0006_monitoring_fast_link"),
    ]

    operations = [run_sql_file("032_cache_operations_announce.sql", reverse_sql=REVERSE_SQL)]
