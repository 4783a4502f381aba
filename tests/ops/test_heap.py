"""A served application after startup: its routes prepared, its heap frozen and collected
less often (`create_served_app`, `ops.heap`)."""

import json
import subprocess
import sys

from tally.ops import heap

# In a child process: freezing this test process's heap would outlive the test.
_PROBE = """
import gc, json
from tally.app import create_served_app

def routers(routes):
    for route in routes:
        if hasattr(route, "effective_candidates"):
            yield route
            yield from routers(route._effective_candidates)

app = create_served_app()
found = list(routers(app.router.routes))
print(json.dumps({
    "frozen": gc.get_freeze_count(),
    "threshold": gc.get_threshold()[0],
    "routers": len(found),
    "unprepared": sum(r._effective_candidates_version is None for r in found),
}))
"""


def test_the_served_app_prepares_its_routes_and_settles_its_heap() -> None:
    probe = subprocess.run(
        [sys.executable, "-c", _PROBE], capture_output=True, text=True, check=True, timeout=120
    )
    state = json.loads(probe.stdout)
    assert state["frozen"] > 100_000  # the application, routes, models: out of the GC's way
    assert state["threshold"] == heap.YOUNGEST_THRESHOLD
    # FastAPI builds each included router's routes on first use: all of them, before serving.
    assert state["routers"] > 10
    assert state["unprepared"] == 0
