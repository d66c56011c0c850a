from django.apps import AppConfig


class CorrectionsConfig(AppConfig):
    name = "phoenix_annot.corrections"
    label = "corrections"
    verbose_name = "corrected outputs"
