"""The house's layering, enforced: every import under model/ points down the pipeline.

The stages and their order are read from the README's Layout block (``scenario/ 1.``,
``city/ 2.``, ... ``cli/ 7.``; the packages marked "beside the model" use the model and the
report but are used only by the commands), so the README and the code cannot drift apart.
Each import of a module under model/ is read with :mod:`ast` (at module level, inside
functions and under ``TYPE_CHECKING`` alike) and the test fails when:

* a module imports one of a later stage than its own;
* a module below ``model.py`` imports batch/, planning/, web/ or cli/;
* a package beside the model imports another one beside it, or cli/;
* two modules import each other, directly or round a longer circle;
* a module imports an underscore-private name of another module;
* matplotlib is imported anywhere but model/report/drawing/;
* a module below ``model.py`` reads ``model.X`` (or ``self.model.X``) for an X that Mesa's own
  ``Model`` does not have: engines and measures get a ``RunContext``, never the lifecircle model.

Each rule is checked once on the real package and once on a small hand-made graph that breaks
it, so that a rule that can never fail shows up as a failing test.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from pathlib import Path

import networkx as nx
import pytest

from tests.conftest import ROOT

PACKAGE = ROOT / "model"
# packages beside the model that may import one another: (importer, imported), as the README says (none)
SIDE_EDGES: set[tuple[str, str]] = set()
DRAWING = "model.report.drawing"


@dataclass(frozen=True)
class Import:
    """One import statement's edge: ``importer`` imports ``target`` (a module of model/), line ``line``."""

    importer: str
    target: str
    names: tuple[str, ...]
    line: int


