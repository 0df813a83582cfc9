"""The domain core stays pure: no Flask, no SQLAlchemy, no session, nothing from app outside it."""

import ast
from pathlib import Path

import app.domain

FORBIDDEN = ("flask", "flask_login", "flask_wtf", "sqlalchemy", "wtforms", "apscheduler")


def _imports(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_domain_imports_neither_flask_nor_the_database():
    domain = Path(app.domain.__file__).parent
    for path in domain.rglob("*.py"):
        for name in _imports(path):
            top = name.split(".")[0]
            assert top not in FORBIDDEN, f"{path.name} imports {name}"
            if top == "app":
                assert name.startswith("app.domain"), f"{path.name} imports {name}"
