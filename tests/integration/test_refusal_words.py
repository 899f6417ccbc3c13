"""Someone on no account team is told why a command cannot work for them, in the words of that command."""

from __future__ import annotations

import pytest

from bot.routes import COMMANDS
from tests.support.harness import RunningBot

NOT_ON_A_TEAM_EN = "You are not on any key account team yet"
NOT_ON_A_TEAM_DE = "Sie sind noch in keinem Key-Account-Team"

# What Lynne (on no team) types, and what the answer must say it cannot do: English, then German.
REFUSALS = [
    ("log contact", "en-US", "so you cannot log contacts"),
    ("log decision", "en-US", "so you cannot log decisions"),
    ("add stakeholder", "en-US", "so you cannot add stakeholders"),
    ("review plan", "en-US", "so there is no plan for you to review"),
    ("rules", "en-US", "so there are no communication rules to show you"),
    ("timeline", "en-US", "so there is no timeline to show you"),
    ("stakeholders", "en-US", "so there is no stakeholder map to show you"),
    ("edit stakeholder", "en-US", "so there are no stakeholders for you to change"),
    ("relationship", "en-US", "so there are no relationships for you to rate"),
    ("kontakt erfassen", "de-DE", "und können daher keine Kontakte erfassen"),
    ("entscheidung erfassen", "de-DE", "und können daher keine Entscheidungen erfassen"),
    ("stakeholder hinzufügen", "de-DE", "und können daher keine Stakeholder hinzufügen"),
    ("plan prüfen", "de-DE", "es gibt also keinen Plan, den Sie prüfen könnten"),
    ("regeln", "de-DE", "es gibt also keine Kommunikationsregeln, die ich Ihnen zeigen könnte"),
    ("zeitleiste", "de-DE", "es gibt also keine Zeitleiste, die ich Ihnen zeigen könnte"),
    ("stakeholder", "de-DE", "es gibt also keine Stakeholder-Landkarte, die ich Ihnen zeigen könnte"),
    ("stakeholder bearbeiten", "de-DE", "es gibt also keine Stakeholder, die Sie ändern könnten"),
    ("beziehung", "de-DE", "es gibt also keine Beziehungen, die Sie bewerten könnten"),
]


@pytest.mark.parametrize(("typed", "locale", "says"), REFUSALS, ids=[r[0] for r in REFUSALS])
async def test_someone_on_no_team_hears_what_this_command_cannot_do_for_them(
    bot: RunningBot, typed: str, locale: str, says: str
) -> None:
    await bot.send(bot.teams.message(typed, user="lynne", locale=locale))
    answer = bot.connector.recorded[-1]
    text = answer.activity["text"]
    assert not answer.cards and says in text
    assert text.startswith(NOT_ON_A_TEAM_EN if locale == "en-US" else NOT_ON_A_TEAM_DE)
    others = {s for _, language, s in REFUSALS if language == locale and s != says}
    assert not [other for other in others if other in text], "one command's words, not another's"


def test_every_command_about_an_account_has_its_own_refusal() -> None:
    about_accounts = {route.key.removeprefix("command.") for route in COMMANDS if route.about_account}
    covered = {typed.replace(" ", "_") for typed, locale, _ in REFUSALS if locale == "en-US"}
    assert about_accounts == covered
