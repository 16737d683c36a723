"""Service functions for a team's settings: its token, members and numbers.

Owners call these through ``views/settings.py`` (access is checked there) and the management
commands. Card writes live in ``services.py``; both use its ``linq_client_for``.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction

from .linq import LinqError
from .models import AuditEntry, Membership, PhoneNumber, Role, Team
from .services import linq_client_for


def token_change(*, team: Team, user: AbstractBaseUser, token: str, client_ip: str | None = None) -> AuditEntry:
    """Replace the team's token and record who did it and when - never the value."""
    team.set_token(token)
    team.save(update_fields=["token_encrypted", "token_last4", "token_set_at"])
    return AuditEntry.objects.create(
        team=team, user=user, username=user.get_username(), action=AuditEntry.Action.TOKEN_CHANGE,
        outcome=AuditEntry.Outcome.SUCCESS, client_ip=client_ip,
    )


class TeamChangeError(Exception):
    """A team change that was refused for a reason the person can act on; the message says which."""


@dataclass(frozen=True)
class NumbersAdded:
    added: list[str]
    existing: list[str]


def numbers_existing(*, team: Team, e164s: list[str]) -> list[str]:
    """Which of these numbers the team already has, in the order given."""
    present = set(PhoneNumber.objects.filter(team=team, e164__in=e164s).values_list("e164", flat=True))
    return [e164 for e164 in e164s if e164 in present]


def numbers_add(*, team: Team, e164s: list[str]) -> NumbersAdded:
    """Add the numbers the team does not have yet; report the ones it already had."""
    existing = numbers_existing(team=team, e164s=e164s)
    new = [e164 for e164 in dict.fromkeys(e164s) if e164 not in existing]
    # ignore_conflicts: a concurrent add of the same number is not an error, just already done.
    PhoneNumber.objects.bulk_create([PhoneNumber(team=team, e164=e164) for e164 in new], ignore_conflicts=True)
    return NumbersAdded(added=new, existing=existing)


def number_remove(*, number: PhoneNumber) -> None:
    """Forget a number. Its audit rows stay (they keep the number as text)."""
    number.delete()


@dataclass(frozen=True)
class NumbersImport:
    """What Linq lists for the team's token, split into numbers the team has and new ones."""

    visible: list[str]
    new: list[str]
    error: LinqError | None = None


def numbers_import_preview(*, team: Team) -> NumbersImport:
    """One GET /v3/phone_numbers; nothing is stored."""
    try:
        listed = [info.phone_number for info in linq_client_for(team).list_phone_numbers()]
    except LinqError as error:
        return NumbersImport(visible=[], new=[], error=error)
    existing = set(numbers_existing(team=team, e164s=listed))
    return NumbersImport(visible=listed, new=[e164 for e164 in listed if e164 not in existing])


def numbers_sync(*, team: Team) -> tuple[NumbersImport, NumbersAdded | None]:
    """Import every number Linq lists for the token (used by `manage.py syncnumbers`)."""
    preview = numbers_import_preview(team=team)
    if preview.error is not None:
        return preview, None
    return preview, numbers_add(team=team, e164s=preview.new)


@dataclass(frozen=True)
class ConnectionCheck:
    """The outcome of "Test connection": how many numbers the token sees, or the error."""

    count: int = 0
    error: LinqError | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


def connection_check(*, team: Team) -> ConnectionCheck:
    """GET /v3/phone_numbers with the team's token. Never raises for anything Linq answers."""
    try:
        return ConnectionCheck(count=len(linq_client_for(team).list_phone_numbers()))
    except LinqError as error:
        return ConnectionCheck(error=error)


def membership_add(*, team: Team, username: str, role: str) -> Membership:
    """Add an existing user to the team with a role."""
    user = get_user_model().objects.filter(username=username).first()
    if user is None:
        raise TeamChangeError(f"There is no user named {username!r}. An administrator creates accounts.")
    membership, created = Membership.objects.get_or_create(team=team, user=user, defaults={"role": role})
    if not created:
        raise TeamChangeError(f"{username} is already a member of this team ({membership.get_role_display()}).")
    return membership


def _other_owners_exist(membership: Membership) -> bool:
    """Locks the team's owner rows so two owners cannot demote each other at the same time."""
    owners = Membership.objects.select_for_update().filter(team_id=membership.team_id, role=Role.OWNER)
    return any(pk != membership.pk for pk in owners.values_list("pk", flat=True))


def membership_set_role(*, membership: Membership, role: str) -> Membership:
    """Change a member's role; the last owner cannot be demoted."""
    with transaction.atomic():
        if membership.role == Role.OWNER and role != Role.OWNER and not _other_owners_exist(membership):
            raise TeamChangeError("A team needs at least one owner: make someone else an owner first.")
        membership.role = role
        membership.save(update_fields=["role"])
    return membership


def membership_remove(*, membership: Membership) -> None:
    """Remove a member; the last owner cannot be removed."""
    with transaction.atomic():
        if membership.role == Role.OWNER and not _other_owners_exist(membership):
            raise TeamChangeError("A team needs at least one owner: make someone else an owner first.")
        membership.delete()
