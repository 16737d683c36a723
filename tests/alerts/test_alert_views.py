"""The alerts pages: every member sets their own alerts, owners the team's channels and see every delivery;
outsiders get 404, non-owners 403 on team channels. A chat webhook's URL is a secret: encrypted at rest,
never rendered (not even back into a form with errors), never logged; and it must be a public https address
unless the operator allows the network."""

from __future__ import annotations

import logging

import pytest

from contactcards.alerts import services
from contactcards.models import AlertDelivery, AlertKind, AlertSubscription
from tests.alerts.conftest import SECRET_PATH
from tests.support.alerts import subscribe
from tests.support.helpers import sign_in_as, text

pytestmark = pytest.mark.django_db
ALERTS = "/t/acme/alerts/"
URL = f"https://127.0.0.1:9443{SECRET_PATH}"  # allowed by alert_settings; never connected to here


def team_chat(client, url: str = URL, **more):
    return client.post(ALERTS + "add/team/", {"team-kinds": ["line_flagged", "token_refused"],
                                              "team-cadence": "immediate", "team-channel": "chat",
                                              "team-webhook_url": url, **more})


def mine(client, **more):
    return client.post(ALERTS + "add/mine/", {"mine-kinds": ["outside_change"], "mine-cadence": "digest",
                                              "mine-channel": "email", **more})


# -- personas ------------------------------------------------------------------------------------------------


def test_outsiders_get_404_on_every_alerts_url(client, personas, team, alert_settings):
    channel = subscribe(team, personas["owner"], "line_flagged", personal=False, email="ops@example.com")
    own = subscribe(team, personas["owner"], "line_flagged")
    sign_in_as(client, personas["outsider"])
    for url in (ALERTS, ALERTS + "deliveries/"):
        assert client.get(url).status_code == 404
    for url in (ALERTS + "add/mine/", ALERTS + "add/team/", f"{ALERTS}{channel.pk}/", f"{ALERTS}{own.pk}/"):
        assert client.post(url, {"action": "delete"}).status_code == 404
    assert AlertSubscription.objects.count() == 2


def test_every_member_sees_the_page_and_sets_their_own_alerts(client, personas, team, alert_settings):
    for role in ("owner", "editor", "viewer"):
        sign_in_as(client, personas[role])
        page = client.get(ALERTS)
        assert page.status_code == 200
        assert ('id="add-team"' in page.content.decode()) is (role == "owner")
        assert mine(client).status_code == 302
    assert AlertSubscription.objects.filter(user__isnull=False, cadence="digest").count() == 3
    assert client.post(ALERTS).status_code == 405
    assert client.post(ALERTS + "add/nobody/", {}).status_code == 404
    assert client.post(ALERTS + "12345/", {"action": "delete"}).status_code == 404


@pytest.mark.parametrize("role", ["editor", "viewer"])
def test_only_owners_set_team_channels_and_see_every_delivery(client, personas, team, role, alert_settings):
    channel = subscribe(team, personas["owner"], "line_flagged", personal=False, email="ops@example.com")
    sign_in_as(client, personas[role])
    assert team_chat(client).status_code == 403
    assert client.post(f"{ALERTS}{channel.pk}/", {"action": "delete"}).status_code == 403
    assert client.post(f"{ALERTS}{channel.pk}/", {f"a{channel.pk}-kinds": ["job_failed"],
                                                   f"a{channel.pk}-cadence": "digest"}).status_code == 403
    assert client.get(ALERTS + "deliveries/").status_code == 403
    assert list(AlertSubscription.objects.values_list("kinds", flat=True)) == [["line_flagged"]]


def test_a_persons_alert_is_theirs_alone(client, alice, bob, team, alert_settings):
    alices = subscribe(team, alice, "line_flagged")
    sign_in_as(client, bob)
    assert client.post(f"{ALERTS}{alices.pk}/", {"action": "delete"}).status_code == 404
    assert "line_flagged" not in text(client.get(ALERTS)) and AlertSubscription.objects.filter(pk=alices.pk).exists()


def test_changing_and_deleting_an_alert(client, alice, team, alert_settings):
    own = subscribe(team, alice, "line_flagged")
    sign_in_as(client, alice)
    prefix = f"a{own.pk}"
    assert client.post(f"{ALERTS}{own.pk}/", {f"{prefix}-cadence": "digest"}).status_code == 400  # no kind chosen
    assert client.post(f"{ALERTS}{own.pk}/", {f"{prefix}-kinds": ["job_failed", "line_critical"],
                                               f"{prefix}-cadence": "digest"}).status_code == 302
    own.refresh_from_db()
    assert (own.kinds, own.cadence) == (["line_critical", "job_failed"], "digest") and own.digest_until is not None
    assert client.post(f"{ALERTS}{own.pk}/", {"action": "delete"}).status_code == 302
    assert not AlertSubscription.objects.exists()


