"""The one place where errors become words for the user."""

from __future__ import annotations

from cards.errors import MalformedSubmission, StaleCard
from cards.i18n import Texts
from kam.errors import KamError

USER_ERRORS = (KamError, MalformedSubmission, StaleCard)


def user_message(t: Texts, error: Exception) -> str:
    if isinstance(error, KamError):
        return t(error.code)
    if isinstance(error, StaleCard):
        return t("error.stale_card")
    if isinstance(error, MalformedSubmission):
        return t("error.malformed")
    return t("error.generic")
