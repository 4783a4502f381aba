"""Running `tally` against the test run's database: as the installed command in a subprocess
(one test per command, to show the entry point works), or in this process with Typer's test
runner (the rest: starting Python and importing Tally costs seconds per run)."""

import contextlib
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from typer.testing import CliRunner

from tally.cli import app
from tally.settings import get_settings
from tests.support.serving import TEST_SECRET_KEY

TALLY = Path(sys.executable).parent / "tally"


@dataclass(frozen=True)
class Ran:
    """What a run printed and its exit status, whichever way it ran."""

    returncode: int
    stdout: str
    stderr: str


def tally_settings(
    database_url: str | None, data_dir: Path, secret_key: str | None = TEST_SECRET_KEY
) -> dict[str, str]:
    """The command's environment on top of this process's, less its TALLY_ variables: the
    given database (or the embedded default) and data directory, the test run's secret key
    (None: none), and no colours."""
    settings = {"TALLY_DATA_DIR": str(data_dir), "NO_COLOR": "1"}
    if secret_key is not None:
        settings["TALLY_SECRET_KEY"] = secret_key
    if database_url is not None:
        settings["TALLY_DATABASE_URL"] = database_url
    return settings


def run_tally(
    *args: str,
    database_url: str | None,
    data_dir: Path,
    stdin: str | None = None,
    in_process: bool = True,
    timeout: float = 120,
    secret_key: str | None = TEST_SECRET_KEY,
) -> Ran:
    """`tally ARGS`, run from `data_dir` (away from any .env file in the repository). An
    exception the command lets out fails the test, as a traceback would."""
    settings = tally_settings(database_url, data_dir, secret_key)
    ours = [k for k in os.environ if k.startswith("TALLY_")]
    if not in_process:
        env = {k: v for k, v in os.environ.items() if k not in ours} | settings
        # check=False: each test asserts the exit code first, showing the output when it fails.
        done = subprocess.run(
            [str(TALLY), *args],
            env=env,
            cwd=data_dir,
            input=stdin,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            start_new_session=True,  # no terminal: a password prompt reads stdin
        )
        return Ran(done.returncode, done.stdout, done.stderr)
    overrides: dict[str, str | None] = dict.fromkeys(ours)
    overrides.update(settings)
    get_settings.cache_clear()  # settings are read from the environment set for this run
    try:
        with contextlib.chdir(data_dir):
            result = CliRunner().invoke(app, list(args), input=stdin, env=overrides)
    finally:
        get_settings.cache_clear()
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return Ran(result.exit_code, result.stdout, result.stderr)
