"""The test suite. Under pytest, importing it turns the garbage collector off until the tests
are collected (tests/conftest.py, `pytest_collection`): importing Tally, its libraries and
the test modules makes millions of objects that live all run long, and collecting garbage
meanwhile only walks them again and again. (Benchmarks import test helpers too: they keep
the collector as it is.)"""

import gc
import sys

if "_pytest" in sys.modules:
    gc.disable()
