from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ContactCardsConfig(AppConfig):
    name = "contactcards"
    verbose_name = _("Contact cards")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.contrib.auth.signals import user_logged_in
        from django.urls import register_converter

        from contactcards.common import (
            checks,  # noqa: F401  (registers the stored-data checks)
            converters,
            timezones,
            tracing,
        )
        from contactcards.photos import checks as photo_checks  # noqa: F401  (registers the photo deploy checks)
        from linqadmin import checks as configuration_checks  # noqa: F401  (missing production secrets)

        # Tracing, once per process, only when an OTLP endpoint is configured (imports nothing otherwise).
        tracing.setup()
        register_converter(converters.E164Converter, "e164")  # <e164:...> in every domain's urls.py
        user_logged_in.connect(timezones.on_sign_in, dispatch_uid="linqadmin-time-zone")
