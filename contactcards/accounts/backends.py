"""Django's model backend, loading each request's user together with its session epoch (one query, not two).

With SSO_ONLY, a password signs in superusers only (the break-glass account); anyone else's is refused
like a wrong one (the sign-in form says to use single sign-on)."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend as DjangoModelBackend


class ModelBackend(DjangoModelBackend):
    def get_user(self, user_id):
        User = get_user_model()
        user = User._default_manager.select_related("account_security").filter(pk=user_id).first()
        return user if user is not None and self.user_can_authenticate(user) else None

    def authenticate(self, request, username=None, password=None, **kwargs):
        user = super().authenticate(request, username=username, password=password, **kwargs)
        if user is not None and settings.SSO_ONLY and not user.is_superuser:
            return None
        return user
