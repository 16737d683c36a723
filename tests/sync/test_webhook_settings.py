"""The webhook settings page: owners subscribe, pause, resume, delete and test; every member sees the state."""

from __future__ import annotations

import pytest

from conftest import TOKEN
from contactcards.models import AuditEntry, WebhookEndpoint
from tests.support.helpers import sign_in_as

PAGE = "/t/acme/settings/webhooks/"
SUBSCRIBE = PAGE + "subscribe/"
TEST = PAGE + "test/"


@pytest.fixture
def public_url(settings):
    settings.PUBLIC_URL = "http://127.0.0.1:9"  # the sandbox accepts loopback http; nothing is delivered here
    return settings.PUBLIC_URL


def subscribe(client, owner):
    sign_in_as(client, owner)
    return client.post(SUBSCRIBE)


# -- it works -----------------------------------------------------------------------


def test_an_owner_subscribes_and_the_secret_is_stored_encrypted_never_shown(client, alice, sandbox, public_url):
    response = subscribe(client, alice)
    assert response.status_code == 302
    (subscription,) = sandbox.webhooks.of(TOKEN)
    endpoint = WebhookEndpoint.objects.get()
    assert endpoint.subscription_id == subscription.id
    assert endpoint.get_secret() == subscription.secret
    assert subscription.secret not in endpoint.secret_encrypted
    assert subscription.target_url == f"{public_url}/hooks/linq/{endpoint.path_token}/"
    assert set(subscription.subscribed_events) == {"contact_card.created", "contact_card.updated",
                                                   "contact_card.deleted", "phone_number.status_updated",
                                                   "phone_number.assigned", "phone_number.released"}
    html = client.get(PAGE).content.decode()
    assert subscription.id in html and "this team" in html
    assert subscription.secret not in html and endpoint.path_token not in html
    entry = AuditEntry.objects.get(action="subscription")
    assert subscription.secret not in str(entry.changes) + str(entry.request_body)
    assert endpoint.path_token not in str(entry.changes) + str(entry.request_body)


def test_subscribing_again_gives_a_new_address_and_secret(client, alice, sandbox, public_url):
    subscribe(client, alice)
    first = WebhookEndpoint.objects.get()
    subscribe(client, alice)
    second = WebhookEndpoint.objects.get()
    assert second.path_token != first.path_token and second.get_secret() != first.get_secret()


def test_pause_resume_and_delete(client, alice, sandbox, public_url):
    subscribe(client, alice)
    (subscription,) = sandbox.webhooks.of(TOKEN)
    url = f"{PAGE}{subscription.id}/"
    assert client.post(url, {"action": "pause"}).status_code == 302
    assert subscription.is_active is False
    assert client.post(url, {"action": "resume"}).status_code == 302
    assert subscription.is_active is True
    assert client.post(url, {"action": "delete"}).status_code == 302
    assert sandbox.webhooks.of(TOKEN) == []
    endpoint = WebhookEndpoint.objects.get()
    assert endpoint.subscription_id == "" and not endpoint.has_secret
    changes = AuditEntry.objects.filter(action="subscription").order_by("id").values_list("changes", flat=True)
    assert list(changes)[1:] == [
        {"subscription": [subscription.id, "pause"]}, {"subscription": [subscription.id, "resume"]},
        {"subscription": [subscription.id, "delete"]}]


def test_a_paused_subscription_delivers_nothing(client, alice, sandbox, public_url):
    subscribe(client, alice)
    (subscription,) = sandbox.webhooks.of(TOKEN)
    client.post(f"{PAGE}{subscription.id}/", {"action": "pause"})
    sandbox.set_card("+15550001001", first_name="Nobody", last_name="Hears")
    assert sandbox.webhooks.outbox == []


def test_without_a_public_url_the_page_explains_and_subscribing_is_refused(client, alice, sandbox, settings):
    settings.PUBLIC_URL = ""
    sign_in_as(client, alice)
    assert 'id="no-public-url"' in client.get(PAGE).content.decode()
    response = client.post(SUBSCRIBE)
    assert response.status_code == 400 and "PUBLIC_URL is not set" in response.content.decode()
    assert sandbox.webhooks.of(TOKEN) == []


def test_linq_refusing_the_subscription_is_shown_and_audited(client, alice, sandbox, public_url):
    sandbox.add_fault({"kind": "error", "status": 500, "code": 3006, "methods": ["POST"]})
    response = subscribe(client, alice)
    assert response.status_code == 200 and "Linq refused or did not answer" in response.content.decode()
    assert not WebhookEndpoint.objects.get().has_secret
    assert AuditEntry.objects.get(action="subscription").outcome == "api_error"


def test_test_delivery_reports_what_the_receiver_answered(client, alice, sandbox, public_url):
    sign_in_as(client, alice)
    assert "There is no subscription to test" in client.post(TEST).content.decode()
    subscribe(client, alice)
    html = client.post(TEST).content.decode()  # PUBLIC_URL points nowhere here
    assert 'id="test-result"' in html and "did not arrive" in html


def test_the_page_links_to_the_alerts_page(client, alice):
    sign_in_as(client, alice)
    assert 'href="/t/acme/alerts/"' in client.get(PAGE).content.decode()


# -- personas: it checks team membership and the owner role -------------------------------


def test_every_member_sees_the_page_only_owners_see_the_controls(client, alice, bob, vera, public_url, sandbox):
    for user, owner in ((alice, True), (bob, False), (vera, False)):
        sign_in_as(client, user)
        response = client.get(PAGE)
        assert response.status_code == 200
        assert ('id="subscribe"' in response.content.decode()) is owner
    assert client.post(PAGE).status_code == 405


@pytest.mark.parametrize("url", [SUBSCRIBE, TEST])
def test_editors_and_viewers_may_not_change_anything(client, bob, vera, url, public_url, sandbox):
    for user in (bob, vera):
        sign_in_as(client, user)
        assert client.post(url, {"alert": "on"}).status_code == 403
    assert sandbox.webhooks.of(TOKEN) == []


def test_editors_may_not_pause_or_delete_and_outsiders_learn_nothing(client, alice, bob, charlie, public_url,
                                                                     sandbox):
    subscribe(client, alice)
    (subscription,) = sandbox.webhooks.of(TOKEN)
    sign_in_as(client, bob)
    assert client.post(f"{PAGE}{subscription.id}/", {"action": "delete"}).status_code == 403
    sign_in_as(client, charlie)
    for url in (PAGE, SUBSCRIBE, TEST, f"{PAGE}{subscription.id}/"):
        assert client.get(url).status_code == 404
        assert client.post(url, {"action": "delete"}).status_code == 404
    assert sandbox.webhooks.of(TOKEN) == [subscription]


@pytest.mark.parametrize("subscription_id", ["not-ours", "x" * 300, "%00"])
def test_an_unknown_subscription_is_404_and_a_bad_action_400(client, alice, sandbox, public_url, subscription_id):
    subscribe(client, alice)
    (subscription,) = sandbox.webhooks.of(TOKEN)
    assert client.post(f"{PAGE}{subscription_id}/", {"action": "delete"}).status_code == 404
    assert client.post(f"{PAGE}{subscription.id}/", {"action": "explode\x00"}).status_code == 400
    assert sandbox.webhooks.of(TOKEN) == [subscription]
