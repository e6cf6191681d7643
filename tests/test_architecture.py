"""The shape of the package, read from the source (ast): layers, no import cycles, no imports inside
functions but the optional extras, no private names across sub-packages, small modules, one
durable-rules importer, and docs/architecture.md listing every sub-package.

The layers, lowest first (a module imports only from its own layer or lower ones):

    base       numbers, diagnostics, errors, codes, builtin, schema, version, lazy
    lang       YAML with positions, the expression language, conditions, fact schemas
    runtime    the only durable-rules importer; its limits
    rating     rating rulebooks: model, load, validate, factor methods, compile, run
    decisions  decision rulebooks and the domains on them (classification, provisions, pricing, ...)
    store      the append-only SQLite store
    batch      input sources, local processes, Dask
    analysis   back-testing, statistics, diff and impact, portfolio
    report     Markdown and HTML
    api        pingji/__init__.py and the other top-level modules that join the stages
    cli        the command line
"""

from __future__ import annotations

import ast
import tomllib
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LAYERS = ["base", "lang", "runtime", "rating", "decisions", "store", "batch", "analysis", "report", "api", "cli"]
BASE = {"numbers", "diagnostics", "errors", "codes", "builtin", "schema", "version", "lazy"}
OPTIONAL = {"distributed", "dask", "zen", "openpyxl"}  # optional extras: imported where they are used
MAX_LINES = 600


@dataclass(frozen=True)
class Import:
    importer: str
    target: str  # a pingji module (or an outside top-level name)
    names: tuple[str, ...]
    line: int
    in_function: bool
    type_only: bool


def _modules() -> dict[str, Path]:
    out = {}
    for folder, prefix in ((ROOT / "engine", "pingji"), (ROOT / "cli", "pingji.cli")):
        for path in sorted(folder.rglob("*.py")):
            parts = list(path.relative_to(folder).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            out[".".join([prefix, *parts])] = path
    return out


MODULES = _modules()


def layer(module: str) -> str:
    parts = module.split(".")
    if len(parts) == 1:
        return "api"
    top = parts[1]
    if top == "cli":
        return "cli"
    if top in BASE:
        return "base"
    if top in LAYERS:
        return top
    return "api"  # another top-level module of pingji (e.g. checking)


def _resolve(base: str, name: str) -> str:
    """`from base import name`: the module `base.name` when there is one, else `base`."""
    return f"{base}.{name}" if f"{base}.{name}" in MODULES else base


def _imports(module: str, path: Path) -> list[Import]:
    tree = ast.parse(path.read_text("utf-8"))
    out: list[Import] = []

    def visit(node: ast.AST, in_function: bool, type_only: bool) -> None:
        for child in ast.iter_child_nodes(node):
            fn = in_function or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
            to = type_only or (isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test))
            if isinstance(child, ast.Import):
                for a in child.names:
                    out.append(Import(module, a.name, (), child.lineno, in_function, type_only))
            elif isinstance(child, ast.ImportFrom):
                assert child.level == 0, f"{path}:{child.lineno}: relative import; pingji's imports are absolute"
                base = child.module or ""
                names = tuple(a.name for a in child.names)
                if base.startswith("pingji"):
                    targets = {_resolve(base, n) for n in names}
                    for t in sorted(targets):
                        picked = tuple(n for n in names if _resolve(base, n) == t)
                        out.append(Import(module, t, picked, child.lineno, in_function, type_only))
                else:
                    out.append(Import(module, base, names, child.lineno, in_function, type_only))
            visit(child, fn, to)

    visit(tree, False, False)
    return out


IMPORTS = [i for m, p in MODULES.items() for i in _imports(m, p)]
INTERNAL = [i for i in IMPORTS if i.target.startswith("pingji")]


def test_the_package_is_found():
    assert {"pingji", "pingji.cli", "pingji.lang", "pingji.rating", "pingji.runtime"} <= set(MODULES)
    assert all(i.target in MODULES for i in INTERNAL), [i for i in INTERNAL if i.target not in MODULES]


