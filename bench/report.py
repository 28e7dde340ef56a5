"""bench/RESULTS.md from the figures of bench/run.py (and the hand-written notes in bench/NOTES.md)."""
from __future__ import annotations

from pathlib import Path

HERE = Path(__file__).resolve().parent


def _ms(x: float) -> str:
    return f"{x:.1f}"


def _ratio(a: float, b: float) -> str:
    return f"{a / b:.2f}×" if b else "–"


def _mark(ok: bool) -> str:
    return "yes" if ok else "**no**"


def _target_size(sizes: dict) -> str:
    return "100k" if "100k" in sizes else next(iter(sizes))


def summary(engine: str, data: dict, t: dict) -> list[str]:
    sizes = data["sizes"]
    label = _target_size(sizes)
    pages = sizes[label]["pages"]
    first, last = next(iter(sizes)), list(sizes)[-1]
    lines = [f"### Targets ({engine}, {label} unless said)", "",
             "| target | measured | met |", "|---|---|---|"]
    p50 = max((v["on"]["p50"], n) for n, v in pages.items())
    p50_off = max((v["off"]["p50"], n) for n, v in pages.items())
    p95 = max((max(v["on"]["p95"], v["off"]["p95"]), n) for n, v in pages.items())
    lines.append(f"| every page p50 ≤ {t['p50_ms']} ms | worst on: {_ms(p50[0])} ms ({p50[1]}); worst off: "
                 f"{_ms(p50_off[0])} ms ({p50_off[1]}) | {_mark(max(p50[0], p50_off[0]) <= t['p50_ms'])} |")
    lines.append(f"| every page p95 ≤ {t['p95_ms']} ms | worst: {_ms(p95[0])} ms ({p95[1]}) | "
                 f"{_mark(p95[0] <= t['p95_ms'])} |")
    onoff = max((v["on"]["p50"] / v["off"]["p50"], n) for n, v in pages.items())
    lines.append(f"| extension on/off ≤ {t['on_off']}× | worst: {onoff[0]:.2f}× ({onoff[1]}) | "
                 f"{_mark(onoff[0] <= t['on_off'])} |")
    if first != last:
        a, b = sizes[first]["pages"], sizes[last]["pages"]
        scale = max((b[n][m]["p50"] / a[n][m]["p50"], f"{n}, {m}") for n in b if n in a for m in ("on", "off"))
        lines.append(f"| {first} → {last} ≤ {t['scale']}× | worst: {scale[0]:.2f}× ({scale[1]}) | "
                     f"{_mark(scale[0] <= t['scale'])} |")
    st = max((max(v["on"]["stmts"], v["off"]["stmts"]), n) for n, v in pages.items())
    varying = [n for n, v in pages.items() if v["on"]["stmts"] != v["on"]["stmts_min"]]
    per_size = sizes[label].get("per_page_size", {})
    grows = [n for n, (a_, b_) in per_size.items() if b_ != a_]
    across = []
    if first != last:
        a, b = sizes[first]["pages"], sizes[last]["pages"]
        across = [n for n in b if n in a and b[n]["on"]["stmts"] != a[n]["on"]["stmts"]]
    const = not varying and not grows and not across
    how = ("constant across rounds, page sizes and data sizes" if const
           else "varies: " + ", ".join(varying + grows + across))
    lines.append(f"| statements per page constant, ≤ {t['statements']} | max {st[0]} ({st[1]}); {how} "
                 f"| {_mark(st[0] <= t['statements'] and const)} |")
    gen = max(s["generate"]["rows_per_s"] for s in sizes.values())
    big = sizes[last]["generate"]
    lines.append(f"| demo generate ≥ {t['generate_rps']:,} records/s | {last}: {big['rows_per_s']:,.0f} rows/s "
                 f"({big['records_per_s']:,.0f} records/s without contact details, tags) | "
                 f"{_mark(big['rows_per_s'] >= t['generate_rps'])} |")
    _ = gen
    if "cascade" in data:
        c = data["cascade"]
        lines.append(f"| cascade of {c['companies']:,} companies ≤ {t['cascade_s']} s | "
                     f"{c['median']['service']:.2f} s ({c['moved_total']:,} records) | "
                     f"{_mark(c['median']['service'] <= t['cascade_s'])} |")
    if "import" in data:
        r = data["import"]
        target = t.get("import_save_p95_ms", 100)
        lines.append(f"| a colleague's save p95 during a {r['rows']:,}-row import ≤ {target} ms | "
                     f"{r['during']['p95']:.1f} ms (idle {r['idle']['p95']:.1f} ms) | "
                     f"{_mark(r['during']['p95'] <= target)} |")
    return [*lines, ""]


