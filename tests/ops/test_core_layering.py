"""core/ is infrastructure every app may use: it never imports an app, so no app's domain or
door leaks into it (the doors register what core needs from them, e.g. their 503 bodies)."""

import ast
from pathlib import Path

import pytest

import core

DOMAIN_APPS = {"accounts", "offices", "apikeys", "sso", "provisioning", "approvals", "api"}
CORE_MODULES = sorted(Path(core.__file__).parent.glob("*.py"))


def imported_packages(path: Path) -> set[str]:
    packages: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            packages.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            packages.add(node.module.split(".")[0])
    return packages


def test_core_modules_are_found():
    assert {path.stem for path in CORE_MODULES} >= {"faults", "throttle", "metrics", "database"}


@pytest.mark.parametrize("path", CORE_MODULES, ids=lambda path: path.name)
def test_core_imports_no_app(path):
    assert imported_packages(path) & DOMAIN_APPS == set()
