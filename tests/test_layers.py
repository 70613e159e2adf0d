"""Imports flow one way, as docs/architecture.md draws the layers: a package imports only
from packages below it or beside it in its tier, never from a command line, and core/
imports no TensorFlow, Keras or JAX at all. Read from the source (ast), so it costs no import."""

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "colorkeras"
# Tier of each package, bottom (0) to top; packages in one tier may import each other.
TIERS = {"core": 0, "models": 1, "data": 1, "serving": 2, "video": 2, "evaluation": 3, "training": 4, "app": 5}
COMMAND_LINES = {path.stem for path in PACKAGE.glob("*.py") if path.stem != "__init__"}
HEAVY = ("tensorflow", "keras", "jax")


def imported(path):
    """Every module name ``path`` imports (anywhere in it: late imports count too)."""
    names = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
        elif isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
    return names


def library_modules():
    return [(path, path.parent.name) for path in sorted(PACKAGE.glob("*/*.py")) if path.parent.name in TIERS]


def test_every_library_package_has_a_tier():
    packages = {path.name for path in PACKAGE.iterdir() if path.is_dir() and not path.name.startswith("__")}
    assert packages == set(TIERS), f"give each package a tier here and in docs/architecture.md: {packages ^ set(TIERS)}"


def test_imports_flow_down_the_layers():
    wrong = []
    for path, package in library_modules():
        for name in imported(path):
            parts = name.split(".")
            if parts[0] != "colorkeras" or len(parts) == 1:  # The root package only holds the version and lazy names.
                continue
            target = parts[1]
            if target in COMMAND_LINES:
                wrong.append(f"{package}/{path.name} imports the command line {name}")
            elif target in TIERS and TIERS[target] > TIERS[package]:
                wrong.append(f"{package}/{path.name} imports {name}, a layer above it")
    assert not wrong, "\n".join(wrong)


def test_core_needs_no_tensorflow():
    heavy = [
        f"core/{path.name} imports {name}"
        for path, package in library_modules()
        if package == "core"
        for name in imported(path)
        if name.split(".")[0] in HEAVY
    ]
    assert not heavy, "\n".join(heavy)


def test_the_check_finds_a_wrong_import(tmp_path):
    module = tmp_path / "bad.py"
    module.write_text("def late():\n    from colorkeras.training import loop\n")
    assert "colorkeras.training" in imported(module)
