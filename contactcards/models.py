"""The app's models, defined in their domains and re-exported here (as Zulip's ``zerver/models/``).

Django finds the models of the one app ``contactcards`` in this module, so every domain's models are
imported here, and code and migrations import them from here. Where each is defined:

    teams/models.py     Team, Role, Membership, PhoneNumber, Tag, BoardVersion
    history/models.py   AuditEntry (append-only) and what decides its states
    cards/models.py     FormToken
    sync/models.py      CardMirror, LineHealth, TeamSync, WebhookEndpoint, WebhookEvent
    rollout/models.py   Job, JobItem
    photos/models.py    Photo, SentPhoto
    streams/models.py   AuditStream, StreamMessage (audit streaming and its outbox)
    alerts/models.py    AlertKind, AlertSubscription, AlertEvent, AlertDelivery
    common/models.py    UserPreference
    api/models.py       ApiToken, Scope (the REST API's personal tokens)
"""

from contactcards.alerts.models import AlertDelivery, AlertEvent, AlertKind, AlertSubscription
from contactcards.api.models import ApiToken, Scope
from contactcards.cards.models import FormToken
from contactcards.common.models import UserPreference
from contactcards.common.phones import E164_RE
from contactcards.history.models import (
    FINAL_OUTCOMES,
    OUTCOME_FIELDS,
    UNKNOWN_OUTCOME_KINDS,
    AuditEntry,
    AuditImmutableError,
    AuditQuerySet,
    attempt_stale_before,
    point_numbers_at_newest_entries,
    unanswered_q,
    unknown_window,
    unsettled_q,
)
from contactcards.photos.models import Photo, SentPhoto
from contactcards.rollout.models import Job, JobItem
from contactcards.streams.models import AuditStream, StreamMessage
from contactcards.sync.models import (
    CardMirror,
    LineHealth,
    TeamSync,
    WebhookEndpoint,
    WebhookEvent,
    attention_q,
    needs_attention,
)
from contactcards.teams.models import (
    TAG_RE,
    BoardVersion,
    Membership,
    PhoneNumber,
    Role,
    Tag,
    Team,
    validate_e164,
    validate_tag,
)

__all__ = [
    "ApiToken", "Scope", "E164_RE", "FINAL_OUTCOMES", "OUTCOME_FIELDS", "TAG_RE", "UNKNOWN_OUTCOME_KINDS",
    "AlertDelivery", "AlertEvent", "AlertKind", "AlertSubscription", "AuditEntry",
    "AuditImmutableError", "AuditQuerySet", "AuditStream", "BoardVersion", "CardMirror", "FormToken", "Job",
    "JobItem", "LineHealth", "Membership", "PhoneNumber", "Photo", "Role", "SentPhoto",
    "StreamMessage", "Tag", "Team", "TeamSync",
    "UserPreference", "WebhookEndpoint", "WebhookEvent", "attempt_stale_before", "point_numbers_at_newest_entries",
    "attention_q", "needs_attention", "unanswered_q", "unknown_window", "unsettled_q", "validate_e164", "validate_tag",
]
