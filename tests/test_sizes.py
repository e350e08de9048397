"""Size limits on the library's source: a module a reader can hold in mind, a function
that fits on a screen.  Lines are counted as the source has them (docstrings and
comments included): `end_lineno - lineno + 1` for a function, every line for a module.
"""
import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "handwrite"
MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 60       # a method or a nested function counts on its own as well

# Over the limits today and being split on other branches; the merge that brings each split
# removes its entries here.  Keys: a module's path (module size) or "path::qualified.name"
# (a function), paths relative to the repository.  An entry that is no longer over its
# limit (or no longer exists) fails `test_pending_entries_are_still_needed`, so the list
# cannot outlive the splits.
PENDING: set = set()     # files still being split; empty now


def source_files() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def functions(tree: ast.AST, prefix: str = ""):
    """(qualified name, lines) of every function and method, nested ones included."""
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            name = prefix + node.name
            yield name, node.end_lineno - node.lineno + 1
            yield from functions(node, name + ".")
        elif isinstance(node, ast.ClassDef):
            yield from functions(node, prefix + node.name + ".")
        else:
            yield from functions(node, prefix)


def oversized() -> dict[str, str]:
    """Everything over a limit: key (as in PENDING) -> what is wrong."""
    found = {}
    root = PACKAGE.parent
    for path in source_files():
        rel = path.relative_to(root).as_posix()
        text = path.read_text(encoding="utf-8")
        n = len(text.splitlines())
        if n > MAX_MODULE_LINES:
            found[rel] = f"{rel} has {n} lines (at most {MAX_MODULE_LINES})"
        for name, lines in functions(ast.parse(text)):
            if lines > MAX_FUNCTION_LINES:
                found[f"{rel}::{name}"] = f"{rel}: {name} has {lines} lines (at most {MAX_FUNCTION_LINES})"
    return found


def test_the_scan_sees_functions_methods_and_nested_functions():
    tree = ast.parse("def a():\n    def b():\n        pass\n    return b\n\n"
                     "class C:\n    async def m(self):\n        x = 1\n        return x\n")
    assert dict(functions(tree)) == {"a": 4, "a.b": 2, "C.m": 3}
    assert len(source_files()) > 30


def test_no_module_or_function_is_over_its_limit():
    over = {key: why for key, why in oversized().items() if key not in PENDING}
    assert not over, "split these by job:\n" + "\n".join(sorted(over.values()))


def test_pending_entries_are_still_needed():
    stale = sorted(PENDING - set(oversized()))
    assert not stale, f"within the limits now (or gone): remove from PENDING: {stale}"
