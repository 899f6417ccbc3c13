"""Key account list review cards: a KA manager's comments on their accounts' proposals, the head of KAM's one card
of decisions, "a list review is due"; and the score and candidate forms (kam.selection, kam.candidates)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from microsoft_teams.cards import ActionSet, CardElement, Choice, ChoiceSetInput, Container, NumberInput, TextInput

from cards.build import callout, card, command_button, heading, plain, static
from cards.errors import MalformedSubmission
from cards.fit import first, shorten
from cards.forms import FormState, action_data, execute_action, field_error, form_state, new_card_id
from cards.i18n import Texts
from kam.list_reviews import COMMENT_MAX, ENTER, EXIT, TIER, Decision
from kam.models import CandidateKind, Tier
from kam.selection import Criterion, Selection, clean_scores

VERB_COMMENT_LIST_REVIEW = "listreview.comment"
VERB_DECIDE_LIST_REVIEW = "listreview.decide"
VERB_SAVE_SCORES = "score.save"
VERB_SAVE_CANDIDATE = "candidate.save"
# A card holds about 80 KB (cards/fit.py): the head of KAM's card shows PROPOSALS_SHOWN open proposals at a time
# (decided ones make room for the next), each comment in COMMENT_SHOWN characters (the review keeps it whole);
# a KA manager's card COMMENTS_SHOWN of their accounts' proposals.
PROPOSALS_SHOWN = 10
COMMENTS_SHOWN = 8
COMMENT_SHOWN = 160
NOTES_MAX = 2000
NAME_MAX = 200
FIGURE_KEYS = ("acknowledged_within_24h", "decision_makers_met_90d", "actions_late", "revenue")


@dataclass(frozen=True)
class ProposalLine:
    proposal_id: int
    account_id: int | None
    name: str  # the account's, or the candidate's
    proposal: str  # enter, exit, tier
    tier_now: Tier | None
    tier: Tier | None
    score: float | None
    figures: Mapping[str, float | None]
    comment: str = ""
    commented_by: str = ""
    decision: str | None = None


def tier_name(t: Texts, tier: Tier | None) -> str:
    return t(f"tier.{tier.value}") if tier is not None else "—"


def _figure(t: Texts, key: str, value: float | None) -> str:
    if value is None:
        return t(f"listreview.figure.{key}", value="—")
    if key in ("acknowledged_within_24h", "decision_makers_met_90d"):
        return t(f"listreview.figure.{key}", value=f"{value:.0%}")
    return t(f"listreview.figure.{key}", value=f"{value:,.0f}")


def proposal_text(t: Texts, line: ProposalLine) -> str:
    score = f"{line.score:.2f}" if line.score is not None else "—"
    if line.proposal == EXIT:
        return t("listreview.proposal.exit", score=score, tier=tier_name(t, line.tier_now))
    if line.proposal == TIER:
        return t("listreview.proposal.tier", score=score, old=tier_name(t, line.tier_now), new=tier_name(t, line.tier))
    return t("listreview.proposal.enter", score=score, tier=tier_name(t, line.tier))


def _line(t: Texts, line: ProposalLine) -> list[CardElement]:
    items: list[CardElement] = [plain(line.name, bold=True), static(proposal_text(t, line))]
    figures = [_figure(t, k, line.figures[k]) for k in FIGURE_KEYS if k in line.figures]
    if figures:
        items.append(static(" · ".join(figures), subtle=True))
    return items


def comment_card(
    t: Texts, review_id: int, comments_by: dt.date, lines: Sequence[ProposalLine], today: dt.date, saved: str = ""
) -> dict[str, Any]:
    """A KA manager's proposals: each with a comment field and its own button (each names its proposal and account,
    which the router looks up: kam.list_reviews.locked_proposal)."""
    card_id = new_card_id()
    shown, more = first(list(lines), COMMENTS_SHOWN)
    body: list[CardElement] = [
        heading(t("listreview.comment.title")),
        static(t("listreview.comment.body", date=comments_by.isoformat())),
    ]
    if saved:
        body.append(callout(t("listreview.comment.saved", name=saved), "good"))
    for line in shown:
        assert line.account_id is not None, "KA managers comment on their accounts' proposals"
        body.append(Container(separator=True, items=_line(t, line)))
        body.append(
            TextInput(
                id=f"comment_{line.proposal_id}",
                label=t("listreview.comment.label", name=shorten(line.name, 60)),
                is_multiline=True,
                max_length=COMMENT_MAX,
                value=line.comment or None,
            )
        )
        data = action_data(
            VERB_COMMENT_LIST_REVIEW, card_id, today, account_id=line.account_id, proposal_id=line.proposal_id
        )
        body.append(ActionSet(actions=[execute_action(t("listreview.comment.send"), data)]))
    if more:
        body.append(static(t("listreview.comment.more", count=more), subtle=True))
    if not shown:
        body.append(static(t("listreview.comment.none")))
    return card(body, fallback_text=t("listreview.comment.title"))


def parse_comment(value: Mapping[str, Any], proposal_id: int) -> str:
    state = form_state(value, (f"comment_{proposal_id}",))
    return state.values.get(f"comment_{proposal_id}", "")[:COMMENT_MAX]


def _tier_choices(t: Texts) -> list[Choice]:
    return [Choice(title=t(f"tier.{tier.value}"), value=tier.value) for tier in Tier]


def decide_card(
    t: Texts,
    review_id: int,
    lines: Sequence[ProposalLine],
    today: dt.date,
    state: FormState | None = None,
    card_id: str | None = None,
    done: str = "",
) -> dict[str, Any]:
    """The head of KAM's one card: every open proposal (the first PROPOSALS_SHOWN), the KA managers' comments,
    accept or reject each; for an entry its tier and KA manager, for a tier change the tier."""
    state = state or FormState()
    open_lines = [line for line in lines if line.decision is None]
    shown, more = first(open_lines, PROPOSALS_SHOWN)
    decided = len(lines) - len(open_lines)
    body: list[CardElement] = [
        heading(t("listreview.decide.title")),
        static(t("listreview.decide.body", total=len(lines), decided=decided)),
    ]
    if done:
        body.append(callout(done, "good", user_text=False))
    for error in state.errors.get("_card", "").split("\n"):
        if error:
            body.append(callout(error, "attention", user_text=False))
    for line in shown:
        pid = line.proposal_id
        items = _line(t, line)
        if line.comment:
            comment = shorten(line.comment, COMMENT_SHOWN)
            items.append(plain(t("listreview.decide.comment", name=shorten(line.commented_by, 40), comment=comment)))
        elif line.account_id is not None:
            items.append(static(t("listreview.decide.no_comment"), subtle=True))
        body.append(Container(separator=True, items=items))
        body.append(
            ChoiceSetInput(
                id=f"decision_{pid}",
                label=t("listreview.decide.label", name=shorten(line.name, 60)),
                style="expanded",
                value=state.values.get(f"decision_{pid}") or None,
                choices=[
                    Choice(title=t("listreview.decide.accept"), value="accept"),
                    Choice(title=t("listreview.decide.reject"), value="reject"),
                    Choice(title=t("listreview.decide.later"), value="later"),
                ],
            )
        )
        body.extend(field_error(state, f"decision_{pid}"))
        if line.proposal in (ENTER, TIER):
            chosen = state.values.get(f"tier_{pid}") or (line.tier.value if line.tier else None)
            body.append(
                ChoiceSetInput(
                    id=f"tier_{pid}",
                    label=t("listreview.decide.tier"),
                    style="compact",
                    value=chosen,
                    choices=_tier_choices(t),
                )
            )
        if line.proposal == ENTER:
            body.append(
                TextInput(
                    id=f"manager_{pid}",
                    label=t("listreview.decide.manager"),
                    placeholder="name@example.com",
                    max_length=320,
                    value=state.values.get(f"manager_{pid}") or None,
                )
            )
            body.extend(field_error(state, f"manager_{pid}"))
    if more:
        body.append(static(t("listreview.decide.more", count=more), subtle=True))
    actions = []
    if shown:
        data = action_data(VERB_DECIDE_LIST_REVIEW, card_id or new_card_id(), today, review_id=review_id)
        actions.append(execute_action(t("listreview.decide.submit"), data))
    else:
        body.append(static(t("listreview.decide.finished")))
    return card(body, actions, fallback_text=t("listreview.decide.title"))


def parse_decisions(
    t: Texts, value: Mapping[str, Any], lines: Sequence[ProposalLine]
) -> dict[int, Decision] | FormState:
    """The decisions on the card (only the open proposals it can show are read); the form again when an accepted
    entry lacks its KA manager's e-mail address. "Later" leaves a proposal open."""
    from kam.list_reviews import valid_email

    open_lines = [line for line in lines if line.decision is None][:PROPOSALS_SHOWN]
    fields = [f"{kind}_{line.proposal_id}" for line in open_lines for kind in ("decision", "tier", "manager")]
    state = form_state(value, fields)
    decisions: dict[int, Decision] = {}
    for line in open_lines:
        pid = line.proposal_id
        answer = state.values.get(f"decision_{pid}", "") or "later"
        if answer not in ("accept", "reject", "later"):
            raise MalformedSubmission()
        tier_raw = state.values.get(f"tier_{pid}", "")
        try:
            tier = Tier(tier_raw) if tier_raw else None
        except ValueError:
            raise MalformedSubmission() from None
        if answer == "later":
            continue
        manager = state.values.get(f"manager_{pid}", "")
        if answer == "accept" and line.proposal == ENTER and valid_email(manager) is None:
            state.errors[f"manager_{pid}"] = t("listreview.decide.manager_needed")
        decisions[pid] = Decision(answer == "accept", tier, manager)
    if state.errors:
        return state
    return decisions


