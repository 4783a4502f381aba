"""CPU time used by processes, from /proc: what each part of a benchmark cost the machine."""

import os
from collections import defaultdict
from pathlib import Path

_TICKS = os.sysconf("SC_CLK_TCK")


def _stat_fields(pid: int) -> list[str] | None:
    try:
        # After the command's closing parenthesis (a command may contain spaces).
        return (Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1]).split()
    except OSError:
        return None


def process_tree(pid: int) -> list[int]:
    """`pid` and all its descendants (`tally serve --workers N` is a supervisor whose
    children serve)."""
    children: dict[int, list[int]] = defaultdict(list)
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (fields := _stat_fields(int(entry.name))) is not None:
            children[int(fields[1])].append(int(entry.name))
    pids = [pid]
    for each in pids:  # grows as it goes: every generation of the tree
        pids.extend(children[each])
    return pids


def _seconds(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        fields = _stat_fields(pid)
        if fields is not None:
            total += int(fields[11]) + int(fields[12])  # utime + stime
    return total / _TICKS


def tree_seconds(pid: int) -> float:
    """CPU seconds (user + system) the process tree has used so far."""
    return _seconds(process_tree(pid))


def postgres_seconds(database: str) -> float:
    """CPU seconds used so far by the PostgreSQL backends connected to `database` on this
    machine (by their process titles). A backend that has exited no longer counts: measure
    across a span its pool keeps open. The server's shared processes (WAL writer,
    checkpointer) are left out: other databases share them."""
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                title = (entry / "cmdline").read_bytes().decode(errors="replace")
            except OSError:
                continue
            # "postgres: [cluster name:] user database host(port) state"
            words = [w for w in title.split() if not w.endswith(":")]
            if title.startswith("postgres:") and len(words) > 1 and words[1] == database:
                pids.append(int(entry.name))
    return _seconds(pids)
