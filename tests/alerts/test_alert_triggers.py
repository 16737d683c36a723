"""What raises an alert today: Linq refusing the team's token (at most once an hour per team), webhook
deliveries refused for a while (5 within 15 minutes), a card changed outside linqadmin. Each through the
code path that sees it, against the sandbox and the real webhook receiver; time moves by the tests' clock."""

from __future__ import annotations

import pytest
from django.test import Client

from conftest import CARD_NUMBER
from contactcards.alerts import services
from contactcards.models import AlertDelivery, AlertEvent, AlertKind, WebhookEvent
from contactcards.sync.reconcile import reconcile_team
from contactcards.sync.webhooks import process_event
from tests.support.alerts import subscribe
from tests.support.helpers import sign_in_as
from tests.support.webhook_helpers import deliver, endpoint_for, last_name_changed

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_refused_token_is_told_once_an_hour_whoever_sees_it(client, alice, team, sandbox, clock):
    subscribe(team, alice, "token_refused")
    team.set_token("a-token-linq-does-not-know")
    team.save()
    assert reconcile_team(team=team).error.status == 401  # the periodic read
    assert reconcile_team(team=team).error.code == 2004
    sign_in_as(client, alice)
    assert client.get(f"/t/acme/numbers/{CARD_NUMBER}/").status_code == 200  # the card page's read
    (event,) = AlertEvent.objects.filter(kind=AlertKind.TOKEN_REFUSED)
    assert (event.facts["status"], event.facts["code"]) == (401, 2004)
    assert AlertDelivery.objects.count() == 1

    clock.advance(minutes=59)
    reconcile_team(team=team)
    assert AlertEvent.objects.filter(kind=AlertKind.TOKEN_REFUSED).count() == 1  # within the hour: nothing more
    clock.advance(minutes=2)
    reconcile_team(team=team)
    assert AlertEvent.objects.filter(kind=AlertKind.TOKEN_REFUSED).count() == 2

    team.set_token("")  # no token at all is not Linq refusing one: no alert
    team.save()
    clock.advance(hours=1)
    assert reconcile_team(team=team).error.kind == "token"
    assert AlertEvent.objects.filter(kind=AlertKind.TOKEN_REFUSED).count() == 2


def test_webhook_deliveries_refused_for_a_while_are_told_once(alice, team, clock):
    endpoint = endpoint_for(team)
    subscribe(team, alice, "webhooks_refused")
    linq = Client()
    bad = "v1,c2lnbmF0dXJlLXRoYXQtZG9lcy1ub3QtbWF0Y2g="

    def refused(times: int) -> None:
        for _ in range(times):
            assert deliver(linq, endpoint, last_name_changed(CARD_NUMBER, "a", "b"), signature=bad).status_code == 400

    refused(4)
    clock.advance(minutes=16)  # the window of the first refusal is over: these four are forgotten
    refused(4)
    assert not AlertEvent.objects.filter(kind=AlertKind.WEBHOOKS_REFUSED).exists()
    refused(1)  # the fifth within 15 minutes
    (event,) = AlertEvent.objects.filter(kind=AlertKind.WEBHOOKS_REFUSED)
    assert event.facts["refused"] == services.REFUSED_THRESHOLD and event.facts["reason"] == "signature"
    refused(10)  # more of the same: the team has been told
    clock.advance(minutes=20)
    refused(5)  # a new window, but the team was told less than an hour ago
    assert AlertEvent.objects.filter(kind=AlertKind.WEBHOOKS_REFUSED).count() == 1
    assert AlertDelivery.objects.filter(kind=AlertKind.WEBHOOKS_REFUSED).count() == 1


def test_an_outside_change_raises_its_alert_with_the_entry(alice, team, sandbox):
    endpoint = endpoint_for(team)
    subscribe(team, alice, "outside_change")
    deliver(Client(), endpoint, last_name_changed(CARD_NUMBER, "Support", "Elsewhere"))
    for pk in WebhookEvent.objects.values_list("pk", flat=True):
        process_event(event_pk=pk)
    (event,) = AlertEvent.objects.filter(kind=AlertKind.OUTSIDE_CHANGE)
    assert event.phone_number == CARD_NUMBER and event.entry_id is not None
    assert event.facts["changes"] == {"last_name": ["Support", "Elsewhere"]}
    (delivery,) = AlertDelivery.objects.all()
    assert delivery.status == "pending" and list(delivery.events.all()) == [event]


def test_an_unknown_kind_is_a_programming_error(team):
    with pytest.raises(ValueError):
        services.raise_alert(team, "line_on_fire")
