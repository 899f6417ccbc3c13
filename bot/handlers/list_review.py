"""list review, score, candidate: the head of KAM reviews the key account list; KA managers comment on their
accounts' proposals; the scores and candidates it starts from."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.list_review_lines import proposal_lines
from bot.requests import CommandRequest, VerbRequest
from bot.turn import Reply, Turn, argument_of
from cards.build import echoed
from cards.fit import names_text
from cards.forms import FormState
from cards.list_review import (
    candidate_card,
    comment_card,
    decide_card,
    decided_text,
    parse_candidate,
    parse_comment,
    parse_decisions,
    parse_scores,
    score_card,
    scored_card,
    scores_state,
)
from kam.access import Act, Audience, Principal, team_accounts
from kam.accounts import accounts_of
from kam.candidates import CandidateExists, NewCandidate, record_candidate, set_account_scores
from kam.errors import AccountExists
from kam.list_reviews import (
    AlreadyDecided,
    EntryNeedsManager,
    ListReviewRunning,
    comment_on,
    decide,
    open_list_review,
    review_figures,
    start_list_review,
)
from kam.models import Account, ListReview, ListReviewProposal


async def only_in_private(turn: Turn) -> bool:
    """Scores, candidates and the list's proposals are for the head of KAM and KA managers: never where others
    read along (a channel, a group chat). False, after saying where to ask, anywhere shared."""
    if turn.audience == Audience.PRIVATE:
        return True
    await turn.say(turn.t("listreview.private_only"))
    return False


async def start(turn: Turn, request: CommandRequest) -> None:
    """The head of KAM: a new review from the scores (or the one running), and its card of decisions."""
    if not await only_in_private(turn):
        return
    person = request.person
    assert person is not None, "the policy lets only a known head of KAM run a list review"
    async with turn.services.db.transaction() as session:
        review = await open_list_review(session)
        started = review is None
        if review is None:
            ids = list(await session.scalars(select(Account.id).where(Account.active.is_(True))))
            figures = await review_figures(session, ids, turn.today)
            try:
                review = await start_list_review(session, turn.services.selection, person, turn.today, figures)
            except ListReviewRunning:  # another instance, a moment ago
                review = await open_list_review(session)
                started = False
        assert review is not None
        lines = await proposal_lines(session, review)
        asked = len({p.account_id for p in review.proposals if p.account_id is not None})
        review_id = review.id
    if started:
        await turn.say(turn.t("listreview.started", count=len(lines), accounts=asked))
        turn.services.sender.kick()
    else:
        await turn.say(turn.t("listreview.running"))
    await turn.show(decide_card(turn.t, review_id, lines, turn.today))


async def comment(turn: Turn, request: VerbRequest) -> Reply:
    """A KA manager's comment on a proposal about their account (the router looked the proposal up)."""
    proposal: ListReviewProposal = request.row
    person = request.person
    assert person is not None and request.account is not None
    try:
        comment_on(proposal, person, parse_comment(request.value, proposal.id))
    except AlreadyDecided:
        return Reply(message=turn.t("listreview.error.decided"))
    await request.session.flush()
    review = await request.session.get(ListReview, proposal.review_id)
    assert review is not None
    lines = await proposal_lines(request.session, review, person)
    card = comment_card(turn.t, review.id, review.comments_by, lines, turn.today, saved=request.account.name)
    return Reply(card=card)


