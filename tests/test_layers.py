"""graphc's packages import downward only (every import, including those inside functions).

support <- ir <- ops <- analysis <- {passes, backends} <- {frontend, data} <- {cli, onnx}
<- commands
<- graphc/__init__ (the public API). A module may import its own package and any lower layer;
passes and backends share a layer and never import each other.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import graphc

ROOT = Path(graphc.__file__).parent

# package (or top-level module) -> layer; higher layers may import lower ones
LAYERS: dict[str, int] = {
    "support": 0,
    "ir": 1,
    "ops": 2,
    "analysis": 3,
    "passes": 4,
    "backends": 4,
    "explorer": 4,  # the HTML page: reads a Function through its methods; imports ir, analysis
    "frontend": 5,
    "data": 5,
    "cli": 6,
    "onnx": 6,  # ONNX import/export: builds graphs with the frontend; the CLI's commands use it
    "distributed": 6,  # MPI launch helpers over the collective ops and the frontend
    "commands": 7,  # subcommands register themselves with graphc.cli
    "__main__": 8,
    "__init__": 8,
}


def _unit(module: str) -> str:
    """The LAYERS key of a dotted graphc module name ("graphc" itself is the API)."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def _module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    if parts[-1] == "__init__" and len(parts) > 1:
        parts.pop()
    return ".".join(parts)


def _is_module(dotted: str, root: Path) -> bool:
    base = root.parent.joinpath(*dotted.split("."))
    return base.with_suffix(".py").is_file() or (base / "__init__.py").is_file()


def _imports(path: Path, root: Path = ROOT) -> list[tuple[int, str]]:
    """(line, graphc module) for every import in the file, at any depth."""
    tree = ast.parse(path.read_text(), str(path))
    module = _module_name(path, root)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                up = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*up, base] if base else up)
            # ``from graphc import ops`` imports the module graphc.ops, not the API
            found += [(node.lineno, f"{base}.{a.name}" if _is_module(f"{base}.{a.name}", root)
                       else base) for a in node.names]
    return [(line, m) for line, m in found if m == "graphc" or m.startswith("graphc.")]


def _violation(importer: str, imported: str) -> str | None:
    src, dst = _unit(importer), _unit(imported)
    if src not in LAYERS or dst not in LAYERS:
        return f"{src if src not in LAYERS else dst} has no layer in LAYERS"
    if src == dst or LAYERS[dst] < LAYERS[src]:
        return None
    return f"{src} (layer {LAYERS[src]}) imports {dst} (layer {LAYERS[dst]})"


def upward_imports(root: Path = ROOT) -> dict[tuple[str, str], str]:
    """(importer, imported) -> where and why, for every import of a module at the same or a
    higher layer in another package."""
    out = {}
    for path in sorted(root.rglob("*.py")):
        importer = _module_name(path, root)
        for line, imported in _imports(path, root):
            why = _violation(importer, imported)
            if why:
                out[(importer, imported)] = f"{path.relative_to(root.parent)}:{line}: {why}"
    return out


def test_imports_go_downward():
    assert list(upward_imports().values()) == []


@pytest.mark.parametrize(
    ("importer", "imported", "bad"),
    [
        ("graphc.passes.fold", "graphc.backends.numpy.interpreter", True),
        ("graphc.backends.numpy.executor", "graphc.passes.memplan", True),
        ("graphc.passes.autodiff", "graphc.frontend.tensor", True),
        ("graphc.ir.opdef", "graphc.ops", True),
        ("graphc.ops.core", "graphc.ir.opdef", False),
        ("graphc.frontend.api", "graphc.passes.manager", False),
        ("graphc.passes.fuse", "graphc.passes.cse", False),
        ("graphc.cli", "graphc", True),
        ("graphc.commands.opt", "graphc.cli", False),
        ("graphc.backends.llvm.cli", "graphc.cli", True),
    ],
)
def test_the_rule(importer, imported, bad):
    assert (_violation(importer, imported) is not None) == bad


def test_every_import_form_is_seen(tmp_path):
    pkg = tmp_path / "graphc" / "ir"
    pkg.mkdir(parents=True)
    (tmp_path / "graphc" / "__init__.py").write_text("")
    (pkg / "__init__.py").write_text("")
    (pkg / "x.py").write_text(
        "import graphc.frontend\n"
        "def f():\n    from graphc.passes import fold\n"
        "class C:\n    def g(self):\n        from ..backends import numpy\n"
    )
    names = [m for _, m in _imports(pkg / "x.py", tmp_path / "graphc")]
    assert names == ["graphc.frontend", "graphc.passes", "graphc.backends"]
    assert set(upward_imports(tmp_path / "graphc")) == {
        ("graphc.ir.x", m) for m in ("graphc.frontend", "graphc.passes", "graphc.backends")}
