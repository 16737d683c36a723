"""Teams, their members and phone numbers, and the numbers' tags.

Defined here, imported from ``contactcards.models`` (the app's one models module re-exports every
domain's models, so there is one Django app and one migration history).
"""

from __future__ import annotations

import re

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

from contactcards.common import crypto
from contactcards.common.phones import PhoneNumberError, is_e164, parse_e164


def validate_e164(value: str) -> None:
    """Model validation: the stored form only (forms normalise pasted input first, see phones.py)."""
    if is_e164(value):
        return
    try:
        parse_e164(value)
    except PhoneNumberError as error:
        raise ValidationError(_("%(message)s"), params={"message": str(error)}, code="e164") from None
    raise ValidationError(
        _("%(value)s is not stored in E.164 form: write it as %(normal)s."),
        params={"value": value, "normal": parse_e164(value)}, code="e164",
    )


class Team(models.Model):
    slug = models.SlugField(unique=True)
    name = models.CharField(max_length=100)
    token_encrypted = crypto.EncryptedTextField(blank=True, editable=False)
    token_last4 = models.CharField(max_length=4, blank=True, editable=False)
    token_set_at = models.DateTimeField(null=True, blank=True, editable=False)
    require_two_factor = models.BooleanField(
        default=False, help_text=_("Members must sign in with a second factor before they see any team page."))
    # Lines Linq newly assigns to the team's token (phone_number.assigned) are added to the team at once,
    # instead of being offered for import on the numbers settings page.
    auto_add_assigned = models.BooleanField(
        default=False, help_text=_("Add lines Linq newly assigns to the team's token without asking."))
    created = models.DateTimeField(auto_now_add=True)
    # Four eyes (issue 24): card changes by members who may not approve become requests an approver decides.
    changes_need_approval = models.BooleanField(default=False)
    approval_hours = models.PositiveSmallIntegerField(default=72)  # a request not decided by then expires

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def set_token(self, token: str) -> None:
        """Store a token encrypted; remember only its last four characters in clear."""
        from django.utils import timezone

        token = token.strip()
        self.token_encrypted = crypto.encrypt(token) if token else ""
        self.token_last4 = token[-4:] if token else ""
        self.token_set_at = timezone.now() if token else None

    def get_token(self) -> str:
        return crypto.decrypt(self.token_encrypted) if self.token_encrypted else ""

    @property
    def has_token(self) -> bool:
        return bool(self.token_encrypted)


class Role(models.TextChoices):
    OWNER = "owner", _("Owner")
    EDITOR = "editor", _("Editor")
    VIEWER = "viewer", _("Viewer")


class Membership(models.Model):
    team = models.ForeignKey(Team, models.CASCADE, related_name="memberships")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.EDITOR)
    # An editor an owner made an approver: decides change requests like an owner (owners always may).
    can_approve = models.BooleanField(default=False)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "team"], name="unique_membership")]

    def __str__(self) -> str:
        return f"{self.user} in {self.team} ({self.role})"

    @property
    def can_write(self) -> bool:
        return self.role in (Role.OWNER, Role.EDITOR)

    @property
    def is_owner(self) -> bool:
        return self.role == Role.OWNER

    @property
    def may_approve(self) -> bool:
        """Decides change requests: owners, and editors given the approver flag."""
        return self.is_owner or (self.role == Role.EDITOR and self.can_approve)

    @property
    def needs_approval(self) -> bool:
        """This member's card changes become requests (the team asks for approval; they may not approve)."""
        return self.can_write and self.team.changes_need_approval and not self.may_approve


class PhoneNumber(models.Model):
    team = models.ForeignKey(Team, models.CASCADE, related_name="numbers")
    e164 = models.CharField("number", max_length=16, validators=[validate_e164])
    label = models.CharField(max_length=100, blank=True)
    tags = models.ManyToManyField("Tag", blank=True, related_name="numbers")
    created = models.DateTimeField(auto_now_add=True)
    # The number's newest audit entry, kept by AuditEntry.save(): the dashboard shows and counts
    # "last change" for a page of numbers by a join instead of a subquery per number. A pointer,
    # not an integrity rule (no database constraint): pruning by raw SQL deletes a number's newest
    # entry only with all older ones, and the LEFT JOIN then finds nothing - "never changed".
    last_entry = models.ForeignKey("AuditEntry", models.SET_NULL, null=True, blank=True, related_name="+",
                                   editable=False, db_constraint=False)

    class Meta:
        ordering = ["e164"]
        constraints = [models.UniqueConstraint(fields=["team", "e164"], name="unique_number_per_team")]

    def __str__(self) -> str:
        return self.e164


TAG_RE = re.compile(r"^[\w][\w .&/+-]{0,39}$")


def validate_tag(value: str) -> None:
    if not TAG_RE.match(value or ""):
        raise ValidationError(
            _("%(value)s is not a tag: up to 40 letters, digits, spaces or . & / + - _ (no commas)."),
            params={"value": value[:60]}, code="tag",
        )


class Tag(models.Model):
    """A team's tag; numbers have any number of them (filter the dashboard, select numbers for a rollout)."""

    team = models.ForeignKey(Team, models.CASCADE, related_name="tags")
    name = models.CharField(max_length=40, validators=[validate_tag])

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["team", "name"], name="unique_tag_per_team")]

    def __str__(self) -> str:
        return self.name


class BoardVersion(models.Model):
    """A token that changes whenever anything a team's dashboard shows changes (numbers, labels, tags,
    card mirror, the newest change's outcome), so a computed board can be reused until then.

    Written only by database triggers (migration 0013), on every path that touches those tables -
    the ORM, bulk updates, raw SQL, the admin - so no code can forget it. On PostgreSQL they run at
    commit (deferred) on this row of its own, which nothing else locks: a writer holds it only for
    the instant of its commit. The value is random, never a counter, so it never repeats (a
    restored backup or a rolled-back test cannot bring an old value back with different data).
    """

    team = models.OneToOneField(Team, models.CASCADE, primary_key=True, related_name="board")
    version = models.CharField(max_length=40)

    def __str__(self) -> str:
        return f"board of team {self.team_id}: {self.version}"
