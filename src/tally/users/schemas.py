"""The merchant's dashboard users in Sequence's `SequenceUserResponse` shape."""

from enum import StrEnum
from typing import Any

from pydantic import Field

from tally.api.schemas import Schema
from tally.models import MerchantUser


class UserState(StrEnum):
    ACTIVE = "ACTIVE"
    # DELETE /users/{id}: can no longer sign in; kept, as the activity log names it.
    DEACTIVATED = "DEACTIVATED"


class UserOut(Schema):
    id: str
    email: str
    sequence_account_ids: list[str]
    state: UserState
    # Sequence's `Role` is typed as an object whose enum holds JSON strings: no value is
    # valid against it but none. Tally has no roles (every user may do everything), so none.
    roles: list[dict[str, Any]] = Field(default_factory=list)

    @classmethod
    def build(cls, user: MerchantUser) -> "UserOut":
        return cls(
            id=user.id,
            email=user.email,
            sequence_account_ids=[user.account_id],
            state=UserState.ACTIVE if user.deactivated_at is None else UserState.DEACTIVATED,
        )
