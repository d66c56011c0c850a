from django.apps import AppConfig


class QueuesConfig(AppConfig):
    name = "phoenix_annot.queues"
    label = "queues"
    verbose_name = "review queues"
