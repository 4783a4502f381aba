"""Credit notes as the API shows them (`CreditNoteDetailOut`, Sequence's CreditNote with its
lines), for responses and notification events."""

from collections.abc import Sequence
from typing import Any

from sqlalchemy.orm import Session

from tally.credit_notes import service
from tally.credit_notes.schemas import CreditNoteDetailOut, CreditNoteOut
from tally.models import CreditNote
from tally.notifications.events import CREDIT_NOTE, presents


def credit_note_view(session: Session, account_id: str, note: CreditNote) -> CreditNoteDetailOut:
    """One credit note's answer; `note` with its lines and groups loaded."""
    shown = service.presentation(session, account_id, [note])
    return CreditNoteDetailOut.build(note, shown.invoice_numbers, shown.applications_of(note))


def credit_note_views(
    session: Session, account_id: str, notes: list[CreditNote]
) -> list[CreditNoteOut]:
    """The list's items (without lines), in a fixed number of queries for all of them."""
    shown = service.presentation(session, account_id, notes)
    return [
        CreditNoteOut(**CreditNoteOut.fields_of(n, shown.invoice_numbers, shown.applications_of(n)))
        for n in notes
    ]


@presents(CREDIT_NOTE)
def credit_notes_by_id(
    session: Session, account_id: str, note_ids: Sequence[str]
) -> dict[str, dict[str, Any]]:
    """GET /api/credit-notes/{id}'s answer for each id, in a fixed number of queries."""
    notes = service.get_credit_notes(session, account_id, note_ids)
    shown = service.presentation(session, account_id, notes)
    return {
        note.id: CreditNoteDetailOut.build(
            note, shown.invoice_numbers, shown.applications_of(note)
        ).model_dump(mode="json", by_alias=True)
        for note in notes
    }
