"""Stamp every new session at sign-in, and end password-only sessions once a second factor exists (see ``sessions``)."""

from __future__ import annotations

from django.contrib.auth.signals import user_logged_in
from django.db.models.signals import post_save
from django.dispatch import receiver
from django_otp import device_classes

from contactcards.accounts.selectors import SIGN_IN_DEVICE_NAME
from contactcards.accounts.sessions import second_factor_added, start_session


@receiver(user_logged_in, dispatch_uid="linqadmin-start-session")
def stamp_session(sender, request, user, **kwargs) -> None:
    if request is not None and hasattr(request, "session"):
        start_session(request, user)


def device_created(sender, instance, created: bool, raw: bool = False, **kwargs) -> None:
    """A new confirmed sign-in device, from the setup page or the admin: other sessions end."""
    if created and not raw and instance.confirmed and instance.name == SIGN_IN_DEVICE_NAME:
        second_factor_added(instance.user)


def connect_device_signals() -> None:
    """Called from AppConfig.ready(): every device model of the installed django-otp plugins."""
    for model in device_classes():
        post_save.connect(device_created, sender=model, dispatch_uid=f"linqadmin-device-{model._meta.label_lower}")
