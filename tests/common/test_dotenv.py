"""Tests never read .env (issue 19, item 10).

bin/run writes a development ``.env`` beside manage.py (DEBUG=1), and settings.py reads that file for
every command run in the folder. A test that checks the production posture (two-factor for the admin,
``check --deploy``) then saw DEBUG=1 and failed after ``bin/run``. These tests put a hostile ``.env``
beside manage.py in a copy of the settings package and load the settings the ways tests do.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# What a .env could hold that would change what a test sees, each different from every default.
HOSTILE = {
    "DEBUG": "1",
    "SECRET_KEY": "hostile-secret-from-dotenv",
    "DATABASE_URL": "postgres://hostile:hostile@203.0.113.1:5999/hostile",
    "LINQ_API_BASE_URL": "http://hostile.invalid/api",
    "AXES_FAILURE_LIMIT": "1",
    "LOG_FORMAT": "json",
}
SHOW = """
import importlib, json, os
settings = importlib.import_module(os.environ["DJANGO_SETTINGS_MODULE"])
print(json.dumps({
    "file": settings.__file__,
    "DEBUG": str(int(settings.DEBUG)),
    "SECRET_KEY": settings.SECRET_KEY,
    "DATABASE_URL": f"postgres://{settings.DATABASES['default'].get('USER')}:hostile@"
                    f"{settings.DATABASES['default'].get('HOST')}:5999/{settings.DATABASES['default']['NAME']}",
    "LINQ_API_BASE_URL": settings.LINQ_API_BASE_URL,
    "AXES_FAILURE_LIMIT": str(settings.AXES_FAILURE_LIMIT),
    "LOG_FORMAT": settings.LOG_FORMAT,
}))
"""


@pytest.fixture(scope="module")
def checkout(tmp_path_factory) -> Path:
    """manage.py and the settings package, with a hostile .env beside manage.py."""
    root = tmp_path_factory.mktemp("dotenv") / "app"
    root.mkdir()
    shutil.copy2(ROOT / "manage.py", root / "manage.py")
    shutil.copytree(ROOT / "linqadmin", root / "linqadmin", ignore=shutil.ignore_patterns("__pycache__"))
    (root / ".env").write_text("".join(f"{key}={value}\n" for key, value in HOSTILE.items()))
    return root


def load(checkout: Path, env: dict[str, str], module: str) -> dict[str, str]:
    done = subprocess.run([sys.executable, "-c", SHOW], cwd=checkout, capture_output=True, text=True, timeout=60,
                          env={**env, "DJANGO_SETTINGS_MODULE": module, "PYTHONPATH": str(checkout)})
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout)
    assert Path(seen.pop("file")).is_relative_to(checkout)  # the copy's settings, beside the hostile .env
    return seen


def from_dotenv(seen: dict[str, str]) -> set[str]:
    return {key for key, value in HOSTILE.items() if seen[key] == value}


def clean_env(**extra: str) -> dict[str, str]:
    return {"PATH": "/usr/bin:/bin", "HOME": os.environ.get("HOME", "/tmp"), **extra}


def test_production_settings_do_read_it(checkout):
    """The control: outside the tests the file takes effect (so the checks below can fail)."""
    assert from_dotenv(load(checkout, clean_env(), "linqadmin.settings")) == set(HOSTILE)


def test_the_test_settings_never_read_it(checkout):
    assert from_dotenv(load(checkout, clean_env(), "linqadmin.settings_test")) == set()
    # nor a .env named on purpose
    named = clean_env(LINQADMIN_ENV_FILE=str(checkout / ".env"))
    assert from_dotenv(load(checkout, named, "linqadmin.settings_test")) == set()


def test_a_process_a_test_starts_does_not_read_it_even_with_production_settings(checkout, settings):
    """As test_two_factor does: inherit the test process's environment, drop a variable, load the
    production settings. The test settings emptied LINQADMIN_ENV_FILE in that environment."""
    assert os.environ["LINQADMIN_ENV_FILE"] == "" and settings.ENV_FILE == ""
    inherited = {key: value for key, value in os.environ.items() if key not in HOSTILE}
    assert from_dotenv(load(checkout, inherited, "linqadmin.settings")) == set()
