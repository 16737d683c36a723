"""Photo views: the live link check (JSON), the team's photo library, and stored photos for our pages."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib import messages
from django.contrib.auth.models import AbstractBaseUser
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseNotAllowed, JsonResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from contactcards.common.access import get_team_for_user, require_write
from contactcards.models import Team
from contactcards.photos import services
from contactcards.photos.forms import CardPhotoForm, PhotoUploadForm
from contactcards.photos.images import MIN_SIDE, OUTPUT_SIDE

# Access comes before the method check in every view here: an outsider gets 404 whatever the method.


def photo_check(request: HttpRequest, slug: str) -> HttpResponse:
    """Check a link the way Linq would fetch it; the card form calls this as people type."""
    team, membership = get_team_for_user(request, slug)
    require_write(membership)
    if request.method != "GET":
        return HttpResponseNotAllowed(["GET"])
    check = services.check_image_url(request.GET.get("url", ""))
    response = JsonResponse(check.as_json())
    response["Cache-Control"] = "no-store"
    return response


def photo_library(request: HttpRequest, slug: str) -> HttpResponse:
    team, membership = get_team_for_user(request, slug)
    if request.method not in ("GET", "POST"):
        return HttpResponseNotAllowed(["GET", "POST"])
    form = PhotoUploadForm()
    if request.method == "POST":
        require_write(membership)
        form = PhotoUploadForm(request.POST, request.FILES)
        upload = request.FILES.get("photo")
        if form.is_valid() and upload is not None:
            outcome = services.photo_upload(team=team, user=request.user, file=upload, crop=form.crop())
            if outcome.ok:
                messages.success(request, _("Added to the library: %(label)s.") % {"label": outcome.photo.label})
                for note in outcome.advice:
                    messages.warning(request, note)
                return redirect("photo_library", slug=team.slug)
            form.add_error("photo", outcome.error)
        elif upload is None:
            form.add_error("photo", _("Choose a JPEG or PNG file to upload."))
    photos = list(services.team_photos(team=team))
    users = services.photo_users(team=team, photos=photos)
    for photo in photos:
        photo.used_by = users.get(photo.pk, [])  # which numbers show it now, for the page
    context = {
        "team": team, "membership": membership, "form": form,
        "photos": photos,
        "uploads_available": services.storage_is_public(),
        "min_side": MIN_SIDE, "output_side": OUTPUT_SIDE,
    }
    return render(request, "contactcards/photos/library.html", context, status=400 if form.errors else 200)


def photo_image(request: HttpRequest, slug: str, photo_id: int) -> HttpResponse:
    """A stored photo's bytes, for our own pages (thumbnails work whatever the storage's certificate)."""
    team, _membership = get_team_for_user(request, slug)
    photo = services.library_photo(team=team, photo_id=photo_id)
    if photo is None or not photo.storage_key:
        raise Http404("No such photo.")
    if request.method not in ("GET", "HEAD"):
        return HttpResponseNotAllowed(["GET", "HEAD"])
    try:
        handle = services.photo_storage().open(photo.storage_key, "rb")
    except (OSError, FileNotFoundError):
        raise Http404(_("The stored file is missing.")) from None
    except Exception:  # the storage backend is unreachable (S3 down): no photo, no 500
        raise Http404(_("The photo storage is not reachable.")) from None
    response = FileResponse(handle, content_type="image/jpeg")
    response["Cache-Control"] = "private, max-age=86400"
    return response


# -- the card form's photo controls ------------------------------------------------------------


@dataclass(frozen=True)
class CardPhoto:
    """What the card form's photo controls chose: ``url`` to send (or ""), or an ``error`` to show."""

    form: CardPhotoForm
    url: str = ""
    error: str = ""
    advice: tuple[str, ...] = ()


def card_photo(*, team: Team, user: AbstractBaseUser, data, files) -> CardPhoto:
    """An uploaded file (stored now, so a re-rendered form keeps it as a link) or a library pick.

    The upload wins over a pick, and either wins over a typed link. Nothing here talks to Linq:
    the URL goes through the same check as a typed one when the card is saved.
    """
    form = CardPhotoForm(data, files)
    form.is_valid()
    upload = files.get("photo")
    if upload is not None:
        outcome = services.photo_upload(team=team, user=user, file=upload, crop=form.crop())
        if not outcome.ok:
            form.add_error("photo", outcome.error)
            return CardPhoto(form=form, error=_("The photo was not used: %(reason)s") % {"reason": outcome.error})
        return CardPhoto(form=CardPhotoForm(), url=outcome.photo.url, advice=outcome.advice)
    picked = form.cleaned_data.get("library_photo")
    if picked:
        photo = services.library_photo(team=team, photo_id=picked)
        if photo is None:
            form.add_error("library_photo", _("That photo is not in this team's library (any more)."))
            return CardPhoto(form=form, error=_("The photo was not used: it is not in this team's library (any more)."))
        return CardPhoto(form=CardPhotoForm(), url=photo.url)
    return CardPhoto(form=CardPhotoForm())
