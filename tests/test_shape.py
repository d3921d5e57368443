"""The shape of the code: five layers, one registry of outputs, one cache, small modules, no import-time effects."""
from __future__ import annotations

import ast
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from ketapain_lib.report import prose, registry
from ketapain_lib.report.cache import hash_library
from ketapain_lib.report.results import ANALYSES

ROOT = Path(__file__).resolve().parent.parent
LIBRARY = ROOT / "ketapain_lib"
CHAPTERS = sorted((ROOT / "chapters").glob("*.md"))
LAYERS = ("rawdata", "stats", "paper", "synthetic", "report")  # each may import only from the layers before it
# modules are split by cohesion, not by a line cap (the developers' guide); a function stays readable on a screen
MAX_FUNCTION_LINES = 60
#: Functions allowed to be longer, and why (the closing note of the shape issue repeats this).
LONG_FUNCTIONS = {
    # one pass of adaptive quadrature with its exact gradient and Hessian: splitting it would pass a dozen
    # intermediate arrays between pieces and make the derivative harder to check against the likelihood
    ("stats/glmm_likelihood.py", "evaluate"),
    # a guarded Newton iteration (step halving, boundary and divergence exits) reads best as one loop
    ("stats/glmm.py", "_newton"),
    ("stats/glmm.py", "fit_logit_mixed"),
}


def _modules() -> list[Path]:
    return sorted(p for p in LIBRARY.rglob("*.py") if "__pycache__" not in p.parts)


def _imported_modules(path: Path) -> set[str]:
    """Package modules a file imports, as dotted names under ``ketapain_lib`` (module- or function-level)."""
    package = ["ketapain_lib", *path.relative_to(LIBRARY).parent.parts]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                target = ".".join([*base, *([node.module] if node.module else [])])
            else:
                target = node.module or ""
            if target.startswith("ketapain_lib"):
                found.add(target)
                found.update(f"{target}.{alias.name}" for alias in node.names)
    return found


def _layer(dotted: str) -> str | None:
    parts = dotted.split(".")
    return parts[1] if len(parts) > 1 and parts[1] in LAYERS else None


def test_the_tree_shows_the_five_layers():
    for layer in LAYERS:
        assert (LIBRARY / layer / "__init__.py").is_file(), layer
    assert sorted(p.name for p in LIBRARY.glob("*.py")) == ["__init__.py", "__main__.py", "design.py",
                                                             "formatting.py"]


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(LIBRARY)))
def test_a_layer_imports_only_the_layers_below_it(path):
    own = _layer("ketapain_lib." + ".".join(path.relative_to(LIBRARY).with_suffix("").parts))
    if own is None:  # design, formatting, the package and the command line
        return
    allowed = set(LAYERS[: LAYERS.index(own) + 1])
    imported = {_layer(name) for name in _imported_modules(path)} - {None}
    assert imported <= allowed, f"{path.name} ({own}) imports {sorted(imported - allowed)}"


def test_design_and_formatting_import_nothing_of_the_package():
    for name in ("design.py", "formatting.py"):
        assert _imported_modules(LIBRARY / name) == set(), name


def test_no_import_cycle_between_modules():
    names = {".".join(("ketapain_lib", *p.relative_to(LIBRARY).with_suffix("").parts)): p for p in _modules()}
    graph = {name: {i for i in _imported_modules(path) if i in names and i != name}
             for name, path in names.items()}
    for package in [n for n in graph if n.endswith(".__init__")]:
        graph.pop(package)
    state: dict[str, int] = {}

    def visit(node: str, trail: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph.get(node, set())):
            if nxt not in graph:
                continue
            if state.get(nxt) == 1:
                raise AssertionError("import cycle: " + " -> ".join([*trail, node, nxt]))
            if nxt not in state:
                visit(nxt, [*trail, node])
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node, [])


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(LIBRARY)))
def test_modules_and_functions_are_small(path):
    text = path.read_text(encoding="utf-8")
    relative = str(path.relative_to(LIBRARY))
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and (relative, node.name) not in LONG_FUNCTIONS:
            length = node.end_lineno - node.lineno + 1
            assert length <= MAX_FUNCTION_LINES, f"{relative}: {node.name} has {length} lines"


