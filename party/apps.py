from django.apps import AppConfig


class PartyConfig(AppConfig):
    name = "party"
    verbose_name = "智慧党建 Party building"
