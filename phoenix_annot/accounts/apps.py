from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "phoenix_annot.accounts"
    label = "accounts"