@pytest.mark.slow  # over a second: the full suite runs it, the fast tier does not
def test_importing_the_library_changes_no_global_state():
    script = (
        "import matplotlib\n"
        "before = dict(matplotlib.rcParams)\n"
        "import importlib, pkgutil, ketapain_lib\n"
        "for m in pkgutil.walk_packages(ketapain_lib.__path__, 'ketapain_lib.'):\n"
        "    importlib.import_module(m.name)\n"
        "changed = sorted(k for k, v in matplotlib.rcParams.items() if before.get(k) != v)\n"
        "assert not changed, changed\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr[-2000:]


def test_figures_are_drawn_in_the_report_style_without_leaking_it():
    import matplotlib

    from ketapain_lib.report import figures

    before = dict(matplotlib.rcParams)
    figure = figures.power_curve(__import__("pandas").DataFrame({"delta": [0.0, 10.0], "power": [0.05, 0.5]}))
    assert figure.axes[0].spines["top"].get_visible() is False  # the style applied inside the drawing
    assert dict(matplotlib.rcParams) == before


# --------------------------------------------------------------------------- the registry


def _shown_outputs() -> dict[str, list[str]]:
    shown: dict[str, list[str]] = {}
    for chapter in CHAPTERS:
        text = chapter.read_text(encoding="utf-8")
        names = re.findall(r'book\.output\(results, "([^"]+)"\)', text)
        names += ["ledger"] * len(re.findall(r"book\.ledger_page\(results\)", text))  # the ledger, grouped
        for call in re.findall(r"book\.side_by_side\(results, ([^)]+)\)", text):  # several outputs in one row
            names += re.findall(r'"([^"]+)"', call)
        for name in names:
            shown.setdefault(name, []).append(chapter.stem)
    return shown


def test_every_registry_output_is_shown_once_by_its_own_chapter():
    shown = _shown_outputs()
    for name, entry in registry.OUTPUTS.items():
        assert shown.get(name) == [entry.chapter], f"{name}: declared for {entry.chapter}, shown in {shown.get(name)}"
    assert set(shown) <= set(registry.OUTPUTS), f"not in the registry: {sorted(set(shown) - set(registry.OUTPUTS))}"


def test_registry_numbers_and_export_paths_are_unique():
    numbers = [entry.number for entry in registry.OUTPUTS.values()]
    paths = [entry.path for entry in registry.OUTPUTS.values()]
    assert len(set(numbers)) == len(numbers) and len(set(paths)) == len(paths)
    for entry in registry.OUTPUTS.values():
        assert entry.caption.endswith(".") and entry.caption[0].isupper(), entry.name
        assert (ROOT / "chapters" / f"{entry.chapter}.md").is_file(), entry.chapter
        if entry.kind == "figure":
            assert entry.alt, f"{entry.name}: a figure needs a text alternative"


def test_the_paper_numbers_of_its_tables_and_figures_are_used():
    numbers = {entry.number for entry in registry.OUTPUTS.values()}
    assert {"Table 1", "Table 2", "Table 3", "Table 4", "Figure 1", "Figure 2", "Figure 3", "Figure 4A",
            "Figure 4B", "Supplementary Table 1", "Supplementary Table 2", "Supplementary Table 3"} <= numbers
    # what the paper does not have: its own series, E in the body and A in the appendices, numbered in order
    for kind in ("Table", "Figure"):
        for series in ("E", "A"):
            own = [n for n in (e.number for e in registry.OUTPUTS.values()) if re.fullmatch(rf"{kind} {series}\d+", n)]
            assert own == [f"{kind} {series}{i}" for i in range(1, len(own) + 1)], own


def test_every_chapter_that_glues_has_its_values_and_every_glued_name_is_made():
    for chapter in CHAPTERS:
        text = chapter.read_text(encoding="utf-8")
        used = set(re.findall(r"\{glue:text\}`([^`]+)`", text))
        if not used:
            continue
        assert f'book.glue_chapter(results, "{chapter.stem}")' in text, chapter.stem
        assert chapter.stem in prose.VALUES, chapter.stem


def test_each_registry_maker_reads_only_known_analyses():
    source = (LIBRARY / "report" / "registry.py").read_text(encoding="utf-8")
    for name in re.findall(r'r\["([a-z_0-9]+)"\]', source):
        assert name in ANALYSES, name


# --------------------------------------------------------------------------- the one cache


def test_editing_any_module_even_a_private_helper_of_the_power_simulation_changes_the_cache_key(tmp_path):
    copy = tmp_path / "ketapain_lib"
    shutil.copytree(LIBRARY, copy, ignore=shutil.ignore_patterns("__pycache__"))
    before = hash_library(copy)
    power = copy / "stats" / "power.py"
    text = power.read_text(encoding="utf-8")
    assert "def _chunk(" in text
    power.write_text(text.replace("def _chunk(", "def _chunk(  # edited\n        ", 1), encoding="utf-8")
    assert hash_library(copy) != before
    (copy / "formatting.py").write_text((copy / "formatting.py").read_text() + "\n", encoding="utf-8")
    assert hash_library(copy) != before


def test_the_cache_lives_outside_the_package():
    from ketapain_lib.report import cache

    assert LIBRARY not in cache.cache_dir().resolve().parents


@pytest.mark.slow  # over a second: the full suite runs it, the fast tier does not
def test_every_glued_name_of_a_chapter_is_a_value_of_that_chapter():
    from ketapain_lib import load_trial
    from ketapain_lib.report.results import Results

    results = Results(load_trial())
    for chapter in CHAPTERS:
        used = set(re.findall(r"\{glue:text\}`([^`]+)`", chapter.read_text(encoding="utf-8")))
        if used:
            from ketapain_lib.report.book import references

            made = {**prose.VALUES[chapter.stem](results), **references()}
            assert used <= set(made), f"{chapter.stem}: {sorted(used - set(made))} not made by prose.VALUES"


# --- private names: no module reaches into another module's, nor into another package's -----------------------

def _private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def _module_name(path: Path, root: Path) -> list[str]:
    parts = list(path.relative_to(root).with_suffix("").parts)
    return parts[:-1] if parts[-1] == "__init__" else parts


def _absolute(node: ast.ImportFrom, module: list[str], is_package: bool) -> str:
    """The dotted module an ``ImportFrom`` names, resolved against the importing ``module``'s package."""
    if not node.level:
        return node.module or ""
    package = module if is_package else module[:-1]
    base = package[: len(package) - node.level + 1]
    return ".".join([*base, *([node.module] if node.module else [])])


def _reaches(source: str, module: list[str], is_package: bool, foreign) -> list[str]:
    """Where ``source`` imports, or reads an attribute of, an underscore name of a module ``foreign`` accepts
    (a callable on the dotted module name): ``from m import _x``, ``from m._x import y``, ``import m._x``, and
    ``name._x`` / ``name.a._x`` where ``name`` was bound by an import from such a module."""
    found, bound = [], {}
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if foreign(alias.name):
                    if any(_private(part) for part in alias.name.split(".")):
                        found.append(f"line {node.lineno}: import {alias.name}")
                    bound[alias.asname or alias.name.split(".")[0]] = alias.asname and alias.name or \
                        alias.name.split(".")[0]
        elif isinstance(node, ast.ImportFrom):
            target = _absolute(node, module, is_package)
            if not foreign(target):
                continue
            if any(_private(part) for part in target.split(".")):
                found.append(f"line {node.lineno}: from {target} import ...")
            for alias in node.names:
                if _private(alias.name):
                    found.append(f"line {node.lineno}: from {target} import {alias.name}")
                bound[alias.asname or alias.name] = f"{target}.{alias.name}"
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Attribute) and _private(node.attr):
            base = node.value
            while isinstance(base, ast.Attribute):
                base = base.value
            if isinstance(base, ast.Name) and base.id in bound:
                found.append(f"line {node.lineno}: {base.id}....{node.attr} ({bound[base.id]})")
    return found


