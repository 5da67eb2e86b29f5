from django.apps import AppConfig


class LivelihoodConfig(AppConfig):
    name = "livelihood"
    verbose_name = "民生直达 Livelihood"
