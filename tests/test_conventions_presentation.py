"""`scripts/check_presentation.py`: the dashboard and the portal read through the domains'
queries. It passes on the tree, and names file and line of a query a page makes itself."""

import importlib.util
import shutil
from pathlib import Path
from types import ModuleType

import pytest


def _checker(repo_root: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "check_presentation", repo_root / "scripts" / "check_presentation.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_tree_passes(repo_root: Path) -> None:
    assert _checker(repo_root).check(repo_root) == []


def test_every_exception_names_a_path_and_a_reason(repo_root: Path) -> None:
    for path, reason in _checker(repo_root).EXCEPTIONS.items():
        assert (repo_root / path).exists(), path
        assert reason.strip(), path


PLANTED = """\
from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from tally.models import Customer


def names(session: Session, query: Select[Customer]) -> list[str]:
    count = session.scalar(select(func.count()).select_from(Customer))
    rows = session.execute(query).all()
    return [row.legal_name for row in rows] * (count or 0)
"""


@pytest.mark.parametrize("folder", ["dashboard", "portal"])
def test_a_planted_query_fails_naming_its_lines(
    repo_root: Path, tmp_path: Path, folder: str
) -> None:
    checker = _checker(repo_root)
    planted_root = tmp_path / "repo"
    for presentation in checker.PRESENTATION:
        shutil.copytree(repo_root / presentation, planted_root / presentation)
    (planted_root / "src/tally" / folder / "planted.py").write_text(PLANTED)
    found = checker.check(planted_root)
    where = f"src/tally/{folder}/planted.py"
    assert found == [
        f"{where}:1: imports func from sqlalchemy: ask the domain's queries.py",
        f"{where}:1: imports select from sqlalchemy: ask the domain's queries.py",
        f"{where}:8: calls select(): ask the domain's queries.py",
        f"{where}:8: calls session.scalar: ask the domain's queries.py",
        f"{where}:9: calls session.execute: ask the domain's queries.py",
    ]
    assert checker.main(["check_presentation.py", str(planted_root)]) == 1
    assert checker.main(["check_presentation.py", str(repo_root)]) == 0
