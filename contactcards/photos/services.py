"""Photo services: check a link before a write is spent, store an upload, keep the team's library.

* :func:`check_image_url` fetches a link the way Linq would (``fetch.py``: resolve once, public
  addresses only, pinned connection, capped, re-checked redirects) and decodes it
  (``images.py``: JPEG/PNG by content). It never writes anything and never calls Linq.
* :func:`photo_upload` turns an uploaded file into a square, metadata-free 1024x1024 JPEG, stores
  it through ``STORAGES["photos"]`` and returns the library entry whose https URL goes to Linq.
  Bulk edit reuses it as is.
* :func:`check_new_image` is the save path's hook (``cards/services.py``): one call before any
  write that changes ``image_url``; a refused link ends the save as ``ImageRefused`` with nothing
  sent, no audit row and no write budget spent.
* :func:`card_photo` turns the card form's photo controls (an upload with its crop box, or a
  library pick) into the image URL the save sends.
* :func:`photo_used` records a photo in the team's library after a card saved it.
* :func:`sent_link` / :func:`photo_sent` / :func:`photo_read`: the photo link sent to a number last
  and what Linq made of it (``SentPhoto``), so the same link is not sent again while Linq still shows
  that (the rule: ``sent.photo_unchanged``, applied by ``cards.diff``).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.cache import cache
from django.core.files.base import ContentFile
from django.core.files.storage import Storage, storages
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from django.db.models import F, QuerySet
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext as _

from contactcards.lib.words import translated
from contactcards.linq import Card
from contactcards.models import AuditEntry, Job, PhoneNumber, SentPhoto, Team
from contactcards.photos.fetch import FetchPolicy, FetchRefused, fetch_image, parse_networks
from contactcards.photos.images import (
    MAX_BYTES,
    MAX_UPLOAD_BYTES,
    OUTPUT_SIDE,
    CropBox,
    ImageInfo,
    ImageProblem,
    inspect_image,
    prepare_upload,
)
from contactcards.photos.models import Photo
from contactcards.photos.sent import SentLink

logger = logging.getLogger(__name__)

STORAGE_ALIAS = "photos"


def photo_storage() -> Storage:
    return storages[STORAGE_ALIAS]


def fetch_policy() -> FetchPolicy:
    return FetchPolicy(
        max_bytes=MAX_BYTES,
        connect_timeout=settings.PHOTO_FETCH_CONNECT_TIMEOUT,
        read_timeout=settings.PHOTO_FETCH_READ_TIMEOUT,
        total_timeout=settings.PHOTO_FETCH_TOTAL_TIMEOUT,
        allowed_networks=parse_networks(settings.PHOTO_FETCH_ALLOWED_NETWORKS),
        ca_bundle=settings.PHOTO_FETCH_CA_BUNDLE,
    )


# -- the check ------------------------------------------------------------------------------


@dataclass(frozen=True)
class ImageCheck:
    """What fetching a link the way Linq would found: a usable image (with advice) or a refusal.

    ``reason`` is a stable code for refusals (``not_https``, ``unresolvable``, ``private_address``,
    ``timeout``, ``unreachable``, ``tls``, ``too_many_redirects``, ``bad_status``, ``too_large``,
    ``too_many_pixels``, ``not_image``, ``undecodable``, ``invalid_url``); ``message`` is for people.
    """

    url: str
    ok: bool
    reason: str = ""
    message: str = ""
    info: ImageInfo | None = None
    advice: tuple[str, ...] = field(default=())

    def as_json(self) -> dict[str, Any]:
        info = self.info
        return {
            "ok": self.ok, "url": self.url, "reason": self.reason, "message": self.message,
            "width": info.width if info else None, "height": info.height if info else None,
            "format": info.format if info else None, "bytes": info.size_bytes if info else None,
            "advice": list(self.advice),
        }

    @property
    def summary(self) -> str:
        """One line for people: the image's facts, or why it was refused."""
        if not self.ok or self.info is None:
            return self.message
        kb = max(1, round(self.info.size_bytes / 1000))
        return f"{self.info.format}, {self.info.width}x{self.info.height} pixels, {kb} kB."


def words(message: str) -> str:
    """A message from fetch.py or images.py (Django-free) in the person's language."""
    return translated(message, gettext)


def check_image_url(url: str) -> ImageCheck:
    """Fetch and decode ``url`` as Linq would; refuse with a reason instead of raising."""
    url = (url or "").strip()
    if len(url) > 2000:
        return ImageCheck(url=url[:2000], ok=False, reason="invalid_url", message=_("The link is too long."))
    try:
        fetched = fetch_image(url, fetch_policy())
        info = inspect_image(fetched.body)
    except (FetchRefused, ImageProblem) as refused:
        return ImageCheck(url=url, ok=False, reason=refused.reason, message=words(refused.message))
    return ImageCheck(url=url, ok=True, info=info, message=_("Linq will be able to fetch this image."),
                      advice=tuple(words(note) for note in info.advice()))


