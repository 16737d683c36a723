"""Receivers for audit-stream tests: a real https webhook receiver and a real syslog listener on loopback.

:class:`WebhookReceiver` keeps every POST it answered with 2xx (headers and raw body) and answers as the
test says (``status``); ``stop()`` closes its port, so connections are refused, and ``start()`` opens the
same port again - a receiver that was down for a while. :class:`SyslogListener` keeps every UDP datagram
or every octet-counted TCP frame it gets.
"""

from __future__ import annotations

import json
import socket
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from devtools.localtls import server_context


@dataclass
class Delivery:
    headers: dict[str, str]
    body: bytes

    @property
    def payload(self) -> dict:
        return json.loads(self.body)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_POST(self) -> None:  # noqa: N802
        owner: WebhookReceiver = self.server.owner  # type: ignore[attr-defined]
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        status = owner.status
        with owner.lock:
            owner.attempts.append(Delivery({k.lower(): v for k, v in self.headers.items()}, body))
            if 200 <= status < 300:
                owner.taken.append(Delivery({k.lower(): v for k, v in self.headers.items()}, body))
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()


class _TLSHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def handle_error(self, request, client_address) -> None:
        pass

    def get_request(self):
        sock, address = super().get_request()
        sock.settimeout(10)
        return self.context.wrap_socket(sock, server_side=True, do_handshake_on_connect=False), address


@dataclass
class WebhookReceiver:
    cert: Path
    key: Path
    status: int = 200
    port: int = 0
    taken: list[Delivery] = field(default_factory=list)  # answered 2xx
    attempts: list[Delivery] = field(default_factory=list)  # every POST, whatever the answer
    lock: threading.Lock = field(default_factory=threading.Lock)
    httpd: _TLSHTTPServer | None = None

    def start(self) -> WebhookReceiver:
        self.httpd = _TLSHTTPServer(("127.0.0.1", self.port), _Handler)
        self.httpd.context = server_context(self.cert, self.key)
        self.httpd.owner = self
        self.port = self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever, daemon=True, name="stream-receiver").start()
        return self

    def stop(self) -> None:
        """Close the port: from now on connections are refused."""
        if self.httpd is not None:
            self.httpd.shutdown()
            self.httpd.server_close()
            self.httpd = None

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}/audit"


class SyslogListener:
    def __init__(self, transport: str = "udp") -> None:
        self.transport = transport
        kind = socket.SOCK_DGRAM if transport == "udp" else socket.SOCK_STREAM
        self.sock = socket.socket(socket.AF_INET, kind)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.messages: list[bytes] = []
        self.lock = threading.Lock()
        if transport == "tcp":
            self.sock.listen(4)
        threading.Thread(target=self._serve, daemon=True, name=f"syslog-{transport}").start()

    def _serve(self) -> None:
        while True:
            try:
                if self.transport == "udp":
                    data, _ = self.sock.recvfrom(65535)
                    with self.lock:
                        self.messages.append(data)
                    continue
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._read_frames, args=(conn,), daemon=True).start()

    def _read_frames(self, conn: socket.socket) -> None:
        buffer = b""
        with conn:
            while True:
                try:
                    chunk = conn.recv(65536)
                except OSError:
                    return
                if not chunk:
                    return
                buffer += chunk
                while b" " in buffer:
                    length, rest = buffer.split(b" ", 1)
                    if len(rest) < int(length):
                        break
                    with self.lock:
                        self.messages.append(rest[:int(length)])
                    buffer = rest[int(length):]

    def close(self) -> None:
        self.sock.close()
