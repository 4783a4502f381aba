"""The alerts benchmark's quick mode runs (a real server, real webhooks): every crossing it
counts gets one webhook. Its timings mean nothing here; `make bench` measures them."""

import pytest
from bench import alerts


def test_the_quick_benchmark_runs_and_every_crossing_gets_one_webhook(
    capsys: pytest.CaptureFixture[str],
) -> None:
    alerts.main(quick=True)
    printed = capsys.readouterr().out
    assert "crossings without a webhook: 0; webhooks twice: 0" in printed, printed
    assert "ack -> ALERT_TRIGGERED webhook" in printed, printed
