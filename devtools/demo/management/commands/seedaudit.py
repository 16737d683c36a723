"""Seed a realistic audit history, fast, for benchmarks and for trying the history pages at scale.

Usage: ``manage.py seedaudit --rows 1000000 [--team SLUG] [--months 12]``

Rows go in with ``bulk_create`` in batches, oldest first (ids grow with time, as in real life),
spread over the last ``--months`` months across the team's numbers (some busier than others) and
members, with a realistic mix of actions and outcomes (most succeed; some API errors with Linq's
codes and trace ids; a few network errors). Without ``--team`` it uses (and creates if needed)
a "bench" team with 40 numbers and 12 members.

With two database roles it runs as the owner role (MIGRATE_DATABASE_URL): for the runtime role the
database dates every audit row itself (migration 0014), so a history in the past can only be seeded
by the role that owns the table.
"""

from __future__ import annotations

import random
import time as clock
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from contactcards.common.dbroles import as_owner
from contactcards.models import AuditEntry, Membership, PhoneNumber, Role, Team, point_numbers_at_newest_entries
from devtools.demo.seeding import keep_created_at

FIRST_NAMES = ["Acme", "Support", "Sales", "Billing", "Help", "Ops", "Care", "Team", "Front Desk", "Night Shift"]
LAST_NAMES = ["", "Support", "Inc", "Desk", "Line", "EU", "US", "West"]
IMAGES = ["", "https://cdn.example.com/logo.png", "https://cdn.example.com/logo-2.png"]
API_ERRORS = [
    (400, 1002, "Phone number must be in E.164 format"),
    (409, 2014, "A contact card already exists for this number"),
    (404, 2012, "Contact card not found"),
    (429, 1006, "Rate limit exceeded"),
    (500, 2022, "Contact card setup failed"),
    (503, 4004, "The update did not reach the line"),
    (401, 2004, "Invalid or missing bearer token"),
]
NETWORK_ERRORS = ["Could not connect to Linq.", "Linq did not answer in time.", "The connection was reset."]


def bench_team(slug: str) -> tuple[Team, list[PhoneNumber], list]:
    """The team to seed, with numbers and members (created when it has none)."""
    team, _ = Team.objects.get_or_create(slug=slug, defaults={"name": slug.replace("-", " ").title()})
    numbers = list(PhoneNumber.objects.filter(team=team))
    if not numbers:
        PhoneNumber.objects.bulk_create(
            [PhoneNumber(team=team, e164=f"+1555010{i:04d}", label=f"Line {i}") for i in range(1, 41)]
        )
        numbers = list(PhoneNumber.objects.filter(team=team))
    users = [m.user for m in Membership.objects.filter(team=team).select_related("user")]
    if not users:
        User = get_user_model()
        for i in range(1, 13):
            user, _ = User.objects.get_or_create(username=f"{slug}-user-{i:02d}")
            Membership.objects.get_or_create(team=team, user=user, defaults={"role": Role.EDITOR})
            users.append(user)
    return team, numbers, users


