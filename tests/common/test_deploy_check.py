"""With DEBUG off, `check --deploy` is clean apart from what the TLS terminator decides (HSTS, SSL redirect)."""

import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parents[2]


def test_deploy_check_is_clean_but_for_tls_settings():
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "linqadmin.settings",
        "DEBUG": "0",
        "SECRET_KEY": secrets.token_urlsafe(50),  # made per run: strong enough for check --deploy
        "LINQADMIN_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
        "DATABASE_URL": "sqlite:////tmp/deploy-check.sqlite3",
    }
    result = subprocess.run([sys.executable, "manage.py", "check", "--deploy"], cwd=ROOT, env=env,
                            capture_output=True, text=True)
    found = set(re.findall(r"\((security\.\w+)\)", result.stdout + result.stderr))
    assert found <= {"security.W004", "security.W008"}, result.stdout + result.stderr


def test_production_settings_refuse_to_start_without_secrets():
    env = {k: v for k, v in os.environ.items() if k not in ("SECRET_KEY", "LINQADMIN_ENCRYPTION_KEYS")}
    env.update(DJANGO_SETTINGS_MODULE="linqadmin.settings", DEBUG="0")  # DEBUG=0 wins over a development .env
    result = subprocess.run([sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True, text=True)
    assert result.returncode != 0
    assert "Set SECRET_KEY" in result.stderr
