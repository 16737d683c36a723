"""Django's model backend, loading each request's user together with its session epoch (one query, not two)."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend as DjangoModelBackend


class ModelBackend(DjangoModelBackend):
    def get_user(self, user_id):
        User = get_user_model()
        user = User._default_manager.select_related("account_security").filter(pk=user_id).first()
        return user if user is not None and self.user_can_authenticate(user) else None