def list_review_due_card(t: Texts, due: str, last: str | None) -> dict[str, Any]:
    body = [
        heading(t("listreview.due.title")),
        static(t("listreview.due.body", due=due) if last is None else t("listreview.due.since", due=due, last=last)),
    ]
    command = t("command.list_review")
    return card(body, [command_button(t("listreview.due.start"), command)], fallback_text=t("listreview.due.title"))


def decided_text(t: Texts, accepted: int, rejected: int, finished: bool) -> str:
    key = "listreview.decided.finished" if finished else "listreview.decided.partly"
    return t(key, accepted=accepted, rejected=rejected)


# The score and candidate forms


def criterion_label(t: Texts, criterion: Criterion) -> str:
    return criterion.name(t.language) or t(f"selection.criterion.{criterion.key}")


def _score_inputs(t: Texts, selection: Selection, state: FormState) -> list[CardElement]:
    body: list[CardElement] = []
    for criterion in selection.criteria:
        raw = state.values.get(criterion.key)
        try:
            value = float(raw.replace(",", ".")) if raw else None
        except ValueError:
            value = None
        body.append(
            NumberInput(
                id=criterion.key,
                label=t(
                    "selection.score_label", criterion=criterion_label(t, criterion), weight=f"{criterion.weight:g}"
                ),
                min=0,
                max=5,
                value=value,
                error_message=t("selection.score_range"),
            )
        )
        body.extend(field_error(state, criterion.key))
    return body


