"""No 500 for anything a person can type (issue 19, item 6): odd values in every URL parameter, path
segment and form field, on both databases.

Every URL pattern of the project (Django's resolver, the admin's included) is filled in with real
objects of one team - its number, an audit entry, a job, an invitation, a webhook subscription, a
photo, a user's authenticator - and then each part of it gets each odd value in turn:

- every path segment whose converter accepts the value (one it refuses never reaches a view);
- every query parameter the URL's view reads (found in its module's source), and every one the links
  and GET forms pointing at the URL use, one at a time;
- every field of every POST form that targets the URL (found on the URL's page and the pages above
  it, and on the page a form's first submit leads to: a preview's confirm step), one at a time, the
  others as the page filled them in.

The admin's own pages (Django's code) get the odd values in every path segment, in all their query
parameters at once, and in all fields of their forms at once; our ModelAdmins' forms field by field.

Pages are opened as the team's owner (a superuser too, for the admin) and, where a page is open to
everyone (sign-in, password reset, invitations, webhooks), anonymously as well. Each request runs in a
savepoint that is rolled back, and the cookies are put back after it, so one request's effect (a
removed number, a new password) never hides the next one's problem. Every answer must be below 500;
failures are collected and listed together.
"""

from __future__ import annotations

import copy
import inspect
import re
from collections import defaultdict
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.tokens import default_token_generator
from django.contrib.contenttypes.models import ContentType
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.urls import URLPattern, URLResolver, get_resolver, resolve
from django.urls.exceptions import Resolver404
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from conftest import CARD_NUMBER, PASSWORD, Client
from tests.support.photo_fixtures import png_bytes

ROOT = Path(__file__).resolve().parents[2]

# The odd values: bounded, each a class of its own.
ODD = {
    "nul": "a\x00b",
    "long": "9" * 10_000,                   # 10,000 characters, and more digits than int() reads
    "bidi": "\u202egnp.\u202dexe\u202c",     # right-to-left and left-to-right overrides
    "digits": "\u0661\u0662\u0663",         # Arabic-Indic digits: str.isdigit() and int() accept them
    "emoji": "\U0001F469\U0001F3FD\u200d\U0001F4BB",  # outside the BMP, joined by a zero-width joiner
    "huge": "9" * 25,                       # a number no database column holds
}
# What a person fills in where a page leaves a field empty (by name, else by the input's type, else
# "Fuzz"), so that one field at a time is odd and the view runs as far as it can: the sign-in form
# authenticates, a bulk edit leads to its preview and confirm form. And the file a file field gets.
GOOD_VALUES = {"numbers": "+15550001003", "m2-role": "viewer"}
BLANK = {"password": PASSWORD, "email": "dora2@example.com", "url": "", "number": "1", "date": "2026-06-01"}
TICKED = {"n", "set_last_name"}  # checkboxes a person ticks: a number on the dashboard, "set the last name"
GOOD_FILES = {
    "file": ("cards.csv", f"number,last_name\n{CARD_NUMBER},Fuzz\n".encode()),
    "photo": ("logo.png", png_bytes(96, 96)),
}
# The admin's own parameters (ChangeList and the change form).
ADMIN_QUERY = ["q", "o", "p", "e", "all", "_popup", "_to_field", "_changelist_filters", "_facets"]
OUR_CODE = ("contactcards.", "linqadmin.")


# -- the URL patterns ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Route:
    pattern: str                       # "t/<slug:slug>/numbers/<e164:e164>/"
    name: str
    regexes: tuple[tuple[str, str], ...] = ()  # (parameter, its converter's regex)

    @property
    def parameters(self) -> list[str]:
        return [name for name, _ in self.regexes]

    def url(self, values: dict[str, str], odd: tuple[str, str] | None = None) -> str:
        def fill(match: re.Match) -> str:
            name = match.group(1)
            return quote(odd[1] if odd and odd[0] == name else values[name], safe="")
        return "/" + re.sub(r"<(?:\w+:)?(\w+)>", fill, self.pattern)

    def accepts(self, parameter: str, value: str) -> bool:
        """Would the resolver hand ``value`` to the view (a slug never holds an emoji)?"""
        return re.fullmatch(dict(self.regexes)[parameter], value) is not None

    @property
    def is_admin(self) -> bool:
        return self.pattern.startswith("admin/")


