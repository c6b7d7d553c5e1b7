from django.apps import AppConfig


class VcsConfig(AppConfig):
    name = "vcs"
    verbose_name = "Version control"

    def ready(self) -> None:
        from vcs.health import register_engine_checks

        register_engine_checks()
