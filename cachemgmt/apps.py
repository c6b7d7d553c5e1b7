from django.apps import AppConfig


class CachemgmtConfig(AppConfig):
    name = "cachemgmt"
    verbose_name = "Cache"
