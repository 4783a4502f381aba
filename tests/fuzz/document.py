"""Tally's own OpenAPI document, for the fuzzers: built once per version of the code.

Building it (an app, then its document) takes several seconds, and every test process
collects both fuzz modules (each xdist worker of each pass): the first process to need it
writes it to a file named by a hash of what it is made from (Tally's source tree, the
versions of the libraries that write it, the TALLY_ settings and the .env file the app
reads), and the others read that file. Routes do not depend on the database, which the
tests' own app serves.
"""

import hashlib
import json
import os
import tempfile
from functools import cache
from importlib import metadata
from pathlib import Path
from typing import Any

import tally
from tally.app import create_app
from tally.settings import Settings

SOURCES = Path(tally.__file__).resolve().parent
LIBRARIES = ("fastapi", "pydantic", "pydantic-core", "starlette")


def _made_from() -> str:
    digest = hashlib.sha256()
    for library in LIBRARIES:
        digest.update(f"{library}=={metadata.version(library)}\n".encode())
    for name, value in sorted(os.environ.items()):
        if name.startswith("TALLY_"):
            digest.update(f"{name}={value}\n".encode())
    dotenv = Path(".env")
    if dotenv.is_file():
        digest.update(dotenv.read_bytes())
    for path in sorted(SOURCES.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts:
            digest.update(f"\n{path.relative_to(SOURCES)}\n".encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:24]


@cache
def _document_text() -> str:
    stored = Path(tempfile.gettempdir()) / f"tally-openapi-{_made_from()}.json"
    try:
        return stored.read_text(encoding="utf-8")
    except FileNotFoundError:
        pass
    app = create_app(Settings(database_url="sqlite://", billing_scheduler=False))
    text = json.dumps(app.openapi())
    # Written whole under another name, then renamed: a reader never sees half a document.
    partial = stored.with_name(f"{stored.name}.{os.getpid()}.partial")
    partial.write_text(text, encoding="utf-8")
    partial.replace(stored)
    return text


def openapi_document() -> dict[str, Any]:
    """A fresh copy of the document (schemathesis may change what it is given)."""
    document: dict[str, Any] = json.loads(_document_text())
    return document
