from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "phoenix_annot.core"
    label = "core"
