from django.apps import AppConfig


class VcsConfig(AppConfig):
    name = "vcs"
    verbose_name = "Version control"
