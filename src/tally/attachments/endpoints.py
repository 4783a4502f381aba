"""/api/attachments: Tally's upload of the files Sequence's `attachmentAssetIds` name
(Sequence uploads them through its dashboard; its API only refers to them)."""

from typing import Annotated, Any

from fastapi import Depends, Query, Request, Response

from tally.api.auth import CurrentAccount
from tally.api.deps import DbSession
from tally.api.downloads import download
from tally.api.routing import api_router
from tally.attachments import service
from tally.attachments.schemas import AssetOut
from tally.settings import Settings

router = api_router(tags=["Attachments"])

_FILE_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "description": f"The file's bytes, at most {service.MAX_BYTES} bytes. Its format "
        "comes from fileName's extension and must match its first bytes.",
        "content": {"*/*": {"schema": {"type": "string", "format": "binary"}}},
    }
}


async def _file(request: Request) -> bytes:
    return await request.body()


def _base_url(request: Request) -> str:
    settings: Settings = request.app.state.settings
    return settings.public_url


@router.post(
    "/attachments",
    status_code=201,
    summary="Upload an attachment (Tally)",
    openapi_extra=_FILE_BODY,
)
def upload_attachment(
    principal: CurrentAccount,
    session: DbSession,
    request: Request,
    content: Annotated[bytes, Depends(_file)],
    file_name: Annotated[
        str, Query(alias="fileName", min_length=1, max_length=255, description="e.g. terms.pdf")
    ],
) -> AssetOut:
    """A file to name in `attachmentAssetIds` of invoices and billing schedules: sent with
    the invoice email, listed in the invoice's `attachmentAssets`."""
    attachment = service.upload(
        session, principal.account_id, principal.api_key_id, file_name, content
    )
    return AssetOut.build(service.details(attachment), _base_url(request))


@router.get("/attachments/{id}", summary="Get an attachment's details (Tally)")
def get_attachment(
    id: str, principal: CurrentAccount, session: DbSession, request: Request
) -> AssetOut:
    attachment = service.get(session, principal.account_id, id)
    return AssetOut.build(service.details(attachment), _base_url(request))


@router.get(
    "/attachments/{id}/download",
    summary="Download an attachment (Tally)",
    response_class=Response,
    responses={200: {"description": "The file as uploaded.", "content": {"*/*": {}}}},
)
def download_attachment(id: str, principal: CurrentAccount, session: DbSession) -> Response:
    attachment = service.get(session, principal.account_id, id, content=True)
    return download(attachment.content, attachment.media_type, attachment.file_name)