def scores_state(selection: Selection, scores: Mapping[str, float] | None) -> FormState:
    return FormState(values={k: f"{v:g}" for k, v in (scores or {}).items() if k in selection.weights})


def score_card(
    t: Texts,
    selection: Selection,
    account_id: int,
    account_name: str,
    today: dt.date,
    state: FormState,
    card_id: str | None = None,
) -> dict[str, Any]:
    body: list[CardElement] = [
        heading(t("selection.score.title", account=account_name)),
        static(t("selection.score.body")),
        *_score_inputs(t, selection, state),
    ]
    data = action_data(VERB_SAVE_SCORES, card_id or new_card_id(), today, account_id=account_id)
    return card(body, [execute_action(t("selection.score.save"), data)], fallback_text=body_text(t, account_name))


def body_text(t: Texts, account_name: str) -> str:
    return t("selection.score.title", account=account_name)


def parse_scores(t: Texts, selection: Selection, value: Mapping[str, Any]) -> dict[str, float] | FormState:
    state = form_state(value, [c.key for c in selection.criteria])
    scores, wrong = clean_scores(selection, state.values)
    for key in wrong:
        state.errors[key] = t("selection.score_range")
    return state if wrong else scores


def scored_card(t: Texts, name: str, score: float | None, tier: Tier | None) -> dict[str, Any]:
    """What the form becomes once saved: the weighted score and the tier it earns."""
    if score is None:
        line = t("selection.scored.none")
    elif tier is None:
        line = t("selection.scored.below", score=f"{score:.2f}")
    else:
        line = t("selection.scored.tier", score=f"{score:.2f}", tier=tier_name(t, tier))
    body = [heading(t("selection.scored.title", name=name)), static(line)]
    return card(body, fallback_text=t("selection.scored.title", name=name))


