"""Team administration: the team's token, members and numbers.

Owners call these through ``teams/settings_views.py`` (access is checked there); the management
commands and the admin call the same functions, so every rule (the last owner, the password
validators) and every history row holds for all of them. ``actor`` is the person making the
change (None from the command line); each change that happened is recorded with
``audit.record_team_change`` - a change that changed nothing writes no row.
Reads (what Linq lists, which numbers exist) are in ``teams/selectors.py``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction

from contactcards.common.phones import StoredNumber, stored_problems
from contactcards.history.audit import record_labels_change, record_team_change, record_token_change
from contactcards.models import AuditEntry, Membership, PhoneNumber, Role, Tag, Team
from contactcards.teams.selectors import NumbersImport, numbers_existing, numbers_import_preview

Actor = AbstractBaseUser | None


def team_setup(*, slug: str, name: str, token: str = "") -> tuple[Team, bool]:
    """Create a team, or rename it; set its token when one is given (``manage.py createteam``)."""
    with transaction.atomic():
        team, created = Team.objects.get_or_create(slug=slug, defaults={"name": name})
        if team.name != name:
            team.name = name
            team.save(update_fields=["name"])
        if token:
            token_change(team=team, user=None, token=token)
    return team, created


def token_change(*, team: Team, user: Actor, token: str, client_ip: str | None = None) -> AuditEntry:
    """Replace the team's token and record who did it and when - never the value."""
    with transaction.atomic():
        team.set_token(token)
        team.save(update_fields=["token_encrypted", "token_last4", "token_set_at"])
        return record_token_change(team=team, user=user, client_ip=client_ip)


class TeamChangeError(Exception):
    """A team change refused for a reason the person can act on.

    ``reason`` says which (numbers_exist, last_owner), ``values``
    what it is about; ``templates/includes/team_change_error.txt`` words it.
    """

    def __init__(self, reason: str, **values: object) -> None:
        super().__init__(reason)
        self.reason, self.values = reason, values


@dataclass(frozen=True)
class NumbersAdded:
    added: list[str]
    existing: list[str]


def numbers_add(*, team: Team, e164s: list[str], refuse_existing: bool = False, actor: Actor = None,
                client_ip: str | None = None, imported: bool = False) -> NumbersAdded:
    """Add the numbers the team does not have yet; report the ones it already had.

    ``refuse_existing``: add nothing if the team has any of them already (TeamChangeError names them).
    Each number added gets a history row ("Add numbers", or "Import numbers" when ``imported``
    from what Linq lists), so the number's own history starts with it.
    """
    existing = numbers_existing(team=team, e164s=e164s)
    if existing and refuse_existing:
        raise TeamChangeError("numbers_exist", numbers=existing)
    new = [e164 for e164 in dict.fromkeys(e164s) if e164 not in existing]
    with transaction.atomic():
        # ignore_conflicts: a concurrent add of the same number is not an error, just already done.
        PhoneNumber.objects.bulk_create([PhoneNumber(team=team, e164=e164) for e164 in new], ignore_conflicts=True)
        action = AuditEntry.Action.NUMBER_IMPORT if imported else AuditEntry.Action.NUMBER_ADD
        for number in PhoneNumber.objects.filter(team=team, e164__in=new).order_by("e164"):
            record_team_change(team=team, user=actor, action=action, number=number, client_ip=client_ip)
    return NumbersAdded(added=new, existing=existing)


def assigned_lines_auto_add(*, team: Team, auto_add: bool, actor: Actor = None,
                            client_ip: str | None = None) -> bool:
    """Whether lines Linq newly assigns to the token are added at once (``Team.auto_add_assigned``) or offered
    for import; False (and no history row) when unchanged."""
    with transaction.atomic():
        changed = Team.objects.filter(pk=team.pk).exclude(auto_add_assigned=auto_add).update(
            auto_add_assigned=auto_add)
        if changed:
            record_team_change(team=team, user=actor, action=AuditEntry.Action.LINE_AUTO_ADD,
                               changes={"auto_add_assigned": [not auto_add, auto_add]}, client_ip=client_ip)
    team.auto_add_assigned = auto_add
    return bool(changed)