def _entry(rng: random.Random, team: Team, number: PhoneNumber, user, created_at) -> AuditEntry:
    roll = rng.random()
    action = (AuditEntry.Action.TOKEN_CHANGE if roll < 0.02
              else AuditEntry.Action.SUBSCRIPTION if roll < 0.025
              else AuditEntry.Action.OUTSIDE if roll < 0.06
              else rng.choice(TEAM_ADMIN_ACTIONS) if roll < 0.09
              else rng.choice(LINE_ACTIONS) if roll < 0.10
              else AuditEntry.Action.CREATE if roll < 0.16 else AuditEntry.Action.UPDATE)
    # *_id rather than objects: the related-object descriptors are a measurable part of the cost
    entry = AuditEntry(team_id=team.pk, user_id=user.pk, username=user.get_username(), action=action,
                       created_at=created_at, client_ip=f"10.0.{rng.randrange(256)}.{rng.randrange(1, 255)}")
    if action in (AuditEntry.Action.TOKEN_CHANGE, AuditEntry.Action.SUBSCRIPTION):
        entry.outcome = AuditEntry.Outcome.SUCCESS
        return entry
    if action == AuditEntry.Action.OUTSIDE:  # changed in Linq's dashboard, found by its webhook
        entry.number_id, entry.phone_number = number.pk, number.e164
        entry.user_id, entry.username, entry.request_sent = None, "Dana Dashboard <dana@example.com>", False
        entry.actor_type, entry.origin, entry.found_by = "team_member", "dashboard", "webhook"
        entry.occurred_at = created_at
        entry.changes = {"last_name": rng.sample(LAST_NAMES, 2)}
        entry.outcome = AuditEntry.Outcome.SUCCESS
        return entry
    if action in LINE_ACTIONS:  # what Linq said about a line (sync/health.py), learned by its webhook
        entry.number_id, entry.phone_number = number.pk, number.e164
        entry.user_id, entry.username, entry.request_sent = None, "Linq", False
        entry.actor_type, entry.found_by, entry.occurred_at = "system", "webhook", created_at
        entry.outcome = AuditEntry.Outcome.SUCCESS
        entry.changes = ({"released": [False, True]} if action == AuditEntry.Action.LINE_RELEASED
                         else {"released": [True, False]} if action == AuditEntry.Action.LINE_ASSIGNED
                         else rng.choice(({"status": ["ACTIVE", "FLAGGED"]}, {"reputation": ["HEALTHY", "AT_RISK"]},
                                          {"reputation": ["AT_RISK", "CRITICAL"]})))
        return entry
    if action in TEAM_ADMIN_ACTIONS:  # no Linq call
        entry.outcome, entry.request_sent = AuditEntry.Outcome.SUCCESS, False
        if action == AuditEntry.Action.NUMBER_LABELS:  # many numbers at once: no number of its own
            entry.subject = number.e164
            entry.changes = {"tags_added": [None, rng.choice(("west", "vip", "support"))]}
        elif action.startswith("number_"):
            entry.number_id, entry.phone_number = number.pk, number.e164
        elif action == AuditEntry.Action.TWO_FACTOR_POLICY:
            entry.changes = {"require_two_factor": [False, True]}
        elif action == AuditEntry.Action.LINE_AUTO_ADD:
            entry.changes = {"auto_add_assigned": [False, True]}
        elif action == AuditEntry.Action.APPROVAL_RULE:
            entry.changes = {"changes_need_approval": [False, True], "approvers": ["", "bob"]}
        elif action.startswith("stream_"):  # the team's audit streams
            entry.subject = rng.choice(("SIEM", "Splunk", "syslog"))
            entry.changes = {"stream": [None, "https://siem.example.com/linqadmin"]}
        else:
            entry.subject = f"{rng.choice(FIRST_NAMES).lower()}@example.com"
            entry.changes = {"role": [None, rng.choice(Role.values)]}
        return entry
    entry.number_id, entry.phone_number = number.pk, number.e164
    field = rng.choice(("first_name", "last_name", "image_url"))
    pool = {"first_name": FIRST_NAMES, "last_name": LAST_NAMES, "image_url": IMAGES}[field]
    old, new = rng.sample(pool, 2)
    if action == AuditEntry.Action.CREATE:
        entry.changes = {"first_name": ["", rng.choice(FIRST_NAMES)]}
        entry.request_body = {"phone_number": number.e164, "first_name": entry.changes["first_name"][1]}
    else:
        entry.changes = {field: [old, new]}
        entry.request_body = {field: new}
    entry.trace_id = f"{rng.getrandbits(64):016x}"
    entry.duration_ms = int(rng.lognormvariate(5.3, 0.5))
    outcome = rng.random()
    if outcome < 0.88:
        entry.outcome, entry.http_status = AuditEntry.Outcome.SUCCESS, 200
    elif outcome < 0.97:
        entry.outcome = AuditEntry.Outcome.API_ERROR
        entry.http_status, entry.linq_code, entry.error_message = rng.choice(API_ERRORS)
        if entry.http_status == 429:
            entry.retry_after = rng.choice((30, 60, 120))
    else:
        entry.outcome, entry.trace_id = AuditEntry.Outcome.NETWORK_ERROR, ""
        entry.request_sent = rng.random() < 0.5
        entry.error_message = rng.choice(NETWORK_ERRORS)
    return entry


