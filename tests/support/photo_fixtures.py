"""Photo fixtures: real https servers on loopback, started once per test session.

* ``photo_tls``: a self-signed certificate for 127.0.0.1/localhost (and ``photos.test``, a name the
  tests resolve to 127.0.0.1 at the resolver boundary), the only CA the photo check trusts here.
* ``photo_files``: the local photo storage folder served over that https (like ``bin/run``).
* ``image_server``: an https server whose answers tests choose per path (images, redirects,
  errors, oversized or never-finished bodies), to rehearse what Linq's fetch would meet.
* ``moto_s3``: moto's real S3 server (its own WSGI app and request handler, as ``moto_server``
  runs them) over the same https, for the production storage path.
* ``photo_settings``: the app pointed at all of that: ``STORAGES["photos"]`` on the served
  folder, the fetch allow-list set to exactly ``127.0.0.1/32`` and the sandbox allowed to fetch.
* ``trap``: a listener on 127.0.0.2 (outside the allow-list) that proves no connection reached it.
"""

from __future__ import annotations

import io
import socket
import ssl
import tempfile
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from PIL import Image

from devtools.localtls import StaticTLSServer, self_signed_certificate, server_context

ALLOWED = ["127.0.0.1/32"]


@dataclass(frozen=True)
class TLSFiles:
    folder: Path
    cert: Path
    key: Path


@pytest.fixture(scope="session")
def photo_tls() -> TLSFiles:
    folder = Path(tempfile.mkdtemp(prefix="linqadmin-photos-"))
    cert, key = self_signed_certificate(folder / "tls", names=("localhost", "photos.test"))
    return TLSFiles(folder=folder, cert=cert, key=key)


@pytest.fixture(scope="session")
def photo_files(photo_tls) -> StaticTLSServer:
    server = StaticTLSServer(photo_tls.folder / "storage", photo_tls.cert, photo_tls.key).start()
    yield server
    server.stop()


def png_bytes(width: int, height: int, color=(200, 60, 40), **save_args) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), color).save(out, format="PNG", **save_args)
    return out.getvalue()


def upload(data: bytes, name: str = "logo.png", content_type: str = "image/png"):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, data, content_type=content_type)


# -- an https server with chosen answers ---------------------------------------------------------


@dataclass
class Route:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    hang: bool = False  # send nothing until the test ends (a server that never answers)
    # Send the answer one byte per ``trickle`` seconds (each byte well within any read timeout),
    # from its first byte (``trickle_from="status"``) or from the body's (``"body"``), then hang up
    # one byte short of the Content-Length: a client that waited for it all finds a broken download.
    trickle: float = 0.0
    trickle_from: str = "body"


class _ImageHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_GET(self) -> None:  # noqa: N802
        server: ImageServer = self.server.owner  # type: ignore[attr-defined]
        server.requests.append((self.headers.get("Host", ""), self.path))
        route = server.routes.get(self.path.split("?", 1)[0], Route(status=404, body=b"not here"))
        if route.hang:
            server.release.wait(30)
            return
        if route.trickle:
            self._trickle(server, route)
            return
        self.send_response(route.status)
        headers = {"Content-Type": "image/png", "Content-Length": str(len(route.body)), **route.headers}
        for name, value in headers.items():
            if value:  # "" leaves a header out (e.g. no Content-Length: the body ends when we close)
                self.send_header(name, value)
        if not headers["Content-Length"]:
            self.close_connection = True
        self.end_headers()
        try:
            self.wfile.write(route.body)
        except OSError:
            pass

    def _trickle(self, server: ImageServer, route: Route) -> None:
        head = (f"HTTP/1.1 {route.status} OK\r\nContent-Type: image/png\r\n"
                f"Content-Length: {len(route.body) + 1}\r\nConnection: close\r\n\r\n").encode()
        if route.trickle_from == "body":
            self.wfile.write(head)
            slow = route.body
        else:
            slow = head + route.body
        self.close_connection = True
        for index in range(len(slow)):
            if server.release.wait(route.trickle):
                return  # the test is over
            try:
                self.wfile.write(slow[index:index + 1])
            except OSError:
                return  # the client gave up


class _TLSHTTPServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address) -> None:
        pass

    def get_request(self):
        sock, address = super().get_request()
        return self.context.wrap_socket(sock, server_side=True, do_handshake_on_connect=False), address


class ImageServer:
    def __init__(self, tls: TLSFiles) -> None:
        self.httpd = _TLSHTTPServer(("127.0.0.1", 0), _ImageHandler)
        self.httpd.context = server_context(tls.cert, tls.key)
        self.httpd.owner = self
        self.routes: dict[str, Route] = {}
        self.requests: list[tuple[str, str]] = []
        self.release = threading.Event()
        threading.Thread(target=self.httpd.serve_forever, daemon=True, name="image-server").start()

    @property
    def port(self) -> int:
        return self.httpd.server_address[1]

    def url(self, path: str, host: str = "127.0.0.1") -> str:
        return f"https://{host}:{self.port}{path}"

    def reset(self) -> None:
        self.routes.clear()
        self.requests.clear()
        self.release.set()
        self.release = threading.Event()


@pytest.fixture(scope="session")
def image_server_session(photo_tls) -> ImageServer:
    server = ImageServer(photo_tls)
    yield server
    server.release.set()
    server.httpd.shutdown()


