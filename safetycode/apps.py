from django.apps import AppConfig


class SafetycodeConfig(AppConfig):
    name = "safetycode"
    verbose_name = "平安码 Safety codes"
