"""App config of the project package: signal wiring, health checks, the backends log line."""

import logging

from django.apps import AppConfig
from django.conf import settings
from django.core.signals import request_finished
from django.db.models.signals import pre_migrate

logger = logging.getLogger("pggit")


class PggitProjectConfig(AppConfig):
    name = "pggit_project"
    label = "pggit_project"
    verbose_name = "pgGit project"

    def ready(self) -> None:
        from pggit_project.db import create_console_schema_before_migrate
        from pggit_project.health import register_foundation_checks
        from pggit_project.realtime import register_forwarding, register_socket_path_check
        from pggit_project.request_id import unbind_request_id
        from pggit_project.settings.environment import DEVELOPMENT_FALLBACKS
        from pggit_project.ws_auth import install_token_redaction

        pre_migrate.connect(
            create_console_schema_before_migrate, dispatch_uid="pggit_console_schema"
        )
        request_finished.connect(unbind_request_id, dispatch_uid="pggit_request_id")
        register_foundation_checks()
        register_socket_path_check()
        register_forwarding()
        install_token_redaction()
        logger.info(settings.PGGIT_BACKENDS_DESCRIPTION)
        for fallback in DEVELOPMENT_FALLBACKS:
            logger.warning("DJANGO_DEBUG is on: using a development fallback for %s", fallback)