def number_remove(*, number: PhoneNumber, actor: Actor = None, client_ip: str | None = None) -> None:
    """Forget a number. Its audit rows stay (they keep the number as text), and one more says who removed it."""
    with transaction.atomic():
        record_team_change(team=number.team, user=actor, action=AuditEntry.Action.NUMBER_REMOVE,
                           e164=number.e164, client_ip=client_ip)
        number.delete()


def numbers_sync(*, team: Team, actor: Actor = None) -> tuple[NumbersImport, NumbersAdded | None]:
    """Import every number Linq lists for the token (used by `manage.py syncnumbers`)."""
    preview = numbers_import_preview(team=team)
    if preview.error is not None:
        return preview, None
    return preview, numbers_add(team=team, e164s=preview.new, actor=actor, imported=True)


def membership_put(*, team: Team, user: AbstractBaseUser, role: str, actor: Actor = None,
                   client_ip: str | None = None) -> tuple[Membership, bool]:
    """Make ``user`` a member with ``role``: added (True), or their role set (False; the last owner stays)."""
    with transaction.atomic():
        existing = Membership.objects.filter(team=team, user=user).first()
        if existing is not None:
            return membership_set_role(membership=existing, role=role, actor=actor, client_ip=client_ip), False
        membership = Membership.objects.create(team=team, user=user, role=role)
        record_team_change(team=team, user=actor, action=AuditEntry.Action.MEMBER_ADD, subject=user.get_username(),
                           changes={"role": [None, role]}, client_ip=client_ip)
    return membership, True


def _other_owners_exist(membership: Membership) -> bool:
    """Locks the team's owner rows so two owners cannot demote each other at the same time."""
    owners = Membership.objects.select_for_update().filter(team_id=membership.team_id, role=Role.OWNER)
    return any(pk != membership.pk for pk in owners.values_list("pk", flat=True))


def membership_set_role(*, membership: Membership, role: str, actor: Actor = None,
                        client_ip: str | None = None) -> Membership:
    """Change a member's role; the last owner cannot be demoted."""
    with transaction.atomic():
        if membership.role == role:
            return membership
        if membership.role == Role.OWNER and role != Role.OWNER and not _other_owners_exist(membership):
            raise TeamChangeError("last_owner")
        before, membership.role = membership.role, role
        membership.save(update_fields=["role"])
        record_team_change(team=membership.team, user=actor, action=AuditEntry.Action.MEMBER_ROLE,
                           subject=membership.user.get_username(), changes={"role": [before, role]},
                           client_ip=client_ip)
    return membership


def membership_remove(*, membership: Membership, actor: Actor = None, client_ip: str | None = None) -> None:
    """Remove a member; the last owner cannot be removed."""
    with transaction.atomic():
        if membership.role == Role.OWNER and not _other_owners_exist(membership):
            raise TeamChangeError("last_owner")
        record_team_change(team=membership.team, user=actor, action=AuditEntry.Action.MEMBER_REMOVE,
                           subject=membership.user.get_username(), changes={"role": [membership.role, None]},
                           client_ip=client_ip)
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


def tags_named(*, team: Team, names: list[str]) -> list[Tag]:
    """The team's tags with these names, created when new (a concurrent create is not an error)."""
    existing = {tag.name: tag for tag in Tag.objects.filter(team=team, name__in=names)}
    missing = [Tag(team=team, name=name) for name in names if name not in existing]
    if missing:
        Tag.objects.bulk_create(missing, ignore_conflicts=True)
        existing = {tag.name: tag for tag in Tag.objects.filter(team=team, name__in=names)}
    return [existing[name] for name in dict.fromkeys(names)]


def number_label_tags(*, number: PhoneNumber, label: str | None = None, tags: list[str] | None = None) -> None:
    """Set a number's label and/or its tags (None: leave as is). Tags no number uses any more are removed."""
    with transaction.atomic():
        if label is not None:
            PhoneNumber.objects.filter(pk=number.pk).update(label=label.strip())
            number.label = label.strip()
        if tags is not None:
            number.tags.set(tags_named(team=number.team, names=tags))
            Tag.objects.filter(team=number.team, numbers__isnull=True).delete()


