"""Side effects - mail, and outbound HTTP that changes something (any method but GET) - happen after commit
or on the task queue: never inside a database transaction (so never under a number's lock) and never
while a page is answering a GET.

Every mail sent and every non-GET request that leaves this process is recorded with whether a
transaction was open at that moment; the scenario walks a card page that finds an outside change, the
queued email about it, and a save. (Linq GETs - reading a card - are reads, allowed anywhere.)
"""

from __future__ import annotations

import pytest
import requests
from django.core.mail.backends.locmem import EmailBackend
from django.db import connection
from django_tasks_db.models import DBTaskResult

from conftest import CARD_NUMBER
from contactcards.alerts.tasks import deliver_alert
from contactcards.models import AuditEntry
from tests.support.alerts import subscribe
from tests.support.helpers import card_form, sign_in_as

pytestmark = pytest.mark.django_db(transaction=True)
URL = f"/t/acme/numbers/{CARD_NUMBER}/"


class SideEffects:
    def __init__(self) -> None:
        self.seen: list[tuple[str, str, bool]] = []  # (kind, what, inside a transaction)

    def inside_transactions(self) -> list[tuple[str, str, bool]]:
        return [effect for effect in self.seen if effect[2]]


@pytest.fixture
def effects(monkeypatch) -> SideEffects:
    effects = SideEffects()
    real_send = requests.adapters.HTTPAdapter.send
    real_mail = EmailBackend.send_messages

    def send(adapter, request, *args, **kwargs):
        if request.method != "GET":
            effects.seen.append(("http", f"{request.method} {request.url}", connection.in_atomic_block))
        return real_send(adapter, request, *args, **kwargs)

    def send_messages(backend, messages):
        effects.seen += [("mail", ", ".join(message.to), connection.in_atomic_block) for message in messages]
        return real_mail(backend, messages)

    monkeypatch.setattr(requests.adapters.HTTPAdapter, "send", send)
    monkeypatch.setattr(EmailBackend, "send_messages", send_messages)
    return effects


def test_no_mail_or_write_happens_inside_a_transaction_or_on_a_get(client, alice, sandbox, effects, mailoutbox):
    alice.email = "alice@example.com"
    alice.save()
    subscribe(alice.memberships.get().team, alice, "outside_change")
    sign_in_as(client, alice)
    card_form(client.get(URL))  # what we know of the card
    sandbox.set_card(CARD_NUMBER, first_name="Acme", last_name="Changed elsewhere")

    # A GET finds the outside change: it is recorded, the email about it is only queued.
    page = client.get(URL)
    assert page.status_code == 200
    assert AuditEntry.objects.filter(action=AuditEntry.Action.OUTSIDE).count() == 1
    assert effects.seen == [] and mailoutbox == []
    (queued,) = DBTaskResult.objects.filter(task_path="contactcards.alerts.tasks.deliver_alert")

    # The queue sends it, outside any transaction.
    assert deliver_alert.call(*queued.args_kwargs["args"]) == "sent"
    assert [kind for kind, _what, _inside in effects.seen] == ["mail"] and len(mailoutbox) == 1

    # A save: the number's lock is let go before the PATCH leaves.
    form = card_form(page)
    saved = client.post(URL, {**form, "last_name": "Ours again"})
    assert saved.status_code == 200
    assert [what.split()[0] for kind, what, _inside in effects.seen if kind == "http"] == ["PATCH"]
    assert effects.inside_transactions() == []
