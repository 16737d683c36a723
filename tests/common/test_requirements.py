"""One source of truth for versions: requirements.lock pins everything that bin/setup can install.

``requirements.txt`` is what running needs (bin/run installs only that), ``requirements-test.txt``
adds the test and lint tools (bin/test); both are installed with ``pip -c requirements.lock``.
"""

import re
import sys
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TEST_TOOLS = {"pytest", "pytest-django", "pytest-playwright", "playwright", "responses", "ruff", "moto", "aiosmtpd"}


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def requirement_names(path: Path) -> set[str]:
    names = set()
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line and not line.startswith("-"):
            names.add(canonical(re.split(r"[\[<>=!~ ;]", line, maxsplit=1)[0]))
    return names


def lock() -> dict[str, str]:
    pins = {}
    for line in (ROOT / "requirements.lock").read_text().splitlines():
        name, sep, version = line.strip().partition("==")
        if sep:
            pins[canonical(name)] = version
    return pins


def test_every_requirement_is_pinned_in_the_lock():
    pins = lock()
    for path in ("requirements.txt", "requirements-test.txt"):
        missing = requirement_names(ROOT / path) - pins.keys()
        assert not missing, f"{path}: not in requirements.lock: {missing}"


def test_running_needs_no_test_tools_and_testing_adds_them():
    runtime = requirement_names(ROOT / "requirements.txt")
    assert runtime.isdisjoint(TEST_TOOLS)
    assert "django" in runtime and "gunicorn" in runtime
    test_file = (ROOT / "requirements-test.txt").read_text()
    assert "-r requirements.txt" in test_file
    assert TEST_TOOLS <= requirement_names(ROOT / "requirements-test.txt")


def test_everything_installed_is_the_locked_version():
    pins = lock()
    installed = {canonical(dist.metadata["Name"]): dist.version
                 for dist in metadata.distributions(path=[p for p in sys.path if "site-packages" in p])}
    unpinned = {name: version for name, version in installed.items()
                if name not in ("pip", "setuptools", "wheel") and pins.get(name) != version}
    assert not unpinned, f"installed but not at the version requirements.lock pins: {unpinned}"


def test_setup_scripts_install_the_right_set():
    assert "bin/setup --test" in (ROOT / "bin/test").read_text()
    run = (ROOT / "bin/run").read_text()
    assert "bin/setup\n" in run and "--test" not in run
    setup = (ROOT / "bin/setup").read_text()
    assert "-c requirements.lock" in setup and "python3-venv" in setup
    assert (ROOT / ".ci/run").read_text().strip().endswith("exec bin/test")