def import_section(r: dict) -> list[str]:
    """bench/import_load.py: a colleague's note while an import runs in another process."""
    rows = [("idle (no import)", r["idle"]), ("during the import", r["during"]),
            ("… while it checks rows (reads only)", r["checking"]), ("… while it saves (batches)", r["saving"])]
    lines = ["### A colleague's save during a CSV import (bench/import_load.py)", "",
             (f"{r['rows']:,} people imported into a database of {r.get('base_people', 0):,} people by the job "
              f"in another process: **{r['import_seconds']:.1f} s** ({r['rows_per_s']:,.0f} rows/s; checking "
              f"{r['check_seconds']:.1f} s, saving {r['save_seconds']:.1f} s). Meanwhile a colleague adds notes "
              "(`POST /companies/<id>/notes`, in-process test client):"),
             "", "| colleague's note | n | p50 ms | p95 ms | max ms |", "|---|--:|--:|--:|--:|"]
    for name, f in rows:
        lines.append(f"| {name} | {f['n']} | {f['p50']:.1f} | {f['p95']:.1f} | {f['max']:.1f} |")
    idle = r["idle"]["p95"]
    lines += ["", f"p95 during / idle: {r['during']['p95'] / idle:.1f}×." if idle else "", ""]
    return lines


def size_table(label: str, res: dict) -> list[str]:
    sc = res["scenario"]
    g = res["generate"]["done"]
    lines = [f"### {label}: " + ", ".join(f"{v:,} {k}" for k, v in g.items()), "",
             (f"User {sc['email']} (normal role, member of group {sc['group_id']}) sees "
             f"{sc['group_share'] * 100:.1f} % of the people with the extension on, all with it off. "
             f"Times in ms (server time, in-process), {next(iter(res['pages'].values()))['on']['n']} requests "
             f"per page and mode."), "",
             ("| page | on p50 | on p95 | on CPU | off p50 | off p95 | off CPU | on/off (p50) | on/off (CPU) "
             "| statements on / off |"),
             "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|"]
    for name, v in res["pages"].items():
        on, off = v["on"], v["off"]
        lines.append(f"| {name} | {_ms(on['p50'])} | {_ms(on['p95'])} | {_ms(on['cpu'])} | {_ms(off['p50'])} | "
                     f"{_ms(off['p95'])} | {_ms(off['cpu'])} | {_ratio(on['p50'], off['p50'])} | "
                     f"{_ratio(on['cpu'], off['cpu'])} | {on['stmts']} / {off['stmts']} |")
    if res.get("errors"):
        lines += ["", "Errors: " + "; ".join(res["errors"])]
    per = res.get("per_page_size")
    if per:
        lines += ["", "Statements at page size 10 → 50 (extension on): "
                  + ", ".join(f"{n} {a}→{b}" for n, (a, b) in per.items())]
    return [*lines, ""]


def scale_table(sizes: dict) -> list[str]:
    labels = list(sizes)
    if len(labels) < 2:
        return []
    first, last = labels[0], labels[-1]
    head = " | ".join(f"{lab} on | {lab} off" for lab in labels)
    lines = [f"### Scaling {first} → {last} (p50 ms)", "",
             f"| page | {head} | {last}/{first} on | {last}/{first} off |",
             "|---|" + "--:|" * (2 * len(labels) + 2)]
    for name in sizes[last]["pages"]:
        if not all(name in sizes[lab]["pages"] for lab in labels):
            continue
        cells = " | ".join(f"{_ms(sizes[lab]['pages'][name]['on']['p50'])} | "
                           f"{_ms(sizes[lab]['pages'][name]['off']['p50'])}" for lab in labels)
        a, b = sizes[first]["pages"][name], sizes[last]["pages"][name]
        lines.append(f"| {name} | {cells} | {_ratio(b['on']['p50'], a['on']['p50'])} | "
                     f"{_ratio(b['off']['p50'], a['off']['p50'])} |")
    lines.append("")
    lines.append("(The deep page is page 100, or the last page the user has with the extension on if "
                 "that is fewer; so it differs between sizes.)")
    return [*lines, ""]


