from django.apps import AppConfig


class DatasetsConfig(AppConfig):
    name = "phoenix_annot.datasets"
    label = "datasets"
