"""Spend-control alerts: thresholds on usage, spend and credit balances, fired once per
crossing (`evaluation.py`), evaluated as usage arrives (`checks.py`, `evaluator.py`)."""