JOB_CHECK_SECONDS = 30 * 60  # how long a rollout's items reuse the check of its photo link


def check_new_image(changes: dict[str, list[str]], *, job: Job | None = None) -> ImageCheck | None:
    """The check of the image link a save is about to send, or None when the save sends no new image.

    Called before the number's lock is taken: the fetch can take seconds, and must not hold up
    other saves (on SQLite the lock is the whole database's write lock).

    A rollout (``job``) checks each link once, not once per number: its items reuse the first
    item's check (kept in the cache, per worker process). So a photo server that answers slowly
    holds a worker for one fetch deadline per job, not for one per number, and the other teams'
    rollouts behind it on the queue are not held up for long.
    """
    old_new = changes.get("image_url")
    if not old_new or not old_new[1]:
        return None
    url = old_new[1]
    if job is None:
        return check_image_url(url)
    created = job.created_at.timestamp() if job.created_at else ""
    key = f"photo-check:job:{job.pk}:{created}:{hashlib.sha256(url.encode()).hexdigest()}"
    remembered = cache.get(key)
    if isinstance(remembered, ImageCheck):
        return remembered
    check = check_image_url(url)
    cache.set(key, check, JOB_CHECK_SECONDS)
    return check


# -- uploads --------------------------------------------------------------------------------


@dataclass(frozen=True)
class UploadOutcome:
    photo: Photo | None
    error: str = ""
    advice: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return self.photo is not None


def storage_is_public() -> bool:
    """Whether stored photos get an https URL Linq can fetch (a configuration fact, checked at deploy)."""
    try:
        return photo_storage().url("probe.jpg").startswith("https://")
    except Exception:  # a misconfigured backend: treat as not public, the upload says so
        logger.exception("Photo storage URL could not be built")
        return False


