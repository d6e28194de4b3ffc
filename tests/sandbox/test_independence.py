"""The sandbox must share no code with the rest of Paydesk (docs/design.md): it is the independent
check on the client, so a mistake in one must not be copied into the other."""

import ast
from pathlib import Path

import paydesk.sandbox

SANDBOX_DIR = Path(paydesk.sandbox.__file__).parent


def imported_modules(source: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(source.read_text(), filename=str(source))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_the_sandbox_imports_nothing_from_other_paydesk_packages():
    foreign = {
        f"{source.name}: {module}"
        for source in SANDBOX_DIR.glob("*.py")
        for module in imported_modules(source)
        if module.startswith("paydesk") and not module.startswith("paydesk.sandbox")
    }
    assert foreign == set()


def test_the_check_above_looks_at_real_files():
    assert len(list(SANDBOX_DIR.glob("*.py"))) > 10
