"""check_image_url: fetch a link the way Linq would, and refuse what Linq could not use, or what we must not fetch.

Every server here is real https on loopback (see photo_fixtures). The allow-list holds exactly
127.0.0.1/32 in these tests; the SSRF targets are 127.0.0.2 (a trap that counts connections),
127.0.0.1 with the allow-list emptied, and names made to resolve to them at ``socket.getaddrinfo``.
"""

from __future__ import annotations

import io
import socket
import subprocess
import sys

import pytest
from PIL import Image

from contactcards.photos import services
from contactcards.photos.services import check_image_url
from contactcards.tests.photo_fixtures import Route, png_bytes

pytestmark = pytest.mark.usefixtures("photo_settings")


def test_a_usable_png_is_described(image_server):
    image_server.routes["/logo.png"] = Route(body=png_bytes(1024, 1024))
    check = check_image_url(image_server.url("/logo.png"))
    assert check.ok, check.message
    assert (check.info.format, check.info.width, check.info.height) == ("PNG", 1024, 1024)
    assert check.advice == ()
    data = check.as_json()
    assert data["ok"] is True and data["bytes"] == len(image_server.routes["/logo.png"].body)


def test_a_jpeg_is_judged_by_content_not_content_type(image_server):
    out = io.BytesIO()
    Image.new("RGB", (640, 640), "navy").save(out, format="JPEG")
    image_server.routes["/photo"] = Route(body=out.getvalue(), headers={"Content-Type": "text/plain"})
    check = check_image_url(image_server.url("/photo"))
    assert check.ok and check.info.format == "JPEG"


def test_not_square_and_too_small_are_advice_not_refusals(image_server):
    image_server.routes["/wide.png"] = Route(body=png_bytes(400, 300))
    check = check_image_url(image_server.url("/wide.png"))
    assert check.ok
    assert any("not square" in note for note in check.advice)
    assert any("smaller than the recommended 600x600" in note for note in check.advice)


@pytest.mark.parametrize(("body", "reason"), [
    (b"GIF89a\x01\x00\x01\x00\x00\x00\x00;", "not_image"),
    (b"<html><body>Not found</body></html>", "not_image"),
    (png_bytes(800, 800)[:120], "undecodable"),
])
def test_content_that_is_not_a_usable_jpeg_or_png_is_refused(image_server, body, reason):
    image_server.routes["/x.png"] = Route(body=body, headers={"Content-Type": "image/png"})
    check = check_image_url(image_server.url("/x.png"))
    assert not check.ok and check.reason == reason


def test_a_decompression_bomb_is_refused_before_decoding(image_server):
    out = io.BytesIO()
    Image.new("1", (7000, 7000)).save(out, format="PNG")  # tiny file, 49 million pixels
    image_server.routes["/bomb.png"] = Route(body=out.getvalue())
    check = check_image_url(image_server.url("/bomb.png"))
    assert not check.ok and check.reason == "too_many_pixels"


def test_a_declared_size_over_the_cap_is_refused_before_reading(image_server, monkeypatch):
    monkeypatch.setattr(services, "MAX_BYTES", 10_000)
    image_server.routes["/big.png"] = Route(body=png_bytes(1200, 1200, color=None) + b"\0" * 20_000)
    check = check_image_url(image_server.url("/big.png"))
    assert not check.ok and check.reason == "too_large"


def test_an_undeclared_size_is_counted_while_streaming(image_server, monkeypatch):
    monkeypatch.setattr(services, "MAX_BYTES", 10_000)
    image_server.routes["/stream.png"] = Route(body=b"\x89PNG" + b"\0" * 50_000, headers={"Content-Length": ""})
    check = check_image_url(image_server.url("/stream.png"))
    assert not check.ok and check.reason == "too_large"


@pytest.mark.parametrize("status", [404, 403, 500])
def test_an_error_status_is_refused(image_server, status):
    image_server.routes["/gone.png"] = Route(status=status, body=b"no")
    check = check_image_url(image_server.url("/gone.png"))
    assert not check.ok and check.reason == "bad_status" and str(status) in check.message


