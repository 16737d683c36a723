"""Helpers for the write-safety tests: read the card page's forms the way a browser would."""

from __future__ import annotations

from html.parser import HTMLParser

from conftest import CARD_NUMBER, EMPTY_NUMBER, PASSWORD

URL = f"/t/acme/numbers/{CARD_NUMBER}/"
EMPTY_URL = f"/t/acme/numbers/{EMPTY_NUMBER}/"


class _Forms(HTMLParser):
    """Every <form> on a page, as {"attrs": {...}, "fields": {name: value}}."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[dict] = []
        self._current: dict | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = {k: v or "" for k, v in attrs}
        if tag == "form":
            self._current = {"attrs": attributes, "fields": {}}
            self.forms.append(self._current)
        elif tag == "input" and self._current is not None and attributes.get("name"):
            self._current["fields"][attributes["name"]] = attributes.get("value", "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._current = None


def forms_on(response) -> list[dict]:
    parser = _Forms()
    parser.feed(response.content.decode())
    return parser.forms


def card_form(response) -> dict[str, str]:
    """The fields of the card form (edit or create), as a browser would post them."""
    for form in forms_on(response):
        if "card-form" in form["attrs"].get("class", ""):
            return {k: v for k, v in form["fields"].items() if k != "csrfmiddlewaretoken"}
    raise AssertionError("no card form on the page")


def retry_form(response) -> dict[str, str] | None:
    for form in forms_on(response):
        if "retry-form" in form["attrs"].get("class", ""):
            return {k: v for k, v in form["fields"].items() if k != "csrfmiddlewaretoken"}
    return None


def login(client, user):
    assert client.login(username=user.username, password=PASSWORD)
    return client


def load(client, url: str = URL) -> dict[str, str]:
    """GET the card page and return its card form's fields."""
    response = client.get(url)
    assert response.status_code == 200
    return card_form(response)


def text(response) -> str:
    """The page's text with tags removed and whitespace collapsed, for message assertions."""
    import re
    from html import unescape

    body = re.sub(r"<script.*?</script>", " ", response.content.decode(), flags=re.S)
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", body)).split())
