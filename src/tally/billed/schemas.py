"""Request shapes both kinds of billed document take for their lines and groups."""

from pydantic import Field

from tally.api.schemas import Schema
from tally.api.types import PlainText


class GroupHeading(Schema):
    """A group's heading: its title, and a description under it."""

    title: PlainText = Field(min_length=1, max_length=500)
    description: str | None = Field(default=None, max_length=2000)
