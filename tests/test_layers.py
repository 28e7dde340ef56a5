"""The layering of the code (docs/ARCHITECTURE.md): the import-linter contracts in ``.importlinter``
hold, and imports have no cycles - neither between modules nor between the rule modules (queries,
services) of two feature packages. ``make lint`` runs the same contracts; this test makes ``make
test`` enforce them too."""
from __future__ import annotations

import configparser
import fnmatch
from pathlib import Path

import grimp
import pytest
from importlinter.cli import lint_imports

ROOT = Path(__file__).resolve().parent.parent
CONFIG = ROOT / ".importlinter"

#: Imports allowed to close a cycle between two modules, each with its reason.
CYCLE_ALLOWED = {
    # the API blueprint's modules register their routes on crm.api.views.bp: views imports them
    # at its end, they import bp
    ("crm.api.views", "crm.api.admin"),
    ("crm.api.views", "crm.api.records"),
    # the route that serves the document (the document names the token request's schema)
    ("crm.api.views", "crm.api.openapi"),
}


@pytest.fixture(scope="module")
def graph() -> grimp.ImportGraph:
    return grimp.build_graph("crm", include_external_packages=False)


def _contract(key: str) -> list[str]:
    """The module patterns a contract of ``.importlinter`` names as its sources."""
    parser = configparser.ConfigParser()
    parser.read(CONFIG)
    return parser[f"importlinter:contract:{key}"]["source_modules"].split()


def _matches(module: str, patterns: list[str]) -> bool:
    return any(fnmatch.fnmatchcase(module, p) or module.startswith(p + ".") for p in patterns)


def _cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one node (Tarjan, iteratively)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for start in sorted(edges):
        if start in index:
            continue
        work = [(start, iter(sorted(edges[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, successors = work[-1]
            for succ in successors:
                if succ not in index:
                    index[succ] = low[succ] = len(index)
                    stack.append(succ)
                    on_stack.add(succ)
                    work.append((succ, iter(sorted(edges.get(succ, ())))))
                    break
                if succ in on_stack:
                    low[node] = min(low[node], index[succ])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == node:
                            break
                    if len(component) > 1:
                        found.append(sorted(component))
    return found


def test_the_import_contracts_hold(capsys):
    assert lint_imports(config_filename=str(CONFIG), no_cache=True, no_logo=True) == 0, (
        capsys.readouterr().out)


def test_no_import_cycle_between_modules(graph):
    edges = {m: {i for i in graph.find_modules_directly_imported_by(m) if (m, i) not in CYCLE_ALLOWED}
             for m in graph.modules}
    assert _cycles(edges) == []


def test_no_import_cycle_between_the_rules_of_feature_packages(graph):
    """A feature's queries and services may use another feature's, but never both ways round
    (models may point at each other's tables: a record has a group, a group counts records)."""
    rules = _contract("logic")

    def package(module: str) -> str | None:
        parts = module.split(".")
        return parts[1] if len(parts) > 2 else None

    edges: dict[str, set[str]] = {}
    for module in graph.modules:
        if not (_matches(module, rules) and package(module)):
            continue
        for imported in graph.find_modules_directly_imported_by(module):
            if _matches(imported, rules) and package(imported) not in (None, package(module)):
                edges.setdefault(package(module), set()).add(package(imported))
    assert _cycles(edges) == []


def test_every_module_has_a_layer(graph):
    """A module outside every layer would escape the contracts: name new modules after the layout
    (models, queries, services, pages, forms, views) or add them to ``.importlinter``."""
    parser = configparser.ConfigParser()
    parser.read(CONFIG)
    known = _contract("models") + _contract("visibility") + _contract("logic")
    known += parser["importlinter:contract:logic"]["forbidden_modules"].split()
    unplaced = sorted(m for m in graph.modules if m != "crm" and not _matches(m, known)
                      and not graph.find_children(m))
    assert unplaced == []