# The admin's two regular-expression patterns, as URLs.
REGEX_EXAMPLES = {"^(?P<app_label>": "admin/contactcards/", "(?P<url>": "admin/no-such-page/"}


def _routes(patterns, prefix: str = "") -> list[Route]:
    found = []
    for entry in patterns:
        if isinstance(entry, URLResolver):
            found += _routes(entry.url_patterns, prefix + str(entry.pattern))
        elif isinstance(entry, URLPattern):
            pattern = prefix + str(entry.pattern)
            example = next((url for marker, url in REGEX_EXAMPLES.items() if marker in pattern), None)
            converters = getattr(entry.pattern, "converters", {})
            found.append(Route(example or pattern, entry.name or "",
                               () if example else tuple((k, c.regex) for k, c in converters.items())))
    return found


ROUTES = _routes(get_resolver().url_patterns)


def group_of(route: Route) -> str:
    """Routes are tested in groups that share one set of objects (fewer fixtures, same coverage)."""
    parts = route.pattern.split("/")
    if route.is_admin:
        return "/".join(parts[:3]) if len(parts) > 3 else "admin"
    if parts[0] == "t" and len(parts) > 2:
        return "t/" + parts[2]
    return parts[0] or "home"


GROUPS: dict[str, list[Route]] = defaultdict(list)
for _route in ROUTES:
    GROUPS[group_of(_route)].append(_route)


# -- what a view reads: its module's request.GET / request.POST names ----------------------------------------------

_READS = re.compile(r"\b(?:request\.(GET|POST)|data)(?:\.get|\.getlist)?[\(\[]\s*[\"'](\w+)[\"']")


def view_of(url: str):
    try:
        func = resolve(url).func
    except Resolver404:
        return None
    return getattr(func, "view_class", None) or getattr(func, "__wrapped__", None) or func


def names_read(url: str) -> dict[str, set[str]]:
    """{"GET": {...}, "POST": {...}} that the module of the URL's view reads, for our own views."""
    view = view_of(url)
    module = inspect.getmodule(view) if view is not None else None
    found: dict[str, set[str]] = {"GET": set(), "POST": set()}
    if module is None or not module.__name__.startswith(OUR_CODE):
        return found
    # the view's module, and the parsers of request data it imports from our code (teams.dashboard's selection)
    helpers = {inspect.getmodule(obj) for obj in vars(module).values()
               if inspect.isfunction(obj) and obj.__module__.startswith(OUR_CODE) and obj.__name__.startswith("parse_")}
    source = "".join(inspect.getsource(each) for each in {module, *helpers} if each is not None)
    for method, name in _READS.findall(source):
        for each in [method] if method else ["GET", "POST"]:  # data = request.POST or request.GET
            found[each].add(name)
    return found


def is_open_to_everyone(url: str) -> bool:
    try:
        func = resolve(url).func
    except Resolver404:
        return False
    return getattr(func, "login_required", True) is False and not url.startswith("/admin/")


def admin_is_ours(route: Route) -> bool:
    """Is the URL one of our ModelAdmins' (contactcards/admin.py), not a third-party app's?"""
    from django.contrib import admin

    parts = route.pattern.split("/")
    for model, model_admin in admin.site._registry.items():
        if parts[1:3] == [model._meta.app_label, model._meta.model_name]:
            return type(model_admin).__module__.startswith(OUR_CODE)
    return False


# -- forms and links on a page ------------------------------------------------------------------------------------


