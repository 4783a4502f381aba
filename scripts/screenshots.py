"""Refresh the customer portal's screenshots in docs/screenshots/ (each tab at 1280 px and
390 px wide), taken by the browser test that drives the portal with Debian's Chromium:

    .venv/bin/python scripts/screenshots.py
"""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

if __name__ == "__main__":
    env = {key: value for key, value in os.environ.items() if key != "TALLY_TEST_DATABASE_URL"}
    env["TALLY_SCREENSHOTS_DIR"] = str(ROOT / "docs" / "screenshots")
    test = "tests/portal/test_browser.py::test_screenshots_of_every_tab"
    sys.exit(subprocess.call([sys.executable, "-m", "pytest", "-q", test], cwd=ROOT, env=env))