def _stages(readme: str) -> tuple[dict[str, int], set[str]]:
    """The numbered stages and the packages beside the model, from the README's Layout block."""
    block = readme.split("## Layout", 1)[1].split("```", 2)[1]
    ranks, side = {}, set()
    for line in block.splitlines():
        m = re.match(r"^  ([a-z_]+)(/|\.py)\s+(\d+)\.\s", line)
        if m:
            ranks[m.group(1)] = int(m.group(3))
        m = re.match(r"^  ([a-z_]+)/\s+beside the model", line)
        if m:
            side.add(m.group(1))
    return ranks, side


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _is_module(name: str) -> bool:
    path = ROOT.joinpath(*name.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def package_imports(package: Path = PACKAGE) -> list[Import]:
    """Every import of a module of model/ made by a module of model/."""
    found = []
    for path in sorted(package.rglob("*.py")):
        importer = _module_name(path)
        here = importer if path.name == "__init__.py" else importer.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            if isinstance(node, ast.Import):
                found += [Import(importer, a.name, (), node.lineno) for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = here.split(".")[: len(here.split(".")) - (node.level - 1)]
                    module = ".".join(base + ([node.module] if node.module else []))
                else:
                    module = node.module or ""
                for alias in node.names:
                    # ``from model.simulation import rules`` imports the module model.simulation.rules
                    sub = f"{module}.{alias.name}"
                    if _is_module(sub):
                        found.append(Import(importer, sub, (), node.lineno))
                    else:
                        found.append(Import(importer, module, (alias.name,), node.lineno))
    return [i for i in found if i.target == "model" or i.target.startswith("model.")]


def external_imports(package: Path = PACKAGE) -> list[tuple[str, str, int]]:
    """(importer, top-level package, line) of every import of a package outside model/."""
    found = []
    for path in sorted(package.rglob("*.py")):
        importer = _module_name(path)
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            if isinstance(node, ast.Import):
                found += [(importer, a.name.split(".")[0], node.lineno) for a in node.names]
            elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
                found.append((importer, node.module.split(".")[0], node.lineno))
    return found


def _part(module: str) -> str:
    """The stage a module belongs to: its first package under model/, or "model" for model.py."""
    parts = module.split(".")
    if len(parts) == 1:
        return "__init__"
    return parts[1]


def layering_violations(imports: list[Import], ranks: dict[str, int], side: set[str]) -> list[str]:
    """Imports that point to a later stage, or from the model to the packages beside it."""
    model_rank = ranks["model"]
    problems = []
    for imp in imports:
        a, b = _part(imp.importer), _part(imp.target)
        if a == b or b == "__init__":
            continue
        where = f"{imp.importer} line {imp.line} imports {imp.target}"
        if a == "__init__":  # the package's front door re-exports the first stage only
            if ranks.get(b) != 1:
                problems.append(f"{where}: model/__init__.py may import only the first stage")
            continue
        if a in side:
            if b in side and (a, b) not in SIDE_EDGES:
                problems.append(f"{where}: {a}/ and {b}/ sit beside the model and do not use each other")
            elif b not in side and ranks.get(b, model_rank) > ranks["report"]:
                problems.append(f"{where}: {a}/ sits beside the model and must not import {b}/")
            continue
        rank_a = ranks.get(a)
        if rank_a is None:
            problems.append(f"{imp.importer}: {a} is no stage of the README's Layout")
        elif b in side:
            if a != "cli":
                problems.append(f"{where}: the packages beside the model are used by the commands only")
        elif ranks.get(b, 0) > rank_a:
            problems.append(f"{where}: stage {rank_a} ({a}) imports a later stage {ranks.get(b)} ({b})")
    return problems


def circles(imports: list[Import]) -> list[list[str]]:
    """Groups of modules that import each other, directly or round a circle."""
    graph = nx.DiGraph((i.importer, i.target) for i in imports if i.importer != i.target)
    return [sorted(c) for c in nx.strongly_connected_components(graph) if len(c) > 1]


def private_imports(imports: list[Import]) -> list[str]:
    """Underscore-private names imported from another module."""
    return [
        f"{i.importer} line {i.line} imports {name} from {i.target}"
        for i in imports
        for name in i.names
        if name.startswith("_") and not name.startswith("__") and i.importer != i.target
    ]


def matplotlib_outside_drawing(found: list[tuple[str, str, int]]) -> list[str]:
    """Imports of matplotlib by a module outside model/report/drawing/."""
    return [
        f"{importer} line {line} imports matplotlib"
        for importer, top, line in found
        if top == "matplotlib" and not (importer == DRAWING or importer.startswith(DRAWING + "."))
    ]


# --------------------------------------------------------------------------- the real package


@pytest.fixture(scope="module")
def layout():
    return _stages((ROOT / "README.md").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def imports():
    return package_imports()


def test_the_readme_names_every_stage_in_pipeline_order(layout):
    ranks, side = layout
    order = sorted(ranks, key=ranks.get)
    assert order == ["scenario", "city", "simulation", "measures", "model", "report", "cli"], ranks
    assert side == {"batch", "planning", "places", "web"}
    on_disk = {p.name for p in PACKAGE.iterdir() if (p / "__init__.py").is_file()}
    assert on_disk == set(ranks) - {"model"} | side, "every package of model/ is a stage or beside the model"


def test_every_import_points_down_the_pipeline(imports, layout):
    assert len(imports) > 100  # the parser sees the package's imports
    assert layering_violations(imports, *layout) == []


def test_no_two_modules_import_each_other(imports):
    assert circles(imports) == []


def test_no_private_name_crosses_a_module(imports):
    assert private_imports(imports) == []


def test_matplotlib_only_in_the_drawing_package():
    found = external_imports()
    assert any(top == "matplotlib" for _, top, _ in found)  # the drawing package is seen
    assert matplotlib_outside_drawing(found) == []


# --------------------------------------------------------------------------- each rule can fail

RANKS = {"scenario": 1, "city": 2, "simulation": 3, "measures": 4, "model": 5, "report": 6, "cli": 7}
SIDE = {"batch", "planning", "web"}


def _imp(a: str, b: str, *names: str) -> Import:
    return Import(a, b, names, 1)


@pytest.mark.parametrize(
    ("importer", "target", "why"),
    [
        ("model.scenario.spec", "model.city.grid", "later stage"),
        ("model.simulation.fast", "model.model", "later stage"),
        ("model.measures.summary", "model.planning.location.models", "by the commands only"),
        ("model.model", "model.web.app", "by the commands only"),
        ("model.report.results", "model.batch.tables", "by the commands only"),
        ("model.batch.runner", "model.planning.compare", "do not use each other"),
        ("model.planning.compare", "model.web.state", "do not use each other"),
        ("model.web.state", "model.planning.optimize", "do not use each other"),
        ("model.web.state", "model.cli.common", "must not import"),
        ("model", "model.city.grid", "first stage"),
    ],
)
def test_a_wrong_import_is_reported(importer, target, why):
    problems = layering_violations([_imp(importer, target)], RANKS, SIDE)
    assert len(problems) == 1 and why in problems[0], problems


@pytest.mark.parametrize(
    ("importer", "target"),
    [
        ("model.city.grid", "model.scenario.spec"),
        ("model.model", "model.simulation.engines"),
        ("model.report.results", "model.model"),
        ("model.web.state", "model.scenario.write"),
        ("model.batch.runner", "model.report.files"),
        ("model.cli.run", "model.web.app"),
        ("model", "model.scenario"),
    ],
)
def test_a_right_import_passes(importer, target):
    assert layering_violations([_imp(importer, target)], RANKS, SIDE) == []


def test_a_circle_is_found():
    pairs = [("model.a", "model.b"), ("model.b", "model.c"), ("model.c", "model.a"), ("model.c", "model.d")]
    edges = [_imp(a, b) for a, b in pairs]
    assert circles(edges) == [["model.a", "model.b", "model.c"]]
    assert circles(edges[1:]) == []


def test_a_private_name_is_found():
    assert private_imports([_imp("model.a", "model.b", "_hidden"), _imp("model.a", "model.b", "shown")]) == [
        "model.a line 1 imports _hidden from model.b"
    ]
    assert private_imports([_imp("model.a", "model.b", "__version__")]) == []


def test_matplotlib_elsewhere_is_found():
    found = [("model.web.figures", "matplotlib", 3), ("model.report.drawing.maps", "matplotlib", 9)]
    assert matplotlib_outside_drawing(found) == ["model.web.figures line 3 imports matplotlib"]


def test_the_parser_resolves_relative_and_submodule_imports(tmp_path, monkeypatch):
    pkg = tmp_path / "model" / "scenario"
    pkg.mkdir(parents=True)
    (tmp_path / "model" / "__init__.py").write_text("from model.scenario import spec\n")
    (pkg / "__init__.py").write_text("from .spec import Thing\n")
    (pkg / "spec.py").write_text("def f():\n    from ..scenario.checks import _private\n")
    (pkg / "checks.py").write_text("import model.scenario.spec\n")
    monkeypatch.setattr("tests.test_layering.ROOT", tmp_path)
    found = {(i.importer, i.target, i.names) for i in package_imports(tmp_path / "model")}
    assert found == {
        ("model", "model.scenario.spec", ()),
        ("model.scenario", "model.scenario.spec", ("Thing",)),
        ("model.scenario.spec", "model.scenario.checks", ("_private",)),
        ("model.scenario.checks", "model.scenario.spec", ()),
    }


def test_the_complexity_rule_covers_the_whole_package():
    """ruff (tests/test_style.py) enforces mccabe complexity at most 15 on every module of model/."""
    import tomllib

    lint = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["ruff"]["lint"]
    assert "C90" in lint["select"] and lint["mccabe"]["max-complexity"] <= 15
    ignored = lint.get("per-file-ignores", {})
    assert not [glob for glob, rules in ignored.items() if glob.startswith("model") and "C901" in rules]


# --------------------------------------------------------------------------- no duck-typed model below model.py


def _mesa_model_attributes() -> set[str]:
    """What Mesa's own Model offers: its class attributes and what its constructor sets."""
    import mesa

    names = {n for n in dir(mesa.Model) if not n.startswith("_")}
    return names | {"running", "steps", "time", "rng", "random", "scenario"}


def model_attribute_reads(package: Path = PACKAGE, ranks: dict[str, int] | None = None) -> list[str]:
    """Reads of ``model.X`` or ``self.model.X`` below model.py where X is not Mesa's Model's own."""
    ranks = ranks or RANKS
    allowed = _mesa_model_attributes()
    found = []
    for path in sorted(package.rglob("*.py")):
        module = _module_name(path)
        if ranks.get(_part(module), 99) >= ranks["model"]:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Attribute) or node.attr in allowed:
                continue
            owner = node.value
            if (isinstance(owner, ast.Name) and owner.id == "model") or (
                isinstance(owner, ast.Attribute) and owner.attr == "model"
            ):
                found.append(f"{module} line {node.lineno} reads model.{node.attr}")
    return found


def test_no_module_below_the_model_reads_the_lifecircle_model():
    assert model_attribute_reads() == []


def test_a_duck_typed_model_is_found(tmp_path, monkeypatch):
    pkg = tmp_path / "model" / "simulation"
    pkg.mkdir(parents=True)
    (tmp_path / "model" / "__init__.py").write_text("")
    (pkg / "__init__.py").write_text("")
    (pkg / "fast.py").write_text("def f(model):\n    return model.rng, model.population\n")
    (pkg / "agents.py").write_text("class A:\n    def step(self):\n        return self.model.spec, self.model.steps\n")
    monkeypatch.setattr("tests.test_layering.ROOT", tmp_path)
    assert model_attribute_reads(tmp_path / "model") == [
        "model.simulation.agents line 3 reads model.spec",
        "model.simulation.fast line 2 reads model.population",
    ]