async def decide_proposals(turn: Turn, request: VerbRequest) -> Reply:
    """The head of KAM's decisions: applied to the account list at once, kept with the review."""
    review: ListReview = request.row
    person = request.person
    assert person is not None
    if review.decided_at is not None:
        return Reply(message=turn.t("listreview.error.decided"))
    lines = await proposal_lines(request.session, review)
    parsed = parse_decisions(turn.t, request.value, lines)
    if isinstance(parsed, FormState):
        return Reply(card=decide_card(turn.t, review.id, lines, turn.today, parsed, request.meta.card_id))
    if not parsed:
        return Reply(message=turn.t("listreview.decide.nothing"))
    try:
        decided = await decide(request.session, review, person, parsed)
    except AlreadyDecided:
        return Reply(message=turn.t("listreview.error.decided"))
    except (EntryNeedsManager, AccountExists) as error:
        return Reply(message=turn.t(error.code))
    done = decided_text(turn.t, decided.accepted, decided.rejected, decided.finished)
    lines = await proposal_lines(request.session, review)
    card = decide_card(turn.t, review.id, lines, turn.today, card_id=request.meta.card_id, done=done)
    return Reply(card=card)


async def _scorable(session: AsyncSession, principal: Principal) -> list[Account]:
    """The accounts whose scores the caller may record: the head of KAM's are all active ones."""
    if principal.is_head_of_kam:
        everyone = list(await session.scalars(select(Account).where(Account.active.is_(True)).order_by(Account.name)))
        return team_accounts(everyone, principal, Act.SCORE_ACCOUNT)
    return team_accounts(await accounts_of(session, principal.person), principal, Act.SCORE_ACCOUNT)


async def score(turn: Turn, request: CommandRequest) -> None:
    """score [account]: the form of one account's scores (the named one, or the only one)."""
    if not await only_in_private(turn):
        return
    wanted = (argument_of(turn.command, "command.score") or "").strip().lower()
    async with turn.services.db.transaction() as session:
        accounts = await _scorable(session, request.principal)
    chosen = [a for a in accounts if wanted in a.name.lower()] if wanted else accounts
    exact = [a for a in chosen if a.name.lower() == wanted]
    chosen = exact or chosen
    if len(chosen) != 1:
        names = names_text(turn.t, [a.name for a in accounts])
        key = "selection.score.no_match" if wanted and not chosen else "selection.score.which"
        await turn.say(turn.t(key, text=echoed(wanted), names=names) if accounts else turn.t("selection.score.none"))
        return
    account = chosen[0]
    state = scores_state(turn.services.selection, account.scores)
    await turn.show(score_card(turn.t, turn.services.selection, account.id, account.name, turn.today, state))


async def save_scores(turn: Turn, request: VerbRequest) -> Reply:
    account = request.account
    assert account is not None, "the route names its account"
    selection = turn.services.selection
    parsed = parse_scores(turn.t, selection, request.value)
    if isinstance(parsed, FormState):
        return Reply(
            card=score_card(turn.t, selection, account.id, account.name, turn.today, parsed, request.meta.card_id)
        )
    set_account_scores(account, parsed)
    value = selection.score(parsed)
    return Reply(
        card=scored_card(turn.t, account.name, value, selection.tier_for(value) if value is not None else None)
    )


async def candidate(turn: Turn, request: CommandRequest) -> None:
    if not await only_in_private(turn):
        return
    await turn.show(candidate_card(turn.t, turn.services.selection, turn.today))


async def save_candidate(turn: Turn, request: VerbRequest) -> Reply:
    selection = turn.services.selection
    person = request.person
    assert person is not None
    parsed = parse_candidate(turn.t, selection, request.value)
    if isinstance(parsed, FormState):
        return Reply(card=candidate_card(turn.t, selection, turn.today, parsed, request.meta.card_id))
    name, kind, notes, scores = parsed
    try:
        await record_candidate(request.session, NewCandidate(name, kind, notes, scores), person)
    except CandidateExists:
        state = FormState(values={k: str(v) for k, v in request.value.items() if isinstance(v, str)})
        state.errors["name"] = turn.t("candidate.error.exists")
        return Reply(card=candidate_card(turn.t, selection, turn.today, state, request.meta.card_id))
    value = selection.score(scores)
    return Reply(card=scored_card(turn.t, name, value, selection.tier_for(value) if value is not None else None))
