"""Run the project's commands as a newcomer would: in a fresh checkout, from a shell with almost no environment.

``fresh_checkout`` copies the tracked (and new, not ignored) files of this working tree - what a fresh
clone would hold, with uncommitted edits - and links the existing ``.venv`` so nothing is installed
again. ``shell`` runs one command line with bash in it and a minimal environment (``PATH`` with the
venv first, as after ``source .venv/bin/activate``; ``HOME``; ``LANG``) - never the test process's
own settings.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def fresh_checkout(dest: Path) -> Path:
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                            cwd=ROOT, capture_output=True, check=True).stdout.decode().split("\0")
    for name in filter(None, listed):
        source = ROOT / name
        if source.is_file():
            target = dest / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    venv = Path(sys.prefix)
    (dest / ".venv").symlink_to(venv if (venv / "pyvenv.cfg").exists() else ROOT / ".venv")
    return dest


def minimal_env(checkout: Path, **extra: str) -> dict[str, str]:
    env = {
        "PATH": f"{checkout / '.venv' / 'bin'}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        "HOME": str(checkout.parent),
        "LANG": "C.UTF-8",
        "TMPDIR": str(checkout.parent),
    }
    for name in ("CHROMIUM_PATH",):  # where the machine keeps Chromium, not a setting of ours
        if name in os.environ:
            env[name] = os.environ[name]
    env.update(extra)
    return env


def shell(command: str, checkout: Path, env: dict[str, str], *, timeout: float = 180) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", "-c", command], cwd=checkout, env=env, capture_output=True, text=True,
                          timeout=timeout)


def start(command: str, checkout: Path, env: dict[str, str]) -> subprocess.Popen:
    """A long-running command (a server) in its own process group, output to a file."""
    log = open(checkout.parent / f"server-{time.monotonic_ns()}.log", "w+")  # noqa: SIM115 (closed in stop)
    process = subprocess.Popen(["bash", "-c", command], cwd=checkout, env=env, stdout=log,
                               stderr=subprocess.STDOUT, text=True, start_new_session=True)
    process.log = log  # type: ignore[attr-defined]
    return process


def stop(process: subprocess.Popen) -> str:
    """Stop the server as an operator would (SIGTERM to it, which stops its own children), then
    make sure nothing of its process group (only ours) is left; return what it printed."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    log = process.log  # type: ignore[attr-defined]
    log.seek(0)
    output = log.read()
    log.close()
    return output


def wait_for_output(process: subprocess.Popen, needle: str, *, timeout: float = 60) -> str:
    """Wait until a server printed ``needle`` (it started); fail early if it exited."""
    log = process.log  # type: ignore[attr-defined]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with open(log.name) as reader:
            output = reader.read()
        if needle in output:
            return output
        if process.poll() is not None:
            raise AssertionError(f"the process exited with {process.returncode}:\n{output}")
        time.sleep(0.2)
    raise AssertionError(f"{needle!r} not printed in {timeout} s:\n{stop(process)}")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_http(url: str, process: subprocess.Popen, *, timeout: float = 120) -> tuple[int, str]:
    """Poll ``url`` until it answers (any HTTP status); fail early if the server process died."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"the server exited with {process.returncode}:\n{stop(process)}")
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode()
        except OSError:
            time.sleep(0.2)
    raise AssertionError(f"{url} did not answer in {timeout} s:\n{stop(process)}")
