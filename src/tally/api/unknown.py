"""Naming what a client sent that Tally does not know, and what it probably meant.

A misspelled field dropped in silence (`"parentID"`, `"custmerAliases"`) would leave a customer
unbilled; refused with its name and the likely intended one, it costs the developer a minute.
"""

from __future__ import annotations

import difflib
import types
from collections.abc import Iterable, Sequence
from typing import Annotated, Any, Union, get_args, get_origin

from pydantic import BaseModel


def closest(name: str, known: Iterable[str]) -> str | None:
    """The known name `name` most probably meant: the same but for case, else a close spelling."""
    candidates = sorted(set(known))
    folded = {candidate.casefold(): candidate for candidate in candidates}
    if name.casefold() in folded:
        return folded[name.casefold()]
    matches = difflib.get_close_matches(name, candidates, n=1, cutoff=0.6)
    return matches[0] if matches else None


def unknown_message(kind: str, name: str, known: Iterable[str]) -> str:
    suggestion = closest(name, known)
    hint = f"; did you mean `{suggestion}`?" if suggestion else ""
    return f"unknown {kind} `{name}`{hint}"


def wire_names(model: type[BaseModel]) -> set[str]:
    """The names a model accepts: camelCase aliases (what clients send)."""
    return {field.alias or name for name, field in model.model_fields.items()}


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    origin = get_origin(annotation)
    if origin is Annotated:
        return _models_in(get_args(annotation)[0])
    if origin in (Union, types.UnionType, list, tuple, set, frozenset, Sequence) or (
        origin is not None and get_args(annotation)
    ):
        return [model for arg in get_args(annotation) for model in _models_in(arg)]
    return []


def _field_model(model: type[BaseModel], key: str) -> list[type[BaseModel]]:
    for name, field in model.model_fields.items():
        if key in (name, field.alias):
            return _models_in(field.annotation)
    return []


def known_at(model: type[BaseModel], path: Sequence[Any]) -> set[str]:
    """The field names accepted at `path` inside `model`'s body (list indexes skipped, union
    members merged); empty when the path leaves the models."""
    candidates = [model]
    for part in path:
        if isinstance(part, int):
            continue
        # Pydantic names a tagged union member in the path ("function-after[...]", a tag):
        # anything that is not one of the candidates' fields is such a step, kept in place.
        nested = [m for candidate in candidates for m in _field_model(candidate, str(part))]
        if nested:
            candidates = nested
    return {name for candidate in candidates for name in wire_names(candidate)}
