"""The operator role may merge (``vcs.add_merge``, ``vcs.change_merge``: resolve, complete,
abort); every role sees merges, their conflicts and rollbacks (``view_*``). Brings the roles'
permissions to pggit_project/roles.py again, as ``manage.py pggit_roles`` does."""

from django.db import migrations

from pggit_project.roles import sync_roles


def make_roles(apps, schema_editor):
    sync_roles(apps)


class Migration(migrations.Migration):
    dependencies = [
        ("pggit_project", "0003_roles"),
        ("vcs", "0002_merges"),
    ]

    operations = [migrations.RunPython(make_roles, migrations.RunPython.noop)]
