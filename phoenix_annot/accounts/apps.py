from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "phoenix_annot.accounts"
    label = "accounts"

    def ready(self) -> None:
        from . import checks  # noqa: F401  (registers the deployment checks)