@dataclass
class Form:
    action: str
    method: str
    fields: dict[str, str] = field(default_factory=dict)  # what a browser sends (ticked boxes only)
    blank: dict[str, str] = field(default_factory=dict)   # empty inputs, and their type
    unticked: dict[str, str] = field(default_factory=dict)
    files: list[str] = field(default_factory=list)
    button: tuple[str, str] | None = None

    def key(self) -> tuple:
        return (self.action, self.method, tuple(sorted(self.fields)), tuple(self.files), self.button)

    def data(self, *, fill_blanks: bool = True) -> dict:
        """What a browser sends when the first submit button is pressed, empty fields filled in as a
        person would (GOOD_VALUES, BLANK; not in a filter, where empty is what people leave)."""
        sent: dict = {**self.fields, **{name: value for name, value in self.unticked.items() if name in TICKED}}
        if fill_blanks:
            sent.update({name: GOOD_VALUES.get(name, BLANK.get(kind, "Fuzz")) for name, kind in self.blank.items()})
        if self.button:
            sent[self.button[0]] = self.button[1]
        return sent

    def names(self) -> list[str]:
        """Every field a request could carry: the sent ones, unticked boxes, files, the button."""
        return [name for name in dict.fromkeys([*self.data(), *self.unticked, *self.files])
                if name != "csrfmiddlewaretoken"]


class _Page(HTMLParser):
    """The forms of a page and its links. A control belongs to the form around it, or to the one its
    ``form`` attribute names."""

    def __init__(self, page_url: str) -> None:
        super().__init__(convert_charrefs=True)
        self.page_url = page_url
        self.forms: list[Form] = []
        self.links: list[str] = []
        self._by_id: dict[str, Form] = {}
        self._controls: list[tuple[Form | str, str, dict[str, str]]] = []
        self._form: Form | None = None
        self._open: dict[str, str] | None = None  # the <select> or <textarea> being read

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "a" and a.get("href"):
            self.links.append(a["href"])
        elif tag == "form":
            self._form = Form(action=a.get("action") or self.page_url, method=(a.get("method") or "get").lower())
            self.forms.append(self._form)
            if a.get("id"):
                self._by_id[a["id"]] = self._form
        elif tag in ("input", "button", "select", "textarea") and a.get("name"):
            owner = a["form"] if a.get("form") else self._form
            if owner is not None:
                self._controls.append((owner, tag, a))
            if tag in ("select", "textarea"):
                self._open, a["_text"] = a, ""
        elif tag == "option" and self._open is not None:
            self._open.setdefault("_first", a.get("value", ""))
            if "selected" in a:
                self._open["_selected"] = a.get("value", "")

    def handle_data(self, data: str) -> None:
        if self._open is not None:
            self._open["_text"] += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._form = None
        elif tag in ("select", "textarea"):
            self._open = None

    def close(self) -> None:
        super().close()
        for owner, tag, a in self._controls:
            form = self._by_id.get(owner) if isinstance(owner, str) else owner
            if form is None:
                continue
            name, kind = a["name"], a.get("type", "text" if tag == "input" else "submit").lower()
            if tag == "select":
                form.fields[name] = a.get("_selected", a.get("_first", ""))
            elif tag == "textarea":
                form.fields[name] = a["_text"]
                if not a["_text"].strip():
                    form.blank[name] = "textarea"
            elif kind == "file":
                form.files.append(name)
            elif kind in ("submit", "image"):
                form.button = form.button or (name, a.get("value", ""))
            elif kind in ("checkbox", "radio"):
                if "checked" in a:
                    form.fields[name] = a.get("value", "on")
                elif name not in form.fields:
                    form.unticked.setdefault(name, a.get("value", "on"))
            elif kind != "button":
                form.fields[name] = a.get("value", "")
                if not form.fields[name] and kind != "hidden":
                    form.blank[name] = kind


def path_of(url: str, base: str) -> str:
    """The path a link or form action leads to, decoded (``%2B`` and ``+`` alike); "" for another site."""
    parts = urlsplit(url)
    if parts.scheme or parts.netloc:
        return ""
    if not parts.path:
        return unquote(base)
    return unquote(parts.path if parts.path.startswith("/") else base.rsplit("/", 1)[0] + "/" + parts.path)


def ancestors(url: str) -> list[str]:
    """The URL and the pages above it: where the forms and links that lead to it are."""
    parts = [p for p in url.split("/") if p]
    return list(dict.fromkeys("/" + "/".join(parts[:i]) + ("/" if i else "") for i in range(len(parts), -1, -1)))


# -- sending, and what counts as a failure ------------------------------------------------------------------------


