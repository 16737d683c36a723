"""The demo's photo hosting (``bin/run``): uploads on disk, published over https on 127.0.0.1.

Linq (and the sandbox playing it) only fetch https links, and Linq's CDN links are https too. In the
demo the ``FileSystemStorage`` folder (with the sandbox's fake CDN in ``linq-cdn/``) is served by
:class:`~.localtls.StaticTLSServer` with a self-signed certificate made at start-up; the photo check
and the sandbox trust exactly that certificate, and the check's allow-list gets 127.0.0.1 - in this
process only, never in production settings.
"""

from __future__ import annotations

import os
from pathlib import Path

from django.conf import settings

from devtools.localtls import StaticTLSServer, self_signed_certificate
from devtools.sandbox import SandboxState

DEMO_PHOTOS_PORT = 8766
CDN_FOLDER = "linq-cdn"  # the sandbox's fake CDN, inside the served folder


def serve_demo_photos(state: SandboxState, port: int | None = None) -> StaticTLSServer | None:
    """Start the https file server for local photo storage and point the app and the sandbox at it.

    Does nothing when photos are configured elsewhere (an S3 bucket, or an https PHOTOS_BASE_URL).
    Call it before anything uses ``storages["photos"]`` (the storage reads its options once).
    """
    photos = settings.STORAGES["photos"]
    options = photos.get("OPTIONS", {})
    if not photos["BACKEND"].endswith("FileSystemStorage") or str(options.get("base_url", "")).startswith("https://"):
        return None
    folder = Path(options["location"])
    cert, key = self_signed_certificate(folder.parent / ".demo-tls")
    port = port if port is not None else int(os.environ.get("PHOTOS_DEMO_PORT", DEMO_PHOTOS_PORT))
    server = StaticTLSServer(folder, cert, key, port=port).start()
    options["base_url"] = server.url
    settings.PHOTO_FETCH_ALLOWED_NETWORKS = [*settings.PHOTO_FETCH_ALLOWED_NETWORKS, "127.0.0.1/32"]
    settings.PHOTO_FETCH_CA_BUNDLE = str(cert)
    state.allow_fetch(server.url, str(cert))
    # The sandbox's fake CDN is published by the same server, so cards show https image links, as at Linq.
    state.publish_cdn(server.url + CDN_FOLDER + "/", folder / CDN_FOLDER)
    return server


def demo_photo_env() -> dict[str, str]:
    """The photo settings :func:`serve_demo_photos` changed, as environment for a worker process."""
    options = settings.STORAGES["photos"].get("OPTIONS", {})
    env = {"PHOTO_FETCH_ALLOWED_NETWORKS": ",".join(settings.PHOTO_FETCH_ALLOWED_NETWORKS),
           "PHOTO_FETCH_CA_BUNDLE": settings.PHOTO_FETCH_CA_BUNDLE}
    if settings.STORAGES["photos"]["BACKEND"].endswith("FileSystemStorage"):
        env.update(PHOTOS_ROOT=str(options.get("location", "")), PHOTOS_BASE_URL=str(options.get("base_url", "")))
    return env
