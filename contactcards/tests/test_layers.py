import subprocess
import sys


def test_client_and_sandbox_do_not_import_django():
    code = (
        "import sys; import contactcards.linq, contactcards.sandbox; "
        "bad = sorted(m for m in sys.modules if m == 'django' or m.startswith('django.')); "
        "print(bad); sys.exit(1 if bad else 0)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
