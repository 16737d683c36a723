from django.apps import AppConfig


class ContactCardsConfig(AppConfig):
    name = "contactcards"
    verbose_name = "Contact cards"
    default_auto_field = "django.db.models.BigAutoField"