def photo_upload(*, team: Team, user: AbstractBaseUser | None, file: UploadedFile,
                 crop: CropBox | None = None) -> UploadOutcome:
    """Verify, crop, resize and store an uploaded photo; add it to the team's library.

    Nothing here talks to Linq. The same file uploaded twice is stored once (the name is the
    hash of the stored bytes) and is one library entry.
    """
    if not storage_is_public():
        return UploadOutcome(None, _("Uploads are not available: the photo storage has no public https address "
                                   "for Linq to fetch from (see PHOTOS_* in the README)."))
    if file.size is not None and file.size > MAX_UPLOAD_BYTES:
        return UploadOutcome(None, _("The file is larger than %(mb)s MB.") % {"mb": MAX_UPLOAD_BYTES // 1_000_000})
    data = file.read(MAX_UPLOAD_BYTES + 1)
    try:
        prepared = prepare_upload(data, crop)
    except ImageProblem as problem:
        return UploadOutcome(None, words(problem.message))
    digest = hashlib.sha256(prepared.data).hexdigest()
    storage = photo_storage()
    key = f"{digest}.jpg"
    try:
        if not storage.exists(key):
            key = storage.save(key, ContentFile(prepared.data, name=key))
        url = storage.url(key)
    except Exception:  # S3 down, disk full, permissions: the person gets a message, we get the trace
        logger.exception("Storing an uploaded photo failed")
        return UploadOutcome(None, _("The photo could not be stored just now. Try again in a moment."))
    photo = _library_entry(team=team, url=url, defaults={
        "source": Photo.Source.UPLOAD, "storage_key": key, "sha256": digest,
        "width": OUTPUT_SIDE, "height": OUTPUT_SIDE,
        "format": "JPEG", "size_bytes": len(prepared.data), "name": _display_name(file.name),
        "created_by": user,
    })
    return UploadOutcome(photo, advice=tuple(words(note) for note in prepared.advice))


def _display_name(name: str | None) -> str:
    name = (name or "").replace("\x00", "").rsplit("/", 1)[-1].rsplit("\\", 1)[-1]
    return name[:200]


def _library_entry(*, team: Team, url: str, defaults: dict[str, Any]) -> Photo:
    try:
        with transaction.atomic():
            photo, _created = Photo.objects.get_or_create(team=team, url=url, defaults=defaults)
    except IntegrityError:  # two uploads of the same file at once: the other one won
        photo = Photo.objects.get(team=team, url=url)
    return photo


# -- the library ----------------------------------------------------------------------------


def photo_used(*, team: Team, url: str, user: AbstractBaseUser | None, check: ImageCheck | None = None) -> None:
    """Remember that a card now uses ``url``: the team can pick it again for another number."""
    if not url.startswith("https://") or len(url) > 2000:
        return
    info = check.info if check and check.ok else None
    photo = _library_entry(team=team, url=url, defaults={
        "source": Photo.Source.LINK, "width": info.width if info else 0, "height": info.height if info else 0,
        "format": info.format if info else "", "size_bytes": info.size_bytes if info else 0, "created_by": user,
    })
    Photo.objects.filter(pk=photo.pk).update(use_count=F("use_count") + 1, last_used_at=timezone.now())


def team_photos(*, team: Team, limit: int = 60) -> QuerySet[Photo]:
    """The team's library, most recently used first."""
    return Photo.objects.filter(team=team).select_related("created_by").order_by(
        F("last_used_at").desc(nulls_last=True), "-created_at", "-id")[:limit]


def photo_users(*, team: Team, photos: Iterable[Photo]) -> dict[int, list[str]]:
    """Which of the team's numbers show each photo now, by photo id (numbers in order).

    A number shows a photo when its link was the one sent to the number last and Linq still shows what
    it made of it (``SentPhoto`` against the card mirror: ``photos.sent.photo_unchanged``'s rule), or when
    the card's image is the photo's link itself. Two queries, whatever the number of photos.
    """
    by_url = {photo.url: photo.pk for photo in photos}
    users: dict[int, set[str]] = {pk: set() for pk in by_url.values()}
    if not by_url:
        return {}
    sent = SentPhoto.objects.filter(number__team=team, url__in=list(by_url)).exclude(linq_url="").values_list(
        "url", "linq_url", "number__e164", "number__mirror__image_url")
    for url, linq_url, e164, shown in sent:
        if shown == linq_url:
            users[by_url[url]].add(e164)
    shown_as_is = PhoneNumber.objects.filter(team=team, mirror__image_url__in=list(by_url)).values_list(
        "mirror__image_url", "e164")
    for url, e164 in shown_as_is:
        users[by_url[url]].add(e164)
    return {pk: sorted(numbers) for pk, numbers in users.items()}


def library_photo(*, team: Team, photo_id: Any) -> Photo | None:
    """One of the team's photos by id (anything else, including other teams' ids, is None)."""
    try:
        pk = int(photo_id)
    except (TypeError, ValueError):
        return None
    if not 0 < pk < 2**63:
        return None
    return Photo.objects.filter(team=team, pk=pk).first()


# -- the link sent last ---------------------------------------------------------------------


def sent_link(number: PhoneNumber) -> SentLink | None:
    """The photo link sent to ``number`` last and what Linq made of it (None: none remembered).

    Uses the row loaded with the number when a caller asked for it (``select_related("sent_photo")``,
    as a preview of many numbers does), else one query - never a value cached by an earlier call.
    """
    descriptor = PhoneNumber.sent_photo
    if descriptor.is_cached(number):
        row = descriptor.related.get_cached_value(number)
    else:
        row = SentPhoto.objects.filter(number_id=number.pk).first()
    return SentLink(url=row.url, linq_url=row.linq_url) if row is not None else None


def photo_sent(*, number: PhoneNumber, entry: AuditEntry, url: str, linq_url: str) -> None:
    """Remember that ``entry``'s write, which took effect, put the link ``url`` on the number's card, and
    that Linq's card showed ``linq_url`` after it ("" when we do not know yet: the first read after it
    says, :func:`photo_read`). The newest write wins whatever order this is called in: a write stored
    before the one remembered does not replace it."""
    url = (url or "").strip()
    if not url or len(url) > 2000:
        return
    pair = (entry.changes or {}).get("image_url")
    values = {"url": url, "linq_url": (linq_url or "").strip()[:2000],
              "replaced": (pair[0] if isinstance(pair, list) and pair else "")[:2000], "entry": entry,
              "sent_at": entry.created_at, "recorded_at": timezone.now()}
    older = SentPhoto.objects.filter(number_id=number.pk, sent_at__lte=entry.created_at)
    if older.update(**values):
        return
    SentPhoto.objects.bulk_create([SentPhoto(number_id=number.pk, **values)], ignore_conflicts=True)
    older.update(**values)  # a concurrent first row won the insert: replace it unless it is newer


def photo_read(*, number: PhoneNumber, card: Card | None, read_at: datetime,
               applied: Iterable[AuditEntry] = ()) -> None:
    """What one read of the card (sent at ``read_at``) tells about the photo link sent last.

    ``applied``: our writes whose outcome was unknown and that this read showed took effect
    (``sync.settle``): one that sent a link is remembered now, with the image Linq shows for it. A
    write whose answer did not carry the image Linq made of its link learns it from the first read
    sent after that answer was recorded, unless that read still shows the image the write replaced.
    """
    shown = ((card.image_url or "") if card is not None else "").strip()
    for entry in applied:
        pair = (entry.changes or {}).get("image_url")
        if isinstance(pair, list) and len(pair) == 2 and pair[1]:
            photo_sent(number=number, entry=entry, url=pair[1], linq_url=shown)
    if shown:
        unknown = SentPhoto.objects.filter(number_id=number.pk, linq_url="", recorded_at__lte=read_at).exclude(
            replaced=shown)
        # Looked up first: almost every read finds nothing to learn, and a read of a page makes no write.
        if unknown.exists():
            unknown.update(linq_url=shown[:2000])
