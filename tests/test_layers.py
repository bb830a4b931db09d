"""The import contract: dependencies point one way (docs/design.md, "Layout").

- ``handgen`` (the core) imports neither ``data_prep`` nor ``eval``, except in its
  application shell ``handgen/commands/`` and ``handgen/demo/``;
- ``handgen/sample``, ``handgen/grasp`` and ``handgen/api`` never import ``handgen.train``
  (trained models are used through their own loaders);
- ``data_prep`` never imports ``eval``.

Every import counts, at the top of a file or inside a function.
"""

from __future__ import annotations

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

# (importing package prefix, imported package prefix, allowed importer prefixes)
FORBIDDEN: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("handgen", "data_prep", ("handgen.commands", "handgen.demo")),
    ("handgen", "eval", ("handgen.commands", "handgen.demo")),
    ("handgen.sample", "handgen.train", ()),
    ("handgen.grasp", "handgen.train", ()),
    ("handgen.api", "handgen.train", ()),
    ("data_prep", "eval", ()),
)


def module_name(root: Path, path: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(root: Path, path: Path) -> list[tuple[str, int]]:
    """(imported module, line) for every import statement in ``path`` (relative imports resolved)."""
    mod = module_name(root, path)
    package = mod.split(".") if path.name == "__init__.py" else mod.split(".")[:-1]
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [(alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                name = ".".join(base + ([node.module] if node.module else []))
            else:
                name = node.module or ""
            found.append((name, node.lineno))
            found += [(f"{name}.{alias.name}", node.lineno) for alias in node.names]
    return found


def _within(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def violations(root: Path) -> list[str]:
    """Every import in ``root``'s packages that runs against :data:`FORBIDDEN`."""
    out = []
    for top in ("handgen", "data_prep", "eval"):
        for path in sorted((root / top).rglob("*.py")):
            importer = module_name(root, path)
            for imported, line in imports_of(root, path):
                for src, dst, allowed in FORBIDDEN:
                    if _within(importer, src) and _within(imported, dst) and not any(_within(importer, a) for a in allowed):
                        out.append(f"{path.relative_to(root)}:{line}: {importer} imports {dst} ({src} -/-> {dst})")
    return sorted(set(out))


def test_the_repository_keeps_the_import_contract():
    assert violations(REPO) == []


def _tree(tmp_path: Path, files: dict[str, str]) -> Path:
    for top in ("handgen", "data_prep", "eval"):
        (tmp_path / top).mkdir(parents=True, exist_ok=True)
        (tmp_path / top / "__init__.py").write_text("")
    for name, text in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return tmp_path


def test_a_reversed_edge_is_caught(tmp_path):
    root = _tree(tmp_path, {
        "handgen/grasp/__init__.py": "",
        "handgen/grasp/a.py": "def f():\n    from eval.grasp_metrics import x\n",
        "handgen/sample/__init__.py": "",
        "handgen/sample/b.py": "import handgen.train.loop\n",
        "handgen/sample/c.py": "from ..train import tasks\n",
        "handgen/commands/__init__.py": "",
        "handgen/commands/ok.py": "from data_prep import prep_arctic\nfrom eval import bench\n",
        "data_prep/d.py": "from eval import motion_report\n",
    })
    found = violations(root)
    assert len(found) == 4, found
    assert any("handgen/grasp/a.py:2" in v for v in found)
    assert any("handgen/sample/c.py" in v and "handgen.train" in v for v in found)
    assert not any("commands" in v for v in found)
