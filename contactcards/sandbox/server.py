"""Serve the sandbox over real HTTP, in a background thread or from the command line."""

from __future__ import annotations

import argparse
import os
import socket
import socketserver
import sys
import threading
from wsgiref.simple_server import ServerHandler, WSGIRequestHandler, WSGIServer, make_server

from contactcards.sandbox.app import API_PREFIX, DropConnection, SandboxApp, SandboxState


class _Handler(ServerHandler):
    def handle_error(self) -> None:
        if isinstance(sys.exc_info()[1], DropConnection):
            # Say nothing and hang up, like a proxy that dropped the connection.
            self.request_handler.close_connection = True
            self.result = []
            try:
                self.request_handler.connection.shutdown(2)
            except OSError:
                pass
            return
        super().handle_error()


class _RequestHandler(WSGIRequestHandler):
    protocol_version = "HTTP/1.1"

    def setup(self) -> None:
        super().setup()
        # Without this, keep-alive requests wait ~40 ms for a delayed ACK.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format: str, *args: object) -> None:  # quiet by default
        if getattr(self.server, "verbose", False):
            super().log_message(format, *args)

    def handle(self) -> None:
        """As WSGIRequestHandler.handle, with our error handling and keep-alive support."""
        try:
            self._serve()
        except (ConnectionResetError, BrokenPipeError):
            pass  # the client hung up (e.g. it stopped reading a body that was too large)

    def _serve(self) -> None:
        while True:
            self.raw_requestline = self.rfile.readline(65537)
            if not self.raw_requestline or len(self.raw_requestline) > 65536:
                return
            if not self.parse_request():
                return
            handler = _Handler(self.rfile, self.wfile, self.get_stderr(), self.get_environ(),
                               multithread=True)
            handler.request_handler = self
            handler.http_version = "1.1"
            handler.run(self.server.get_app())
            if self.close_connection or self.headers.get("Connection", "").lower() == "close":
                return


class _ThreadingServer(socketserver.ThreadingMixIn, WSGIServer):
    daemon_threads = True
    allow_reuse_address = True


class SandboxServer:
    """``SandboxServer().start()`` serves a sandbox on 127.0.0.1 and an ephemeral port."""

    def __init__(self, state: SandboxState | None = None, host: str = "127.0.0.1", port: int = 0,
                 verbose: bool = False) -> None:
        self.state = state or SandboxState()
        self.app = SandboxApp(self.state)
        self.httpd = make_server(host, port, self.app, server_class=_ThreadingServer,
                                 handler_class=_RequestHandler)
        self.httpd.verbose = verbose
        self.thread: threading.Thread | None = None

    @property
    def root_url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def url(self) -> str:
        """The base URL to give a LinqClient (like Linq's ``.../api/partner``)."""
        return self.root_url + API_PREFIX

    def start(self) -> SandboxServer:
        self.thread = threading.Thread(target=self.httpd.serve_forever, name="linq-sandbox", daemon=True)
        self.thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m contactcards.sandbox",
        description="Run the built-in Linq sandbox (fake contact-card API) with demo data.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=int(os.environ.get("SANDBOX_PORT") or 8765),
                        help="default: $SANDBOX_PORT or 8765")
    parser.add_argument("--empty", action="store_true", help="start without the demo account")
    args = parser.parse_args(argv)
    state = SandboxState()
    server = SandboxServer(state, args.host, args.port, verbose=True)
    if not args.empty:
        state.load_demo(server.root_url)
    print(f"Linq sandbox on {server.url}  (token for the demo account: {SandboxState.DEMO_TOKEN})")
    try:
        server.httpd.serve_forever()
    except KeyboardInterrupt:
        pass
