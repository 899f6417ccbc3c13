"""The Teams app package: rendered from configuration, checked by Microsoft's manifest validator offline."""

from __future__ import annotations

import datetime as dt
import io
import json
import string
import zipfile
from pathlib import Path

import pytest

from bot.admin.package import AppPackage, render_package, validate
from bot.handlers.message_action import LOG_AS_CONTACT
from bot.handlers.search import SEARCH_ACCOUNTS
from cards.feed import ACTIVITY_TYPES, acknowledge_text, members_missing_text, not_delivered_text, review_text
from cards.i18n import Texts
from deploy.manifest.draw_icons import color_icon
from kam.models import ItemKind
from tests.support.cli import kambot
from tests.support.harness import RunningBot
from tests.support.package import APP_ID, CONFIG, settings
from tests.support.teams import CONTOSO_CHANNEL


def placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def unpacked(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def rezipped(package: AppPackage, replace: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(package.zip_bytes())) as source, zipfile.ZipFile(buffer, "w") as target:
        for name in source.namelist():
            target.writestr(name, replace.get(name, source.read(name)))
    return buffer.getvalue()


def test_kambot_package_writes_a_package_that_passes_microsofts_validator(tmp_path: Path) -> None:
    out = tmp_path / "out" / "kambot.zip"
    result = kambot(
        "package", "--out", str(out), "--version", "1.4.0", env={**CONFIG, "PYTHONPATH": str(Path.cwd())}, cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    assert "passes Microsoft's manifest validation" in result.stderr
    files = unpacked(out)
    assert set(files) == {"manifest.json", "de.json", "color.png", "outline.png"}
    assert validate(out.read_bytes()) == []

    manifest = json.loads(files["manifest.json"])
    assert manifest["id"] == manifest["bots"][0]["botId"] == manifest["webApplicationInfo"]["id"] == APP_ID
    assert manifest["version"] == "1.4.0" and manifest["developer"]["name"] == "Contoso IT"
    assert manifest["developer"]["privacyUrl"] == "https://kambot.contoso.example/privacy"
    assert manifest["validDomains"] == ["kambot.contoso.example"]
    assert manifest["webApplicationInfo"]["resource"] == f"api://kambot.contoso.example/{APP_ID}"
    assert manifest["configurableTabs"][0]["configurationUrl"] == "https://kambot.contoso.example/tabs/config"
    assert sorted(manifest["bots"][0]["scopes"]) == ["groupChat", "personal", "team"]
    assert manifest["manifestVersion"] == "1.30", "the newest schema the bundled validator knows"
    personal = manifest["bots"][0]["commandLists"][0]
    assert personal["scopes"] == ["personal"] and len(personal["commands"]) == 12, "all the places schema 1.30 gives"
    assert [c["id"] for c in manifest["composeExtensions"][0]["commands"]] == [LOG_AS_CONTACT, SEARCH_ACCOUNTS]
    links = {"type": "link", "value": {"domains": ["kambot.contoso.example"]}}  # pasted kambot links unfurl
    assert manifest["composeExtensions"][0]["messageHandlers"] == [links]
    assert {p["name"] for p in manifest["authorization"]["permissions"]["resourceSpecific"]} == {
        "ChannelSettings.ReadWrite.Group",
        "Channel.Create.Group",
        "ChannelMember.ReadWrite.Group",
        "TeamMember.Read.Group",
        "TeamsTab.Read.Group",
        "TeamsTab.Create.Group",
        "TeamsAppInstallation.Read.Group",
        "TeamsActivity.Send.Group",
    }
    # Confidential accounts' shared channels: kambot is added to them, and the manifest opts in (schema 1.25+).
    assert manifest["supportsChannelFeatures"] == "tier1"
    assert manifest["name"] == {"short": "kambot", "full": "kambot – key account management"}
    german = json.loads(files["de.json"])
    assert german["name.full"] == "kambot – Key Account Management"
    assert german["bots[0].commandLists[0].commands[0].title"] == "kontakt erfassen"
    assert "bots[0].commandLists[0].commands[11].title" in german, "the twelfth command in German too"
    assert german["composeExtensions[0].commands[0].title"] == "Als Kundenkontakt erfassen"


async def test_every_command_the_package_lists_is_one_the_bot_answers_in_both_languages(bot: RunningBot) -> None:
    package = render_package(settings(), "1.0.0")
    for list_index, command_list in enumerate(package.manifest["bots"][0]["commandLists"]):
        where = "personal" if "personal" in command_list["scopes"] else CONTOSO_CHANNEL
        for index, command in enumerate(command_list["commands"]):
            german = package.languages["de.json"][f"bots[0].commandLists[{list_index}].commands[{index}].title"]
            for language, title in (("en-US", command["title"]), ("de-DE", german)):
                before = len(bot.connector.recorded)
                await bot.send(bot.teams.message(title, user="megan", where=where, locale=language))
                answers = bot.connector.recorded[before:]
                unknown = Texts(language)("error.unknown_command", text=title)
                assert answers, f"no answer to {title!r}"
                assert all(unknown not in json.dumps(a.activity, ensure_ascii=False) for a in answers), title


def test_the_app_is_named_as_the_configuration_says_in_each_language() -> None:
    package = render_package(settings(app_name_en="Contoso KAM", app_name_de="Contoso KAM-Assistent"), "1.0.0")
    assert package.manifest["name"] == {"short": "Contoso KAM", "full": "Contoso KAM – key account management"}
    german = package.languages["de.json"]
    assert (german["name.short"], german["name.full"]) == (
        "Contoso KAM-Assistent",
        "Contoso KAM-Assistent – Key Account Management",
    )
    assert validate(package.zip_bytes()) == []


def test_a_broken_manifest_is_refused_by_the_validator_with_the_reason() -> None:
    package = render_package(settings(), "1.0.0")
    broken = json.loads(json.dumps(package.manifest))
    del broken["name"]
    broken["bots"][0]["scopes"].append("everywhere")
    problems = validate(AppPackage(broken, package.languages).zip_bytes())
    assert any("must have required property 'name'" in p for p in problems)
    assert any("/bots/0/scopes/3" in p and "allowed values" in p for p in problems)

    german = dict(package.languages["de.json"]) | {"name.short": "kambot für Key Account Management in Teams"}
    assert any(
        "de.json: /name.short must NOT have more than 30 characters" in p
        for p in validate(AppPackage(package.manifest, {"de.json": german}).zip_bytes())
    )


def test_icons_of_the_wrong_size_or_without_transparency_are_refused() -> None:
    package = render_package(settings(), "1.0.0")
    problems = validate(rezipped(package, {"color.png": color_icon(96), "outline.png": color_icon(32)}))
    assert "icons.color: color.png must be a 192×192 PNG, it is (96, 96)" in problems
    assert "icons.outline: outline.png must have a transparent background" in problems


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"KAMBOT_APP_ID": "kambot"}, "KAMBOT_APP_ID must be the bot's app registration id (a GUID)"),
        ({"KAMBOT_PUBLIC_BASE_URL": "http://localhost:3978"}, "KAMBOT_PUBLIC_BASE_URL must be the bot's public https"),
    ],
)
def test_a_configuration_that_cannot_make_a_package_is_named_and_nothing_is_written(
    tmp_path: Path, changes: dict[str, str], message: str
) -> None:
    out = tmp_path / "kambot.zip"
    env = {**CONFIG, **changes, "PYTHONPATH": str(Path.cwd())}
    result = kambot("package", "--out", str(out), env=env, cwd=tmp_path)
    assert result.returncode == 1 and message in result.stderr and "Traceback" not in result.stderr
    assert not out.exists()
    assert (
        kambot(
            "package",
            "--out",
            str(out),
            "--version",
            "1.0",
            env={**CONFIG, "PYTHONPATH": str(Path.cwd())},
            cwd=tmp_path,
        ).returncode
        == 1
    )


