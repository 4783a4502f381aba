"""Accessibility checks of a page in the browser: axe-core (the npm registry's package, pinned in
package-lock.json and installed into node_modules/ by `make install`) injected into the page
and run on it, for WCAG 2 A and AA and axe's best practices.

    from tests.support.axe import assert_accessible
    assert_accessible(page)  # fails on any serious or critical violation, listing them

Violations of lesser impact (minor, moderate) are returned, not failed on.
"""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page

AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]
FAILING = ("serious", "critical")


def axe_script() -> Path:
    """axe-core's script; a skip without it (a fail in CI, where `make install` installs it)."""
    if not AXE.exists():
        message = f"{AXE} is missing: `make install` installs it (npm ci)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return AXE


@cache
def _source() -> str:
    return axe_script().read_text(encoding="utf-8")


def violations(page: Page) -> list[dict[str, Any]]:
    """axe's violations on the page as it stands (axe injected once per document)."""
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        # Evaluated through the DevTools protocol, which the pages' Content-Security-Policy
        # (no inline script) does not govern, unlike a <script> tag added to the page: so the
        # pages are checked under their own policy, and a violation still logs an error.
        page.evaluate(_source() + "\n;undefined")
    found: list[dict[str, Any]] = page.evaluate(
        """async (tags) => {
            const results = await axe.run(document, {
                runOnly: {type: "tag", values: tags},
                resultTypes: ["violations"],
            });
            return results.violations.map((v) => ({
                id: v.id, impact: v.impact, help: v.help, helpUrl: v.helpUrl,
                nodes: v.nodes.map((n) => ({
                    target: n.target.join(" "), html: n.html, summary: n.failureSummary,
                })),
            }));
        }""",
        TAGS,
    )
    return found


def describe(found: list[dict[str, Any]]) -> str:
    """The violations as lines a person reads: rule, impact, help, then each element."""
    lines: list[str] = []
    for violation in found:
        lines.append(f"[{violation['impact']}] {violation['id']}: {violation['help']}")
        for node in violation["nodes"][:8]:
            lines.append(f"    {node['target']}  {node['html'][:160]}")
            summary = (node["summary"] or "").replace("\n", " ")
            lines.append(f"      {summary[:300]}")
        if len(violation["nodes"]) > 8:
            lines.append(f"    ... and {len(violation['nodes']) - 8} more")
    return "\n".join(lines)


def serious(found: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [violation for violation in found if violation["impact"] in FAILING]


def assert_accessible(page: Page, where: str = "") -> list[dict[str, Any]]:
    """Fail on serious or critical violations; return the lesser ones."""
    found = violations(page)
    failing = serious(found)
    assert not failing, f"accessibility violations on {where or page.url}:\n" + describe(failing)
    return found
