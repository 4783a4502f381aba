"""Input no backend may store: NUL characters.

PostgreSQL refuses NUL in text and JSONB while SQLite keeps it, so without this check the same
request would be a 500 on one backend and stored on the other. Refusing it up front gives both
a clear 400 and keeps them alike.
"""

import re

from fastapi import Request

from tally.exceptions import BadRequest

# "\u0000" in JSON, unless its backslash is itself escaped ("\\u0000" is literal text).
_JSON_NUL = re.compile(rb"(?<!\\)(?:\\\\)*\\u0000")
_MESSAGE = "Text must not contain NUL characters (\\u0000)."


async def reject_nul_characters(request: Request) -> None:
    if "\x00" in request.url.path or "%00" in request.url.query:
        raise BadRequest(_MESSAGE)
    if request.method in ("POST", "PUT", "PATCH"):
        body = await request.body()
        if b"\\u0000" in body and _JSON_NUL.search(body):
            raise BadRequest(_MESSAGE)
