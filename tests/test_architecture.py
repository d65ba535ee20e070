"""The layering docs/architecture.md describes, checked on the source itself.

Imports go one way: the adapters (portal/web, portal/api, worker/) call the services;
the services know nothing of HTTP; web and api do not reach into each other; and
nothing imports the app factory but the entry points (app.py, tests, the CLI runner).
Every import counts, also one inside a function, because one that runs late still
ties the modules together.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PORTAL = ROOT / "portal"
FACTORY = {"create_app"}


def _modules(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*.py") if "versions" not in p.parts)


def _name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports(path: Path) -> list[tuple[int, str, set[str]]]:
    """(line, module, names) for every import in the file, at any depth."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = _name(path) if path.name == "__init__.py" else _name(path.parent)
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                found.append((node.lineno, alias.name, set()))
        elif isinstance(node, ast.ImportFrom):
            module = node.module or ""
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                module = ".".join([*base, module] if module else base)
            names = {alias.name for alias in node.names}
            found.append((node.lineno, module, names))
            # `from portal import web` imports the module portal.web
            found.extend((node.lineno, f"{module}.{n}", set()) for n in names)
    return found


def _within(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def _violations(folder: str, forbidden: tuple[str, ...]) -> list[str]:
    out = []
    for path in _modules(ROOT / folder):
        for line, module, _ in _imports(path):
            if any(_within(module, f) for f in forbidden):
                out.append(f"{path.relative_to(ROOT)}:{line} imports {module}")
    return out


@pytest.mark.parametrize(
    ("folder", "forbidden"),
    [
        # the rules know nothing of HTTP or of who calls them
        ("portal/services", ("portal.web", "portal.api", "portal.http", "worker")),
        ("portal/models", ("portal.services", "portal.web", "portal.api")),
        # the two HTTP adapters are independent of each other
        ("portal/web", ("portal.api",)),
        ("portal/api", ("portal.web",)),
        # shared HTTP helpers serve both adapters and depend on neither
        ("portal/http", ("portal.web", "portal.api", "worker")),
    ],
)
def test_imports_go_one_way(folder: str, forbidden: tuple[str, ...]) -> None:
    assert _violations(folder, forbidden) == []


def test_services_do_not_read_the_request() -> None:
    """Services take their input as arguments; only adapters read Flask's request
    and session (`g` is app-context storage, which jobs have too)."""
    out = []
    for path in _modules(PORTAL / "services"):
        for line, module, names in _imports(path):
            if module == "flask" and names & {"request", "session"}:
                out.append(f"{path.relative_to(ROOT)}:{line} imports flask {names}")
    assert out == []


def test_nothing_in_the_package_imports_the_app_factory() -> None:
    """The app is built by its entry points only; modules receive it or use
    current_app, so there is no import circle through the factory."""
    out = []
    for folder in (PORTAL, ROOT / "worker"):
        for path in _modules(folder):
            if path == PORTAL / "__init__.py":
                continue
            for line, module, names in _imports(path):
                if module == "portal" and names & FACTORY:
                    out.append(f"{path.relative_to(ROOT)}:{line} imports create_app")
    assert out == []


def test_the_checks_see_imports_inside_functions(tmp_path: Path) -> None:
    """The walk finds a late import too (the kind that hides a circle)."""
    sample = PORTAL / "services" / "stats.py"
    found = {module for _, module, _ in _imports(sample)}
    assert "portal.services.feed.tick" in found  # imported inside a function
