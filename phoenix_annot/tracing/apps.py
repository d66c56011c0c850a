from django.apps import AppConfig


class TracingConfig(AppConfig):
    name = "phoenix_annot.tracing"
    label = "tracing"