class Session:
    """One client. Each request in a savepoint that is rolled back, the cookies put back after it; pages
    are read once (every request starts from the same state, so the same page comes back)."""

    def __init__(self, client, who: str) -> None:
        self.client, self.who = client, who
        self.failures: list[str] = []
        self.pages: dict[str, object] = {}

    def send(self, what: str, method: str, url: str, data=None):
        cookies = copy.deepcopy(self.client.cookies)
        try:
            with transaction.atomic():
                response = getattr(self.client, method)(url, data)
                transaction.set_rollback(True)
        except Exception as error:  # the test client re-raises what the view raised: a 500
            self.failures.append(f"{self.who}, {what}: {method.upper()} {url[:100]!r} raised "
                                 f"{type(error).__name__}: {str(error)[:200]!r}")
            return None
        finally:
            self.client.cookies = cookies
        if response.status_code >= 500:
            self.failures.append(f"{self.who}, {what}: {method.upper()} {url[:100]!r} answered {response.status_code}")
        return response

    def page(self, url: str, data=None, method: str = "get") -> _Page | None:
        key = (method, url, repr(sorted((data or {}).items(), key=str)))
        if key not in self.pages:
            response = self.send("the page", method, url, data)
            page = None
            if response is not None and response.status_code in (200, 400) and \
                    "html" in response.get("Content-Type", ""):
                page = _Page(url)
                page.feed(response.content.decode("utf-8", "replace"))
                page.close()
            self.pages[key] = (page, response.status_code if response is not None else 500)
        return self.pages[key][0]

    def status(self, url: str) -> int:
        self.page(url)
        return self.pages[("get", url, "[]")][1]


def forms_and_links(session: Session, url: str) -> tuple[list[Form], set[str], list[dict[str, str]]]:
    """The POST forms that target ``url``, the query parameter names used for it, and what its GET forms
    send as a browser would and with every box ticked (the dashboard's selection of one number, or of
    all), found on its page and the pages above it, then on what submitting those forms shows, two
    steps on."""
    target = unquote(url)
    forms: dict[tuple, Form] = {}
    query: set[str] = set()
    get_bases: list[dict[str, str]] = []

    def collect(page: _Page | None) -> list[Form]:
        new = []
        for form in page.forms if page else []:
            form.action = path_of(form.action, page.page_url)
            if form.action != target:
                continue
            if form.method == "get":
                query.update(form.names())
                for base in (form.data(fill_blanks=False), {**form.data(fill_blanks=False), **form.unticked}):
                    if base not in get_bases:
                        get_bases.append(base)
                new.append(form)
            elif form.key() not in forms:
                forms[form.key()] = form
                new.append(form)
        for link in page.links if page else []:
            if path_of(link, page.page_url) == target:
                query.update(name for name, _ in parse_qsl(urlsplit(link).query, keep_blank_values=True))
        return new

    found = [form for page_url in ancestors(url) for form in collect(session.page(page_url))]
    for _step in range(2):  # submitted as found: a selection's page, then a preview's confirm form
        submitted, found = found, []
        for form in submitted:
            data = form.data()
            for name in form.files:
                if name in GOOD_FILES:
                    data[name] = SimpleUploadedFile(*GOOD_FILES[name])
            if form.method == "get":
                found += collect(session.page(f"{url}?{urlencode(data)}"))
            else:
                found += collect(session.page(url, data, method="post"))
    return list(forms.values()), query, get_bases


# -- the fuzzing --------------------------------------------------------------------------------------------------


