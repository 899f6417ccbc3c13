"""The stakeholder model over HTTP: the form's new fields, editing a customer person, and hand-set relationship
strengths, with every refusal losing nothing."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from kam.models import Person, RelationshipStrength, Stakeholder, StakeholderInfluence
from tests.support.cards_judge import assert_valid_cards
from tests.support.flows import (
    action_data,
    as_submitted,
    choice_value,
    form_from_channel,
    inputs_of,
    invoke_card,
    invoke_message,
    last_card,
    texts_in,
)
from tests.support.harness import RunningBot
from tests.support.teams import CONTOSO_CHANNEL

MISSING = 999_999
OFFERED_ONLY = "Choose one of the offered options."
REFUSED = "not available to you"


async def ids(bot: RunningBot, model: type[Any], *names: str) -> list[int]:
    async with bot.db.transaction() as session:
        found = {row.name: row.id for row in await session.scalars(select(model).where(model.name.in_(names)))}
    return [found[name] for name in names]


async def people_table(bot: RunningBot) -> list[tuple[Any, ...]]:
    """Every customer person with every field, and who influences whom: what a refusal must leave as it was."""
    async with bot.db.transaction() as session:
        people = await session.scalars(select(Stakeholder).order_by(Stakeholder.id))
        rows = [
            (s.id, s.account_id, s.name, s.email, s.title, s.level, s.buying_role, s.attitude, s.decision_power)
            + (s.inner_circle, s.reports_to_id, s.owner_id)
            for s in people
        ]
        ties = await session.execute(select(StakeholderInfluence.influencer_id, StakeholderInfluence.influenced_id))
        return rows + sorted(tuple(t) for t in ties)


async def edit_form(bot: RunningBot, name: str, user: str = "alex") -> dict[str, Any]:
    await bot.send(bot.teams.message(f"edit stakeholder {name}", user=user))
    form, _ = last_card(bot.connector, f"a:personal-{user}")
    return form


async def submit(bot: RunningBot, form: dict[str, Any], user: str = "alex", **changes: str) -> Any:
    return await bot.send(bot.teams.execute(as_submitted(form, changes), user=user))


async def test_a_stakeholder_is_added_with_the_whole_model_and_edited_in_the_same_form(bot_on_both: RunningBot) -> None:
    bot = bot_on_both
    form = await form_from_channel(bot, "add stakeholder")
    hanna, tom = await ids(bot, Stakeholder, "Dr. Hanna Berger", "Tom Richter")
    assert choice_value(form, "reports_to", "Dr. Hanna Berger") == str(hanna)
    data = action_data(form) | {
        "name": "Dr. Eva Klein",
        "email": "Eva.Klein@Contoso.example",
        "title": "CFO",
        "level": "executive",
        "buying_role": "economic_buyer",
        "attitude": "mentor",
        "decision_power": "high",
        "inner_circle": "true",
        "reports_to": str(hanna),
        "influences": f"{hanna},{tom}",
    }
    wrong = invoke_card(await bot.send(bot.teams.execute(data | {"email": "eva@contoso"})))
    assert "Enter an e-mail address like name@company.com." in texts_in(wrong)
    assert inputs_of(wrong)["name"]["value"] == "Dr. Eva Klein", "what was typed stays"
    added = invoke_card(await bot.send(bot.teams.execute(data)))
    assert "Stakeholder added: Contoso Pharma" in texts_in(added)
    async with bot.db.transaction() as session:
        eva = await session.scalar(select(Stakeholder).where(Stakeholder.name == "Dr. Eva Klein"))
        assert eva is not None
        assert (eva.email, eva.decision_power, eva.inner_circle, eva.reports_to_id) == (
            "eva.klein@contoso.example",
            "high",
            True,
            hanna,
        )
        assert (eva.buying_role, eva.attitude, eva.level) == ("economic_buyer", "mentor", "executive")
        swayed = await session.scalars(
            select(StakeholderInfluence.influenced_id).where(StakeholderInfluence.influencer_id == eva.id)
        )
        assert sorted(swayed) == sorted([hanna, tom])

    edit = await edit_form(bot, "eva")
    inputs = inputs_of(edit)
    assert "Edit stakeholder: Contoso Pharma" in texts_in(edit)
    assert inputs["email"]["value"] == "eva.klein@contoso.example" and inputs["reports_to"]["value"] == str(hanna)
    assert inputs["influences"]["value"] == ",".join(str(i) for i in sorted([hanna, tom]))
    assert inputs["inner_circle"]["value"] == "true" and inputs["decision_power"]["value"] == "high"
    assert "Dr. Eva Klein" not in {c["title"] for c in inputs["reports_to"]["choices"]}, "not her own boss"
    saved = invoke_card(
        await submit(bot, edit, title="Chief Financial Officer", influences=str(tom), inner_circle="false")
    )
    assert "Stakeholder saved: Contoso Pharma" in texts_in(saved)
    async with bot.db.transaction() as session:
        eva = await session.get(Stakeholder, eva.id)
        assert eva is not None and eva.title == "Chief Financial Officer" and eva.inner_circle is False
        assert eva.reports_to_id == hanna and eva.email == "eva.klein@contoso.example", "the rest as it was"
        swayed = await session.scalars(
            select(StakeholderInfluence.influenced_id).where(StakeholderInfluence.influencer_id == eva.id)
        )
        assert list(swayed) == [tom]
    assert_valid_cards([form, wrong, added, edit, saved])


async def test_an_edit_that_would_break_the_model_is_refused_under_its_field_and_loses_nothing(bot: RunningBot) -> None:
    hanna, tom = await ids(bot, Stakeholder, "Dr. Hanna Berger", "Tom Richter")
    (maria,) = await ids(bot, Stakeholder, "Maria Lopez")  # Fabrikam's: Alex manages that account too
    async with bot.db.transaction() as session:
        tom_row = await session.get(Stakeholder, tom)
        assert tom_row is not None
        tom_row.reports_to_id, tom_row.email = hanna, "tom@contoso.example"
    before = await people_table(bot)

    hanna_form = await edit_form(bot, "hanna")
    cases = [
        ({"reports_to": str(tom)}, "circle in the org chart"),  # Tom reports to Hanna: Hanna → Tom → Hanna
        ({"reports_to": str(hanna)}, "circle in the org chart"),  # herself
        ({"reports_to": str(maria)}, OFFERED_ONLY),  # of another account: not said to exist
        ({"reports_to": str(MISSING)}, OFFERED_ONLY),  # of nobody: the same words
        ({"influences": f"{tom},{maria}"}, OFFERED_ONLY),
        ({"influences": str(MISSING)}, OFFERED_ONLY),
        ({"name": "tom  richter"}, "stakeholder of that name already"),
        ({"email": "TOM@contoso.example"}, "Another stakeholder of this account has this e-mail address."),
        ({"email": "hanna at contoso"}, "Enter an e-mail address like name@company.com."),
        ({"name": ""}, "This field is required."),
    ]
    shown = []
    for changes, message in cases:
        card = invoke_card(await submit(bot, hanna_form, title="Changed?", **changes))
        text = texts_in(card)
        assert message in text, (changes, text)
        assert "Maria" not in text and "Fabrikam" not in text
        assert inputs_of(card)["title"]["value"] == "Changed?", "the input is kept"
        shown.append(card)
    assert await people_table(bot) == before

    forged = bot.reseal(as_submitted(hanna_form, {"stakeholder_id": maria, "name": "Taken over"}), "alex")
    refused = invoke_message(await bot.send(bot.teams.execute(forged)))
    missing = bot.reseal(as_submitted(hanna_form, {"stakeholder_id": MISSING, "name": "Taken over"}), "alex")
    assert invoke_message(await bot.send(bot.teams.execute(missing))) == refused
    assert REFUSED in refused and "Fabrikam" not in refused and "Maria" not in refused
    outsider = bot.reseal(as_submitted(hanna_form, {"name": "Taken over"}), "isaiah")  # Fabrikam's member
    assert invoke_message(await bot.send(bot.teams.execute(outsider, user="isaiah"))) == refused
    assert await people_table(bot) == before
    assert_valid_cards([hanna_form, *shown])


async def test_editing_is_asked_by_name_in_the_1_1_chat(bot: RunningBot) -> None:
    await bot.send(bot.teams.message("edit stakeholder", user="alex"))
    said = bot.connector.in_conversation("a:personal-alex")[-1].activity["text"]
    assert 'Type "edit stakeholder" and their name.' in said
    await bot.send(bot.teams.message("edit stakeholder nobody here"))
    said = bot.connector.in_conversation("a:personal-alex")[-1].activity["text"]
    assert 'No stakeholder on your accounts is called "nobody here".' in said
    await bot.send(bot.teams.message("edit stakeholder r"))  # Hanna Berger, Tom Richter, Maria Lopez
    said = bot.connector.in_conversation("a:personal-alex")[-1].activity["text"]
    assert "Several stakeholders fit" in said and "Tom Richter (Contoso Pharma)" in said
    await bot.send(bot.teams.message("edit stakeholder hanna", where=CONTOSO_CHANNEL))
    said = bot.connector.in_conversation(CONTOSO_CHANNEL)[-1].activity["text"]
    assert "in your 1:1 chat with me" in said
    await bot.send(bot.teams.message("stakeholder bearbeiten maria", locale="de-DE"))
    form, _ = last_card(bot.connector, "a:personal-alex")
    assert "Stakeholder bearbeiten: Fabrikam Logistics" in texts_in(form)
    assert inputs_of(form)["name"]["value"] == "Maria Lopez"


async def strengths(bot: RunningBot) -> dict[tuple[str, str], tuple[int, str | None]]:
    async with bot.db.transaction() as session:
        names = {p.id: p.name for p in await session.scalars(select(Person))}
        people = {s.id: s.name for s in await session.scalars(select(Stakeholder))}
        rows = await session.scalars(select(RelationshipStrength))
        return {(people[r.stakeholder_id], names[r.person_id]): (r.strength, names.get(r.set_by_id)) for r in rows}  # type: ignore[arg-type]


async def strength_card(bot: RunningBot, user: str, name: str = "hanna") -> dict[str, Any]:
    await bot.send(bot.teams.message(f"relationship {name}", user=user))
    card, _ = last_card(bot.connector, f"a:personal-{user}")
    return card


async def test_members_set_their_own_relationship_strength_and_ka_managers_anyones(bot: RunningBot) -> None:
    adele, alex, isaiah = await ids(bot, Person, "Adele Vance", "Alex Wilber", "Isaiah Langer")
    (maria,) = await ids(bot, Stakeholder, "Maria Lopez")
    mine = await strength_card(bot, "alex")
    assert "Relationship with Dr. Hanna Berger (Contoso Pharma)" in texts_in(mine)
    assert [c["title"] for c in inputs_of(mine)["person"]["choices"]] == ["Alex Wilber"], "a member: their own"
    assert inputs_of(mine)["strength"]["value"] == "computed"
    saved = invoke_card(await bot.send(bot.teams.execute(as_submitted(mine, {"strength": "strong"}))))
    assert "Relationship saved: Dr. Hanna Berger" in texts_in(saved) and "Alex Wilber: Strong" in texts_in(saved)
    assert await strengths(bot) == {("Dr. Hanna Berger", "Alex Wilber"): (90, "Alex Wilber")}
    assert inputs_of(await strength_card(bot, "alex"))["strength"]["value"] == "strong", "shown as set"

    before = await strengths(bot)
    for_adele = bot.reseal(as_submitted(mine, {"person": str(adele), "strength": "weak"}), "alex")
    said = invoke_message(await bot.send(bot.teams.execute(for_adele)))
    assert "Only the KA managers may set the strength of someone else's relationship" in said
    odd = invoke_message(await bot.send(bot.teams.execute(as_submitted(mine, {"strength": "enormous"}))))
    assert "couldn't read what this card sent" in odd
    assert await strengths(bot) == before

    theirs = await strength_card(bot, "megan")
    team = {c["title"] for c in inputs_of(theirs)["person"]["choices"]}
    assert {"Megan Bowen", "Alex Wilber", "Adele Vance", "Patti Fernandez"} <= team, "a KA manager: the team"
    for person, strength in ((adele, "weak"), (alex, "computed")):
        value = as_submitted(theirs, {"person": str(person), "strength": strength})
        invoke_card(await bot.send(bot.teams.execute(value, user="megan")))
    assert await strengths(bot) == {("Dr. Hanna Berger", "Adele Vance"): (30, "Megan Bowen")}

    before = await strengths(bot)
    not_on_team = as_submitted(theirs, {"person": str(isaiah), "strength": "none"})
    said = invoke_message(await bot.send(bot.teams.execute(bot.reseal(not_on_team, "megan"), user="megan")))
    assert REFUSED in said
    crossed = as_submitted(theirs, {"stakeholder_id": maria, "strength": "none"})
    said = invoke_message(await bot.send(bot.teams.execute(bot.reseal(crossed, "megan"), user="megan")))
    assert REFUSED in said and "Fabrikam" not in said
    assert await strengths(bot) == before
    assert_valid_cards([mine, saved, theirs])
