"""The tables and rules the bot runs by, checked without a database or a network."""

from __future__ import annotations

import ast
import datetime as dt
from pathlib import Path

import pytest

from bot.links import account_link, linked_account_id
from bot.outbox.address import Address, OpenChat
from bot.outbox.render import RENDERERS, Rendered
from bot.outbox.sender import Claimed, Job
from bot.requests import account_id_of
from bot.routes import COMMANDS, INVOKE_ROUTES, VERB_INVOKES, VERB_ROUTES, command_for
from bot.teams.envelope import NotAnActivity, read_activity
from bot.teams.handler import INVOKES
from bot.turn import argument_of, client_today, strip_mentions, typed_text
from cards.errors import MalformedSubmission, StaleCard
from cards.forms import read_meta
from kam.access import Act, Audience, Place, Principal, Subject, audience_of, is_allowed, may_see_details
from kam.models import Account, AccountMember, ItemKind, Person, Role
from kam.outbox import OutboxKind

TODAY = dt.date(2026, 12, 3)
ROOT = Path(__file__).resolve().parents[2]


def test_every_outbox_kind_has_exactly_one_renderer() -> None:
    assert set(RENDERERS) == set(OutboxKind)


def test_every_verb_and_command_is_routed_once_and_every_invoke_has_an_answer() -> None:
    verbs = [route.verb for route in VERB_ROUTES]
    assert len(verbs) == len(set(verbs))
    assert len({route.key for route in COMMANDS}) == len(COMMANDS)
    assert set(INVOKES) == {route.name for route in INVOKE_ROUTES} | set(VERB_INVOKES), "each invoke has its policy"
    assert command_for("log contact") is not None and command_for("kontakt erfassen") is not None
    assert command_for("log contactx") is None


def test_one_conversations_rows_share_a_lane_and_other_conversations_do_not() -> None:
    channel = Address("https://smba", "19:channel", "tenant", "bot", "channel")
    chat = OpenChat(7, "29:member", "https://smba", "tenant", "bot")

    def job(row: int, destination: Address | OpenChat) -> Job:
        return Job(Claimed(row, "lease"), 0, Rendered(destination, {}))

    assert job(1, channel).lane == job(2, channel).lane
    assert job(3, chat).lane == job(4, chat).lane != job(1, channel).lane
    assert Job(Claimed(5, "lease"), 0).lane != Job(Claimed(6, "lease"), 0).lane


@pytest.mark.parametrize(
    "raw", [b"", b"[]", b"not json", b'{"type": 7}', b'{"type": "message", "serviceUrl": "file:///etc"}', b"\xff\xfe"]
)
def test_what_cannot_be_an_activity_is_refused_with_a_reason(raw: bytes) -> None:
    with pytest.raises(NotAnActivity) as refused:
        read_activity(raw)
    assert str(refused.value)


@pytest.mark.parametrize("raw", [True, 0, -3, 2**31, "12a", " 1234567890", None, [], {"id": 1}])
def test_an_account_id_from_a_card_is_a_positive_32_bit_number_or_nothing(raw: object) -> None:
    assert account_id_of({"account_id": raw}) is None


def test_account_ids_as_cards_and_pickers_send_them() -> None:
    assert account_id_of({"account_id": 42}) == 42
    assert account_id_of({"account_id": " 42 "}) == 42


def test_a_pasted_link_names_an_account_only_under_the_public_base_url_and_on_one_of_kambots_paths() -> None:
    base = "https://kam.contoso.example/kambot/"
    assert linked_account_id(account_link(base, 7), base) == 7
    assert linked_account_id("https://kam.contoso.example/kambot/accounts/12", base) == 12
    assert linked_account_id("https://KAM.contoso.example:443/kambot/tabs/stakeholders?account=12#token=x", base) == 12
    for elsewhere in (
        "https://kam.contoso.example/accounts/12",
        "https://kam.contoso.example/kambotx/accounts/12",
        "https://kam.contoso.example/kambot/../accounts/12",
        "http://kam.contoso.example/kambot/accounts/12",
        "https://kam.contoso.example:8443/kambot/accounts/12",
        "https://kam.contoso.example.evil.example/kambot/accounts/12",
        "https://kam.contoso.example/kambot/tabs/plan?account=12 ",
        "https://kam.contoso.example/kambot/tabs/plan?Account=12",
    ):
        assert linked_account_id(elsewhere, base) is None, elsewhere
    assert linked_account_id("https:///accounts/1", "https://") is None, "a base URL without a host matches nothing"


