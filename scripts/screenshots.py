"""Refresh the screenshots in docs/screenshots/, taken by the browser tests that drive Debian's
Chromium with `TALLY_SCREENSHOTS_DIR` set to that folder: the customer portal's (each tab at
1280 px and 390 px wide, portal-*.png) and the merchant dashboard's (its main pages at 1280 px
wide, dashboard-*.png; every page of it at 1280 px and 390 px, dashboard/*.png):

    .venv/bin/python scripts/screenshots.py
"""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TESTS = [
    "tests/portal/test_browser.py::test_screenshots_of_every_tab",
    *sorted(str(path.relative_to(ROOT)) for path in ROOT.glob("tests/dashboard/test_*_browser.py")),
    "tests/dashboard/test_screenshots.py",  # every page at 1280 and 390 px, dashboard/*.png
]

if __name__ == "__main__":
    env = {key: value for key, value in os.environ.items() if key != "TALLY_TEST_DATABASE_URL"}
    env["TALLY_SCREENSHOTS_DIR"] = str(ROOT / "docs" / "screenshots")
    command = [sys.executable, "-m", "pytest", "-q", *TESTS]
    sys.exit(subprocess.call(command, cwd=ROOT, env=env))  # noqa: S603 - our own tests