# -- the webhook URL: a secret, and only to public https addresses -------------------------------------------------


def test_the_webhook_url_is_encrypted_and_never_rendered(client, alice, team, alert_settings, caplog):
    sign_in_as(client, alice)
    assert team_chat(client).status_code == 302
    channel = AlertSubscription.objects.get()
    assert channel.get_webhook_url() == URL and SECRET_PATH not in channel.webhook_url_encrypted
    assert channel.webhook_host == "127.0.0.1:9443"
    page = client.get(ALERTS).content.decode()
    assert "127.0.0.1:9443" in page and SECRET_PATH not in page and "s3cret" not in page
    # A form that comes back with an error does not put the URL back either.
    refused = team_chat(client, URL, **{"team-kinds": []})
    assert refused.status_code == 400 and "s3cret" not in refused.content.decode()
    # Sending to it (nobody listens on that port here) fails with a code; the URL is in no log line.
    with caplog.at_level(logging.DEBUG):
        event = services.raise_alert(team, AlertKind.LINE_FLAGGED)
        delivery = AlertDelivery.objects.get(events=event)
        assert services.deliver(delivery.pk) == "failed: connection"
    assert "s3cret" not in caplog.text
    deliveries = client.get(ALERTS + "deliveries/").content.decode()
    assert "the connection was refused or broke" in deliveries and "s3cret" not in deliveries


@pytest.mark.parametrize(("url", "words"), [
    ("http://hooks.example.com/services/x", "must start with https://"),
    ("https://169.254.169.254/latest/meta-data/", "not public (169.254.169.254)"),
    ("https://10.0.0.8/hook", "not public (10.0.0.8)"),
    ("https://127.0.0.1:9443/hook", "not public (127.0.0.1)"),
    ("https://[::1]/hook", "not public (::1)"),
    ("not a url", "must start with https://"),
    ("https://user:pw@hooks.example.com/x", "not a valid https address"),
])
def test_a_webhook_to_a_private_or_odd_address_is_refused(client, alice, team, settings, url, words):
    settings.AUDIT_STREAM_ALLOWED_NETWORKS = []  # production: public addresses only
    sign_in_as(client, alice)
    response = team_chat(client, url)
    assert response.status_code == 400 and words in text(response)
    assert not AlertSubscription.objects.exists()


def test_an_address_checked_at_setup_is_checked_again_before_each_send(alice, team, alert_settings):
    channel = subscribe(team, alice, "line_flagged", personal=False, channel="chat", webhook_url=URL,
                        webhook_host="127.0.0.1:9443")
    alert_settings.AUDIT_STREAM_ALLOWED_NETWORKS = []  # the operator no longer allows the network
    services.raise_alert(team, AlertKind.LINE_FLAGGED)
    delivery = AlertDelivery.objects.get(subscription=channel)
    assert services.deliver(delivery.pk) == "failed: address"
    delivery.refresh_from_db()
    assert (delivery.status, delivery.error) == ("failed", "address")


def test_a_team_email_channel_needs_an_address(client, alice, team):
    sign_in_as(client, alice)
    response = client.post(ALERTS + "add/team/", {"team-kinds": ["job_failed"], "team-cadence": "immediate",
                                                  "team-channel": "email", "team-email": ""})
    assert response.status_code == 400 and "Give the email address" in text(response)
    added = client.post(ALERTS + "add/team/", {"team-kinds": ["job_failed"], "team-cadence": "immediate",
                                               "team-channel": "email", "team-email": "ops@example.com"})
    assert added.status_code == 302
    assert AlertSubscription.objects.get().target == "ops@example.com"


def test_a_person_without_an_email_address_is_recorded_as_not_reachable(alice, team):
    subscribe(team, alice, "job_failed")
    services.raise_alert(team, AlertKind.JOB_FAILED, facts={"job_id": 1, "failed": 1, "items": 1})
    delivery = AlertDelivery.objects.get()
    assert services.deliver(delivery.pk) == "failed: no_address"
    delivery.refresh_from_db()
    assert (delivery.status, delivery.error) == ("gave_up", "no_address")  # no retry can help
