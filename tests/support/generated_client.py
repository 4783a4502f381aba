"""A client generated from Sequence's published schema by a third-party generator
(openapi-python-client), as a Sequence customer would make one.

Generated from the repository's copy of the schema in the test run, never committed. The
package is kept under var/sequence-client (shared by every test process and both databases'
passes), keyed by the schema's and the generator's versions, since generating takes seconds.

What the generator cannot take as published, and how the schema handed to it differs:
- GET /usage-events types its `customerAlias` query parameter as an array without `items`;
  the generator then skips the operation. Its items are given as strings (what Sequence
  means: aliases).
"""

import fcntl
import gzip
import hashlib
import importlib
import importlib.metadata
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from types import ModuleType
from typing import Any

from tests.support.sequence_schema import SPEC_PATH

PACKAGE = "sequence_client"
GENERATOR = "openapi-python-client"
# No post hooks: formatting the generated code is not needed to import it, and costs seconds.
CONFIG = {"package_name_override": PACKAGE, "project_name_override": PACKAGE, "post_hooks": []}


def generator_input() -> dict[str, Any]:
    document: dict[str, Any] = json.loads(gzip.decompress(SPEC_PATH.read_bytes()))
    for parameter in document["paths"]["/usage-events"]["get"]["parameters"]:
        if parameter["schema"].get("type") == "array" and "items" not in parameter["schema"]:
            parameter["schema"]["items"] = {"type": "string"}
    return document


def cache_key() -> str:
    digest = hashlib.sha256(SPEC_PATH.read_bytes())
    digest.update(importlib.metadata.version(GENERATOR).encode())
    digest.update(json.dumps(CONFIG, sort_keys=True).encode())
    digest.update(Path(__file__).read_bytes())  # the adjustments above
    return digest.hexdigest()[:16]


def generate(into: Path) -> None:
    """Generate the package into `into` (a directory that holds it once complete)."""
    with tempfile.TemporaryDirectory() as work:
        schema = Path(work, "sequence-openapi.json")
        schema.write_text(json.dumps(generator_input()))
        config = Path(work, "config.json")
        config.write_text(json.dumps(CONFIG))
        output = Path(work, "out")
        command = [
            str(Path(sys.executable).with_name(GENERATOR)),
            "generate",
            f"--path={schema}",
            f"--config={config}",
            f"--output-path={output}",
            "--meta=none",
        ]
        result = subprocess.run(command, capture_output=True, text=True, check=False)
        assert (output / "client.py").exists(), result.stdout + result.stderr
        into.parent.mkdir(parents=True, exist_ok=True)
        staged = Path(tempfile.mkdtemp(dir=into.parent))
        shutil.move(output, staged / PACKAGE)
        staged.rename(into)


def load(root: Path) -> ModuleType:
    """The generated package under `root/<key>`, generated first if missing (by one test
    process: the others wait for it)."""
    home = root / cache_key()
    root.mkdir(parents=True, exist_ok=True)
    with (root / "generating.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (home / PACKAGE / "client.py").exists():
            generate(home)
    sys.path.insert(0, str(home))
    return importlib.import_module(PACKAGE)
