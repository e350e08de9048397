"""The layers of docs/architecture.md, checked on the source: who may import whom.

Every import counts, also those inside functions (they are how heavy modules load
late, and they can hide cycles).
"""
import ast
import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "handwrite"
FRONT_ENDS = ("handwrite.cli", "handwrite.vpype_plugin", "handwrite.server")    # add a new front end here
# The one import between front ends: `handwrite serve` (a CLI command) starts the web server.
# It may import that front end and nothing else of it may import back.
LAUNCHERS = {"handwrite.cli.serve": "handwrite.server"}
TRAINING = "handwrite.training"
ENTRY_POINTS = {"handwrite.__main__": "handwrite.cli"}     # `python -m handwrite` is the CLI


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def imports_of(name: str) -> set[str]:
    """The handwrite modules `name` imports anywhere in its source."""
    path = MODULES[name]
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[:len(anchor) - (node.level - 1)]
                base = ".".join(anchor + ([base] if base else []))
            for alias in node.names:     # `from . import plot` imports the module handwrite.cli.plot
                found.add(f"{base}.{alias.name}" if f"{base}.{alias.name}" in MODULES else base)
    return {m for m in found if m in MODULES and m != name}


GRAPH = {name: imports_of(name) for name in MODULES}


def layer(name: str) -> str:
    if name in ENTRY_POINTS:
        return ENTRY_POINTS[name]
    for front in FRONT_ENDS:
        if name == front or name.startswith(front + "."):
            return front
    if name == TRAINING or name.startswith(TRAINING + "."):
        return "training"
    return "inference"


def test_the_graph_sees_the_package():
    assert {"handwrite.writer", "handwrite.request", "handwrite.outputs", "handwrite.cli.common",
            "handwrite.training.train", "handwrite.vpype_plugin", "handwrite.inkml", "handwrite.server.app"} <= set(MODULES)
    assert all(layer(name) == name for name in FRONT_ENDS)
    assert layer("handwrite.server.app") == "handwrite.server"
    assert "handwrite.layout" in GRAPH["handwrite.writer"]
    assert "handwrite.model" in GRAPH["handwrite.plots"]            # an import inside a function


@pytest.mark.parametrize("name", sorted(n for n in MODULES if layer(n) == "inference"))
def test_inference_imports_neither_training_nor_front_ends(name):
    wrong = sorted(m for m in GRAPH[name] if layer(m) != "inference")
    assert not wrong, f"{name} imports {wrong}"


@pytest.mark.parametrize("name", sorted(n for n in MODULES if layer(n) == "training"))
def test_training_imports_no_front_end(name):
    wrong = sorted(m for m in GRAPH[name] if layer(m) in FRONT_ENDS)
    assert not wrong, f"{name} imports {wrong}"


def test_no_front_end_imports_another():
    for name in MODULES:
        if layer(name) in FRONT_ENDS:
            others = sorted(m for m in GRAPH[name] if layer(m) in FRONT_ENDS and layer(m) != layer(name)
                            and LAUNCHERS.get(name) != m)
            assert not others, f"{name} imports {others}"


def test_a_launcher_imports_only_the_front_end_it_starts():
    for launcher, started in LAUNCHERS.items():
        assert launcher in MODULES and started in MODULES
        assert started in GRAPH[launcher]
        assert {m for m in GRAPH[launcher] if layer(m) == started} == {started}
        # ... inside a function: `handwrite --help` must not load the web stack
        tree = ast.parse(MODULES[launcher].read_text(encoding="utf-8"))
        top = {n.module for n in tree.body if isinstance(n, ast.ImportFrom)}
        assert not any(m and m.lstrip(".") == started.rsplit(".", 1)[-1] for m in top)


def test_the_cli_loads_without_the_web_stack_and_the_server_without_click():
    code = ("import sys, handwrite.cli; heavy = [m for m in ('starlette', 'uvicorn') if m in sys.modules]; "
            "assert not heavy, heavy")
    subprocess.run([sys.executable, "-c", code], check=True)
    if importlib.util.find_spec("starlette") is not None:
        code = "import sys, handwrite.server; assert 'click' not in sys.modules"
        subprocess.run([sys.executable, "-c", code], check=True)


def find_cycle(graph: dict) -> list | None:
    """One import cycle as [a, b, ..., a], or None."""
    state = {}          # name -> "open" while on the path, "done" after

    def visit(name, path):
        state[name] = "open"
        for nxt in sorted(graph[name]):
            if state.get(nxt) == "open":
                return path[path.index(nxt):] + [nxt]
            if nxt not in state:
                cycle = visit(nxt, path + [nxt])
                if cycle:
                    return cycle
        state[name] = "done"
        return None
    for name in sorted(graph):
        if name not in state:
            cycle = visit(name, [name])
            if cycle:
                return cycle
    return None


def test_find_cycle_finds_one():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_no_import_cycles():
    # a package's __init__ importing its own submodules is not a cycle of code
    graph = {n: {m for m in deps if not (MODULES[m].name == "__init__.py" and n.startswith(m + "."))}
             for n, deps in GRAPH.items()}
    assert find_cycle(graph) is None, " -> ".join(find_cycle(graph))


def test_the_library_loads_without_click_or_matplotlib():
    code = ("import sys, handwrite; from handwrite import Writer, WriteRequest, Handwriting; "
            "import handwrite.outputs, handwrite.batch; "
            "heavy = [m for m in ('click', 'matplotlib') if m in sys.modules]; assert not heavy, heavy")
    subprocess.run([sys.executable, "-c", code], check=True)
