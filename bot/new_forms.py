"""A new form about one account, wherever it shows: the answer to a command, the account picker's choice,
a form asked for in a channel and owed to the 1:1 chat."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from cards.contact import contact_form_card
from cards.decision import decision_form_card
from cards.forms import FormContext, FormState, Option, ServiceOption
from cards.i18n import Texts
from cards.stakeholders import stakeholder_form_card
from kam.accounts import stakeholders_of
from kam.catalogue import Catalogue
from kam.models import Account

FormBuilder = Callable[[Texts, FormContext, dt.date, FormState | None, str | None], dict[str, Any]]

# The forms a person can ask for about an account (kam.outbox.FORMS names them).
NEW_FORMS: Mapping[str, FormBuilder] = {
    "contact": contact_form_card,
    "decision": decision_form_card,
    "stakeholder": stakeholder_form_card,
}


async def form_context(
    session: AsyncSession, account: Account, catalogue: Catalogue | None = None, language: str = "en"
) -> FormContext:
    """What a form about the account offers: its customer people, its team, and the company's services (named
    in `language`, sorted by that name)."""
    stakeholders = await stakeholders_of(session, account.id)
    return FormContext(
        account_id=account.id,
        account_name=account.name,
        stakeholders=[Option(s.id, f"{s.name} ({s.title})" if s.title else s.name) for s in stakeholders],
        team=[Option(m.person.id, m.person.name) for m in account.members],
        services=service_options(catalogue, language),
    )


def service_options(catalogue: Catalogue | None, language: str) -> list[ServiceOption]:
    if catalogue is None:
        return []
    named = [ServiceOption(s.id, s.name(language)) for s in catalogue.services]
    return sorted(named, key=lambda s: s.name.casefold())