@pytest.fixture
def image_server(image_server_session) -> ImageServer:
    image_server_session.reset()
    yield image_server_session
    image_server_session.release.set()


# -- the app pointed at the local servers ----------------------------------------------------------


@pytest.fixture
def photo_settings(settings, photo_tls, photo_files, sandbox):
    """Photos stored in the served folder (a fresh subfolder per test); the check may fetch from
    127.0.0.1 only; so may the sandbox."""
    folder = f"t{uuid.uuid4().hex[:12]}"
    settings.PHOTOS_TEST_ROOT = photo_tls.folder / "storage" / folder
    settings.STORAGES = {**settings.STORAGES, "photos": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": str(settings.PHOTOS_TEST_ROOT), "base_url": f"{photo_files.url}{folder}/"},
    }}
    settings.PHOTO_FETCH_ALLOWED_NETWORKS = ALLOWED
    settings.PHOTO_FETCH_CA_BUNDLE = str(photo_tls.cert)
    settings.PHOTO_FETCH_READ_TIMEOUT = 1.0
    settings.PHOTO_FETCH_TOTAL_TIMEOUT = 5.0
    sandbox.allow_fetch(photo_files.url, str(photo_tls.cert))
    return settings


# -- moto's S3 server over https -------------------------------------------------------------------


@dataclass
class S3Server:
    endpoint: str
    bucket: str
    cert: Path

    def client(self):
        import boto3

        return boto3.client("s3", endpoint_url=self.endpoint, region_name="us-east-1", verify=str(self.cert),
                            aws_access_key_id="testing", aws_secret_access_key="testing")


@pytest.fixture(scope="session")
def moto_s3(photo_tls) -> S3Server:
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
    from werkzeug.serving import make_server

    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(str(photo_tls.cert), str(photo_tls.key))
    httpd = make_server("127.0.0.1", 0, DomainDispatcherApplication(create_backend_app), threaded=True,
                        request_handler=MotoRequestHandler, ssl_context=context)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True, name="moto-s3")
    thread.start()
    server = S3Server(endpoint=f"https://127.0.0.1:{httpd.server_port}", bucket="card-photos", cert=photo_tls.cert)
    server.client().create_bucket(Bucket=server.bucket)
    yield server
    httpd.shutdown()


@pytest.fixture
def s3_photo_settings(settings, moto_s3, monkeypatch):
    """STORAGES["photos"] as production configures it, pointed at the moto server."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    settings.STORAGES = {**settings.STORAGES, "photos": {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": moto_s3.bucket, "endpoint_url": moto_s3.endpoint, "region_name": "us-east-1",
            "location": "card-photos", "default_acl": "public-read", "querystring_auth": False,
            "url_protocol": "https:", "addressing_style": "path", "verify": str(moto_s3.cert),
            "object_parameters": {"CacheControl": "public, max-age=31536000, immutable"},
        },
    }}
    settings.PHOTO_FETCH_ALLOWED_NETWORKS = ALLOWED
    settings.PHOTO_FETCH_CA_BUNDLE = str(moto_s3.cert)
    return settings


# -- a server that accepts and then says nothing -------------------------------------------------


class SilentServer:
    """A TCP listener on 127.0.0.1 that accepts connections and never speaks: a TLS handshake with it
    waits for an answer that never comes. It closes each connection after ``hold`` seconds, so a
    client without a deadline would see the connection drop (not a timeout) after that long."""

    def __init__(self, hold: float) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]
        self.hold = hold
        self.done = threading.Event()
        threading.Thread(target=self._serve, daemon=True, name="silent-server").start()

    def _serve(self) -> None:
        while not self.done.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return  # closed
            threading.Thread(target=self._hold, args=(conn,), daemon=True).start()

    def _hold(self, conn: socket.socket) -> None:
        self.done.wait(self.hold)
        conn.close()

    def close(self) -> None:
        self.done.set()
        self.sock.close()


@pytest.fixture
def silent_server():
    server = SilentServer(hold=10)
    yield server
    server.close()


# -- proving that nothing connected --------------------------------------------------------------


class Trap:
    """A listening socket nobody should reach. The kernel completes a TCP handshake without
    ``accept()``, so a pending connection is visible to a non-blocking accept, with no timing."""

    def __init__(self, host: str = "127.0.0.2") -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind((host, 0))
        self.sock.listen(8)
        self.sock.setblocking(False)
        self.host, self.port = self.sock.getsockname()[:2]

    def connections(self) -> int:
        count = 0
        while True:
            try:
                conn, _ = self.sock.accept()
            except BlockingIOError:
                return count
            conn.close()
            count += 1


@pytest.fixture
def trap() -> Trap:
    trap = Trap()
    yield trap
    trap.sock.close()


@pytest.fixture
def resolve_as(monkeypatch) -> Callable[[dict[str, str]], None]:
    """Make chosen names resolve to chosen addresses at the resolver boundary (``socket.getaddrinfo``)."""

    def install(names: dict[str, str]) -> None:
        real = socket.getaddrinfo

        def fake(host, port, *args, **kwargs):
            if isinstance(host, bytes):
                host = host.decode()
            if host in names:
                return real(names[host], port, *args, **kwargs)
            return real(host, port, *args, **kwargs)

        monkeypatch.setattr(socket, "getaddrinfo", fake)

    return install
