from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ContactCardsConfig(AppConfig):
    name = "contactcards"
    verbose_name = _("Contact cards")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.contrib.auth.signals import user_logged_in

        from linqadmin import checks as configuration_checks  # noqa: F401  (missing production secrets)

        from . import (
            checks,  # noqa: F401  (registers the stored-data checks)
            timezones,
        )
        from .photos import checks as photo_checks  # noqa: F401  (registers the photo deploy checks)

        user_logged_in.connect(timezones.on_sign_in, dispatch_uid="linqadmin-time-zone")
