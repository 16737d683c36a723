"""A real SMTP server for the tests (aiosmtpd on an ephemeral loopback port) and its inbox.

The app sends through Django's SMTP backend to it, exactly as in production; tests read the
messages it received and follow the links in them.
"""

from __future__ import annotations

import email
import email.policy
import re
import threading
from email.message import EmailMessage

from aiosmtpd.controller import Controller

LINK = re.compile(r"https?://\S+")


class Inbox:
    """Keeps every message the server accepts (aiosmtpd handler)."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.greetings = 0  # SMTP sessions a client opened (EHLO), whether or not it sent anything
        self._lock = threading.Lock()

    async def handle_EHLO(self, server, session, envelope, hostname, responses) -> list[str]:
        session.host_name = hostname
        with self._lock:
            self.greetings += 1
        return responses

    async def handle_DATA(self, server, session, envelope) -> str:
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self._lock:
            self.messages.append(message)
        return "250 Message accepted for delivery"

    def clear(self) -> None:
        with self._lock:
            self.messages.clear()
            self.greetings = 0

    def to(self, address: str) -> list[EmailMessage]:
        with self._lock:
            return [m for m in self.messages if address in m["To"]]

    @staticmethod
    def body(message: EmailMessage) -> str:
        return message.get_body(preferencelist=("plain",)).get_content()

    def links(self, address: str) -> list[str]:
        return [link for message in self.to(address) for link in LINK.findall(self.body(message))]


class SMTPServer(Controller):
    """aiosmtpd's threaded controller, listening on a port the OS picks (port 0)."""

    def __init__(self, inbox: Inbox) -> None:
        super().__init__(inbox, hostname="127.0.0.1", port=0)

    def _trigger_server(self) -> None:
        self.port = self.server.sockets[0].getsockname()[1]
        super()._trigger_server()
