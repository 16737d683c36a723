"""Adding, changing, pausing, resuming, re-keying and deleting a team's audit streams (owners only: the
views check). Each change is a history entry of its own (``history.audit.record_team_change``; the
subject names the stream), never with the signing secret.
"""

from __future__ import annotations

import base64
import secrets
from dataclasses import dataclass

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from contactcards.history.audit import record_team_change
from contactcards.models import AuditEntry, AuditStream, Team
from contactcards.streams.delivery import schedule

# What an owner may change on a stream, per kind (the kind itself: delete and add another).
EDITABLE = {AuditStream.Kind.WEBHOOK: ("name", "url"),
            AuditStream.Kind.SYSLOG: ("name", "syslog_host", "syslog_port", "syslog_transport", "syslog_facility")}


def new_secret() -> str:
    """A Standard Webhooks signing secret: ``whsec_`` and 32 random bytes in base64."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


@dataclass(frozen=True)
class Created:
    stream: AuditStream
    secret: str  # the webhook signing secret, to show once ("" for syslog)


def stream_create(*, team: Team, user: AbstractBaseUser, name: str, kind: str, url: str = "",
                  syslog_host: str = "", syslog_port: int | None = None, syslog_transport: str = "",
                  syslog_facility: int = 13, client_ip: str | None = None) -> Created:
    """Add a stream; the first message it sends is its own creation entry."""
    webhook = kind == AuditStream.Kind.WEBHOOK
    stream = AuditStream(team=team, name=name, kind=kind, url=url if webhook else "",
                         syslog_host="" if webhook else syslog_host, syslog_port=None if webhook else syslog_port,
                         syslog_transport="" if webhook else (syslog_transport or AuditStream.Transport.UDP),
                         syslog_facility=syslog_facility)
    secret = new_secret() if webhook else ""
    if secret:
        stream.set_secret(secret)
        stream.secret_set_at = timezone.now()
    with transaction.atomic():
        stream.save()
        record_team_change(team=team, user=user, action=AuditEntry.Action.STREAM_ADD, subject=name,
                           changes={"stream": [None, stream.target]},  # a fact, as the delete stores it
                           client_ip=client_ip)
    return Created(stream=stream, secret=secret)


def stream_change(*, stream: AuditStream, user: AbstractBaseUser, values: dict, client_ip: str | None = None) -> bool:
    """Set the editable fields that differ; False when nothing changed (and nothing is recorded)."""
    changes = {name: [getattr(stream, name), values[name]] for name in EDITABLE[stream.kind]
               if name in values and values[name] != getattr(stream, name)}
    if not changes:
        return False
    with transaction.atomic():
        for name, (_old, new) in changes.items():
            setattr(stream, name, new)
        stream.save(update_fields=list(changes))
        record_team_change(team=stream.team, user=user, action=AuditEntry.Action.STREAM_CHANGE, subject=stream.name,
                           changes=changes, client_ip=client_ip)
    return True


def stream_pause(*, stream: AuditStream, user: AbstractBaseUser, paused: bool, client_ip: str | None = None) -> bool:
    """Pause (messages keep being queued, none is sent) or resume (all of them go, in order)."""
    if stream.paused == paused:
        return False
    with transaction.atomic():
        stream.paused = paused
        stream.save(update_fields=["paused"])
        record_team_change(team=stream.team, user=user, subject=stream.name, client_ip=client_ip,
                           action=AuditEntry.Action.STREAM_PAUSE if paused else AuditEntry.Action.STREAM_RESUME)
    if not paused:
        transaction.on_commit(lambda: schedule(stream.pk), robust=True)
    return True


def stream_rotate_secret(*, stream: AuditStream, user: AbstractBaseUser, client_ip: str | None = None) -> str:
    """A new signing secret (shown once); every message from now on, waiting ones too, is signed with it."""
    secret = new_secret()
    with transaction.atomic():
        stream.set_secret(secret)
        stream.secret_set_at = timezone.now()
        stream.save(update_fields=["secret_encrypted", "secret_set_at"])
        record_team_change(team=stream.team, user=user, action=AuditEntry.Action.STREAM_SECRET, subject=stream.name,
                           client_ip=client_ip)
    return secret


def stream_delete(*, stream: AuditStream, user: AbstractBaseUser, client_ip: str | None = None) -> None:
    """Delete the stream and what it had not sent yet; the entry goes to the team's other streams."""
    with transaction.atomic():
        team, name, target = stream.team, stream.name, stream.target
        stream.delete()
        record_team_change(team=team, user=user, action=AuditEntry.Action.STREAM_DELETE, subject=name,
                           changes={"stream": [target, None]}, client_ip=client_ip)
