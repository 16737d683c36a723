"""Every command in the README works as written, in a fresh checkout and a fresh shell.

The README's ``sh`` blocks are the commands people copy. Each one belongs to exactly one scenario
below (checked by the first test), and each scenario runs its commands in order, through bash, in a
copy of the working tree with a minimal environment: no DEBUG, no secrets, nothing from this test
process. A command passes when it exits 0 and prints no traceback. Placeholders (``…``) get a value,
ports get free ones (the README's ports are settings: ``PORT``, ``SANDBOX_PORT``); servers are
checked to answer and then stopped. Two commands are not run here, for a stated reason (NOT_RUN).
"""

from __future__ import annotations

import json
import re
import urllib.request
from pathlib import Path

import pytest

from conftest import TOKEN
from tests.support.fresh_shell import (
    ROOT,
    free_port,
    fresh_checkout,
    minimal_env,
    shell,
    start,
    stop,
    wait_for_http,
    wait_for_output,
)

pytestmark = pytest.mark.once(on="postgres")  # fresh checkouts with SQLite files of their own: once (pyproject)
SCENARIOS = ("production", "demo", "tests", "bench")
NOT_RUN = {
    "bin/bench": "seeds a million rows for minutes; its quick form (--rows) runs in test_bench_commands",
}


def readme_commands(text: str | None = None) -> list[str]:
    """The command lines of the README's ``sh`` blocks, comments removed."""
    text = (ROOT / "README.md").read_text() if text is None else text
    commands = []
    for block in re.findall(r"```sh\n(.*?)```", text, flags=re.S):
        for line in block.splitlines():
            command = re.sub(r"\s+#.*$", "", line).strip()
            if command and not command.startswith("#"):
                commands.append(command)
    return commands


def scenario(command: str) -> str:
    if command in NOT_RUN:
        return "not run"
    if re.search(r"(^|\s)bin/test\b", command):
        return "tests"
    if "bin/bench" in command:
        return "bench"
    if re.search(r"(^|\s)bin/run\b", command) or "sandboxfault" in command or "outsidechange" in command \
            or "devtools.sandbox" in command:
        return "demo"
    if command.startswith(("python manage.py", "export ", "gunicorn ")) or " python manage.py " in command:
        return "production"
    return "unknown"


def commands_of(name: str) -> list[str]:
    return [command for command in readme_commands() if scenario(command) == name]


def assert_ok(result, command: str) -> None:
    output = result.stdout + result.stderr
    assert result.returncode == 0, f"{command!r} failed ({result.returncode}):\n{output}"
    assert "Traceback" not in output, f"{command!r} printed a traceback:\n{output}"


@pytest.fixture(scope="module")
def checkout(tmp_path_factory) -> Path:
    return fresh_checkout(tmp_path_factory.mktemp("fresh") / "linqadmin")


def test_every_readme_command_belongs_to_a_scenario():
    commands = readme_commands()
    assert len(commands) >= 15
    unknown = [command for command in commands if scenario(command) == "unknown"]
    assert unknown == [], "README commands that no test runs"
    for name in SCENARIOS:
        assert commands_of(name), f"no README command for scenario {name}"


def test_readme_parser_skips_comments_and_prose():
    text = "run `bin/x` inline\n```sh\n# a comment\nbin/run   # trailing\n\nfoo --x 1\n```\n```python\nno\n```\n"
    assert readme_commands(text) == ["bin/run", "foo --x 1"]


def test_without_settings_commands_explain_themselves_and_generatekey_works(checkout):
    env = minimal_env(checkout)
    (checkout / ".env").unlink(missing_ok=True)
    result = shell("python manage.py createteam acme --name Acme", checkout, env)
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert "Set SECRET_KEY" in result.stderr and "LINQADMIN_ENCRYPTION_KEYS" in result.stderr
    key = shell("python manage.py generatekey", checkout, env)
    assert_ok(key, "generatekey")
    assert len(key.stdout.strip()) == 44
    # A database that is not there yet: two plain lines, not a traceback.
    missing_db = minimal_env(checkout, DEBUG="1", DATABASE_URL=f"sqlite:///{checkout.parent}/nowhere/x.sqlite3")
    result = shell("python manage.py addnumber acme +14155550123", checkout, missing_db)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "Database error" in result.stderr and "migrate" in result.stderr


