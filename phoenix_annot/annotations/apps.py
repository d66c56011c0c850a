from django.apps import AppConfig


class AnnotationsConfig(AppConfig):
    name = "phoenix_annot.annotations"
    label = "annotations"
