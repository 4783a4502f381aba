"""The garbage collector of a long-running Tally process (`tally serve`, `tally worker`).

Once started, such a process holds a large heap that lives as long as it does (the
application, its routes and models, compiled SQL, imported modules). Python's collector
walks the tracked objects of every generation it collects, so each full collection walked
all of that again; and a batch of 1,000 usage events allocates enough objects to trigger
the youngest generation's collection several times per request. Freezing what startup
left (never garbage) and collecting the youngest generation less often keeps the
collector's work proportional to what a request allocates.
"""

import gc

# Allocations (net of deallocations) between collections of the youngest generation:
# Python's default is 700, a few times per batch; objects a request makes mostly die by
# reference counting long before.
YOUNGEST_THRESHOLD = 50_000


def settle() -> None:
    """Move everything alive now out of the collector's sight, and collect less often. Call
    once, after startup, in the process that then serves or works."""
    gc.collect()
    gc.freeze()
    _, middle, oldest = gc.get_threshold()
    gc.set_threshold(YOUNGEST_THRESHOLD, middle, oldest)
