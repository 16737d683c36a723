"""Issue 23 end to end: the sandbox flags a line -> its signed `phone_number.status_updated` reaches the live
server -> a real worker records it (mirror, history) -> the dashboard shows it -> the alert reaches a real SMTP
server (aiosmtpd) and a real https receiver standing in for a chat tool. No sleeping: the queue is drained."""

from __future__ import annotations

import pytest
from django.urls import reverse

from conftest import EMPTY_NUMBER, TOKEN
from contactcards.models import AlertDelivery, AlertEvent, AuditEntry
from contactcards.sync.health import alert_kind_of
from contactcards.sync.reconcile import reconcile_team
from tests.alerts.conftest import chat_url
from tests.alerts.test_alert_delivery import add_team_chat
from tests.support.alerts import subscribe
from tests.support.helpers import sign_in_as, text

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_line_the_sandbox_flags_is_on_the_dashboard_in_the_history_and_told_by_mail_and_chat(
        client, alice, team, sandbox, live_server, settings, mailbox, chat, alert_workers):
    settings.PUBLIC_URL = live_server.url
    alice.email = "alice@example.com"
    alice.save()
    reconcile_team(team=team)
    owner = sign_in_as(client, alice)
    assert owner.post("/t/acme/settings/webhooks/subscribe/").status_code == 302
    (subscription,) = sandbox.webhooks.of(TOKEN)
    assert "phone_number.status_updated" in subscription.subscribed_events
    assert add_team_chat(owner, chat_url(chat), "line_flagged").status_code == 302
    subscribe(team, alice, "line_flagged")

    sandbox.set_line(EMPTY_NUMBER, status="FLAGGED", reputation="CRITICAL")
    assert sandbox.webhooks.deliver_due() == 1
    alert_workers.run_batch()  # the event: mirror, history, the alert raised (deliveries queued after commit)
    alert_workers.run_batch()  # the deliveries

    (entry,) = AuditEntry.objects.filter(action="line_health", phone_number=EMPTY_NUMBER)
    (event,) = AlertEvent.objects.all()
    assert (event.kind, event.phone_number, event.entry_id) == ("line_flagged", EMPTY_NUMBER, entry.pk)
    board = text(owner.get(reverse("dashboard", args=["acme"])))
    assert "1 line needs attention" in board
    assert "Linq flagged this number" in text(owner.get(reverse("team_history", args=["acme"]),
                                                        {"action": "line_health"}))
    (mail,) = mailbox.to("alice@example.com")
    assert f"Linq flagged the line {EMPTY_NUMBER}." in mailbox.body(mail)
    (posted,) = chat.taken
    assert f"Linq flagged the line {EMPTY_NUMBER}." in posted.payload["text"]
    assert sorted(AlertDelivery.objects.values_list("channel", "status")) == [("chat", "sent"), ("email", "sent")]

    # The line gets better: a history entry, no alert.
    sandbox.set_line(EMPTY_NUMBER, status="ACTIVE", reputation="HEALTHY")
    sandbox.webhooks.deliver_due()
    alert_workers.run_batch()
    assert AuditEntry.objects.filter(action="line_health", phone_number=EMPTY_NUMBER).count() == 2
    assert AlertEvent.objects.count() == 1


@pytest.mark.parametrize(("changes", "kind"), [
    ({"status": ["ACTIVE", "FLAGGED"], "reputation": ["HEALTHY", "CRITICAL"]}, "line_flagged"),
    ({"reputation": ["AT_RISK", "CRITICAL"]}, "line_critical"),
    ({"reputation": ["HEALTHY", "AT_RISK"]}, "line_at_risk"),
    ({"reputation": ["CRITICAL", "AT_RISK"]}, "line_at_risk"),
    ({"reputation": ["AT_RISK", "HEALTHY"]}, None),
    ({"status": ["FLAGGED", "ACTIVE"]}, None),
    ({"reputation": ["HEALTHY", "UNKNOWN"]}, None),
    ({"released": [False, True]}, "line_released"),
    ({"released": [True, False]}, "line_assigned"),
])
def test_which_alert_a_change_of_a_line_raises(changes, kind):
    assert alert_kind_of(changes) == kind
