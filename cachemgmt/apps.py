from django.apps import AppConfig


class CachemgmtConfig(AppConfig):
    name = "cachemgmt"
    verbose_name = "Cache"

    def ready(self) -> None:
        from django.contrib.auth import get_user_model
        from django.contrib.auth.models import Group, Permission
        from django.core.signals import setting_changed
        from django.db.backends.signals import connection_created
        from django.db.models.signals import m2m_changed, post_delete, post_save

        from cachemgmt.constants import INVALIDATE_CHANNEL
        from cachemgmt.health import register_cache_checks
        from cachemgmt.hitpath import forget_permissions, forget_user
        from cachemgmt.middleware import drop_notes_of_new_connection
        from cachemgmt.runtime import forget_store
        from cachemgmt.services import cache_apply_events, cache_apply_notice, cache_resync
        from pggit_project.events import register_channel_handler, register_event_handler

        register_cache_checks()
        user_model = get_user_model()
        post_save.connect(forget_user, sender=user_model, dispatch_uid="cachemgmt_user_saved")
        post_delete.connect(forget_user, sender=user_model, dispatch_uid="cachemgmt_user_deleted")
        # Permissions decide what a user may read: any change to them makes user states stale.
        for through in (
            user_model.groups.through,
            user_model.user_permissions.through,
            Group.permissions.through,
        ):
            m2m_changed.connect(
                forget_permissions, sender=through, dispatch_uid=f"cachemgmt_m2m_{through.__name__}"
            )
        for model in (Group, Permission):
            for signal in (post_save, post_delete):
                signal.connect(
                    forget_permissions,
                    sender=model,
                    dispatch_uid=f"cachemgmt_{signal is post_save}_{model.__name__}",
                )
        connection_created.connect(
            drop_notes_of_new_connection, dispatch_uid="cachemgmt_drop_notes_of_new_connection"
        )
        setting_changed.connect(forget_store, dispatch_uid="cachemgmt_forget_store")
        register_event_handler("cache", handle=cache_apply_events, resync=cache_resync)
        register_channel_handler(INVALIDATE_CHANNEL, cache_apply_notice)
