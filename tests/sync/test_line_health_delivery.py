"""End to end (issue 23): the sandbox flags a line -> its signed ``phone_number.status_updated`` reaches the
live server -> a real task worker processes it -> the dashboard shows the line and the history has it. And
a line the sandbox releases is refused on the card page. The delivery queue is drained by the test."""

from __future__ import annotations

import pytest
from django.urls import reverse

from conftest import CARD_NUMBER, EMPTY_NUMBER, TOKEN
from contactcards.models import AuditEntry, LineHealth, WebhookEvent
from contactcards.sync.reconcile import reconcile_team
from tests.support.helpers import sign_in_as

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def subscribed(client, alice, team, sandbox, live_server, settings):
    """Acme subscribed through its settings page (card and line events); deliveries go to the live server."""
    settings.PUBLIC_URL = live_server.url
    reconcile_team(team=team)
    sign_in_as(client, alice)
    assert client.post("/t/acme/settings/webhooks/subscribe/").status_code == 302
    (subscription,) = sandbox.webhooks.of(TOKEN)
    assert "phone_number.status_updated" in subscription.subscribed_events
    return subscription


def test_the_sandbox_flags_a_line_and_the_dashboard_and_the_history_show_it(subscribed, client, sandbox, workers):
    sandbox.set_line(EMPTY_NUMBER, status="FLAGGED", reputation="CRITICAL")
    assert sandbox.webhooks.deliver_due() == 1
    (delivery,) = sandbox.webhooks.done
    assert (delivery.event_type, delivery.statuses) == ("phone_number.status_updated", [202])
    workers.run_batch()
    assert WebhookEvent.objects.get().status == "recorded"
    line = LineHealth.objects.get(number__e164=EMPTY_NUMBER)
    assert (line.status, line.reputation, line.source) == ("FLAGGED", "CRITICAL", "webhook")
    (entry,) = AuditEntry.objects.filter(action="line_health")
    assert entry.changes == {"status": ["ACTIVE", "FLAGGED"], "reputation": ["HEALTHY", "CRITICAL"]}

    board = client.get(reverse("dashboard", args=["acme"]))
    assert "1 line needs attention" in board.content.decode()
    rows = {row.e164: row for row in board.context["board"].rows}
    assert (rows[EMPTY_NUMBER].line_status, rows[EMPTY_NUMBER].line_reputation) == ("FLAGGED", "CRITICAL")
    assert rows[CARD_NUMBER].line_attention is False
    history = client.get(reverse("team_history", args=["acme"]), {"action": "line_health"}).content.decode()
    assert "Linq flagged this number" in history


def test_a_line_the_sandbox_releases_cannot_be_saved(subscribed, client, sandbox, workers):
    form = client.get(reverse("card", args=["acme", CARD_NUMBER])).context["form"]
    sandbox.release_line(CARD_NUMBER)
    sandbox.webhooks.deliver_due()
    workers.run_batch()
    assert AuditEntry.objects.filter(action="line_released", phone_number=CARD_NUMBER).count() == 1
    response = client.post(reverse("card", args=["acme", CARD_NUMBER]), {
        "first_name": "Acme", "last_name": "Desk", "image_url": form["image_url"].value() or "",
        "loaded": form["loaded"].value(), "token": form["token"].value()})
    assert response.status_code == 409
    assert "Linq released this line from the team" in response.content.decode()
    assert sandbox.writes_for(CARD_NUMBER) == []
    released = client.get(reverse("dashboard", args=["acme"]), {"status": "released"}).context["board"]
    assert [row.e164 for row in released.rows] == [CARD_NUMBER]
