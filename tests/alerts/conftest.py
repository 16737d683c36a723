"""Fixtures for alerts: a real https receiver standing in for a chat tool's incoming webhook (the audit
streams' receiver), the app and its worker processes allowed to send to it on 127.0.0.1."""

from __future__ import annotations

import pytest

from tests.support.stream_receiver import WebhookReceiver

ALLOWED = "127.0.0.1/32"
SECRET_PATH = "/services/T0000/B0000/s3cretPathOfTheWebhook"


@pytest.fixture
def alert_settings(settings, photo_tls):
    settings.AUDIT_STREAM_ALLOWED_NETWORKS = [ALLOWED]
    settings.AUDIT_STREAM_CA_BUNDLE = str(photo_tls.cert)
    settings.AUDIT_STREAM_READ_TIMEOUT = 2.0
    return settings


@pytest.fixture
def alert_workers(workers, alert_settings, photo_tls):
    """The test's worker processes, allowed what the app is allowed; retries after 30 s, 60 s…, 3 tries."""
    workers.extra_env.update({"AUDIT_STREAM_ALLOWED_NETWORKS": ALLOWED, "AUDIT_STREAM_CA_BUNDLE": str(photo_tls.cert),
                              "ALERT_RETRY_FIRST": "30", "ALERT_RETRY_MAX": "600", "ALERT_MAX_ATTEMPTS": "3"})
    return workers


@pytest.fixture
def chat(photo_tls):
    server = WebhookReceiver(photo_tls.cert, photo_tls.key).start()
    yield server
    server.stop()


def chat_url(receiver: WebhookReceiver) -> str:
    return f"https://127.0.0.1:{receiver.port}{SECRET_PATH}"