def test_production_and_scriptable_setup_commands(checkout, sandbox_server, sandbox, tmp_path):
    """The Production block first (it makes the key and the tables), then the scriptable setup, as written."""
    sandbox.add_account(TOKEN, ["+14155550123", "+14155550124", "+14155550199"])
    (checkout / ".env").unlink(missing_ok=True)
    env = minimal_env(checkout, DEBUG="0", SECRET_KEY="fresh-shell-" + "k" * 50,
                      DATABASE_URL=f"sqlite:///{tmp_path / 'prod.sqlite3'}", LINQ_API_BASE_URL=sandbox_server.url)
    commands = sorted(commands_of("production"), key=lambda c: "generatekey" not in c and "migrate" not in c)
    assert "generatekey" in commands[0]
    ran = []
    for command in commands:
        line = command.replace("…", TOKEN if "LINQ_API_TOKEN" in command else "a-long-fresh-password-7")
        if line.startswith("export "):
            name, _, value = line[len("export "):].partition("=")
            env[name] = value
        elif " db_worker" in line:  # a service: it starts, waits for tasks, stops on a signal
            worker = start(line, checkout, env)
            try:
                wait_for_output(worker, "Starting worker")
            finally:
                output = stop(worker)
            assert "Traceback" not in output, output
        elif line.startswith("gunicorn "):
            port = free_port()
            server = start(line, checkout, {**env, "PORT": str(port)})
            try:
                status, body = wait_for_http(f"http://127.0.0.1:{port}/healthz", server)
            finally:
                output = stop(server)
            assert status == 200 and json.loads(body)["database"]["ok"], output
        else:
            result = shell(line, checkout, env)
            assert_ok(result, command)
            if "generatekey" in command:
                env["LINQADMIN_ENCRYPTION_KEYS"] = result.stdout.strip()
            if "syncnumbers" in command:
                assert "+14155550199" in result.stdout
        ran.append(command)
    assert ran == commands
    # "Languages": a new language's catalogues are made and compiled as the README says.
    assert (checkout / "locale" / "de" / "LC_MESSAGES" / "django.mo").is_file()
    assert (checkout / "locale" / "de" / "LC_MESSAGES" / "djangojs.po").is_file()


def test_gunicorn_refuses_to_serve_without_secrets(checkout):
    env = minimal_env(checkout, PORT=str(free_port()))
    (checkout / ".env").unlink(missing_ok=True)
    line = next(c for c in commands_of("production") if c.startswith("gunicorn "))
    result = shell(line, checkout, env, timeout=60)
    assert result.returncode != 0
    assert "Set SECRET_KEY" in result.stdout + result.stderr


def test_demo_commands_run_restart_and_reset(checkout):
    """bin/run (its ports from the environment), the sandbox commands beside it, a restart, --reset."""
    commands = commands_of("demo")
    runs = [c for c in commands if re.search(r"(^|\s)bin/run\b", c)]
    others = [c for c in commands if c not in runs]
    (checkout / ".env").unlink(missing_ok=True)
    (checkout / "db.sqlite3").unlink(missing_ok=True)
    for index, command in enumerate(runs):
        port, sandbox_port = free_port(), free_port()
        line = re.sub(r"\bPORT=\d+", f"PORT={port}", re.sub(r"SANDBOX_PORT=\d+", f"SANDBOX_PORT={sandbox_port}",
                                                             command))
        env = minimal_env(checkout, PORT=str(port), SANDBOX_PORT=str(sandbox_port), PHOTOS_DEMO_PORT=str(free_port()))
        server = start(line, checkout, env)
        try:
            status, page = wait_for_http(f"http://127.0.0.1:{port}/accounts/login/", server)
            assert status == 200 and "Sign in" in page
            state_url = f"http://127.0.0.1:{sandbox_port}/api/partner/_sandbox/state"
            numbers = json.load(urllib.request.urlopen(state_url, timeout=5))["numbers"]
            assert len(numbers) == 8  # five on the demo team, three spare ones to import
            if index == 0:
                assert (checkout / ".env").read_text().count("DEBUG=1") == 1
                for other in others:  # sandboxfault, in another fresh shell (the .env makes it work)
                    if "devtools.sandbox" not in other:  # that one runs alone, below
                        assert_ok(shell(other, checkout, env), other)
                # Someone changes a card in the sandbox; the next run still has it.
                request = urllib.request.Request(
                    f"http://127.0.0.1:{sandbox_port}/api/partner/_sandbox/cards", method="POST",
                    data=json.dumps({"phone_number": "+15550100002", "first_name": "Kept"}).encode())
                urllib.request.urlopen(request, timeout=5).read()
            cards = {c["phone_number"]: c for c in json.load(urllib.request.urlopen(state_url, timeout=5))["cards"]}
            expected = "Acme" if "--reset" in command else "Kept"
            assert cards["+15550100002"]["first_name"] == expected, command
        finally:
            output = stop(server)
        assert "Traceback" not in output, output
        assert f"Dashboard:    http://127.0.0.1:{port}/" in output


def test_sandbox_alone_uses_sandbox_port(checkout):
    line = next(c for c in commands_of("demo") if "devtools.sandbox" in c)
    port = free_port()
    server = start(line, checkout, minimal_env(checkout, SANDBOX_PORT=str(port)))
    try:
        status, body = wait_for_http(f"http://127.0.0.1:{port}/api/partner/_sandbox/state", server)
    finally:
        output = stop(server)
    assert status == 200 and "+15550100001" in body, output


def test_test_commands_collect(checkout):
    """bin/test as written (collection only: running the suite inside itself would never end)."""
    for command in commands_of("tests"):
        if "DATABASES_TO_TEST" not in command:
            command = "DATABASES_TO_TEST=sqlite " + command  # one database is enough to prove the command
        result = shell(command + " --collect-only -q", checkout, minimal_env(checkout), timeout=300)
        assert_ok(result, command)
        assert "=== tests on sqlite" in result.stdout and "test_history.py: " in result.stdout, result.stdout


def test_bench_commands(checkout):
    for command in commands_of("bench"):
        env = minimal_env(checkout)
        result = shell(command, checkout, env, timeout=600)
        assert_ok(result, command)
        assert "CSV export" in result.stdout and "rows/s" in result.stdout
