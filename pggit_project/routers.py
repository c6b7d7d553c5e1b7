"""Routes that answer with and without a trailing slash (``APPEND_SLASH`` is off: no redirects)."""

from __future__ import annotations

from django.urls import re_path
from rest_framework.routers import SimpleRouter


class OptionalSlashRouter(SimpleRouter):
    """A DRF router whose routes match ``/things`` and ``/things/`` alike."""

    def __init__(self) -> None:
        super().__init__()
        # Set after __init__: DRF >= 3.15 turns any truthy ``trailing_slash`` argument into "/".
        self.trailing_slash = "/?"


def optional_slash(route: str, view, name: str | None = None):
    """A URL pattern for ``route`` (no leading or trailing slash) that also matches ``route/``."""
    return re_path(rf"^{route.strip('/')}/?$", view, name=name)
