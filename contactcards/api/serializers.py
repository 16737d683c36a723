"""What the API reads and writes, as DRF serializers: they parse requests at the boundary and describe every
answer in the OpenAPI schema (drf-spectacular reads them). No rule of the product lives here: a card's values
are checked by the card page's own form (``cards.forms.CardForm``) in the views, as a bulk row is."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from contactcards.history.selectors import Cursor
from contactcards.linq.client import CARD_FIELDS
from contactcards.teams.dashboard import STATUS_FILTERS

MAX_ROWS = 5000  # rows in one JSON import (the CSV import takes up to 20,000 from a file)


class ProblemSerializer(serializers.Serializer):
    """RFC 9457 problem details; ``linq`` is present when Linq refused."""

    type = serializers.CharField()
    title = serializers.CharField()
    status = serializers.IntegerField()
    detail = serializers.CharField(required=False)
    errors = serializers.JSONField(required=False)
    linq = serializers.JSONField(required=False)
    entry_id = serializers.IntegerField(required=False)
    reason = serializers.CharField(required=False)
    conflicts = serializers.JSONField(required=False)
    version = serializers.CharField(required=False)


class TeamSerializer(serializers.Serializer):
    slug = serializers.CharField()
    name = serializers.CharField()
    role = serializers.CharField()
    scopes = serializers.ListField(child=serializers.CharField())


class NumberSerializer(serializers.Serializer):
    number = serializers.CharField()
    label = serializers.CharField(allow_blank=True)
    tags = serializers.ListField(child=serializers.CharField())
    status = serializers.ChoiceField(choices=["active", "pending", "none", "error", "unknown"])
    first_name = serializers.CharField(allow_blank=True)
    last_name = serializers.CharField(allow_blank=True)
    image_url = serializers.CharField(allow_blank=True)
    as_of = serializers.DateTimeField(allow_null=True)
    changed_outside = serializers.BooleanField()
    last_change_at = serializers.DateTimeField(allow_null=True)
    last_change_by = serializers.CharField(allow_blank=True)
    last_change_outcome = serializers.CharField(allow_null=True)


class NumberPageSerializer(serializers.Serializer):
    numbers = NumberSerializer(many=True)
    next = serializers.CharField(allow_null=True, help_text=_("Pass as ?after= for the next page (null: last page)."))


class NumberQuerySerializer(serializers.Serializer):
    q = serializers.CharField(required=False, max_length=100, allow_blank=True)
    tag = serializers.CharField(required=False, max_length=40, allow_blank=True)
    status = serializers.ChoiceField(required=False, choices=sorted(STATUS_FILTERS), allow_blank=True)
    after = serializers.RegexField(r"^\+[0-9]{1,15}$", required=False, allow_blank=True,
                                   help_text=_("The last number of the previous page (keyset)."))
    limit = serializers.IntegerField(required=False, min_value=1, max_value=500, default=50)

    def validate_q(self, value: str) -> str:
        if any(ord(ch) < 32 or ord(ch) == 127 for ch in value):
            raise serializers.ValidationError(_("No control characters."))
        return value

    validate_tag = validate_q


class CardSerializer(serializers.Serializer):
    number = serializers.CharField()
    first_name = serializers.CharField(allow_blank=True)
    last_name = serializers.CharField(allow_blank=True)
    image_url = serializers.CharField(allow_blank=True)
    active = serializers.BooleanField()
    version = serializers.CharField(help_text=_("Send it back with a PATCH: the values you read."))


class CardReadSerializer(serializers.Serializer):
    card = CardSerializer(allow_null=True, help_text=_("null: the number has no card yet (POST sets one up)."))


class CardFieldsSerializer(serializers.Serializer):
    first_name = serializers.CharField(required=False, max_length=100, allow_blank=True, trim_whitespace=False)
    last_name = serializers.CharField(required=False, max_length=100, allow_blank=True, trim_whitespace=False)
    image_url = serializers.CharField(required=False, max_length=2000, allow_blank=True, trim_whitespace=False)


class CardPatchSerializer(CardFieldsSerializer):
    version = serializers.CharField(max_length=4000, help_text=_("The card's version when you read it (GET)."))

    def validate(self, data: dict) -> dict:
        if not any(name in data for name in CARD_FIELDS):
            raise serializers.ValidationError(_("Give at least one of first_name, last_name, image_url."))
        return data


class CardCreateSerializer(CardFieldsSerializer):
    first_name = serializers.CharField(max_length=100, trim_whitespace=False)


class SaveResultSerializer(serializers.Serializer):
    outcome = serializers.ChoiceField(choices=["saved", "unchanged", "unknown", "replayed"])
    card = CardSerializer(allow_null=True)
    changed = serializers.ListField(child=serializers.CharField())
    others_changed = serializers.ListField(child=serializers.CharField())
    entry_id = serializers.IntegerField(allow_null=True)
    recheck_after = serializers.DateTimeField(allow_null=True)


class HistoryQuerySerializer(serializers.Serializer):
    """The history page's filters (validated by its own form) and keyset cursors."""

    number = serializers.CharField(required=False, allow_blank=True)
    user = serializers.CharField(required=False, allow_blank=True)
    action = serializers.CharField(required=False, allow_blank=True)
    outcome = serializers.CharField(required=False, allow_blank=True)
    date_from = serializers.DateField(required=False)
    date_to = serializers.DateField(required=False)
    q = serializers.CharField(required=False, allow_blank=True)
    job = serializers.IntegerField(required=False)
    before = serializers.CharField(required=False, allow_blank=True, help_text=_("A cursor: older entries."))
    after = serializers.CharField(required=False, allow_blank=True, help_text=_("A cursor: newer entries."))

    def _cursor(self, value: str) -> str:
        if value:
            try:
                Cursor.decode(value)
            except ValueError:
                raise serializers.ValidationError(_("Not a cursor this API gave.")) from None
        return value

    validate_before = validate_after = _cursor


