"""The packages' import structure: no module imports one that (at import time) imports it
back, so each can be read, loaded and tested on its own."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("tracker", "projections", "api", "seeds")


def import_graph() -> dict[str, set[str]]:
    modules: dict[str, set[str]] = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            name = ".".join(path.relative_to(ROOT).with_suffix("").parts)
            name = name.removesuffix(".__init__")
            deps = set()
            for node in ast.parse(path.read_text()).body:  # module level: runs on import
                if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                    deps.add(node.module)
                    deps.update(f"{node.module}.{a.name}" for a in node.names)
                elif isinstance(node, ast.Import):
                    deps.update(a.name for a in node.names)
            modules[name] = deps
    return {m: {d for d in deps if d in modules and d != m} for m, deps in modules.items()}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    found, done, path = [], set(), []

    def visit(module: str) -> None:
        path.append(module)
        for dep in sorted(graph[module]):
            if dep in path:
                found.append([*path[path.index(dep):], dep])
            elif dep not in done:
                visit(dep)
        path.pop()
        done.add(module)

    for module in sorted(graph):
        if module not in done:
            visit(module)
    return found


def test_no_module_imports_itself_back():
    graph = import_graph()
    assert len(graph) > 50 and "tracker.facts.incidents" in graph
    assert cycles(graph) == []


def test_the_cycle_finder_finds_a_cycle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == [["a", "b", "c", "a"]]
