"""German and English: every string in both, chosen by the activity's locale."""

from __future__ import annotations

import json
import string
from pathlib import Path

from cards.i18n import Texts, in_every_language
from tests.support.flows import action_data, choice_value, invoke_card, last_card, texts_in
from tests.support.harness import RunningBot

LOCALES = Path(__file__).resolve().parents[2] / "cards" / "locales"


def placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_every_language_has_every_string_with_the_same_placeholders() -> None:
    english = json.loads((LOCALES / "en.json").read_text(encoding="utf-8"))
    for path in LOCALES.glob("*.json"):
        other = json.loads(path.read_text(encoding="utf-8"))
        assert other.keys() == english.keys(), path.name
        for key, text in english.items():
            assert placeholders(other[key]) == placeholders(text), (path.name, key)


def test_the_locale_picks_the_language_and_unknown_ones_fall_back_to_english() -> None:
    assert Texts("de-AT")("pick.continue") == "Weiter"
    assert Texts("fr-FR")("pick.continue") == "Continue"
    assert Texts(None)("pick.continue") == "Continue"
    assert {"help", "hilfe", "?"} <= in_every_language("command.help")


async def test_a_german_user_logs_a_contact_in_german(bot: RunningBot) -> None:
    await bot.send(bot.teams.message("Kontakt erfassen", locale="de-DE"))
    picker, message_id = last_card(bot.connector, "a:personal-alex")
    assert "Für welchen Key Account?" in texts_in(picker)

    data = action_data(picker) | {"account_id": choice_value(picker, "account_id", "Contoso Pharma")}
    activity = bot.teams.execute(data, reply_to=message_id)
    activity["locale"] = "de-DE"
    form = invoke_card(await bot.send(activity))
    assert "Kundenkontakt erfassen: Contoso Pharma" in texts_in(form) and "Nächste Schritte" in texts_in(form)

    activity = bot.teams.execute(action_data(form) | {"summary": "", "customer_people": "Frau Berger"})
    activity["locale"] = "de-DE"
    again = invoke_card(await bot.send(activity))
    assert "Dieses Feld ist erforderlich." in texts_in(again) and "Frau Berger" in texts_in(again)

    await bot.send(bot.teams.message("Pizza bestellen", locale="de-DE"))
    said = bot.connector.in_conversation("a:personal-alex")[-1].activity["text"]
    assert '"Pizza bestellen" kenne ich nicht' in said and '"hilfe"' in said
