"""The package's import graph: layers only import downwards, and nothing imports in a circle.

Every ``import`` of a ``fastopt`` module in the sources is read with :mod:`ast`, those
inside functions (lazy imports) included, so a circle cannot hide behind a deferred
import. The layers, from the bottom:

0. ``base``: the private top-level helpers (``fastopt._*``: configuration, checks,
   results, the stopping rule...) and ``fastopt.schedules``;
1. ``kernels``: ``fastopt.kernels`` and its backend packages;
2. ``problems``: the objectives;
3. ``solvers``: the methods and their loops;
4. ``api``: everything else (``minimize``, the estimators, ``updates``, ``theory``, the
   command line, the package itself, and the private modules that serve them:
   :data:`API_PRIVATE`).

A module may import from its own layer or a lower one. The solvers name no backend: they
import ``fastopt.kernels`` (the dispatch layer), never a backend package, and no source
line in ``fastopt/solvers`` compares a backend with a backend's name.
"""

import ast
import os
import re

import pytest

import fastopt

ROOT = os.path.dirname(os.path.abspath(fastopt.__file__))
LAYERS = ["base", "kernels", "problems", "solvers", "api"]
#: Private top-level modules of the api layer: ``python -m fastopt``, ``fastopt info``'s
#: report and the estimator's solver choice.
API_PRIVATE = {"fastopt.__main__", "fastopt._info", "fastopt._solver_choice"}
BACKEND_PACKAGES = ("fastopt.kernels.reference", "fastopt.kernels.numba",
                    "fastopt.kernels.cython", "fastopt.kernels.cuda")


def _modules():
    mods = {}
    for dirpath, _, files in os.walk(ROOT):
        for f in files:
            if f.endswith(".py"):
                rel = os.path.relpath(os.path.join(dirpath, f), os.path.dirname(ROOT))
                name = rel[:-3].replace(os.sep, ".")
                name = name[: -len(".__init__")] if name.endswith(".__init__") else name
                mods[name] = os.path.join(dirpath, f)
    return mods


def _resolve(module, is_package, level, target):
    if level == 0:
        return target
    parts = module.split(".") if is_package else module.split(".")[:-1]
    parts = parts[: len(parts) - (level - 1)]
    return ".".join(parts + ([target] if target else []))


def _graph():
    """module -> set of fastopt modules it imports (submodules resolved where they exist)."""
    mods = _modules()
    edges = {}
    for name, path in mods.items():
        with open(path, encoding="utf-8") as fh:
            tree = ast.parse(fh.read(), path)
        is_package = path.endswith("__init__.py")
        out = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                out.update(a.name for a in node.names if a.name.startswith("fastopt"))
            elif isinstance(node, ast.ImportFrom):
                base = _resolve(name, is_package, node.level, node.module)
                if not base or not base.startswith("fastopt"):
                    continue
                for alias in node.names:
                    sub = f"{base}.{alias.name}"
                    out.add(sub if sub in mods else base)
        edges[name] = {m for m in out if m in mods and m != name}
    return edges


def _layer(module):
    parts = module.split(".")
    if len(parts) == 1 or module in API_PRIVATE:
        return "api"
    top = parts[1]
    if top in ("kernels", "problems", "solvers"):
        return top
    if top.startswith("_") or top == "schedules":
        return "base"
    return "api"


GRAPH = _graph()


def test_graph_is_read():
    assert "fastopt.solvers.first_order" in GRAPH
    assert "fastopt.solvers.run" in GRAPH["fastopt.solvers.first_order"]


def test_no_upward_import():
    upward = sorted(
        f"{a} ({_layer(a)}) imports {b} ({_layer(b)})"
        for a, targets in GRAPH.items() for b in targets
        if LAYERS.index(_layer(b)) > LAYERS.index(_layer(a))
    )
    assert not upward, "\n".join(upward)


def _cycles(graph=None):
    """The strongly connected components of more than one module (Tarjan)."""
    graph = GRAPH if graph is None else graph
    index, low, on_stack, stack, comps = {}, {}, set(), [], []
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                comps.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return comps


def test_no_import_circle():
    assert not _cycles(), _cycles()


def test_cycle_detection_finds_a_planted_circle():
    planted = {k: set(v) for k, v in GRAPH.items()}
    planted["fastopt.solvers.run"].add("fastopt.solvers.first_order")
    assert any("fastopt.solvers.run" in comp for comp in _cycles(planted))


@pytest.mark.parametrize("module", sorted(m for m in GRAPH if _layer(m) == "solvers"))
def test_solvers_import_no_backend_package(module):
    bad = sorted(t for t in GRAPH[module] if t.startswith(BACKEND_PACKAGES))
    assert not bad, f"{module} imports {bad}"


def test_solvers_compare_no_backend_name():
    pattern = re.compile(r"""(==|!=|\bin\b)\s*\(?\s*["'](numpy|numba|cython|cuda)["']""")
    hits = []
    solvers = os.path.join(ROOT, "solvers")
    for f in sorted(os.listdir(solvers)):
        if f.endswith(".py"):
            with open(os.path.join(solvers, f), encoding="utf-8") as fh:
                for i, line in enumerate(fh, 1):
                    if pattern.search(line):
                        hits.append(f"solvers/{f}:{i}: {line.strip()}")
    assert not hits, "\n".join(hits)
