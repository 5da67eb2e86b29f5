from django.apps import AppConfig


class DispatchConfig(AppConfig):
    name = "dispatch"
    verbose_name = "调度 Dispatch"

    def ready(self) -> None:
        from dispatch import replies

        replies.connect()  # automatic answers to the reporter (答复模板 with auto_send)
