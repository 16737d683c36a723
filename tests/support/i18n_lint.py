"""Find words a person would read that are not marked for translation (used by test_i18n.py).

Templates: every text node and every visible attribute (title, alt, placeholder, aria-label,
data-label, a button's value, ...) must come from ``{% translate %}`` / ``{% blocktranslate %}`` or
from a variable. Python: every message, validation error, form label, help text, choice label
and admin description must be a ``gettext`` call, not a bare string literal.

Static JavaScript: every string that reaches the page goes through the ``gettext`` / ``ngettext``
of Django's JavaScript catalogue; checked by a simpler rule (a string literal assigned to
``textContent``/``title``/``placeholder`` or passed to ``setAttribute("aria-label", ...)``).
"""

from __future__ import annotations

import ast
import re
from html import unescape
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# Words that are not language: the product's name on its own.
ALLOWED_WORDS = {"linqadmin"}

# Attributes a person reads (or hears, from a screen reader).
VISIBLE_ATTRIBUTES = {"title", "alt", "placeholder", "aria-label", "aria-description", "aria-roledescription",
                      "data-label", "data-confirm", "data-busy-label", "data-done-label", "data-empty-label",
                      "label", "summary"}

_COMMENTS = re.compile(r"{%\s*comment\b.*?%}.*?{%\s*endcomment\s*%}|{#.*?#}|<!--.*?-->", re.S)
_BLOCK_TRANSLATE = re.compile(r"{%\s*blocktrans(?:late)?\b.*?%}.*?{%\s*endblocktrans(?:late)?\s*%}", re.S)
_TEMPLATE_SYNTAX = re.compile(r"{%.*?%}|{{.*?}}", re.S)
_SCRIPT_STYLE = re.compile(r"<(script|style)\b.*?</\1\s*>", re.S | re.I)
_TAG = re.compile(r"<(/?)([a-zA-Z][\w-]*)((?:[^>\"']|\"[^\"]*\"|'[^']*')*)>", re.S)
_ATTRIBUTE = re.compile(r"([\w:-]+)\s*=\s*(\"[^\"]*\"|'[^']*'|[^\s\"'>]+)")
_DEFAULT_WORDS = re.compile(r"""\|\s*default(?:_if_none)?:\s*(["'])(.*?)\1""")
_WORD = re.compile(r"[^\W\d_]{2,}")


def _blank(match: re.Match) -> str:
    """The match replaced by spaces, newlines kept (so line numbers stay right)."""
    return re.sub(r"[^\n]", " ", match.group(0))


def _words(text: str) -> list[str]:
    return [word for word in _WORD.findall(unescape(text)) if word not in ALLOWED_WORDS]


def untranslated_in_template(source: str) -> list[tuple[int, str]]:
    """(line, words) of each piece of text in ``source`` that is not marked for translation."""
    text = _COMMENTS.sub(_blank, source)
    found: list[tuple[int, str]] = [
        (text.count("\n", 0, match.start()) + 1, match.group(0))  # {{ x|default:"words" }}: use _("words")
        for match in _DEFAULT_WORDS.finditer(text) if _words(match.group(2))
    ]
    text = _BLOCK_TRANSLATE.sub(_blank, text)
    text = _TEMPLATE_SYNTAX.sub(_blank, text)
    text = _SCRIPT_STYLE.sub(_blank, text)

    def line_of(offset: int) -> int:
        return text.count("\n", 0, offset) + 1

    def tag(match: re.Match) -> str:
        name, attributes = match.group(2).lower(), match.group(3)
        values = {key.lower(): value.strip("\"'") for key, value in _ATTRIBUTE.findall(attributes)}
        for key, value in values.items():
            visible = key in VISIBLE_ATTRIBUTES or (
                key == "value" and name == "input" and values.get("type") in ("submit", "button", "reset"))
            if visible and _words(value):
                found.append((line_of(match.start()), f'{key}="{value.strip()}"'))
        return _blank(match)

    text = _TAG.sub(tag, text)
    for number, line in enumerate(text.split("\n"), start=1):
        if _words(line):
            found.append((number, line.strip()))
    return sorted(found)


def template_files() -> list[Path]:
    roots = [ROOT / "templates", *sorted((ROOT / "contactcards").glob("**/templates"))]
    return sorted(path for root in roots for path in root.rglob("*") if path.suffix in (".html", ".txt"))