# -- labels and tags of many numbers (a dashboard selection) --------------------------------------

CHUNK = 500  # numbers per statement: well under every database's limit on bound parameters


@dataclass
class LabelTagsChange:
    """What setting a label and adding/removing tags does to a selection: counts per change.

    ``label``: how many numbers get the new label (their label differs); ``added``/``removed``:
    per tag, how many numbers gain or lose it; ``changed``: the numbers that change at all.
    """

    selected: int = 0
    label: int = 0
    added: dict[str, int] = field(default_factory=dict)
    removed: dict[str, int] = field(default_factory=dict)
    changed: list[str] = field(default_factory=list)

    @property
    def any(self) -> bool:
        return bool(self.changed)


def _chunks(items: list, size: int = CHUNK):
    for start in range(0, len(items), size):
        yield items[start:start + size]


def numbers_label_tags(*, team: Team, e164s: list[str], label: str | None = None, add: list[str] = (),
                       remove: list[str] = (), apply: bool = False, actor: Actor = None,
                       client_ip: str | None = None) -> LabelTagsChange:
    """Set ``label`` (None: leave as is), add the tags ``add`` and remove the tags ``remove`` on the
    team's numbers ``e164s`` (others are ignored); count what that changes, and with ``apply`` do it.

    Worked in chunks of ``CHUNK`` numbers, a few statements per chunk whatever the number of tags
    (no query per number or per tag), in one transaction; one history row records the change
    (``audit.record_labels_change``). A tag both added and removed is added. Tags no number uses
    any more are deleted, as ``number_label_tags`` does.
    """
    label = label.strip() if label is not None else None
    add = list(dict.fromkeys(add))
    remove = [name for name in dict.fromkeys(remove) if name not in add]
    through = PhoneNumber.tags.through
    result = LabelTagsChange(added=dict.fromkeys(add, 0), removed=dict.fromkeys(remove, 0))
    changed: set[int] = set()
    names: dict[int, str] = {}
    with transaction.atomic():
        tags = {tag.name: tag.pk for tag in tags_named(team=team, names=add)} if apply and add else {}
        for chunk in _chunks(list(dict.fromkeys(e164s))):
            numbers = list(PhoneNumber.objects.filter(team=team, e164__in=chunk).values_list("pk", "e164", "label"))
            if not numbers:
                continue
            ids = [pk for pk, _e164, _label in numbers]
            names.update((pk, e164) for pk, e164, _label in numbers)
            result.selected += len(numbers)
            relabel = [pk for pk, _e164, old in numbers if label is not None and old != label]
            result.label += len(relabel)
            changed.update(relabel)
            having: dict[str, set[int]] = {name: set() for name in (*add, *remove)}
            if having:
                for number_id, name in through.objects.filter(
                        phonenumber_id__in=ids, tag__team=team, tag__name__in=list(having)).values_list(
                        "phonenumber_id", "tag__name"):
                    having[name].add(number_id)
            gain = {name: [pk for pk in ids if pk not in having[name]] for name in add}
            lose = {name: sorted(having[name]) for name in remove}
            for name, pks in gain.items():
                result.added[name] += len(pks)
                changed.update(pks)
            for name, pks in lose.items():
                result.removed[name] += len(pks)
                changed.update(pks)
            if not apply:
                continue
            if relabel:
                PhoneNumber.objects.filter(pk__in=relabel).update(label=label)
            links = [through(phonenumber_id=pk, tag_id=tags[name]) for name, pks in gain.items() for pk in pks]
            if links:
                through.objects.bulk_create(links, batch_size=CHUNK, ignore_conflicts=True)
            if any(lose.values()):
                through.objects.filter(phonenumber_id__in=ids, tag__team=team, tag__name__in=remove).delete()
        result.changed = sorted(names[pk] for pk in changed)
        if apply and result.any:
            if remove:
                Tag.objects.filter(team=team, numbers__isnull=True).delete()
            record_labels_change(team=team, user=actor, numbers=result.changed, label=label,
                                 added=[name for name in add if result.added[name]],
                                 removed=[name for name in remove if result.removed[name]], client_ip=client_ip)
    return result