def test_no_module_imports_a_higher_layer():
    bad = [
        f"{MODULES[i.importer].relative_to(ROOT)}:{i.line}: {i.importer} ({layer(i.importer)}) imports "
        f"{i.target} ({layer(i.target)})"
        for i in INTERNAL
        if LAYERS.index(layer(i.target)) > LAYERS.index(layer(i.importer))
    ]
    assert not bad, "\n".join(bad)


def test_no_import_cycles():
    graph: dict[str, set[str]] = {m: set() for m in MODULES}
    for i in INTERNAL:
        if not i.type_only and not i.in_function and i.target != i.importer:
            # importing a package runs its __init__: the edge goes to the package's module
            graph[i.importer].add(i.target)
    cycles: list[list[str]] = []
    state: dict[str, int] = {}
    stack: list[str] = []

    def dfs(m: str) -> None:
        state[m] = 1
        stack.append(m)
        for n in sorted(graph[m]):
            if state.get(n) == 1:
                cycles.append(stack[stack.index(n):] + [n])
            elif n not in state:
                dfs(n)
        stack.pop()
        state[m] = 2

    for m in sorted(graph):
        if m not in state:
            dfs(m)
    assert not cycles, "\n".join(" -> ".join(c) for c in cycles)


def test_no_imports_inside_functions_but_optional_extras():
    bad = [
        f"{MODULES[i.importer].relative_to(ROOT)}:{i.line}: imports {i.target} inside a function"
        for i in IMPORTS
        if i.in_function and i.target.split(".")[0] not in OPTIONAL
    ]
    assert not bad, "\n".join(bad)


def _package(module: str) -> str:
    parts = module.split(".")
    if len(parts) > 2 and parts[1] == "cli":
        return "pingji.cli"
    return ".".join(parts[:2]) if len(parts) > 2 or (module in MODULES and MODULES[module].name == "__init__.py") \
        else "pingji"


def test_no_private_names_across_sub_packages():
    bad = [
        f"{MODULES[i.importer].relative_to(ROOT)}:{i.line}: {i.importer} imports {n} from {i.target}"
        for i in INTERNAL
        for n in i.names
        if n.startswith("_") and not n.startswith("__") and _package(i.importer) != _package(i.target)
    ]
    assert not bad, "\n".join(bad)


def test_only_the_runtime_imports_durable_rules():
    bad = [
        f"{MODULES[i.importer].relative_to(ROOT)}:{i.line}: {i.importer} imports {i.target}"
        for i in IMPORTS
        if i.target.split(".")[0] in ("durable", "durable_rules_engine") and layer(i.importer) != "runtime"
    ]
    assert not bad, "\n".join(bad)


def test_the_library_never_imports_click():
    bad = [
        f"{MODULES[i.importer].relative_to(ROOT)}:{i.line}" for i in IMPORTS
        if i.target.split(".")[0] == "click" and layer(i.importer) != "cli"
    ]
    assert not bad, bad


@pytest.mark.parametrize("module", sorted(MODULES))
def test_modules_are_small(module):
    n = len(MODULES[module].read_text("utf-8").splitlines())
    assert n <= MAX_LINES, f"{MODULES[module].relative_to(ROOT)} has {n} lines; split it (at most {MAX_LINES})"


def test_docs_architecture_lists_every_sub_package():
    text = (ROOT / "docs" / "architecture.md").read_text("utf-8")
    packages = sorted(m for m, p in MODULES.items() if p.name == "__init__.py")
    missing = [m for m in packages if f"`{m}`" not in text]
    assert not missing, f"docs/architecture.md does not describe {missing}"
    assert "```" in text and "▶" in text, "the arrow diagram is missing"


def test_every_package_is_in_the_wheel():
    """pyproject.toml lists the packages by name (engine/ maps to pingji): a new sub-package not listed
    there would be left out of the wheel."""
    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))["tool"]["setuptools"]["packages"])
    packages = {m for m, p in MODULES.items() if p.name == "__init__.py"}
    assert packages - listed == set(), f"add to [tool.setuptools] packages: {sorted(packages - listed)}"