TEAM_ADMIN_ACTIONS = [
    AuditEntry.Action.MEMBER_INVITE, AuditEntry.Action.MEMBER_ADD, AuditEntry.Action.MEMBER_ROLE,
    AuditEntry.Action.MEMBER_REMOVE, AuditEntry.Action.NUMBER_ADD, AuditEntry.Action.NUMBER_REMOVE,
    AuditEntry.Action.NUMBER_IMPORT, AuditEntry.Action.NUMBER_LABELS, AuditEntry.Action.TWO_FACTOR_POLICY,
    AuditEntry.Action.STREAM_ADD, AuditEntry.Action.STREAM_CHANGE, AuditEntry.Action.STREAM_PAUSE,
    AuditEntry.Action.STREAM_RESUME, AuditEntry.Action.STREAM_SECRET, AuditEntry.Action.STREAM_DELETE,
    AuditEntry.Action.LINE_AUTO_ADD, AuditEntry.Action.APPROVAL_RULE, AuditEntry.Action.API_TOKEN_CREATE,
    AuditEntry.Action.API_TOKEN_REVOKE,
    # a deferred change's steps (rollout/deferred.py): without their job here, as an old job's rows are
    AuditEntry.Action.CHANGE_REQUESTED, AuditEntry.Action.CHANGE_APPROVED, AuditEntry.Action.CHANGE_REJECTED,
    AuditEntry.Action.CHANGE_EXPIRED, AuditEntry.Action.CHANGE_SCHEDULED, AuditEntry.Action.SCHEDULE_STARTED,
    AuditEntry.Action.SCHEDULE_RESTORED, AuditEntry.Action.CHANGE_CANCELLED,
]
LINE_ACTIONS = [AuditEntry.Action.LINE_HEALTH, AuditEntry.Action.LINE_ASSIGNED, AuditEntry.Action.LINE_RELEASED]


class Command(BaseCommand):
    help = "Bulk-insert a realistic audit history (for benchmarks): --rows N [--team SLUG] [--months M]."

    def add_arguments(self, parser):
        parser.add_argument("--rows", type=int, required=True, help="how many entries to add")
        parser.add_argument("--team", default="bench", help="team slug (created if missing; default: bench)")
        parser.add_argument("--months", type=int, default=12, help="spread the entries over this many months")
        parser.add_argument("--batch", type=int, default=5000, help="rows per INSERT batch")
        parser.add_argument("--seed", type=int, default=2026, help="random seed (same seed, same history)")

    def handle(self, *args, rows: int, team: str, months: int, batch: int, seed: int, **options):
        if rows < 1 or months < 1 or batch < 1:
            raise CommandError("--rows, --months and --batch must be positive.")
        with as_owner():  # the runtime role cannot date rows in the past
            self._seed(rows=rows, team=team, months=months, batch=batch, seed=seed)

    def _seed(self, *, rows: int, team: str, months: int, batch: int, seed: int) -> None:
        started = clock.monotonic()
        team_obj, numbers, users = bench_team(team)
        rng = random.Random(seed)
        # A few numbers are much busier than the rest, as in real teams.
        weighted = [n for i, n in enumerate(numbers) for _ in range(max(1, 12 // (i + 1)))]
        end = timezone.now()
        span = timedelta(days=30 * months).total_seconds()
        start = end - timedelta(seconds=span)
        with keep_created_at():
            for offset in range(0, rows, batch):
                count = min(batch, rows - offset)
                entries = [
                    _entry(rng, team_obj, rng.choice(weighted), rng.choice(users),
                           start + timedelta(seconds=span * (offset + i + rng.random()) / rows))
                    for i in range(count)
                ]
                with transaction.atomic():
                    AuditEntry.objects.bulk_create(entries)
                if offset and offset % (batch * 20) == 0:
                    self.stdout.write(f"  {offset + count} rows…")
        point_numbers_at_newest_entries(team_obj.numbers.all())  # bulk_create skips AuditEntry.save
        elapsed = clock.monotonic() - started
        self.stdout.write(self.style.SUCCESS(
            f"Seeded {rows} audit entries for team {team_obj.slug} in {elapsed:.1f} s "
            f"({len(numbers)} numbers, {len(users)} members, {months} months)."
        ))
