"""Loads sql/014_monitoring_fast_link.sql: an operation that contains others opens its span when it
starts, so its children are inserted with their parent (no update of their rows); the foreign key
on operations.parent_id is replaced by the same transaction's insertions and a delete trigger;
branch delete / rename / protect and rescan are recorded."""

from django.db import migrations

from pggit_project.sqlfiles import run_sql_file


class Migration(migrations.Migration):
    # vcs 0009_fixes: the file replaces engine functions (commit, checkout, rescan, branch_*)
    # whose latest definitions are in sql/003..008.
    dependencies = [("alerts", "0005_alert_raise_silences"), ("vcs", "0009_fixes")]

    operations = [
        run_sql_file(
            "014_monitoring_fast_link.sql",
            # No reverse of its own: it replaces function bodies and adds a trigger; reversing
            # alerts 0001 / vcs 0001 drops them with the pggit schema.
            reverse_sql=migrations.RunSQL.noop,
        ),
    ]
