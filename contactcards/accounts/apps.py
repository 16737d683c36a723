from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    default = True
    name = "contactcards.accounts"
    label = "accounts"
    verbose_name = _("Accounts")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from contactcards.accounts import checks, signals  # noqa: F401 - signals stamp each new session with the
        # account's session epoch; checks registers single sign-on's configuration check

        signals.connect_device_signals()


class AdminConfig(admin_apps.AdminConfig):
    """Django's admin, on a site that requires two-factor sign-in when ADMIN_REQUIRE_TWO_FACTOR is on."""

    default = False  # INSTALLED_APPS names it explicitly
    default_site = "contactcards.accounts.admin_site.AdminSite"
