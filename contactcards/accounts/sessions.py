"""Sessions: an idle timeout, and "sign out everywhere" through a per-account epoch.

Django keeps sessions in the database and checks each one against the account's password hash,
so a password change already ends every other session. "Sign out everywhere" must work without
one: each session is stamped at sign-in with the account's epoch, and bumping the epoch makes
every older session invalid on its next request. The epoch comes with the user row (see
``backends.ModelBackend``), so the check costs no query.

The idle timeout is Django's SESSION_COOKIE_AGE, renewed whenever the session is saved; a
session is saved (renewed) at most once per SESSION_REFRESH_SECONDS of activity rather than on
every request, which would cost a write per page.
"""

from __future__ import annotations

import time

from django.conf import settings
from django.contrib.auth import logout
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import F
from django.http import HttpRequest

from contactcards.accounts.models import AccountSecurity

SESSION_EPOCH_KEY = "account_epoch"
RENEWED_AT_KEY = "renewed_at"


def account_epoch(user: AbstractBaseUser) -> int:
    try:
        return user.account_security.session_epoch
    except AccountSecurity.DoesNotExist:
        return 0


def start_session(request: HttpRequest, user: AbstractBaseUser) -> None:
    """Called at sign-in: stamp the new session with the account's epoch and its renewal time."""
    request.session[SESSION_EPOCH_KEY] = account_epoch(user)
    request.session[RENEWED_AT_KEY] = int(time.time())


def sign_out_everywhere(request: HttpRequest) -> None:
    """End every session of the signed-in account, this one included."""
    with transaction.atomic():
        security, _ = AccountSecurity.objects.get_or_create(user=request.user)
        AccountSecurity.objects.filter(pk=security.pk).update(session_epoch=F("session_epoch") + 1)
    logout(request)


def session_is_current(request: HttpRequest) -> bool:
    return request.session.get(SESSION_EPOCH_KEY, 0) == account_epoch(request.user)


def keep_alive(request: HttpRequest) -> None:
    """Renew the session's expiry (the idle timeout) if it was last renewed long enough ago."""
    now = int(time.time())
    if now - request.session.get(RENEWED_AT_KEY, 0) >= settings.SESSION_REFRESH_SECONDS:
        request.session[RENEWED_AT_KEY] = now