def test_a_bot_on_a_managed_identity_signs_its_tabs_in_with_its_own_app_registration() -> None:
    sso = "0a1b2c3d-0000-4000-8000-00000000abcd"
    manifest = render_package(settings(app_type="UserAssignedMSI", tab_sso_client_id=sso), "1.0.0").manifest
    assert manifest["bots"][0]["botId"] == APP_ID
    assert manifest["webApplicationInfo"] == {"id": sso, "resource": f"api://kambot.contoso.example/{sso}"}


def test_the_package_declares_the_activity_types_kambot_sends_with_their_words_in_both_languages() -> None:
    package = render_package(settings(), "1.0.0")
    declared = package.manifest["activities"]["activityTypes"]
    assert [a["type"] for a in declared] == list(ACTIVITY_TYPES), "each type kambot sends, and no other"
    german = package.languages["de.json"]
    t = Texts("en")
    sent = {
        "acknowledgeRequested": acknowledge_text(t, "A", ItemKind.DECISION, (), reminder=False),
        "acknowledgeReminder": acknowledge_text(t, "A", ItemKind.CONTACT, (), reminder=True),
        "reviewRequested": review_text(t, "A", dt.date(2027, 1, 1), reminder=False),
        "reviewReminder": review_text(t, "A", dt.date(2027, 1, 1), reminder=True),
        "messageNotDelivered": not_delivered_text(t, "A"),
        "membersMissing": members_missing_text(t, "A", 2),
    }
    for index, activity in enumerate(declared):
        template, in_german = activity["templateText"], german[f"activities.activityTypes[{index}].templateText"]
        assert template.startswith("{actor}") and "{{" not in template, "Teams puts the app's name in {actor}"
        values = {name for name, _ in sent[activity["type"]].parameters}
        assert placeholders(template) == placeholders(in_german) == values | {"actor"}, activity["type"]
        assert german[f"activities.activityTypes[{index}].description"] != activity["description"]
    assert validate(package.zip_bytes()) == []

    # Microsoft's validator holds the manifest's limits: a template over 128 characters is refused.
    too_long = json.loads(json.dumps(package.manifest))
    too_long["activities"]["activityTypes"][0]["templateText"] = "{actor} " + "x" * 130
    problems = validate(AppPackage(too_long, package.languages).zip_bytes())
    assert any("/activities/activityTypes/0/templateText must NOT have more than 128 characters" in p for p in problems)
