"""Team administration: the team's token, members and numbers.

Owners call these through ``views/settings.py`` (access is checked there); the management
commands and the admin call the same functions. Reads (what Linq lists, which numbers exist)
are in ``selectors/teams.py``.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction

from ..models import AuditEntry, Membership, PhoneNumber, Role, Team
from ..phones import StoredNumber, stored_problems
from ..selectors.teams import NumbersImport, numbers_existing, numbers_import_preview
from .audit import record_token_change


def team_setup(*, slug: str, name: str, token: str = "") -> tuple[Team, bool]:
    """Create a team, or rename it; set its token when one is given (``manage.py createteam``)."""
    team, created = Team.objects.get_or_create(slug=slug, defaults={"name": name})
    team.name = name
    if token:
        team.set_token(token)
    team.save()
    return team, created


def token_change(*, team: Team, user: AbstractBaseUser, token: str, client_ip: str | None = None) -> AuditEntry:
    """Replace the team's token and record who did it and when - never the value."""
    team.set_token(token)
    team.save(update_fields=["token_encrypted", "token_last4", "token_set_at"])
    return record_token_change(team=team, user=user, client_ip=client_ip)


class TeamChangeError(Exception):
    """A team change refused for a reason the person can act on.

    ``reason`` says which (numbers_exist, no_such_user, already_member, last_owner), ``values``
    what it is about; ``templates/includes/team_change_error.txt`` words it.
    """

    def __init__(self, reason: str, **values: object) -> None:
        super().__init__(reason)
        self.reason, self.values = reason, values


@dataclass(frozen=True)
class NumbersAdded:
    added: list[str]
    existing: list[str]


def numbers_add(*, team: Team, e164s: list[str], refuse_existing: bool = False) -> NumbersAdded:
    """Add the numbers the team does not have yet; report the ones it already had.

    ``refuse_existing``: add nothing if the team has any of them already (TeamChangeError names them).
    """
    existing = numbers_existing(team=team, e164s=e164s)
    if existing and refuse_existing:
        raise TeamChangeError("numbers_exist", numbers=existing)
    new = [e164 for e164 in dict.fromkeys(e164s) if e164 not in existing]
    # ignore_conflicts: a concurrent add of the same number is not an error, just already done.
    PhoneNumber.objects.bulk_create([PhoneNumber(team=team, e164=e164) for e164 in new], ignore_conflicts=True)
    return NumbersAdded(added=new, existing=existing)


def number_remove(*, number: PhoneNumber) -> None:
    """Forget a number. Its audit rows stay (they keep the number as text)."""
    number.delete()


def numbers_sync(*, team: Team) -> tuple[NumbersImport, NumbersAdded | None]:
    """Import every number Linq lists for the token (used by `manage.py syncnumbers`)."""
    preview = numbers_import_preview(team=team)
    if preview.error is not None:
        return preview, None
    return preview, numbers_add(team=team, e164s=preview.new)


def membership_add(*, team: Team, username: str, role: str) -> Membership:
    """Add an existing user to the team with a role."""
    user = get_user_model().objects.filter(username=username).first()
    if user is None:
        raise TeamChangeError("no_such_user", username=username)
    membership, created = Membership.objects.get_or_create(team=team, user=user, defaults={"role": role})
    if not created:
        raise TeamChangeError("already_member", username=username, role=membership.get_role_display())
    return membership


def membership_put(*, team: Team, user: AbstractBaseUser, role: str) -> tuple[Membership, bool]:
    """Make ``user`` a member with ``role``: added (True), or their role set (False; the last owner stays)."""
    existing = Membership.objects.filter(team=team, user=user).first()
    if existing is None:
        return Membership.objects.create(team=team, user=user, role=role), True
    return membership_set_role(membership=existing, role=role), False


def _other_owners_exist(membership: Membership) -> bool:
    """Locks the team's owner rows so two owners cannot demote each other at the same time."""
    owners = Membership.objects.select_for_update().filter(team_id=membership.team_id, role=Role.OWNER)
    return any(pk != membership.pk for pk in owners.values_list("pk", flat=True))


def membership_set_role(*, membership: Membership, role: str) -> Membership:
    """Change a member's role; the last owner cannot be demoted."""
    with transaction.atomic():
        if membership.role == Role.OWNER and role != Role.OWNER and not _other_owners_exist(membership):
            raise TeamChangeError("last_owner")
        membership.role = role
        membership.save(update_fields=["role"])
    return membership


def membership_remove(*, membership: Membership) -> None:
    """Remove a member; the last owner cannot be removed."""
    with transaction.atomic():
        if membership.role == Role.OWNER and not _other_owners_exist(membership):
            raise TeamChangeError("last_owner")
        membership.delete()


def numbers_not_normal(*, fix: bool = False, model=PhoneNumber) -> list[StoredNumber]:
    """Stored numbers that are not in E.164 normal form (phones.stored_problems); with ``fix``, normalise
    every one that safely can be. ``model``: a migration passes its historical PhoneNumber."""
    problems = stored_problems(list(model.objects.order_by("pk").values_list("pk", "team_id", "e164")))
    if fix:
        for problem in problems:
            if problem.fixable:
                model.objects.filter(pk=problem.pk).update(e164=problem.normal)
    return problems
