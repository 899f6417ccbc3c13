"""Domain errors. bot/ maps each to one localised message for the user."""

from __future__ import annotations


class KamError(Exception):
    """Base of every error a user can cause; `code` names the message shown."""

    code = "error.generic"


class UnknownPerson(KamError):
    code = "error.unknown_person"


class InvalidReference(KamError):
    """A stakeholder or participant id that does not belong to the account."""

    code = "error.invalid_reference"


class DuplicateSubmission(KamError):
    """The same form was submitted again; the first submission is the one kept."""

    code = "error.duplicate"


class AccountExists(KamError):
    code = "error.account_exists"


class NotAllowed(KamError):
    """Someone on the account team whose role (or ownership) does not allow this; `act` says what it needs."""

    code = "error.not_allowed"

    def __init__(self, act: str = "") -> None:
        super().__init__(act)
        if act:
            self.code = f"error.not_allowed.{act}"


class Refused(KamError):
    """Not there, or not the caller's: one answer for both, naming nothing (no account, no item)."""

    code = "error.refused"


class ItemNotFound(Refused):
    """A card names a contact, decision or price action that does not exist (on that account)."""