def other_tables(data: dict) -> list[str]:
    sizes = data["sizes"]
    lines = ["### demo generate", "",
             "| size | rows | seconds | rows/s | CPU seconds | rows per CPU second "
             "| records/s (without contact details) |",
             "|---|--:|--:|--:|--:|--:|--:|"]
    for label, res in sizes.items():
        g = res["generate"]
        lines.append(f"| {label} | {g['rows']:,} | {g['seconds']:.1f} | {g['rows_per_s']:,.0f} | "
                     f"{g.get('cpu_seconds', 0):.1f} | {g.get('rows_per_cpu_s', 0):,.0f} | {g['records_per_s']:,.0f} |")
    lines.append("")
    if "cascade" in data:
        c = data["cascade"]
        med = c["median"]
        lines += ["### Cascade (bench/cascade.py)", "",
                  f"{c['companies']:,} companies with their people, deals and projects into another group: "
                  + ", ".join(f"{n:,} {k}" for k, n in c["moved"].items()) + f" = {c['moved_total']:,} records.",
                  "", "| step | median s | runs |", "|---|--:|---|"]
        for key, name in (("baseline", "plain UPDATEs (what the database alone needs)"),
                          ("service", "assign_group, \"all matching\" (list page)"),
                          ("ids", "assign_group, list of ids (API)"), ("undo", "undo_assignment")):
            lines.append(f"| {name} | {med[key]:.3f} | {', '.join(f'{x:.3f}' for x in c['runs'][key])} |")
        lines += ["", f"Service / baseline: {med['service'] / med['baseline']:.1f}×.", ""]
    if "import" in data:
        lines += import_section(data["import"])
    for label, res in sizes.items():
        if "load" in res:
            ld = res["load"]
            lines += [f"### Under gunicorn ({label})", "",
                      (f"{ld['workers']} sync workers, {ld['concurrency']} client threads (Python, same machine) "
                      f"cycling over {ld['pages']} pages (the four lists, the four detail pages, home) for "
                      f"{ld['seconds']:.0f} s, extension on: **{ld['rps']:.0f} requests/s**, "
                      f"p50 {ld['p50_ms']:.1f} ms, p95 {ld['p95_ms']:.1f} ms, {ld['requests']:,} requests, "
                      f"{ld['failures']} not 200."), ""]
        if "plans" in res:
            lines += [f"### Plan of the people list, first page ({label})", ""]
            for mode, plan in res["plans"]:
                lines += [f"Extension {mode}:", "", "```", plan, "```", ""]
    return lines


def render(results: dict, targets: dict) -> str:
    m = results["machine"]
    lines = ["# Kontor benchmark results", "",
             "Generated by `bench/run.py` (issue 8). Reproduce with one command:", "",
             "```", ("make bench    # = .venv/bin/python bench/run.py  (add --database-url postgresql://… for "
             "PostgreSQL)"), "```", "",
             (f"This run: `{results['command']}`, {results['started']}, commit {m.get('commit')}, "
             f"{results['seconds'] / 60:.0f} minutes."), "",
             "| machine | |", "|---|---|",
             f"| CPU | {m['cpu']} |", f"| cores | {m['cores']} |", f"| RAM | {m['ram']} |",
             f"| OS | {m['os']} |", f"| Python | {m['python']} |", f"| SQLite | {m['sqlite']} |"]
    if "postgresql" in m:
        lines.append(f"| PostgreSQL | {m['postgresql']} |")
    lines += [f"| load average before / after | {m['load_before']} / {m.get('load_after', '?')} |", "",
              ("The machine is shared by several engineers and noisy: absolute times wander from run to run; "
              "the ratios (extension on/off, 10k → 1M) are measured in the same run, round by round "
              "interleaved, and are the steadier figures. All times are medians (p50) or 95th percentiles "
              "of server time measured in-process (Flask test client, so template rendering included)."), ""]
    notes = HERE / "NOTES.md"
    if notes.exists():
        lines += [notes.read_text().rstrip(), ""]
    for engine, data in results["engines"].items():
        lines += [f"## {'SQLite' if engine == 'sqlite' else 'PostgreSQL'}", ""]
        lines += summary(engine, data, targets)
        lines += scale_table(data["sizes"])
        for label, res in data["sizes"].items():
            lines += size_table(label, res)
        lines += other_tables(data)
    return "\n".join(lines).rstrip() + "\n"
