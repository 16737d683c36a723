"""Fixtures for audit streams: a real https receiver and real syslog listeners, and the app (and its worker
processes) allowed to send to 127.0.0.1 with the receiver's certificate."""

from __future__ import annotations

import pytest

from tests.support.stream_receiver import SyslogListener, WebhookReceiver

ALLOWED = "127.0.0.1/32"


@pytest.fixture
def stream_settings(settings, photo_tls):
    settings.AUDIT_STREAM_ALLOWED_NETWORKS = [ALLOWED]
    settings.AUDIT_STREAM_CA_BUNDLE = str(photo_tls.cert)
    settings.AUDIT_STREAM_READ_TIMEOUT = 2.0
    return settings


@pytest.fixture
def stream_workers(workers, stream_settings, photo_tls):
    """The test's worker processes, allowed what the app is allowed."""
    workers.extra_env.update({"AUDIT_STREAM_ALLOWED_NETWORKS": ALLOWED, "AUDIT_STREAM_CA_BUNDLE": str(photo_tls.cert),
                              "AUDIT_STREAM_RETRY_FIRST": "10", "AUDIT_STREAM_RETRY_MAX": "40"})
    return workers


@pytest.fixture
def receiver(photo_tls):
    server = WebhookReceiver(photo_tls.cert, photo_tls.key).start()
    yield server
    server.stop()


@pytest.fixture
def udp_syslog():
    listener = SyslogListener("udp")
    yield listener
    listener.close()


@pytest.fixture
def tcp_syslog():
    listener = SyslogListener("tcp")
    yield listener
    listener.close()
