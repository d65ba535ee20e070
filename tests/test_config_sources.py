"""Config is the only reader of the environment (issue #9, CONVENTIONS "Learned from the
first review"): every setting the code reads is a Config attribute read from the
environment, and every environment variable Config reads is in README's table."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from flask import Flask

from portal.config import SETTINGS, Config

ROOT = Path(__file__).resolve().parents[1]
SOURCES = [p for d in ("portal", "worker") for p in (ROOT / d).rglob("*.py")]
CONFIG_FILE = ROOT / "portal" / "config.py"
# read by the libraries themselves from app.config (flask, flask-sqlalchemy,
# flask-wtf, flask-limiter, flask-login); not ours to declare
LIBRARY_KEYS = set(Flask.default_config) | {
    "SQLALCHEMY_DATABASE_URI",
    "SQLALCHEMY_ENGINE_OPTIONS",
    "RATELIMIT_ENABLED",  # flask-limiter's switch; tests turn it off
}


def _config_keys(tree: ast.AST) -> set[str]:
    """Keys read as config["X"], config.get("X"), app.config[...] and the like."""
    keys = set()
    for node in ast.walk(tree):
        target, key = None, None
        if isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Constant):
            target, key = node.value, node.slice.value
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in ("get", "setdefault")
            and node.args
            and isinstance(node.args[0], ast.Constant)
        ):
            target, key = node.func.value, node.args[0].value
        name = ast.unparse(target) if target is not None else ""
        if isinstance(key, str) and re.search(r"(^|\.)config$", name):
            keys.add(key)
    return keys


def _environment_reads(tree: ast.AST) -> list[str]:
    return [
        ast.unparse(node)
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute)
        and node.attr in ("environ", "getenv", "environb")
        and ast.unparse(node.value) == "os"
    ]


def test_nothing_but_config_reads_the_environment():
    offenders = {
        str(path.relative_to(ROOT)): reads
        for path in SOURCES
        if path != CONFIG_FILE
        and (reads := _environment_reads(ast.parse(path.read_text())))
    }
    assert offenders == {}


def test_every_setting_the_code_reads_is_declared_by_config():
    declared = set(vars(Config(env={}))) | LIBRARY_KEYS
    used = {
        (str(path.relative_to(ROOT)), key)
        for path in SOURCES
        for key in _config_keys(ast.parse(path.read_text()))
    }
    assert sorted(u for u in used if u[1] not in declared) == []


def test_every_environment_variable_config_reads_is_in_the_readme():
    tree = ast.parse(CONFIG_FILE.read_text())
    names = {
        node.args[0].value
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "get"
        and ast.unparse(node.func.value) == "env"
        and node.args
        and isinstance(node.args[0], ast.Constant)
    } | {setting.env_name for setting in SETTINGS}
    assert len(names) > 20
    readme = (ROOT / "README.md").read_text()
    table = "\n".join(line for line in readme.splitlines() if line.startswith("|"))
    missing = sorted(n for n in names if f"`{n}`" not in table)
    assert missing == []