# -- Python ----------------------------------------------------------------------------------------

# Calls whose argument (by position, or keyword) a person reads.
_MESSAGE_FUNCTIONS = {"success": 1, "error": 1, "info": 1, "warning": 1, "debug": 1, "add_message": 2}
_READ_KEYWORDS = {"label", "help_text", "verbose_name", "verbose_name_plural", "empty_label", "description",
                  "message", "label_suffix"}
_TRANSLATED_CALLS = {"_", "gettext", "gettext_lazy", "ngettext", "ngettext_lazy", "pgettext", "pgettext_lazy",
                     "npgettext", "npgettext_lazy", "format_lazy", "gettext_noop"}


def _is_bare_text(node: ast.AST) -> bool:
    """A string literal with words in it (or an f-string, or "..." % x / "...".format(x))."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return bool(_words(node.value))
    if isinstance(node, ast.JoinedStr):
        return any(_is_bare_text(part) for part in node.values)
    if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Mod, ast.Add)):
        return _is_bare_text(node.left) or _is_bare_text(node.right)
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "format":
        return _is_bare_text(node.func.value)
    return False


def _call_name(node: ast.Call) -> str:
    func = node.func
    return func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""


def untranslated_in_python(source: str) -> list[tuple[int, str]]:
    found: list[tuple[int, str]] = []

    def flag(node: ast.AST, why: str) -> None:
        found.append((node.lineno, f"{why}: {ast.unparse(node)[:80]}"))

    tree = ast.parse(source)
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            name = _call_name(node)
            if name in _TRANSLATED_CALLS:
                continue
            func = node.func
            if (name in _MESSAGE_FUNCTIONS and isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name)
                    and func.value.id == "messages" and len(node.args) > _MESSAGE_FUNCTIONS[name]):
                if _is_bare_text(node.args[_MESSAGE_FUNCTIONS[name]]):
                    flag(node.args[_MESSAGE_FUNCTIONS[name]], f"messages.{name}")
            if name == "ValidationError" and node.args and _is_bare_text(node.args[0]):
                flag(node.args[0], "ValidationError")
            if name == "add_error" and len(node.args) > 1 and _is_bare_text(node.args[1]):
                flag(node.args[1], "add_error")
            for keyword in node.keywords:
                if keyword.arg in _READ_KEYWORDS and _is_bare_text(keyword.value):
                    flag(keyword.value, keyword.arg)
                if keyword.arg == "choices" and isinstance(keyword.value, (ast.List, ast.Tuple)):
                    for choice in keyword.value.elts:
                        if isinstance(choice, ast.Tuple) and len(choice.elts) == 2 and _is_bare_text(choice.elts[1]):
                            flag(choice.elts[1], "choice label")
                if keyword.arg == "attrs" and isinstance(keyword.value, ast.Dict):
                    for key, value in zip(keyword.value.keys, keyword.value.values, strict=True):
                        if (isinstance(key, ast.Constant) and key.value in VISIBLE_ATTRIBUTES
                                and _is_bare_text(value)):
                            flag(value, f"widget {key.value}")
                if keyword.arg == "error_messages" and isinstance(keyword.value, ast.Dict):
                    for value in keyword.value.values:
                        if _is_bare_text(value):
                            flag(value, "error message")
        elif (isinstance(node, ast.Tuple) and len(node.elts) == 2 and isinstance(node.elts[0], ast.Constant)
              and node.elts[0].value == "" and _is_bare_text(node.elts[1])):
            flag(node.elts[1], "empty choice label")  # ("", "Any number") in a list of choices
        elif isinstance(node, ast.ClassDef) and any(
                (base.attr if isinstance(base, ast.Attribute) else getattr(base, "id", "")).endswith("Choices")
                for base in node.bases):
            for statement in node.body:
                if (isinstance(statement, ast.Assign) and isinstance(statement.value, ast.Tuple)
                        and len(statement.value.elts) >= 2 and _is_bare_text(statement.value.elts[-1])):
                    flag(statement.value.elts[-1], "choice label")
        elif isinstance(node, ast.Assign) and any(
                isinstance(target, ast.Attribute | ast.Name) and getattr(target, "attr", getattr(target, "id", ""))
                in ("short_description", "verbose_name") for target in node.targets):
            if _is_bare_text(node.value):
                flag(node.value, "description or verbose name")
    found += _prose(tree, source)
    return sorted(set(found))


# Text for operators and developers, not for the people using the dashboard: system checks, SQL,
# the encryption keys' errors, the audit log's guard rails, the help texts of /metrics (a scraper's).
# A line ending in "# no-i18n" is exempt too.
_OPERATOR_TEXT = ("checks.py", "dbroles.py", "crypto.py", "metrics.py", "collector.py")
_SQL = re.compile(r"^\s*(SELECT|CREATE|UPDATE|INSERT|DELETE|GRANT|REVOKE|SET|DROP|ALTER|replace|to_char)\b"
                  r"|^[\w.+*-]+/[\w.+*-]+[;,]")  # SQL, or a media type list (Content-Type, Accept)
_LOGGING = {"debug", "info", "warning", "error", "exception", "critical", "log"}


def _prose(tree: ast.AST, source: str) -> list[tuple[int, str]]:
    """Sentences in string literals (four words or more) outside gettext, logging and docstrings."""
    lines = source.split("\n")
    exempt: set[int] = set()
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if (isinstance(body, list) and body and isinstance(body[0], ast.Expr)
                and isinstance(body[0].value, ast.Constant)):
            exempt.add(id(body[0].value))  # a docstring
        if isinstance(node, ast.Call):
            func = node.func
            name = _call_name(node)
            logging_call = (isinstance(func, ast.Attribute) and name in _LOGGING
                            and getattr(func.value, "id", "") in ("logger", "log", "logging"))
            if name in _TRANSLATED_CALLS or logging_call:
                exempt.update(id(sub) for sub in ast.walk(node))
    found = []
    for node in ast.walk(tree):
        if (isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in exempt
                and len(_words(node.value)) >= 4 and " " in node.value and not _SQL.match(node.value)
                and not lines[node.lineno - 1].rstrip().endswith("# no-i18n")):
            found.append((node.lineno, f"sentence: {node.value[:80]!r}"))
    return found


# Code whose words no person reads in the dashboard: tests, migrations (Django keeps the labels
# they copy), the fake Linq (its messages are Linq's), benchmarks and management commands (the
# shell speaks English, as Django's own commands do), and the Linq client (no Django in it: the
# messages it keeps are Linq's own, quoted as evidence, and templates give them their words).
_NOT_READ = ("tests", "migrations", "sandbox", "management", "linq")


def python_files() -> list[Path]:
    return sorted(
        path for path in (ROOT / "contactcards").rglob("*.py")
        if not any(part in _NOT_READ for part in path.relative_to(ROOT).parts)
        and not path.name.startswith("bench") and path.name not in _OPERATOR_TEXT
    )


# -- JavaScript ------------------------------------------------------------------------------------

_JS_COMMENTS = re.compile(r"/\*.*?\*/|^\s*//[^\n]*", re.S | re.M)
_JS_STRING = re.compile(r"""(["'])((?:\\.|(?!\1)[^\\\n])*)\1""")
_JS_TRANSLATED = re.compile(
    r"""(?:\b(?:n|p|np)?gettext\(\s*|\b(?:ngettext|pgettext|npgettext)\(\s*(["'])(?:\\.|(?!\1).)*\1\s*,\s*)$""")


def _is_prose(literal: str) -> bool:
    """Words for people, not code: a word, and a space or a sentence's end; no selector or class-list marks."""
    if literal == "use strict" or re.search(r"[\[\]#>]|^\.", literal):
        return False  # a CSS selector
    if re.search(r"\w=\S", literal):
        return False  # key=value syntax: a cookie's or a URL's attributes
    tokens = literal.split()
    if all(re.fullmatch(r"[a-z0-9_-]+", token) for token in tokens) and re.search(r"[-_]", literal):
        return False  # a list of class names
    return bool(_words(literal)) and (" " in literal.strip() or literal.rstrip().endswith((".", ":", "!", "?")))


def untranslated_in_javascript(source: str) -> list[tuple[int, str]]:
    text = _JS_COMMENTS.sub(_blank, source)
    found = []
    for match in _JS_STRING.finditer(text):
        literal = match.group(2)
        line_start = text.rfind("\n", 0, match.start()) + 1
        if _is_prose(literal) and not _JS_TRANSLATED.search(text[line_start:match.start()]):
            found.append((text.count("\n", 0, match.start()) + 1, literal))
    return found


def javascript_files() -> list[Path]:
    return sorted((ROOT / "static" / "js").glob("*.js"))