def fuzz(session: Session, route: Route, values: dict[str, str]) -> None:
    url = route.url(values)
    method = "post" if session.status(url) == 405 else "get"
    for parameter in route.parameters:
        for label, value in ODD.items():
            if route.accepts(parameter, value):
                session.send(f"path <{parameter}>={label}", method, route.url(values, (parameter, value)))
    forms, query, get_bases = forms_and_links(session, url)
    read = names_read(url)
    ours = not route.is_admin or admin_is_ours(route)  # else Django's and other apps' admin code
    if route.is_admin:
        names = sorted(set(ADMIN_QUERY) | (set() if ours else query))
        for label, value in ODD.items():
            session.send(f"?(all)={label}", "get", f"{url}?{urlencode(dict.fromkeys(names, value))}")
    for name in sorted(query | read["GET"]) if ours else []:
        for label, value in ODD.items():  # alone, and with what the URL's GET forms send (?all=1&tag=…)
            for base in [{}, *get_bases] if not route.is_admin else [{}]:
                session.send(f"?{name}={label}", "get", f"{url}?{urlencode({**base, name: value})}")
    if method == "post" and not forms:  # a POST-only URL no page has a form for: the names its view reads
        forms = [Form(action=url, method="post", fields=dict.fromkeys(read["POST"], ""))]
    for form in forms:
        base, names = form.data(), form.names()
        for label, value in ODD.items():
            for changed in ([[name] for name in names] if ours else [names]):
                data = dict(base)
                for name in changed:
                    data[name] = SimpleUploadedFile(f"{value}.csv", value.encode()) if name in form.files else value
                session.send(f"form {'+'.join(changed)[:60]}={label}", "post", url, data)


# -- the world: one team with one of everything ----------------------------------------------------------------


@pytest.fixture
def world(personas, team, sandbox, settings, photo_settings):
    """Real objects for every path parameter (alice: owner of acme and a superuser)."""
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from contactcards.accounts import services as account_services
    from contactcards.alerts import services as alert_services
    from contactcards.models import AuditEntry, Job, Membership, PhoneNumber
    from contactcards.photos.models import Photo
    from contactcards.rollout import jobs
    from contactcards.rollout.plan import Target, build_plan
    from contactcards.streams import services as stream_services
    from contactcards.sync import subscriptions
    from contactcards.sync.models import WebhookEndpoint
    from tests.support.helpers import make_entry

    alice = personas["owner"]
    alice.is_staff = alice.is_superuser = True
    alice.email = "alice@example.com"
    alice.save()
    settings.PUBLIC_URL = "http://127.0.0.1:9"  # the sandbox accepts loopback http; nothing is delivered
    settings.AXES_FAILURE_LIMIT = 10**6  # hundreds of wrong sign-ins: no pause half way
    number = PhoneNumber.objects.get(team=team, e164=CARD_NUMBER)
    entry = make_entry(team, number=number, user=alice)
    assert subscriptions.subscription_create(team=team, user=alice).ok
    endpoint = WebhookEndpoint.objects.get(team=team)
    plan = build_plan(team, [Target(e164=CARD_NUMBER, values={"last_name": "Bulk"})])
    job = jobs.job_create(team=team, user=alice, plan=plan, source=Job.Source.BULK)
    sent = account_services.invitation_create(team=team, invited_by=alice, email="dora@example.com", role="viewer")
    photo = Photo.objects.create(team=team, source=Photo.Source.LINK, url="https://cdn.example.com/a.png",
                                 width=96, height=96, format="PNG", size_bytes=100)
    device = TOTPDevice.objects.create(user=personas["editor"], name="phone", confirmed=True)
    settings.AUDIT_STREAM_ALLOWED_NETWORKS = ["127.0.0.1/32"]  # the streams' forms accept loopback targets
    stream = stream_services.stream_create(team=team, user=alice, name="SIEM", kind="webhook",
                                           url="https://127.0.0.1:9/audit").stream
    membership = Membership.objects.get(team=team, user=personas["editor"])
    alert = alert_services.subscription_create(team=team, user=alice, personal=False, channel="chat",
                                               kinds=["line_flagged"], cadence="immediate",
                                               webhook_url="https://127.0.0.1:9/hook", webhook_host="127.0.0.1:9")
    by_route = {"audit_entry": entry.pk, "restore_version": entry.pk, "team_invitation_revoke": sent.invitation.pk,
                "otp_totp_totpdevice_config": device.pk, "otp_totp_totpdevice_qrcode": device.pk,
                "webhook_receiver": endpoint.path_token, "invitation_accept": sent.link.split("/")[-2],
                "password_reset_confirm": default_token_generator.make_token(alice)}
    admin_objects = {"user": alice.pk, "team": team.pk, "membership": membership.pk, "phonenumber": number.pk,
                     "auditentry": AuditEntry.objects.filter(team=team).first().pk, "totpdevice": device.pk}

    def values(route: Route) -> dict[str, str]:
        model = (route.pattern.split("/") + ["", ""])[2]  # admin/<app>/<model>/...; admin/r/... is a team
        filled = {"slug": team.slug, "e164": CARD_NUMBER, "membership_id": membership.pk,
                  "subscription_id": endpoint.subscription_id, "photo_id": photo.pk, "id": alice.pk,
                  "stream_id": stream.pk, "alert_id": alert.pk,
                  "uidb64": urlsafe_base64_encode(force_bytes(alice.pk)),
                  "content_type_id": ContentType.objects.get_for_model(type(team)).pk,
                  "pk": by_route.get(route.name, job.pk), "token": by_route.get(route.name, ""),
                  "object_id": admin_objects.get(model, team.pk)}
        return {name: str(filled[name]) for name in route.parameters}

    return values


