"""Import rules: the tree stays organised the way docs/architecture.md draws it.

Every module of the product (``contactcards``) has a layer, from its name:

    lib       contactcards/lib/*, contactcards/linq/*, photos/fetch.py, photos/images.py   (no Django)
    base      the shared plumbing below the models (BASE: crypto, phone numbers)
    models    */models.py
    selectors */selectors.py and the other read-only modules listed in SELECTORS
    services  everything else in a domain package (writes, Linq calls, tasks)
    forms     */forms.py
    views     */views.py, *_views.py, */urls.py, admin, template tags, middleware and the other entry points in VIEWS

A module never imports a module of a higher layer, in its own domain or any other; selectors never
write; the product never imports the development tools or the tests; and the Linq client, the
Django-free helpers and the sandbox never import Django.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PRODUCT = ROOT / "contactcards"
RANK = {"lib": 0, "base": 0, "models": 1, "selectors": 2, "services": 3, "forms": 4, "views": 5}
LIB = {"photos/fetch.py", "photos/images.py"}
# Shared plumbing below the models: encryption at rest, the phone-number rules.
BASE = {"common/crypto.py", "common/phones.py"}
# Edges that go up on purpose, each with its reason.
ALLOWED = {
    ("contactcards.rollout.plan", "contactcards.cards.forms"):
        "a bulk row is validated by the card page's own form, so both follow the same rules",
}
SELECTORS = {"common/clients.py", "cards/budget.py", "teams/dashboard.py", "history/versions.py", "history/export.py",
             "accounts/selectors.py"}
VIEWS = {"admin.py", "apps.py", "common/health.py", "common/preferences.py", "common/context_processors.py",
         "common/timezones.py", "accounts/middleware.py", "accounts/admin_site.py", "accounts/apps.py"}
WRITES = {"save", "create", "bulk_create", "update", "delete", "get_or_create", "update_or_create", "bulk_update",
          "fill_outcome", "fill_reconciled"}


def product_modules() -> list[Path]:
    return sorted(p for p in PRODUCT.rglob("*.py") if "migrations" not in p.parts)


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def layer(path: Path) -> str | None:
    rel = path.relative_to(PRODUCT).as_posix()
    name = path.name
    if rel.startswith(("lib/", "linq/")) or rel in LIB:
        return "lib"
    if rel in BASE:
        return "base"
    if name == "__init__.py" or rel.startswith("management/"):
        return None  # package docstrings and re-exports; commands are entry points like views
    if rel in VIEWS or name in ("views.py", "urls.py") or name.endswith("_views.py") or "templatetags" in path.parts:
        return "views"
    if name == "models.py":
        return "models"
    if name == "forms.py":
        return "forms"
    if name == "selectors.py" or rel in SELECTORS:
        return "selectors"
    return "services"


MODULES = {module_name(p): p for p in product_modules()}


def imported_modules(path: Path) -> list[tuple[int, str]]:
    """(line, module) for every import of a product module, including ``from package import module``."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            for alias in node.names:
                full = f"{node.module}.{alias.name}"
                found.append((node.lineno, full if full in MODULES else node.module))
        elif isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
    return found


def test_every_product_module_has_a_layer_and_lib_is_the_bottom():
    layers = {module_name(p): layer(p) for p in product_modules()}
    assert layers["contactcards.cards.services"] == "services"
    assert layers["contactcards.cards.views"] == "views"
    assert layers["contactcards.history.selectors"] == "selectors"
    assert layers["contactcards.linq.client"] == "lib"


def test_no_module_imports_a_higher_layer():
    upward = []
    for path in product_modules():
        mine = layer(path)
        if mine is None:
            continue
        for line, name in imported_modules(path):
            target = MODULES.get(name)
            if target is None or layer(target) is None:
                continue
            if RANK[layer(target)] > RANK[mine] and (module_name(path), name) not in ALLOWED:
                upward.append(f"{path.relative_to(ROOT)}:{line} ({mine}) imports {name} ({layer(target)})")
    assert upward == []


def test_selectors_never_write():
    writes = []
    for path in product_modules():
        if layer(path) != "selectors":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in WRITES:
                writes.append(f"{path.relative_to(ROOT)}:{node.lineno} .{node.func.attr}()")
    assert writes == []


def test_the_product_never_imports_the_tools_or_the_tests():
    found = []
    for path in [*product_modules(), *sorted((ROOT / "linqadmin").glob("*.py"))]:
        if path.name == "settings_test.py":
            continue
        for line, name in imported_modules(path):
            if name.split(".")[0] in ("devtools", "tests"):
                found.append(f"{path.relative_to(ROOT)}:{line} {name}")
    assert found == []


@pytest.mark.parametrize("modules", [
    "contactcards.linq",
    "contactcards.lib.text, contactcards.lib.words",
    "contactcards.photos.fetch, contactcards.photos.images",
    "devtools.sandbox",
])
def test_django_free_modules_do_not_import_django(modules):
    code = (
        f"import sys; import {modules}; "
        "bad = sorted(m for m in sys.modules if m == 'django' or m.startswith('django.')); "
        "print(bad); sys.exit(1 if bad else 0)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_history_has_one_writer():
    """Only ``contactcards/history/audit.py`` creates or changes AuditEntry rows (``AuditEntry(...)``,
    ``AuditEntry.objects.create`` and the like, ``fill_outcome``/``fill_reconciled``). The development
    tools' seeding (``devtools/``) writes benchmark histories and is not the product."""
    writer = PRODUCT / "history" / "audit.py"
    others = []
    for path in product_modules():
        if path == writer or path.name == "models.py" and path.parent.name == "history":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            if isinstance(func, ast.Name) and func.id == "AuditEntry":
                others.append(f"{path.relative_to(ROOT)}:{node.lineno} AuditEntry(...)")
            elif isinstance(func, ast.Attribute) and func.attr in ("fill_outcome", "fill_reconciled"):
                others.append(f"{path.relative_to(ROOT)}:{node.lineno} .{func.attr}()")
            elif (isinstance(func, ast.Attribute) and func.attr in WRITES
                  and "AuditEntry.objects" in ast.unparse(func.value)):
                others.append(f"{path.relative_to(ROOT)}:{node.lineno} {ast.unparse(func)}()")
    assert others == []