def test_a_server_that_never_answers_times_out(image_server):
    image_server.routes["/slow.png"] = Route(hang=True)
    check = check_image_url(image_server.url("/slow.png"))
    assert not check.ok and check.reason == "timeout"


def test_http_is_refused_without_connecting(trap):
    check = check_image_url(f"http://{trap.host}:{trap.port}/x.png")
    assert not check.ok and check.reason == "not_https"
    assert trap.connections() == 0


@pytest.mark.parametrize("url", ["https://", "https://[::1", "https://user:secret@photos.example.com/a.png",
                                 "ftp://example.com/a.png", "https://exa mple.com/a.png", "x" * 3000])
def test_malformed_links_are_refused(url):
    check = check_image_url(url)
    assert not check.ok and check.reason in ("invalid_url", "not_https", "unresolvable")


def test_a_name_that_does_not_resolve_is_refused():
    check = check_image_url("https://no-such-host.invalid/photo.png")
    assert not check.ok and check.reason == "unresolvable"


def test_a_certificate_that_is_not_trusted_is_refused(image_server, settings):
    settings.PHOTO_FETCH_CA_BUNDLE = ""  # the system's CAs: our self-signed certificate is not among them
    image_server.routes["/logo.png"] = Route(body=png_bytes(700, 700))
    check = check_image_url(image_server.url("/logo.png"))
    assert not check.ok and check.reason == "tls"


# -- SSRF: never a way into our own network ------------------------------------------------------


def test_https_127_0_0_1_is_refused_without_connecting_when_not_allow_listed(settings):
    from contactcards.tests.photo_fixtures import Trap

    settings.PHOTO_FETCH_ALLOWED_NETWORKS = []  # production's value
    trap = Trap("127.0.0.1")
    try:
        check = check_image_url(f"https://127.0.0.1:{trap.port}/logo.png")
        assert not check.ok and check.reason == "private_address"
        assert "loopback" in check.message
        assert trap.connections() == 0
    finally:
        trap.sock.close()


def test_localhost_is_refused_without_connecting(settings):
    from contactcards.tests.photo_fixtures import Trap

    settings.PHOTO_FETCH_ALLOWED_NETWORKS = []
    trap = Trap("127.0.0.1")
    try:
        check = check_image_url(f"https://localhost:{trap.port}/logo.png")
        assert not check.ok and check.reason == "private_address"
        assert trap.connections() == 0
    finally:
        trap.sock.close()


def test_an_address_outside_the_allow_list_is_refused_without_connecting(trap):
    check = check_image_url(f"https://{trap.host}:{trap.port}/logo.png")
    assert not check.ok and check.reason == "private_address"
    assert trap.connections() == 0


@pytest.mark.parametrize("host", ["10.1.2.3", "172.16.0.9", "192.168.1.1", "169.254.169.254", "100.64.0.1",
                                  "0.0.0.0", "224.0.0.1", "240.0.0.1", "[::1]", "[::ffff:127.0.0.1]",
                                  "[fe80::1]", "[fc00::5]", "[::]"])
def test_private_and_special_address_literals_are_refused(host, monkeypatch):
    monkeypatch.setattr(socket.socket, "connect", _no_connect)
    check = check_image_url(f"https://{host}/photo.png")
    assert not check.ok and check.reason == "private_address"


def test_a_name_that_resolves_to_a_private_address_is_refused_without_connecting(trap, resolve_as):
    resolve_as({"cdn.example.com": trap.host})
    check = check_image_url(f"https://cdn.example.com:{trap.port}/logo.png")
    assert not check.ok and check.reason == "private_address"
    assert trap.host in check.message
    assert trap.connections() == 0


def test_one_private_address_among_public_ones_is_enough_to_refuse(trap, monkeypatch):
    def answers(host, port, *args, **kwargs):
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.216.34", port)),
                (socket.AF_INET, socket.SOCK_STREAM, 6, "", (trap.host, port))]

    monkeypatch.setattr(socket, "getaddrinfo", answers)
    monkeypatch.setattr(socket.socket, "connect", _no_connect)
    check = check_image_url(f"https://mixed.example.com:{trap.port}/logo.png")
    assert not check.ok and check.reason == "private_address"
    assert trap.connections() == 0


