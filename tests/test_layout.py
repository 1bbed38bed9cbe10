"""The package's layout: imports run one way, from the command line down to the math of one update,
so no two units import each other (no cycle)."""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "torch_neuron"

# Lower layers never import higher ones: cli → plot → data → distributed / neuron → training → engines → the math.
LAYERS = {
    "functional": 0,
    "shapes": 0,
    "progress": 0,
    "devices": 0,
    "book": 1,
    "neuron_function": 1,
    "engines": 2,
    "training": 3,
    "neuron": 4,
    "distributed": 4,
    "data": 5,
    "plot": 6,
    "cli": 7,
    "__main__": 8,
}
MODULES = sorted(p for p in PACKAGE.rglob("*.py") if p != PACKAGE / "__init__.py")


def unit(path: Path) -> str:
    """The top-level module or subpackage a file belongs to: 'training' for training/fitting.py."""
    return path.relative_to(PACKAGE).parts[0].removesuffix(".py")


def imported_units(path: Path) -> set[str]:
    """The package's top-level modules and subpackages that `path` imports (relative or absolute)."""
    here = path.relative_to(PACKAGE).parent.parts
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            if node.level:  # relative: resolve against the file's own package
                base = list(here[: len(here) - (node.level - 1)])
                parts = base + (node.module.split(".") if node.module else [])
                names = [parts + [alias.name] for alias in node.names] if not node.module and not base else [parts]
            elif node.module and node.module.split(".")[0] == "torch_neuron":
                names = [node.module.split(".")[1:] + [alias.name] for alias in node.names]
            else:
                continue
            for parts in names:
                if parts and parts[0] in LAYERS:
                    found.add(parts[0])
        elif isinstance(node, ast.Import):
            for alias in node.names:
                parts = alias.name.split(".")
                if parts[0] == "torch_neuron" and len(parts) > 1 and parts[1] in LAYERS:
                    found.add(parts[1])
    return found


def test_every_module_is_in_a_layer():
    assert {unit(p) for p in MODULES} <= set(LAYERS)


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_imports_run_one_way(path):
    """A module imports its own unit and lower layers only; `import torch_neuron as tn` is for the command line."""
    mine = unit(path)
    upward = {u for u in imported_units(path) if u != mine and LAYERS[u] >= LAYERS[mine]}
    assert not upward, f"{path.relative_to(PACKAGE)} ({mine}, layer {LAYERS[mine]}) imports {sorted(upward)}"
