"""The benchmark (bench/run.py) runs on tiny data and produces figures. No timing assertions: the
figures themselves are for bench/RESULTS.md, not for the test suite."""
from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _load(name: str):
    spec = importlib.util.spec_from_file_location(f"bench_{name}", ROOT / "bench" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def test_benchmark_smoke_run(tmp_path):
    run = _load("run")
    out = tmp_path / "results.md"
    results = run.main(["--smoke", "--no-load", "--out", str(out)])
    sqlite = results["engines"]["sqlite"]
    pages = sqlite["sizes"]["tiny"]["pages"]
    assert sqlite["sizes"]["tiny"]["errors"] == []
    assert {"home", "tasks", "search", "people first", "company detail"} <= set(pages)
    for name, figures in pages.items():
        for mode in ("on", "off"):
            assert figures[mode]["p50"] > 0 and figures[mode]["n"] == 1, name
            assert 1 <= figures[mode]["stmts"] <= 10, name  # the target: at most 10 per page
    # statements do not grow with the rows a page shows (no query per row); a list may add one
    # statement per link column when some row's link is hidden (is it in the recycle bin?)
    assert all(0 <= b - a <= 2 for a, b in sqlite["sizes"]["tiny"]["per_page_size"].values())
    assert sqlite["cascade"]["moved_total"] > 0 and sqlite["sizes"]["tiny"]["generate"]["rows_per_s"] > 0
    # a colleague's save during an import (in another process): figures, and the import done
    assert sqlite["import"]["rows"] == 120 and sqlite["import"]["idle"]["n"] == 5
    assert sqlite["import"]["import_seconds"] > 0
    text = out.read_text()
    assert "| people first |" in text and "Cascade" in text and "during a CSV import" in text
    assert json.loads(out.with_suffix(".json").read_text())["engines"]["sqlite"]["sizes"]["tiny"]
