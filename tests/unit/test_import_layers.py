"""The import graph keeps its layers (issue 10): the schema calls the resolvers, never
the reverse, and no module imports another module's private names."""

import ast
from pathlib import Path

HUB = Path(__file__).resolve().parents[2] / "hub"


def _module(path: Path) -> str:
    parts = path.relative_to(HUB.parent).with_suffix("").parts
    return ".".join(parts).removesuffix(".__init__")


def _imports() -> list[tuple[str, str, str | None]]:
    """(importing module, imported module, imported name or None) for every hub import."""
    found = []
    for path in sorted(HUB.rglob("*.py")):
        importer = _module(path)
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                found += [(importer, a.name, None) for a in node.names if a.name.startswith("hub")]
            elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("hub"):
                found += [(importer, node.module or "", a.name) for a in node.names]
    return found


def test_resolvers_never_import_the_schema() -> None:
    upward = [
        (importer, imported)
        for importer, imported, _ in _imports()
        if importer.startswith("hub.resolvers") and imported.startswith("hub.schema")
    ]
    assert upward == []


def test_no_private_name_is_imported_from_another_module() -> None:
    private = [
        (importer, f"{imported}.{name}")
        for importer, imported, name in _imports()
        if name and name.startswith("_") and not name.startswith("__")
    ]
    assert private == []
