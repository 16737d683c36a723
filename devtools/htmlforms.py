"""The forms on a page, read as a browser would post them (tests and the slow-Linq benchmark)."""

from __future__ import annotations

from html.parser import HTMLParser


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
