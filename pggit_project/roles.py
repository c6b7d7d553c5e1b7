"""The roles: groups ``viewer``, ``operator`` and ``admin`` and their permissions.

docs/security.md describes what each role may see and do. The migration
``pggit_project/migrations/0003_roles.py`` makes them; ``manage.py pggit_roles`` brings their
permissions back to these sets (e.g. after an upgrade added permissions: ``admin`` gets them).
Users' memberships are never changed here.

- viewer: every ``view_*`` permission of pgGit's apps (``ROLE_APPS``); answers hide secrets
  (``pggit_project.view_sensitive``).
- operator: the viewer's permissions, ``pggit_project.view_sensitive`` and the changes of daily
  operation (``OPERATOR_CHANGES``).
- admin: every permission, user and group management included.
"""

from __future__ import annotations

VIEWER, OPERATOR, ADMIN = "viewer", "operator", "admin"
ROLES = (VIEWER, OPERATOR, ADMIN)
ROLE_APPS = ("vcs", "alerts", "webhooks", "cachemgmt")
OPERATOR_CHANGES = (
    "pggit_project.view_sensitive",
    "vcs.add_branch",
    "vcs.change_branch",
    "vcs.delete_branch",
    "vcs.checkout_branch",
    "vcs.add_commit",
    "vcs.revert_commit",
    "vcs.add_merge",
    "vcs.change_merge",
    "alerts.add_alert",
    "alerts.change_alert",
    "alerts.add_alertsilence",
    "alerts.change_alertsilence",
    "alerts.delete_alertsilence",
    "alerts.change_performancebaseline",
    "webhooks.add_webhookendpoint",
    "webhooks.change_webhookendpoint",
    "webhooks.delete_webhookendpoint",
    "webhooks.change_webhookdelivery",
    "cachemgmt.warm_cache",
    "cachemgmt.invalidate_cache",
)


def sync_roles(apps=None) -> dict[str, int]:
    """Make the three groups and set their permissions; ``{role: number of permissions}``.

    ``apps``: a migration's app registry (the real one when ``None``). Permissions are made
    first: in a migration they do not exist yet (Django makes them after all migrations ran).
    """
    from django.apps import apps as global_apps
    from django.contrib.auth.management import create_permissions

    registry = apps or global_apps
    for app_config in registry.get_app_configs():
        if apps is not None:
            app_config.models_module = True
        create_permissions(app_config, apps=registry, verbosity=0)
        if apps is not None:
            app_config.models_module = None
    group = registry.get_model("auth", "Group")
    permission = registry.get_model("auth", "Permission")
    viewing = list(
        permission.objects.filter(
            content_type__app_label__in=ROLE_APPS, codename__startswith="view_"
        )
    )
    operating = []
    for name in OPERATOR_CHANGES:
        app_label, codename = name.split(".", 1)
        operating.append(
            permission.objects.get(content_type__app_label=app_label, codename=codename)
        )
    sets = {VIEWER: viewing, OPERATOR: viewing + operating, ADMIN: list(permission.objects.all())}
    for name in ROLES:
        role, _ = group.objects.get_or_create(name=name)
        role.permissions.set(sets[name])
    return {name: len(sets[name]) for name in ROLES}