def _project_foreign(own: str):
    """Another module of the project than ``own`` (a module's own package ``__init__`` counts as another)."""
    return lambda target: target.startswith("ketapain_lib") and target != own


def _third_party(local: set[str]):
    return lambda target: bool(target) and target.split(".")[0] not in sys.stdlib_module_names | local | {
        "ketapain_lib"}


def test_the_private_name_scanners_catch_what_they_look_for():
    inner = ("from .lmm_core import RandomInterceptFit, _profile\nfrom ..stats import crossover\n"
             "z = crossover._Z\nfrom . import __version__\ncrossover.PAIRS\n")
    hits = _reaches(inner, ["ketapain_lib", "stats", "small_sample"], False, _project_foreign(
        "ketapain_lib.stats.small_sample"))
    assert len(hits) == 2 and "_profile" in hits[0] and "_Z" in hits[1], hits
    outer = ("from great_tables import _tbl_data, GT\nimport scipy.special._ufuncs\nimport numpy as np\n"
             "np.core._multiarray_umath\nimport sys\nsys._getframe()\nfrom scipy import stats\nstats.norm.ppf\n"
             "from browser import _flags\nnp.__version__\n")
    hits = _reaches(outer, ["scripts", "x"], False, _third_party({"browser"}))
    assert len(hits) == 3 and [h.split(":")[0] for h in hits] == ["line 1", "line 2", "line 4"], hits


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(LIBRARY)))
def test_no_module_uses_another_modules_private_names(path):
    module = _module_name(path, ROOT)
    hits = _reaches(path.read_text(encoding="utf-8"), module, path.name == "__init__.py",
                    _project_foreign(".".join(module)))
    assert not hits, f"{path.relative_to(ROOT)} reaches into another module's private names: {hits}"


def _code_files() -> list[Path]:
    return sorted(p for folder in ("ketapain_lib", "scripts", "benchmarks") for p in (ROOT / folder).rglob("*.py")
                  if "__pycache__" not in p.parts)


@pytest.mark.parametrize("path", _code_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_no_code_touches_another_packages_private_names(path):
    local = {p.stem for p in path.parent.glob("*.py")} | {p.name for p in path.parent.iterdir() if p.is_dir()}
    module = _module_name(path, ROOT)
    hits = _reaches(path.read_text(encoding="utf-8"), module, path.name == "__init__.py", _third_party(local))
    assert not hits, f"{path.relative_to(ROOT)} touches a third-party private name: {hits}"
