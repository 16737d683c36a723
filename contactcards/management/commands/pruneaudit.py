"""Retention for the audit history: the one and only way to delete audit entries.

Usage: ``manage.py pruneaudit --before YYYY-MM-DD [--dry-run]`` deletes every entry created
before midnight (TIME_ZONE) at the start of that day.

How it gets past the append-only protections, on purpose and nowhere else:

* The model and its queryset refuse ``delete()``; this command uses the queryset's
  ``_raw_delete`` (one ``DELETE ... WHERE created_at < %s``, no signals, no per-row work).
* With two database roles (``contactcards.common.dbroles``), the runtime role has no DELETE on the
  table at all: this command switches to the owner role (MIGRATE_DATABASE_URL) for the prune.
* On PostgreSQL the trigger installed by migration 0002 rejects DELETE unless the transaction
  has run ``SET LOCAL linqadmin.allow_audit_prune = 'on'``. This command does that inside
  ``transaction.atomic()`` and switches it off again right after the DELETE, so the permission
  covers that one statement (and would end with the transaction in any case).
"""

from __future__ import annotations

import re
from datetime import date, datetime, time

from django.core.management.base import BaseCommand, CommandError
from django.db import connections, models, router, transaction
from django.utils import timezone

from contactcards.common.dbroles import as_owner
from contactcards.models import AuditEntry

ALLOW_PRUNE_SQL = "SET LOCAL linqadmin.allow_audit_prune = 'on'"
END_PRUNE_SQL = "SET LOCAL linqadmin.allow_audit_prune = 'off'"
_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def parse_day(value: str) -> date:
    if not _DATE_RE.match(value or ""):
        raise CommandError(f"--before must be a date as YYYY-MM-DD, not {value!r}.")
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise CommandError(f"--before {value} is not a real date.") from None


def _release_dependents(entries, using: str) -> None:
    """Apply on_delete for rows that point at the entries (e.g. FormToken.entry, SET_NULL).

    ``_raw_delete`` skips Django's collector, so without this the database's foreign-key check
    would refuse the DELETE. Only SET_NULL and CASCADE are expected; anything else stops the prune.
    """
    relations = [  # as Django's collector finds them, including related_name="+" ones
        f for f in AuditEntry._meta.get_fields(include_hidden=True)
        if f.auto_created and not f.concrete and (f.one_to_many or f.one_to_one)
    ]
    for relation in relations:
        field = relation.field
        dependents = relation.related_model._base_manager.using(using).filter(
            **{f"{field.name}__in": entries.values("pk")}
        )
        if relation.on_delete is models.SET_NULL:
            dependents.update(**{field.name: None})
        elif relation.on_delete is models.CASCADE:
            dependents.delete()
        elif dependents.exists():
            raise CommandError(
                f"{relation.related_model.__name__} rows still refer to entries before the cutoff; nothing was deleted."
            )


def audit_prune(*, before: datetime) -> int:
    """Delete entries created before ``before``; returns how many were deleted."""
    entries = AuditEntry.objects.filter(created_at__lt=before)
    using = router.db_for_write(AuditEntry)
    connection = connections[using]
    if connection.vendor != "postgresql":
        with transaction.atomic(using=using):
            _release_dependents(entries, using)
            return entries._raw_delete(using)
    with transaction.atomic(using=using), connection.cursor() as cursor:
        _release_dependents(entries, using)
        cursor.execute(ALLOW_PRUNE_SQL)
        deleted = entries._raw_delete(using)
        # Switch it off again at once: if a caller wrapped us in its own transaction, SET LOCAL
        # would otherwise last until *that* transaction ends.
        cursor.execute(END_PRUNE_SQL)
    return deleted


class Command(BaseCommand):
    help = (
        "Delete audit entries created before a date (retention). This is the only deletion path: "
        "the app, the admin and (on PostgreSQL) a database trigger refuse every other one."
    )

    def add_arguments(self, parser):
        parser.add_argument("--before", required=True, metavar="YYYY-MM-DD",
                            help="delete entries created before the start of this day (TIME_ZONE)")
        parser.add_argument("--dry-run", action="store_true", help="only count what would be deleted")

    def handle(self, *args, before: str, dry_run: bool = False, **options):
        day = parse_day(before)
        if day > timezone.localdate():
            raise CommandError(f"--before {day} is in the future; refusing to delete today's entries.")
        cutoff = timezone.make_aware(datetime.combine(day, time.min))
        if dry_run:
            count = AuditEntry.objects.filter(created_at__lt=cutoff).count()
            self.stdout.write(f"Dry run: {count} audit entries created before {cutoff.isoformat()} would be deleted.")
            return
        with as_owner():  # the runtime role may not delete audit rows; the owner role may (README "Production")
            deleted = audit_prune(before=cutoff)
        self.stdout.write(self.style.SUCCESS(
            f"Deleted {deleted} audit entries created before {cutoff.isoformat()}."
        ))
