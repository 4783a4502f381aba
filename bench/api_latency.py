"""Latency of the foundation's API operations against a real server process.

Baseline: a request the server rejects at authentication (401), measured in the same run;
it is the framework's floor, so each figure's ratio to it shows what the operation adds.
"""

import statistics
import time
from collections.abc import Callable

import httpx

from bench.server import Server, running_server

CUSTOMERS = 300
ROUNDS = 300


def _customer(n: int) -> dict[str, object]:
    return {
        "legalName": f"Customer {n:04}",
        "address": {"line1": "1 Main St", "town": "London", "postcode": "N1 1AA", "country": "GB"},
        "contacts": [
            {"name": "Billing", "email": f"billing{n}@example.com", "billingPreference": "PRIMARY"}
        ],
        "customerAliases": [f"ext-{n}"],
    }


def _timed(call: Callable[[], httpx.Response], expected: int) -> list[float]:
    samples = []
    for _ in range(ROUNDS):
        start = time.perf_counter()
        response = call()
        samples.append((time.perf_counter() - start) * 1000)
        assert response.status_code == expected, response.text
    return samples


def _report(name: str, samples: list[float], baseline: float) -> None:
    median = statistics.median(samples)
    p99 = statistics.quantiles(samples, n=100)[98]
    print(f"  {name:<34} median {median:6.2f} ms   p99 {p99:6.2f} ms   x{median / baseline:4.1f}")


def run(server: Server) -> None:
    with httpx.Client(base_url=server.base_url, auth=server.auth) as client:
        created = [client.post("/api/customers", json=_customer(n)) for n in range(CUSTOMERS)]
        ids = [response.json()["id"] for response in created]
        anonymous = httpx.Client(base_url=server.base_url)
        baseline = _timed(lambda: anonymous.get("/api/customers"), 401)
        floor = statistics.median(baseline)
        print(f"api latency ({ROUNDS} sequential requests each, {CUSTOMERS} customers)")
        _report("baseline: rejected at auth (401)", baseline, floor)
        _report(
            "GET /api/customers (page of 20)",
            _timed(lambda: client.get("/api/customers"), 200),
            floor,
        )
        _report(
            "GET /api/customers/{id}",
            _timed(lambda: client.get(f"/api/customers/{ids[7]}"), 200),
            floor,
        )
        _report(
            "GET /api/customers/by-alias/{alias}",
            _timed(lambda: client.get("/api/customers/by-alias/ext-7"), 200),
            floor,
        )
        counter = iter(range(CUSTOMERS, CUSTOMERS + ROUNDS))
        _report(
            "POST /api/customers",
            _timed(lambda: client.post("/api/customers", json=_customer(next(counter))), 201),
            floor,
        )


def main() -> None:
    with running_server() as server:
        run(server)
