import subprocess
import sys


def test_client_and_sandbox_do_not_import_django():
    code = (
        "import sys; import contactcards.linq, devtools.sandbox; "
        "bad = sorted(m for m in sys.modules if m == 'django' or m.startswith('django.')); "
        "print(bad); sys.exit(1 if bad else 0)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_selectors_never_import_services():
    """Reads stay reads: ``selectors/`` may be used by services and views, never the other way round."""
    import ast
    from pathlib import Path

    selectors = Path(__file__).resolve().parents[1] / "selectors"
    upward = []
    for path in sorted(selectors.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom):
                module = ("." * node.level) + (node.module or "")
                if "services" in module.split(".") or (node.level and module.lstrip(".") == ""
                                                       and any(a.name == "services" for a in node.names)):
                    upward.append(f"{path.name}:{node.lineno} {module}")
            elif isinstance(node, ast.Import):
                upward += [f"{path.name}:{node.lineno} {a.name}" for a in node.names if ".services" in a.name]
    assert upward == []