@pytest.mark.parametrize(("location", "reason"), [
    ("https://{host}:{port}/x.png", "private_address"),  # an address outside the allow-list
    ("https://internal.example.com:{port}/x.png", "private_address"),  # a name that resolves to one
    ("http://{host}:{port}/x.png", "not_https"),
])
def test_a_redirect_is_checked_like_the_first_link_and_nothing_connects(image_server, trap, resolve_as,
                                                                         location, reason):
    resolve_as({"internal.example.com": trap.host})
    image_server.routes["/go"] = Route(status=302, headers={"Location": location.format(host=trap.host,
                                                                                         port=trap.port)})
    check = check_image_url(image_server.url("/go"))
    assert not check.ok and check.reason == reason
    assert trap.connections() == 0
    assert [path for _host, path in image_server.requests] == ["/go"]


def test_checked_redirects_are_followed(image_server):
    image_server.routes["/old.png"] = Route(status=301, headers={"Location": "/new.png"})
    image_server.routes["/new.png"] = Route(body=png_bytes(600, 600))
    check = check_image_url(image_server.url("/old.png"))
    assert check.ok
    assert [path for _host, path in image_server.requests] == ["/old.png", "/new.png"]


def test_a_redirect_loop_is_cut_short(image_server):
    image_server.routes["/loop"] = Route(status=302, headers={"Location": "/loop"})
    check = check_image_url(image_server.url("/loop"))
    assert not check.ok and check.reason == "too_many_redirects"
    assert len(image_server.requests) == 4  # the first request and three redirects


def test_the_name_is_resolved_once_and_the_checked_address_is_the_one_connected(image_server, monkeypatch):
    """DNS rebinding: a second lookup would say 127.0.0.2, but there is no second lookup."""
    real = socket.getaddrinfo
    lookups: list[str] = []

    def rebinding(host, port, *args, **kwargs):
        if host == "photos.test":
            lookups.append(host)
            return real("127.0.0.1" if len(lookups) == 1 else "127.0.0.2", port, *args, **kwargs)
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", rebinding)
    image_server.routes["/logo.png"] = Route(body=png_bytes(700, 700))
    check = check_image_url(image_server.url("/logo.png", host="photos.test"))
    assert check.ok, check.message
    assert lookups == ["photos.test"]
    # The server saw the name (Host header); TLS was verified for the name (the certificate names photos.test).
    assert image_server.requests == [(f"photos.test:{image_server.port}", "/logo.png")]


def test_the_certificate_must_be_valid_for_the_name_not_just_the_address(image_server, resolve_as):
    resolve_as({"other.test": "127.0.0.1"})  # the right address, but the certificate does not name other.test
    image_server.routes["/logo.png"] = Route(body=png_bytes(700, 700))
    check = check_image_url(image_server.url("/logo.png", host="other.test"))
    assert not check.ok and check.reason == "tls"


def test_proxies_from_the_environment_are_ignored(image_server, monkeypatch, trap):
    monkeypatch.setenv("HTTPS_PROXY", f"http://{trap.host}:{trap.port}")
    monkeypatch.setenv("https_proxy", f"http://{trap.host}:{trap.port}")
    image_server.routes["/logo.png"] = Route(body=png_bytes(700, 700))
    assert check_image_url(image_server.url("/logo.png")).ok
    assert trap.connections() == 0


def test_fetch_and_images_do_not_import_django():
    code = ("import sys; import contactcards.photos.fetch, contactcards.photos.images, contactcards.photos.localtls; "
            "bad = sorted(m for m in sys.modules if m == 'django' or m.startswith('django.')); "
            "print(bad); sys.exit(1 if bad else 0)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def _no_connect(self, *args, **kwargs):
    raise AssertionError(f"a connection was attempted to {args}")
