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


def _seconds(pids: list[int], *, reaped: bool = False) -> float:
    """utime + stime of the processes; with `reaped`, also the time of their children that
    have exited (cutime + cstime)."""
    total = 0
    for pid in pids:
        fields = _stat_fields(pid)
        if fields is not None:
            total += int(fields[11]) + int(fields[12])
            if reaped:
                total += int(fields[13]) + int(fields[14])
    return total / _TICKS


def tree_seconds(pid: int) -> float:
    """CPU seconds (user + system) the process tree has used so far."""
    return _seconds(process_tree(pid))


def postgres_seconds(database: str | None = None) -> float:
    """CPU seconds used so far by the PostgreSQL server on this machine: the backends
    connected to `database` (by their process titles), or with None every postgres process,
    including backends that have exited (the postmaster reaped them), the WAL writer and the
    checkpointer: the whole cluster, other databases' work included. A backend of `database`
    that has exited no longer counts: measure across a span its pool keeps open."""
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "comm").read_text().strip() != "postgres":
                    continue
                title = (entry / "cmdline").read_bytes().decode(errors="replace")
            except OSError:
                continue
            # "postgres: [cluster name:] user database host(port) state"
            words = [w for w in title.split() if not w.endswith(":")]
            if database is None or (len(words) > 1 and words[1] == database):
                pids.append(int(entry.name))
    return _seconds(pids, reaped=database is None)
