"""axe-core in the browser tests: vendored from the npm registry (``npm pack axe-core``), version
4.14.1, MPL-2.0 (tests/browser/vendor/axe-core-4.14.1/LICENSE). Test-only: never served by Kontor.

The script goes in through the DevTools protocol (``page.evaluate``), which Kontor's
Content-Security-Policy does not govern - a <script> tag would be refused, as it should be."""
from __future__ import annotations

from pathlib import Path

AXE_JS = Path(__file__).parent / "vendor" / "axe-core-4.14.1" / "axe.min.js"
#: The impacts a page must not have.
BLOCKING = ("critical", "serious")


def axe_violations(page, impacts=BLOCKING) -> list[str]:
    """Run axe-core (WCAG 2.x A and AA, and best practices) on the page as it is now; one line per
    violation of the given impacts, naming the rule and the first offending elements."""
    # colours mid-transition (a menu opening, a hover fading) are not what a reader sees: let every
    # running animation and transition finish first
    # (finite ones only - a spinner runs forever - and two seconds at the most)
    page.evaluate("""() => Promise.race([
        Promise.all(document.getAnimations()
            .filter(a => a.effect && a.effect.getComputedTiming().endTime !== Infinity)
            .map(a => a.finished.catch(() => null))),
        new Promise(done => setTimeout(done, 2000))])""")
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.evaluate(AXE_JS.read_text(encoding="utf-8") + "\n;undefined")
    result = page.evaluate("""async () => {
        const r = await axe.run(document, {resultTypes: ['violations']});
        return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
                                       nodes: v.nodes.slice(0, 3).map(n => n.target.join(' ') + ' ' +
                                                                    n.failureSummary)}));
    }""")
    return [f"{v['impact']} {v['id']}: {v['help']} - {', '.join(v['nodes'])}" for v in result if v["impact"] in impacts]
