from django.apps import AppConfig


class CachemgmtConfig(AppConfig):
    name = "cachemgmt"
    verbose_name = "Cache"

    def ready(self) -> None:
        from django.contrib.auth import get_user_model
        from django.core.signals import setting_changed
        from django.db.models.signals import post_delete, post_save

        from cachemgmt.constants import INVALIDATE_CHANNEL
        from cachemgmt.health import register_cache_checks
        from cachemgmt.hitpath import forget_user
        from cachemgmt.runtime import forget_store
        from cachemgmt.services import cache_apply_events, cache_apply_notice, cache_resync
        from pggit_project.events import register_channel_handler, register_event_handler

        register_cache_checks()
        user_model = get_user_model()
        post_save.connect(forget_user, sender=user_model, dispatch_uid="cachemgmt_user_saved")
        post_delete.connect(forget_user, sender=user_model, dispatch_uid="cachemgmt_user_deleted")
        setting_changed.connect(forget_store, dispatch_uid="cachemgmt_forget_store")
        register_event_handler("cache", handle=cache_apply_events, resync=cache_resync)
        register_channel_handler(INVALIDATE_CHANNEL, cache_apply_notice)
