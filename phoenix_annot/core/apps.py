from django.apps import AppConfig
from django.db.backends.signals import connection_created


class CoreConfig(AppConfig):
    name = "phoenix_annot.core"
    label = "core"

    def ready(self) -> None:
        from .pg_datetimes import use_c_timestamp_loader

        connection_created.connect(use_c_timestamp_loader)
