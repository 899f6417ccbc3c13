"""Domain errors. bot/ maps each to one localised message for the user."""

from __future__ import annotations


class KamError(Exception):
    """Base of every error a user can cause; `code` names the message shown."""

    code = "error.generic"


class AccountNotFound(KamError):
    code = "error.account_not_found"


class NotOnAccountTeam(KamError):
    code = "error.not_on_team"

    def __init__(self, account_name: str) -> None:
        super().__init__(account_name)
        self.account_name = account_name


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
    """The caller's role does not allow this (creating accounts, provisioning)."""

    code = "error.not_allowed"


class NotAddressee(KamError):
    """A card meant for one person (a nudge) was used by someone else, or names nothing there is."""

    code = "error.not_addressee"


class ItemNotFound(KamError):
    """A card names a contact, decision or price action that does not exist (on that account)."""

    code = "error.item_gone"