class EntrySerializer(serializers.Serializer):
    id = serializers.IntegerField()
    created_at = serializers.DateTimeField()
    number = serializers.CharField(allow_blank=True)
    username = serializers.CharField(allow_blank=True)
    api_token = serializers.CharField(allow_null=True, help_text=_("The API token's name, for writes made with one."))
    action = serializers.CharField()
    subject = serializers.CharField(allow_blank=True)
    changes = serializers.JSONField()
    outcome = serializers.CharField()
    request_sent = serializers.BooleanField()
    applied = serializers.BooleanField(allow_null=True)
    http_status = serializers.IntegerField(allow_null=True)
    linq_code = serializers.IntegerField(allow_null=True)
    error_message = serializers.CharField(allow_blank=True)
    trace_id = serializers.CharField(allow_blank=True)
    job = serializers.IntegerField(allow_null=True)


class HistoryPageSerializer(serializers.Serializer):
    entries = EntrySerializer(many=True)
    older = serializers.CharField(allow_null=True, help_text=_("Pass as ?before= for older entries."))
    newer = serializers.CharField(allow_null=True, help_text=_("Pass as ?after= for newer entries."))
    searched_back_to = serializers.DateTimeField(allow_null=True)


class JobRowSerializer(serializers.Serializer):
    number = serializers.CharField(max_length=40)
    label = serializers.CharField(required=False, max_length=200, allow_blank=True)
    tags = serializers.CharField(required=False, max_length=2000, allow_blank=True,
                                 help_text=_("Comma-separated, as in the CSV."))
    first_name = serializers.CharField(required=False, max_length=200, allow_blank=True)
    last_name = serializers.CharField(required=False, max_length=200, allow_blank=True)
    image_url = serializers.CharField(required=False, max_length=2000, allow_blank=True)


class JobCreateSerializer(serializers.Serializer):
    rows = JobRowSerializer(many=True, allow_empty=False, max_length=MAX_ROWS)
    dry_run = serializers.BooleanField(default=False)
    skip_refused = serializers.BooleanField(default=False)
    description = serializers.CharField(required=False, max_length=200, allow_blank=True)


class PlanRowSerializer(serializers.Serializer):
    row = serializers.IntegerField(allow_null=True)
    number = serializers.CharField()
    kind = serializers.ChoiceField(choices=["change", "create", "recreate", "skip", "cannot"])
    changes = serializers.JSONField()
    reasons = serializers.ListField(child=serializers.CharField())
    label = serializers.JSONField(allow_null=True)
    tags = serializers.JSONField(allow_null=True)
    waits_until = serializers.DateTimeField(allow_null=True)


class JobSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    source = serializers.CharField()
    description = serializers.CharField(allow_blank=True)
    created_at = serializers.DateTimeField()
    created_by = serializers.CharField(allow_blank=True)
    finished = serializers.BooleanField()
    cancelled = serializers.BooleanField()
    total = serializers.IntegerField()
    done = serializers.IntegerField()
    percent = serializers.IntegerField()
    counts = serializers.DictField(child=serializers.IntegerField())
    waiting_until = serializers.DateTimeField(allow_null=True)


class JobResultSerializer(serializers.Serializer):
    dry_run = serializers.BooleanField()
    confirmable = serializers.BooleanField()
    counts = serializers.DictField(child=serializers.IntegerField())
    rows = PlanRowSerializer(many=True)
    job = JobSerializer(allow_null=True)


class CancelSerializer(serializers.Serializer):
    stopped = serializers.IntegerField()
    job = JobSerializer()
