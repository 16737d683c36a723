"""Local https for development and tests: a self-signed certificate and a static file server.

Linq only accepts https links, and so does the sandbox. In development (``bin/run``) and in the
tests, uploaded photos live on disk (``FileSystemStorage``) and this server publishes that folder
over real TLS on 127.0.0.1 with a certificate made on the spot for ``127.0.0.1`` and
``localhost``. Whoever fetches from it (the photo check, the sandbox) trusts exactly that
certificate through an explicit CA file; nothing turns verification off. No Django imports.
"""

from __future__ import annotations

import datetime
import functools
import ipaddress
import ssl
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


def self_signed_certificate(folder: Path, *, names: tuple[str, ...] = ("localhost",),
                            addresses: tuple[str, ...] = ("127.0.0.1",)) -> tuple[Path, Path]:
    """Write ``cert.pem`` and ``key.pem`` for the given names/addresses into ``folder``; return their paths."""
    folder.mkdir(parents=True, exist_ok=True)
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "linqadmin local photos")])
    now = datetime.datetime.now(datetime.UTC)
    alt_names: list[x509.GeneralName] = [x509.DNSName(name) for name in names]
    alt_names += [x509.IPAddress(ipaddress.ip_address(address)) for address in addresses]
    certificate = (
        x509.CertificateBuilder()
        .subject_name(subject).issuer_name(subject).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1)).not_valid_after(now + datetime.timedelta(days=30))
        .add_extension(x509.SubjectAlternativeName(alt_names), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


def server_context(cert_path: Path, key_path: Path) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(str(cert_path), str(key_path))
    return context


class _QuietFiles(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass

    def list_directory(self, path):  # type: ignore[override]
        self.send_error(404)  # a public folder, not a browsable one
        return None


class _TLSServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address, handler, context: ssl.SSLContext) -> None:
        self.context = context
        super().__init__(address, handler)

    def handle_error(self, request, client_address) -> None:
        pass  # a client that gave up or did not trust the certificate: nothing to report

    def get_request(self):
        sock, address = super().get_request()
        sock.settimeout(10)
        # The handshake happens on first read, in the request thread, so a silent client blocks no one.
        return self.context.wrap_socket(sock, server_side=True, do_handshake_on_connect=False), address


class StaticTLSServer:
    """``StaticTLSServer(folder, cert, key).start()`` serves ``folder`` at ``https://127.0.0.1:<port>/``."""

    def __init__(self, folder: Path, cert_path: Path, key_path: Path, host: str = "127.0.0.1", port: int = 0):
        folder.mkdir(parents=True, exist_ok=True)
        handler = functools.partial(_QuietFiles, directory=str(folder))
        self.httpd = _TLSServer((host, port), handler, server_context(cert_path, key_path))
        self.cert_path = cert_path
        self.thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"https://{host}:{port}/"

    def start(self) -> StaticTLSServer:
        self.thread = threading.Thread(target=self.httpd.serve_forever, name="photo-files", daemon=True)
        self.thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
