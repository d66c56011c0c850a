from django.apps import AppConfig


class DemoConfig(AppConfig):
    name = "phoenix_annot.demo"
    label = "demo"
