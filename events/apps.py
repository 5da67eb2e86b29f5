from django.apps import AppConfig


class EventsConfig(AppConfig):
    name = "events"
    verbose_name = "事件 Cases"

    def ready(self) -> None:
        from django.db.models.signals import post_delete, post_save

        from cockpit import localcache
        from events.models import CalendarDay, Category, DeadlinePolicy
        from grids.models import Node

        # A change in this process clears its per-process cache at once (cockpit.localcache).
        for model, namespace in (
            (Category, "category"),
            (DeadlinePolicy, "policy"),
            (CalendarDay, "calendar"),
            (Node, "town"),
        ):

            def clear(sender, namespace=namespace, **kwargs):
                localcache.clear(namespace)

            for signal in (post_save, post_delete):
                signal.connect(
                    clear, sender=model, weak=False, dispatch_uid=f"localcache-{namespace}"
                )
