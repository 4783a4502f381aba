"""`make bench` is not run in CI: at least every benchmark module must import (a helper renamed
in one benchmark once broke another one unnoticed)."""

import importlib
import pkgutil

import bench
import pytest

MODULES = sorted(module.name for module in pkgutil.iter_modules(bench.__path__))


def test_every_benchmark_is_found() -> None:
    expected = {
        "alerts",
        "api_latency",
        "billing",
        "exports",
        "metering",
        "portal",
        "sustained",
        "webhooks",
    }
    assert expected <= set(MODULES)


@pytest.mark.parametrize("name", MODULES)
def test_the_benchmark_imports_and_has_a_main(name: str) -> None:
    module = importlib.import_module(f"bench.{name}")
    assert callable(getattr(module, "main", None)) or name in (
        "__main__",
        "server",
        "cpu",
        "usage_stream",
    )
