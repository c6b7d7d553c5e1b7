"""App config of the project package: signal wiring, health checks, the backends log line."""

import logging
import os

from django.apps import AppConfig
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.signals import request_finished
from django.db.backends.signals import connection_created
from django.db.models.signals import post_migrate, post_save, pre_migrate

logger = logging.getLogger("pggit")


class PggitProjectConfig(AppConfig):
    name = "pggit_project"
    label = "pggit_project"
    verbose_name = "pgGit project"

    def ready(self) -> None:
        from pggit_project.db import (
            create_console_schema_before_migrate,
            use_compiled_timestamptz_loader,
        )
        from pggit_project.health import register_foundation_checks
        from pggit_project.realtime import register_forwarding, register_socket_path_check
        from pggit_project.request_id import unbind_request_id
        from pggit_project.tokens import end_tokens_of_deactivated_user
        from pggit_project.ws_auth import install_token_redaction

        pre_migrate.connect(
            create_console_schema_before_migrate, dispatch_uid="pggit_console_schema"
        )
        post_migrate.connect(
            sync_engine_after_migrate, sender=self, dispatch_uid="pggit_engine_sql"
        )
        connection_created.connect(
            use_compiled_timestamptz_loader, dispatch_uid="pggit_timestamptz_loader"
        )
        request_finished.connect(unbind_request_id, dispatch_uid="pggit_request_id")
        register_foundation_checks()
        post_save.connect(
            end_tokens_of_deactivated_user,
            sender=get_user_model(),
            dispatch_uid="pggit_end_tokens_of_deactivated_user",
        )
        register_socket_path_check()
        register_forwarding()
        install_token_redaction()


# Set in the environment once the start-up lines were logged: the processes `manage.py serve`
# starts inherit it and stay quiet.
ANNOUNCED_ENV = "PGGIT_START_UP_ANNOUNCED"


def announce_start_up() -> None:
    """Logs the backends line and the development warnings once per server run: by
    ``manage.py serve`` (``make run``) for all the processes it starts, or by a web process
    started on its own (``pggit_project.asgi``). Shell commands (``manage.py pggit status``...)
    do not log them."""
    from pggit_project.settings.environment import DEVELOPMENT_FALLBACKS

    if os.environ.get(ANNOUNCED_ENV):
        return
    os.environ[ANNOUNCED_ENV] = "1"
    logger.info(settings.PGGIT_BACKENDS_DESCRIPTION)
    for fallback in DEVELOPMENT_FALLBACKS:
        logger.warning("DJANGO_DEBUG is on: using a development fallback for %s", fallback)


def sync_engine_after_migrate(
    sender, app_config, verbosity=1, using="default", plan=None, **kwargs
):
    """Every `migrate` applies the files of sql/ whose text changed (the engine files are edited
    in place: no migration per change). Not after `flush` (plan None): nothing changed there."""
    if plan is None:
        return
    from django.db import connections, transaction

    from pggit_project.engine_sql import sync

    def report(line: str) -> None:
        if verbosity >= 1:
            print(f"  pggit engine: {line}")

    with transaction.atomic(using=using), connections[using].cursor() as cursor:
        cursor.execute("SELECT to_regnamespace('pggit') IS NOT NULL")
        if cursor.fetchone()[0]:  # not when migrating backwards past pggit_project 0001
            sync(cursor, report=report)