def test_typed_text_drops_mentions_and_folds_white_space() -> None:
    assert typed_text("<at>kambot</at>  log\n contact ") == "log contact"
    assert typed_text(None) == ""
    assert strip_mentions("<at>" * 10_000 + "x") == "<at>" * 10_000 + "x"  # linear, and nothing lost
    assert argument_of("timeline contoso pharma", "command.timeline") == "contoso pharma"
    assert argument_of("timelinecontoso", "command.timeline") is None


def test_a_client_clock_more_than_a_day_off_is_not_believed() -> None:
    now = dt.datetime(2026, 12, 3, 12, tzinfo=dt.UTC)
    assert client_today(dt.datetime(2026, 12, 3, 23, 30, tzinfo=dt.timezone(dt.timedelta(hours=-11))), now) == TODAY
    assert client_today(dt.datetime(2031, 1, 1, tzinfo=dt.UTC), now) == TODAY
    assert client_today("yesterday", now) == TODAY


def test_a_form_is_ours_of_this_version_and_not_too_old() -> None:
    fresh = {"verb": "contact.save", "v": 1, "card_id": "a" * 32, "issued": TODAY.isoformat()}
    assert read_meta(fresh, today=TODAY, max_age_days=14).card_id == "a" * 32
    with pytest.raises(StaleCard):
        read_meta(fresh | {"issued": (TODAY - dt.timedelta(days=15)).isoformat()}, today=TODAY, max_age_days=14)
    with pytest.raises(StaleCard):
        read_meta(fresh | {"v": 0}, today=TODAY, max_age_days=None)
    for broken in ("x", {"v": 1}, fresh | {"issued": "soon"}):
        with pytest.raises(MalformedSubmission):
            read_meta(broken, today=TODAY, max_age_days=14)


def _team() -> tuple[Account, Person, Person, Person]:
    manager, member, stranger = Person(id=1, name="M"), Person(id=2, name="A"), Person(id=3, name="S")
    account = Account(id=10, name="Contoso")
    account.members = [
        AccountMember(person_id=1, person=manager, role=Role.MANAGER),
        AccountMember(person_id=2, person=member, role=Role.MEMBER),
    ]
    return account, manager, member, stranger


def test_the_team_decides_and_another_accounts_channel_is_no_place_for_this_one() -> None:
    account, manager, member, stranger = _team()
    subject = Subject(account=account)
    assert is_allowed(Principal(member), Act.LOG, subject)
    assert not is_allowed(Principal(stranger), Act.VIEW, subject)
    assert not is_allowed(Principal(stranger, is_admin=True), Act.VIEW, subject), "admins are no team members"
    assert not is_allowed(Principal(member), Act.MANAGE, subject) and is_allowed(
        Principal(manager), Act.MANAGE, subject
    )
    elsewhere = Place(Audience.SHARED, channel_account_id=11)
    assert not is_allowed(Principal(manager), Act.VIEW, subject, elsewhere)
    assert is_allowed(Principal(None), Act.USE)
    assert is_allowed(Principal(None, is_admin=True), Act.PROVISION) and not is_allowed(
        Principal(manager), Act.PROVISION
    )


def test_a_confidential_contacts_details_stay_with_insiders_and_managers_in_a_private_chat() -> None:
    account, manager, member, stranger = _team()
    secret = Subject(account=account, item_kind=ItemKind.CONTACT, confidential=True, insider_ids=frozenset({3}))
    assert may_see_details(Principal(manager), secret, Audience.PRIVATE)
    assert not may_see_details(Principal(member), secret, Audience.PRIVATE)
    assert may_see_details(Principal(stranger), secret, Audience.PRIVATE)
    assert not may_see_details(Principal(manager), secret, Audience.SHARED), "a channel reads along"
    assert audience_of("personal") == Audience.PRIVATE
    assert {audience_of(kind) for kind in ("channel", "groupChat", None, "meeting")} == {Audience.SHARED}


def _imports(folder: str) -> dict[str, set[str]]:
    """Each module of a room and the top packages (and kambot rooms) it imports."""
    found: dict[str, set[str]] = {}
    for path in (ROOT / folder).rglob("*.py"):
        names: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                names.add(node.module.split(".")[0])
        found[str(path.relative_to(ROOT))] = names
    return found


def test_the_framework_stays_behind_its_wall_and_the_rooms_import_downwards() -> None:
    framework = {"botbuilder", "botframework", "msrest"}
    outside = {m for m, names in _imports("bot").items() if names & framework and not m.startswith("bot/teams/")}
    assert outside == set(), "only bot/teams/ speaks the Bot Framework"
    for room in ("kam", "cards", "bot"):
        assert not {m for m, names in _imports(room).items() if names & {"msgraph", "msgraph_core"}}, room
    assert not {m for m, names in _imports("kam").items() if names & {"bot", "cards", "graph"}}
    assert not {m for m, names in [*_imports("cards").items(), *_imports("graph").items()] if "bot" in names}