@pytest.mark.django_db
@pytest.mark.parametrize("group", sorted(GROUPS))
def test_no_odd_value_gives_a_500(group, world, client):
    owner = Session(client, "owner")
    client.force_login(get_user_model().objects.get(username="alice"))
    anonymous = Session(Client(), "anonymous")
    for route in GROUPS[group]:
        values = world(route)
        fuzz(owner, route, values)
        if is_open_to_everyone(route.url(values)):
            fuzz(anonymous, route, values)
    failures = owner.failures + anonymous.failures
    assert not failures, f"{len(failures)} answers of 500:\n" + "\n".join(failures)


def test_the_fuzzer_finds_the_forms_a_person_fills_in(world, client, db):
    """It must not pass by seeing nothing: the card form's fields, the dashboard's selection leading
    to the bulk form, the import's confirm step, the history's filters."""
    from contactcards.models import AuditStream

    client.force_login(get_user_model().objects.get(username="alice"))
    session = Session(client, "owner")
    card, _, _ = forms_and_links(session, f"/t/acme/numbers/{quote(CARD_NUMBER)}/")
    assert {"first_name", "last_name", "image_url", "loaded"} <= set(card[0].fields) and card[0].files == ["photo"]
    bulk, _, _ = forms_and_links(session, "/t/acme/bulk/")
    [selection] = [form for form in bulk if "step" in form.fields]  # the dashboard's: POSTed, ticks and all
    assert {"n", "all"} <= set(selection.names())
    assert any("set_last_name" in form.names() for form in bulk)
    assert any("fingerprint" in form.fields for form in bulk)  # the preview's confirm form
    imported, _, _ = forms_and_links(session, "/t/acme/import/")
    assert any("payload" in form.fields for form in imported)
    _, filters, _ = forms_and_links(session, "/t/acme/history/")
    assert {"q", "user", "number", "date_from"} <= filters
    assert names_read("/t/acme/")["GET"] >= {"q", "sort", "page", "tag", "status"}
    assert names_read("/t/acme/bulk/")["GET"] >= {"all", "q", "tag", "status", "n"}
    stream = AuditStream.objects.get()
    added, _, _ = forms_and_links(session, "/t/acme/settings/streams/add/")
    assert any({"kind", "url", "syslog_host", "syslog_port"} <= set(form.names()) for form in added)
    changed, _, _ = forms_and_links(session, f"/t/acme/settings/streams/{stream.pk}/")
    assert any({f"s{stream.pk}-name", f"s{stream.pk}-url"} <= set(form.names()) for form in changed)
    acted, _, _ = forms_and_links(session, f"/t/acme/settings/streams/{stream.pk}/action/")
    assert {form.button for form in acted} == {("action", "pause"), ("action", "rotate"), ("action", "delete")}
    assert not session.failures


# -- the cases issue 19 named, one by one --------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(("method", "url"), [
    ("get", "/t/acme/numbers/%00/"),
    ("get", "/t/acme/numbers/%00/history/"),
    ("post", "/t/acme/settings/numbers/%00/remove/"),
    ("post", "/hooks/linq/%00/"),
    ("get", "/invitations/%00/"),
])
def test_a_nul_in_the_path_names_no_page(client, alice, method, url):
    client.force_login(alice)
    assert getattr(client, method)(url).status_code == 404


