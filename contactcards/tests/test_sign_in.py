"""Throttled sign-in (django-axes): who is locked out, for how long, what they are told, what is recorded."""

from __future__ import annotations

from datetime import timedelta

import pytest
from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.contrib.auth import get_user_model

from conftest import PASSWORD
from contactcards.tests.helpers import LOGIN_URL, is_signed_in, sign_in_client

OFFICE, HOME = "203.0.113.7", "198.51.100.20"
pytestmark = pytest.mark.django_db


def test_it_signs_in_with_the_right_password(client, alice):
    response = sign_in_client(client, "alice")
    assert response.status_code == 302 and is_signed_in(client)
    assert AccessLog.objects.filter(username="alice").count() == 1


def test_a_wrong_password_and_an_unknown_user_get_the_same_answer(client, alice):
    wrong = sign_in_client(client, "alice", "not-the-password").content.decode()
    unknown = sign_in_client(client, "nobody-here", "not-the-password").content.decode()
    message = "Please enter a correct username and password"
    assert message in wrong and message in unknown
    assert "nobody-here" not in unknown.replace('value="nobody-here"', "")  # echoed in the input only
    assert not is_signed_in(client)


def test_25_wrong_passwords_then_the_right_one_is_refused_with_a_message(client, alice, bob):
    for _ in range(25):
        sign_in_client(client, "alice", "guess-" + "x" * 8, ip=OFFICE)
    response = sign_in_client(client, "alice", PASSWORD, ip=OFFICE)
    assert response.status_code == 429
    page = response.content.decode()
    assert "Sign-in paused" in page and "10 in a row" in page and "15 minutes" in page
    assert "ends by itself" in page and "Reset it by email" in page
    assert not is_signed_in(client)
    # bob, at the same office address, is not affected
    other = type(client)()
    assert sign_in_client(other, "bob", ip=OFFICE).status_code == 302 and is_signed_in(other)
    # nor is alice herself from another network
    home = type(client)()
    assert sign_in_client(home, "alice", ip=HOME).status_code == 302 and is_signed_in(home)


def test_the_pause_ends_by_itself_and_guessing_does_not_extend_it(client, alice, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT + 5):
        sign_in_client(client, "alice", "wrong-password-1", ip=OFFICE)
    assert sign_in_client(client, "alice", ip=OFFICE).status_code == 429
    attempt = AccessAttempt.objects.get(username="alice", ip_address=OFFICE)
    assert attempt.failures_since_start == settings.AXES_FAILURE_LIMIT  # guesses during the pause are not counted
    # the cool-off passes (the record ages; nobody touches it)
    AccessAttempt.objects.filter(pk=attempt.pk).update(
        attempt_time=attempt.attempt_time - settings.AXES_COOLOFF_TIME - timedelta(seconds=1))
    assert sign_in_client(client, "alice", ip=OFFICE).status_code == 302 and is_signed_in(client)


def test_failures_and_lockouts_are_recorded_without_the_password(client, alice):
    for _ in range(10):
        sign_in_client(client, "alice", "my-secret-guess-42", ip=OFFICE)
    failures = AccessFailureLog.objects.filter(username="alice")
    assert failures.count() == 10
    assert list(failures.filter(locked_out=True).values_list("ip_address", flat=True)) == [OFFICE]
    stored = "".join(AccessAttempt.objects.values_list("post_data", flat=True))
    assert "auth-password" in stored and "my-secret-guess-42" not in stored


def test_the_admin_sign_in_is_the_throttled_one(client, db):
    get_user_model().objects.create_superuser("root", "root@example.com", PASSWORD)
    response = client.get("/admin/login/?next=/admin/")
    assert response.status_code == 302 and response["Location"].startswith(f"{LOGIN_URL}?next=/admin/")
    for _ in range(12):
        sign_in_client(client, "root", "wrong-password-1", ip=OFFICE, next_path="/admin/")
    assert sign_in_client(client, "root", ip=OFFICE, next_path="/admin/").status_code == 429
    assert client.get("/admin/").status_code == 302  # still not in


def test_a_sign_in_restarts_the_count(client, alice, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        sign_in_client(client, "alice", "wrong-password-1", ip=OFFICE)
    assert sign_in_client(client, "alice", ip=OFFICE).status_code == 302
    assert not AccessAttempt.objects.filter(username="alice").exists()


# -- each person reads their own sign-in activity; superusers read everyone's ----------------------

def test_the_account_page_shows_my_own_activity_only(client, alice, bob):
    sign_in_client(client, "bob", "wrong-password-1", ip=HOME)
    for _ in range(2):
        sign_in_client(client, "alice", "wrong-password-1", ip=OFFICE)
    sign_in_client(client, "alice", ip=OFFICE)
    page = client.get("/accounts/").content.decode()
    assert page.count('class="activity-failure"') == 2 and page.count('class="activity-success"') == 1
    assert OFFICE in page and HOME not in page


@pytest.mark.parametrize("page", ["axes_accesslog", "axes_accessfailurelog", "axes_accessattempt"])
def test_superusers_read_everyones_activity_in_the_admin(client, alice, page):
    sign_in_client(client, "alice", "wrong-password-1", ip=OFFICE)
    client.force_login(alice)
    assert client.get(f"/admin/axes/{page.split('_')[1]}/").status_code == 302  # not staff
    root = get_user_model().objects.create_superuser("root", "root@example.com", PASSWORD)
    client.force_login(root)
    response = client.get(f"/admin/axes/{page.split('_')[1]}/")
    assert response.status_code == 200
    if page == "axes_accessfailurelog":
        assert "alice" in response.content.decode()
