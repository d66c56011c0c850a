from django.apps import AppConfig


class WebConfig(AppConfig):
    """Pages and their template tags; no models."""

    name = "phoenix_annot.web"
    label = "web"