@pytest.mark.django_db
def test_a_nul_in_a_header_or_a_cookie_is_a_bad_request(client, alice, sandbox):
    client.force_login(alice)
    assert client.get("/t/acme/", HTTP_USER_AGENT="Mozilla\x00").status_code == 400
    assert client.get("/t/acme/", HTTP_COOKIE="tz=Europe/Paris\x00").status_code == 400
    assert client.get("/t/acme/").status_code == 200


@pytest.mark.django_db
@pytest.mark.parametrize("query", ["n=%00", "n=%2B1555%000001001", "all=1&tag=%00", "all=1&tag=no-such-tag"])
def test_the_bulk_page_selects_no_number_for_a_nul_or_an_unknown_tag(client, alice, query):
    client.force_login(alice)
    response = client.get(f"/t/acme/bulk/?{query}")
    assert response.status_code == 302 and response["Location"] == "/t/acme/"
    posted = client.post("/t/acme/bulk/", dict(parse_qsl(query)) | {"set_last_name": "on", "last_name": "X"})
    assert posted.status_code == 302 and posted["Location"] == "/t/acme/"


@pytest.mark.django_db
def test_the_admin_refuses_a_nul_in_a_filter(client, alice):
    alice.is_staff = alice.is_superuser = True
    alice.save()
    client.force_login(alice)
    assert client.get("/admin/contactcards/membership/?role__exact=%00").status_code == 400
    assert client.get("/admin/contactcards/membership/?role__exact=owner").status_code == 200


@pytest.mark.django_db
@pytest.mark.parametrize("target", ["xyz", "home", "\u0661\u0662", "https://evil.example/", "//evil.example/"])
def test_the_time_zone_page_goes_back_only_to_a_page_of_this_site(client, alice, target):
    client.force_login(alice)
    response = client.post("/account/time-zone/", {"time_zone": "Europe/Paris", "next": target})
    assert response.status_code == 302 and response["Location"] == "/account/time-zone/"
    back = client.post("/account/time-zone/", {"time_zone": "UTC", "next": "/t/acme/?sort=number"})
    assert back.status_code == 302 and back["Location"] == "/t/acme/?sort=number"


@pytest.mark.django_db
@pytest.mark.parametrize("length", [151, 256, 10_000])
def test_a_user_name_longer_than_any_account_gets_the_wrong_password_answer(client, alice, length):
    from axes.models import AccessAttempt

    from tests.support.helpers import sign_in_client

    response = sign_in_client(client, "a" * length, PASSWORD)
    assert response.status_code == 200
    assert "Please enter a correct username and password" in response.content.decode()
    assert not AccessAttempt.objects.exists()  # nothing was authenticated, so nothing to record
    assert sign_in_client(client, "alice", PASSWORD).status_code == 302


@pytest.mark.django_db
@pytest.mark.parametrize("url", [
    "/admin/axes/accesslog/?attempt_time__year=9999999999999999999999999",
    "/admin/contactcards/auditentry/?created_at__year=9999999999999999999999999",
])
def test_the_admin_answers_400_for_a_number_too_large(client, alice, url):
    alice.is_staff = alice.is_superuser = True
    alice.save()
    client.force_login(alice)
    assert client.get(url).status_code in (302, 400)  # Django's own "?e=1" redirect, or ours


@pytest.mark.django_db
def test_the_admin_never_shows_an_authenticator_secret(client, alice, bob):
    from django_otp.plugins.otp_totp.models import TOTPDevice

    alice.is_staff = alice.is_superuser = True
    alice.save()
    device = TOTPDevice.objects.create(user=bob, name="phone", confirmed=True)
    client.force_login(alice)
    for page in ("config", "qrcode"):
        assert client.get(f"/admin/otp_totp/totpdevice/{device.pk}/{page}/").status_code == 403
        assert client.get(f"/admin/otp_totp/totpdevice/{device.pk + 1000}/{page}/").status_code == 403
