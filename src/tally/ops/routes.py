"""Which route answered a request, as a template: the label of metrics and access logs, and
what error logs name instead of the raw path (portal links carry secrets in theirs)."""

from starlette.types import Scope

UNMATCHED = "<unmatched>"


def route_of(scope: Scope) -> str:
    """The matched route's template with its router prefixes (`/api/customers/{id}`).

    FastAPI (0.165) leaves the route as declared, without its routers' prefixes, in
    `scope["route"]`; the full template is on the effective route context it keeps in its
    own part of the scope. tests/ops check the result, so a FastAPI change that moves it is
    noticed."""
    context = scope.get("fastapi", {}).get("effective_route_context")
    path = getattr(context, "path_format", None) or getattr(scope.get("route"), "path", None)
    return path if isinstance(path, str) else UNMATCHED
