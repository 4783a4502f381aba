"""Running one of the convention checks `make lint` runs (`scripts/check_*.py`) as lint does."""

import subprocess
import sys
from pathlib import Path

SCRIPTS = Path(__file__).resolve().parents[2] / "scripts"


def run_check(name: str, *args: str) -> subprocess.CompletedProcess[str]:
    """`python scripts/check_<name>.py ARGS`: its output and exit status."""
    command = [sys.executable, str(SCRIPTS / f"check_{name}.py"), *args]
    return subprocess.run(command, capture_output=True, text=True, check=False)
