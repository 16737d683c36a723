"""Every page of ours sends a strict Content-Security-Policy; the admin keeps Django's defaults."""

from tests.support.helpers import sign_in_as


def test_pages_send_a_strict_csp(client, alice):
    sign_in_as(client, alice)
    for url in ("/accounts/login/", "/t/acme/", "/t/acme/history/"):
        policy = client.get(url)["Content-Security-Policy"]
        assert "script-src 'self'" in policy and "style-src 'self'" in policy
        assert "frame-ancestors 'none'" in policy and "'unsafe-inline'" not in policy


def test_admin_is_left_alone(admin_client):
    assert "Content-Security-Policy" not in admin_client.get("/admin/")


def test_frames_and_sniffing_are_refused(client, db):
    response = client.get("/accounts/login/")
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
