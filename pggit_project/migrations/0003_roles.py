"""The roles: groups ``viewer``, ``operator`` and ``admin`` with their permissions
(pggit_project/roles.py; docs/security.md)."""

from django.db import migrations

from pggit_project.roles import ROLES, sync_roles


def make_roles(apps, schema_editor):
    sync_roles(apps)


def remove_roles(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=ROLES).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("pggit_project", "0002_access"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("sessions", "0001_initial"),
        ("admin", "0003_logentry_add_action_flag_choices"),
        ("token_blacklist", "0013_alter_blacklistedtoken_options_and_more"),
        ("axes", "0010_accessattemptexpiration"),
        ("vcs", "0001_initial"),
        ("alerts", "0001_initial"),
        ("webhooks", "0001_initial"),
        ("cachemgmt", "0003_cache_user_permissions"),
    ]

    operations = [migrations.RunPython(make_roles, remove_roles)]
