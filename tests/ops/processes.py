"""`tally serve` and `tally worker` as real processes whose logs (stderr) land in a file the
test reads while they run."""

import json
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from tests.support.serving import TALLY, free_port


def json_lines(log: str) -> list[dict[str, Any]]:
    lines = [line for line in log.splitlines() if line.strip()]
    return [json.loads(line) for line in lines]  # every line is one JSON object


@dataclass
class Running:
    process: subprocess.Popen[bytes]
    log_file: Path
    base_url: str = ""

    @property
    def log(self) -> str:
        return self.log_file.read_text(errors="replace")

    def wait_for_log(self, text: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while text not in self.log:
            assert self.process.poll() is None, f"exited {self.process.returncode}:\n{self.log}"
            assert time.monotonic() < deadline, f"no {text!r} in:\n{self.log}"
            time.sleep(0.05)

    def terminate(self, timeout: float = 60) -> int:
        """SIGTERM, then the exit status once it has ended."""
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=timeout)


@contextmanager
def running(args: list[str], env: dict[str, str], cwd: Path) -> Iterator[Running]:
    log_file = cwd / f"{args[0]}-{time.monotonic_ns()}.log"
    with log_file.open("wb") as sink:
        process = subprocess.Popen([str(TALLY), *args], env=env, cwd=cwd, stderr=sink)
    try:
        yield Running(process, log_file)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=30)


@contextmanager
def serving(env: dict[str, str], cwd: Path, *args: str) -> Iterator[Running]:
    port = free_port()
    with running(["serve", "--port", str(port), *args], env, cwd) as server:
        server.base_url = f"http://127.0.0.1:{port}"
        until(lambda: _answers(f"{server.base_url}/healthz"), server)
        yield server


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.TransportError:
        return False


def until(
    ready: Callable[[], bool], server: Running, timeout: float = 90, every: float = 0.1
) -> None:
    deadline = time.monotonic() + timeout
    while not ready():
        assert server.process.poll() is None, f"exited:\n{server.log}"
        assert time.monotonic() < deadline, f"not ready:\n{server.log}"
        time.sleep(every)


def until_gone(gone: Callable[[], bool], what: str, timeout: float = 60) -> None:
    """Wait for what a stopped process leaves behind to go (its server connections)."""
    deadline = time.monotonic() + timeout
    while not gone():
        assert time.monotonic() < deadline, f"{what} still there after {timeout} s"
        time.sleep(0.1)
