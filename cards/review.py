"""Plan review cards: starting one, the review as each person sees it, its summary, and "a review is due"."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from microsoft_teams.cards import (
    Action,
    CardElement,
    Choice,
    ChoiceSetInput,
    Container,
    DateInput,
    ExecuteAction,
    NumberInput,
    RefreshDefinition,
    SubmitAction,
    TextInput,
    ToggleInput,
)

from cards.acknowledge import REFRESH_USERS_MAX, VERB_VIEW
from cards.build import callout, card, clean, command_button, heading, plain, static
from cards.errors import MalformedSubmission
from cards.fit import NAME_WIDTH, first, names_text, shorten, to_tab
from cards.forms import FormState, action_data, execute_action, field_error, form_state, new_card_id, parse_date
from cards.i18n import Texts
from kam.models import ItemKind
from kam.plans import ItemStatus
from kam.reviews import COMMENT_MAX, ItemUpdate

VERB_START_REVIEW = "review.start"
VERB_UPDATE_REVIEW = "review.update"
VERB_REMIND_REVIEW = "review.remind"
VERB_CLOSE_REVIEW = "review.close"
# A plan has up to 200 objectives and actions (kam.plans.ITEMS_MAX): the card lists the first LINES_SHOWN,
# and an owner's inputs for OWN_SHOWN of theirs at a time, those not yet updated first; the Plan tab has all.
LINES_SHOWN = 12
OWN_SHOWN = 3
SUMMARY_SHOWN = 6  # entries of each part of the summary
COMMENT_SHOWN = 160  # characters of a comment in the summary; the plan keeps it whole


@dataclass(frozen=True)
class ReviewLine:
    item_id: str
    title: str
    owner: str
    owner_id: int
    status: str
    progress: int
    comment: str
    needs_decision: bool
    updated: bool


@dataclass(frozen=True)
class ReviewView:
    review_id: int
    account_id: int
    account_name: str
    started_by: str
    due_on: dt.date
    closed: bool
    lines: Sequence[ReviewLine]
    owners_done: Sequence[str]
    owners_waiting: Sequence[str]
    closed_by: str = ""  # empty when whoever closed it is no longer known
    closed_on: dt.date | None = None


def review_start_card(
    t: Texts,
    account_id: int,
    account_name: str,
    today: dt.date,
    state: FormState | None = None,
    card_id: str | None = None,
) -> dict[str, Any]:
    due = (state.values.get("due_on") if state else None) or (today + dt.timedelta(days=7)).isoformat()
    body: list[CardElement] = [
        heading(t("review.start.title", account=account_name)),
        static(t("review.start.body")),
        DateInput(
            id="due_on",
            label=t("review.start.due"),
            value=due,
            is_required=True,
            min=today.isoformat(),
            error_message=t("field.bad_date"),
        ),
        *(field_error(state, "due_on") if state else []),
    ]
    data = action_data(VERB_START_REVIEW, card_id or new_card_id(), today, account_id=account_id)
    return card(
        body,
        [execute_action(t("review.start.submit"), data)],
        fallback_text=t("review.start.title", account=account_name),
    )


def parse_due_on(t: Texts, value: Mapping[str, Any], today: dt.date) -> dt.date | FormState:
    state = form_state(value, ("due_on",))
    due = parse_date(t, state, "due_on", required=True)
    if due is not None and due < today:
        state.errors["due_on"] = t("review.start.past")
    return state if state.errors or due is None else due


def _status_choices(t: Texts) -> list[Choice]:
    return [Choice(title=t(f"tab.status.{s.value}"), value=s.value) for s in ItemStatus]


def _state(t: Texts, view: ReviewView) -> list[CardElement]:
    """Who has answered: while it runs, whom it waits for; once closed, who closed it and who never answered."""
    total = len(view.owners_done) + len(view.owners_waiting)
    progress = static(t("review.progress", done=len(view.owners_done), total=total), bold=True)
    if not view.closed:
        body: list[CardElement] = [
            plain(t("review.line", name=view.started_by, date=view.due_on.isoformat()), subtle=True),
            progress,
        ]
        if view.owners_waiting:
            body.append(plain(t("ack.waiting", names=names_text(t, view.owners_waiting))))
        return body
    on = view.closed_on.isoformat() if view.closed_on else ""
    closed = t("review.closed_by", name=view.closed_by, date=on) if view.closed_by else t("review.closed_on", date=on)
    body = [plain(closed, bold=True), progress]
    if view.owners_done:
        body.append(plain(t("review.answered", names=names_text(t, view.owners_done))))
    if view.owners_waiting:
        body.append(plain(t("review.silent", names=names_text(t, view.owners_waiting))))
    return body


def _own_item(t: Texts, line: ReviewLine) -> Container:
    return Container(
        separator=True,
        items=[
            plain(line.title, bold=True),
            ChoiceSetInput(
                id=f"status_{line.item_id}",
                label=t("tab.item.status"),
                style="compact",
                value=line.status,
                choices=_status_choices(t),
            ),
            NumberInput(
                id=f"progress_{line.item_id}", label=t("tab.item.progress"), min=0, max=100, value=line.progress
            ),
            TextInput(
                id=f"comment_{line.item_id}",
                label=t("tab.item.comment"),
                value=line.comment or None,
                max_length=COMMENT_MAX,
                is_multiline=True,
            ),
            ToggleInput(
                id=f"decision_{line.item_id}",
                title=t("review.needs_decision"),
                value="true" if line.needs_decision else "false",
                value_on="true",
                value_off="false",
            ),
        ],
    )


def _button(title: str, verb: str, data: dict[str, Any]) -> ExecuteAction:
    return ExecuteAction(title=title, verb=verb, data=data, fallback=SubmitAction(title=title, data=data))


def review_card(
    t: Texts,
    view: ReviewView,
    *,
    viewer_id: int | None,
    viewer_is_manager: bool,
    refresh_user_ids: Sequence[str],
    banner: str = "",
    plan_url: str | None = None,
) -> dict[str, Any]:
    """The review as one person sees it: everyone the progress; owners their inputs; the manager remind and close.

    `plan_url`: the account's Plan tab, linked when the card cannot list every item.
    """
    body: list[CardElement] = [heading(t("review.title", account=view.account_name))]
    if banner:
        body.append(callout(banner, "attention", bold=True))
    body += _state(t, view)
    lines, more_lines = first(view.lines, LINES_SHOWN)
    for line in lines:
        state = t(f"tab.status.{line.status}") + (" ✓" if line.updated else "")
        owner = shorten(line.owner, NAME_WIDTH)
        body.append(plain(t("review.item", title=line.title, owner=owner, status=state, progress=line.progress)))
    if more_lines:
        body.append(static(t("review.more", count=more_lines), subtle=True))
    # Not yet updated first: each update sent brings the owner's next items onto the card.
    mine = sorted((line for line in view.lines if line.owner_id == viewer_id), key=lambda line: line.updated)
    own = mine[:OWN_SHOWN]
    waiting = sum(not line.updated for line in mine[OWN_SHOWN:])
    data = {"review_id": view.review_id, "account_id": view.account_id}
    actions: list[Action] = []
    if not view.closed and own:
        body.append(static(t("review.yours"), bold=True))
        body += [_own_item(t, line) for line in own]
        if waiting:
            body.append(static(t("review.yours.more", count=waiting), subtle=True))
        actions.append(_button(t("review.send"), VERB_UPDATE_REVIEW, {"verb": VERB_UPDATE_REVIEW, **data}))
    if not view.closed and viewer_is_manager:
        actions.append(_button(t("review.remind"), VERB_REMIND_REVIEW, {"verb": VERB_REMIND_REVIEW, **data}))
        actions.append(_button(t("review.close"), VERB_CLOSE_REVIEW, {"verb": VERB_CLOSE_REVIEW, **data}))
    if more_lines:
        actions += to_tab(t, "plan", plan_url)
    refresh = None
    if refresh_user_ids and not view.closed:
        refresh_data = {
            "verb": VERB_VIEW,
            "item_kind": ItemKind.REVIEW.value,
            "item_id": view.review_id,
            "account_id": view.account_id,
        }
        refresh = RefreshDefinition(
            action=ExecuteAction(title=t("ack.refresh"), verb=VERB_VIEW, data=refresh_data),
            user_ids=list(refresh_user_ids)[:REFRESH_USERS_MAX],
        )
    return card(body, actions, fallback_text=t("review.title", account=view.account_name), refresh=refresh)


def parse_review_updates(value: Mapping[str, Any], item_ids: Sequence[str]) -> list[ItemUpdate]:
    """What an owner sent for their items; MalformedSubmission for anything our card cannot send."""
    updates = []
    for item_id in item_ids:
        if f"status_{item_id}" not in value:
            continue
        raw = {key: value.get(f"{key}_{item_id}") for key in ("status", "progress", "comment", "decision")}
        try:
            status = ItemStatus(str(raw["status"]))
            progress = int(str(raw["progress"] if raw["progress"] not in (None, "") else 0))
        except ValueError:
            raise MalformedSubmission() from None
        if raw["comment"] is not None and not isinstance(raw["comment"], str):
            raise MalformedSubmission()
        comment = clean(raw["comment"] or "")
        if not 0 <= progress <= 100 or len(comment) > COMMENT_MAX:
            raise MalformedSubmission()
        updates.append(ItemUpdate(item_id, status, progress, comment, raw["decision"] == "true"))
    return updates


def review_summary_card(
    t: Texts, account_name: str, version: int, summary: Mapping[str, Any], plan_url: str | None = None
) -> dict[str, Any]:
    """What the review found, part by part: the first entries of each, their comments begun; the plan version
    it saved (the Plan tab, `plan_url`) has every item with its whole comment."""
    body: list[CardElement] = [
        heading(t("review.summary.title", account=account_name)),
        static(t("review.summary.version", version=version), subtle=True),
    ]
    cut = False
    for part in ("changed", "late", "decisions", "silent"):
        entries, more = first(summary.get(part) or [], SUMMARY_SHOWN)
        body.append(static(t(f"review.summary.{part}", count=len(entries) + more), bold=True))
        for entry in entries:
            text = t(
                "review.item",
                title=entry["title"],
                owner=shorten(entry["owner"], NAME_WIDTH),
                status=t(f"tab.status.{entry['status']}"),
                progress=entry["progress"],
            )
            whole = " ".join(entry.get("comment", "").split())
            comment = shorten(whole, COMMENT_SHOWN)
            body.append(plain(text + (f" — {comment}" if comment else "")))
            cut = cut or comment != whole
        if more:
            body.append(static(t("review.summary.more", count=more), subtle=True))
            cut = True
    for part in ("opportunities", "lost"):
        body += _cell_lines(t, part, summary.get(part) or [])
        cut = cut or len(summary.get(part) or []) > SUMMARY_SHOWN
    actions = to_tab(t, "plan", plan_url) if cut else []
    return card(body, actions, fallback_text=t("review.summary.title", account=account_name))


def _cell_lines(t: Texts, part: str, entries: Sequence[Mapping[str, Any]]) -> list[CardElement]:
    """The whitespace cells that became an opportunity (or were lost) since the previous review, "row × column";
    nothing when there are none (an account without a grid is not told about it)."""
    if not entries:
        return []
    shown, more = first(entries, SUMMARY_SHOWN)
    lines: list[CardElement] = [static(t(f"review.summary.{part}", count=len(entries)), bold=True)]
    for entry in shown:
        names = {
            "row": shorten(entry["row"], NAME_WIDTH),
            "column": shorten(entry["column"], NAME_WIDTH),
            "status": t(f"tab.ws.status.{entry['status']}"),
        }
        potential = entry.get("potential")
        if potential is None:
            lines.append(plain(t("review.summary.cell_no_potential", **names)))
        else:
            lines.append(plain(t("review.summary.cell", **names, potential=f"{potential:,.0f}")))
    if more:
        lines.append(static(t("review.summary.more_cells", count=more), subtle=True))
    return lines


def review_due_card(t: Texts, account_name: str, last: str | None) -> dict[str, Any]:
    body: list[CardElement] = [
        heading(t("review.due.title", account=account_name)),
        static(t("review.due.last", date=last) if last else t("review.due.never")),
    ]
    command = f"{t('command.review_plan')} {account_name}"
    return card(
        body,
        [command_button(t("command.review_plan"), command)],
        fallback_text=t("review.due.title", account=account_name),
    )