CANDIDATE_FIELDS = ("name", "kind", "notes")


def candidate_card(
    t: Texts, selection: Selection, today: dt.date, state: FormState | None = None, card_id: str | None = None
) -> dict[str, Any]:
    state = state or FormState()
    body: list[CardElement] = [
        heading(t("candidate.title")),
        static(t("candidate.body")),
        TextInput(
            id="name",
            label=t("candidate.name"),
            is_required=True,
            max_length=NAME_MAX,
            error_message=t("field.required"),
            value=state.values.get("name") or None,
        ),
        *field_error(state, "name"),
        ChoiceSetInput(
            id="kind",
            label=t("candidate.kind"),
            style="expanded",
            is_required=True,
            error_message=t("field.required"),
            value=state.values.get("kind") or CandidateKind.FUTURE_KEY_ACCOUNT.value,
            choices=[Choice(title=t(f"candidate.kind.{k.value}"), value=k.value) for k in CandidateKind],
        ),
        *field_error(state, "kind"),
        TextInput(
            id="notes",
            label=t("candidate.notes"),
            is_multiline=True,
            max_length=NOTES_MAX,
            value=state.values.get("notes") or None,
        ),
        *_score_inputs(t, selection, state),
    ]
    data = action_data(VERB_SAVE_CANDIDATE, card_id or new_card_id(), today)
    return card(body, [execute_action(t("candidate.save"), data)], fallback_text=t("candidate.title"))


def parse_candidate(
    t: Texts, selection: Selection, value: Mapping[str, Any]
) -> tuple[str, CandidateKind, str, dict[str, float]] | FormState:
    state = form_state(value, [*CANDIDATE_FIELDS, *(c.key for c in selection.criteria)])
    name = state.values.get("name", "").strip()
    if not name:
        state.errors["name"] = t("field.required")
    elif len(name) > NAME_MAX:
        state.errors["name"] = t("candidate.name_too_long", most=NAME_MAX)
    try:
        kind = CandidateKind(state.values.get("kind", ""))
    except ValueError:
        state.errors["kind"] = t("field.required")
        kind = CandidateKind.FUTURE_KEY_ACCOUNT
    scores, wrong = clean_scores(selection, state.values)
    for key in wrong:
        state.errors[key] = t("selection.score_range")
    if state.errors:
        return state
    return name, kind, state.values.get("notes", "")[:NOTES_MAX], scores
