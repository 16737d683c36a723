"""Stamp every new session at sign-in (see ``sessions``)."""

from __future__ import annotations

from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver

from contactcards.accounts.sessions import start_session


@receiver(user_logged_in, dispatch_uid="linqadmin-start-session")
def stamp_session(sender, request, user, **kwargs) -> None:
    if request is not None and hasattr(request, "session"):
        start_session(request, user)
