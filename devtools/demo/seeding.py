"""Helpers for seeding a history at chosen times (``manage.py seedaudit`` and the tests)."""

from __future__ import annotations

from contextlib import contextmanager

from contactcards.models import AuditEntry


@contextmanager
def keep_created_at():
    """Let bulk_create store our historical timestamps instead of auto_now_add's "now"."""
    created_at = AuditEntry._meta.get_field("created_at")
    saved = created_at.auto_now_add
    created_at.auto_now_add = False
    try:
        yield
    finally:
        created_at.auto_now_add = saved
