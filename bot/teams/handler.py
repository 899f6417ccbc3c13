"""The Teams activity handler: a thin adapter from activities to handlers (see routes.py)."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from botbuilder.core import TurnContext
from botbuilder.core.teams import TeamsActivityHandler
from botbuilder.schema import (
    Activity,
    ActivityTypes,
    Attachment,
    CardAction,
    ChannelAccount,
    InvokeResponse,
)
from botbuilder.schema.teams import (
    MessagingExtensionActionResponse,
    MessagingExtensionAttachment,
    MessagingExtensionResponse,
    MessagingExtensionResult,
    MessagingExtensionSuggestedAction,
    TaskModuleContinueResponse,
    TaskModuleMessageResponse,
    TaskModuleTaskInfo,
    TeamInfo,
    TeamsChannelAccount,
)

from bot import traces
from bot.errors import USER_ERRORS, user_message
from bot.handlers.general import welcome
from bot.handlers.message_action import open_form
from bot.handlers.search import found_cards, query_text
from bot.handlers.unfurl import pasted_url, unfurled
from bot.logs import ACTIVITY_ID, CONVERSATION_ID
from bot.router import run_command, run_verb
from bot.routes import command_for
from bot.services import Services
from bot.teams.activities import caller_of, is_card_submit, seen_conversation, tenant_of, turn_of
from bot.teams.seen import RecentlyStored
from bot.turn import Reply, Turn
from cards.build import CARD_CONTENT_TYPE
from cards.forms import for_dialog
from kam.conversations import holds_card, remember
from kam.people import remember_chat
from kam.storage import no_transaction_open

log = logging.getLogger(__name__)

MESSAGE_CONTENT_TYPE = "application/vnd.microsoft.activity.message"
THUMBNAIL = "application/vnd.microsoft.card.thumbnail"
# Teams keeps an unfurled link's answer for 30 minutes unless told not to (Microsoft's link unfurling
# page, "Remove link unfurling cache"). kambot's answer depends on who pastes the link and where:
# a card kept for a team member must not be shown to the next person who pastes it.
NOT_CACHED = MessagingExtensionSuggestedAction(actions=[CardAction(type="setCachePolicy", value='{"type":"no-cache"}')])


def universal_action_response(content_type: str, value: object) -> dict[str, object]:
    """The answer to an Action.Execute, as the JSON Teams reads (botbuilder's AdaptiveCardInvokeResponse).

    Plain data: msrest's serializer would walk every element of the card (a millisecond a
    turn), and botbuilder's model types `value` as a dict where a message answer carries a string.
    """
    answer: dict[str, object] = {"statusCode": 200, "type": content_type}
    if value is not None:  # as msrest wrote it: no key for a value that is not there
        answer["value"] = value
    return answer


def execute_data(value: object) -> object:
    """The data of an Action.Execute, with its verb, from an `adaptiveCard/action` invoke value."""
    action = value.get("action") if isinstance(value, Mapping) else None
    if not isinstance(action, Mapping) or not isinstance(action.get("data", {}), Mapping):
        return None
    data = dict(action.get("data") or {})
    if isinstance(action.get("verb"), str):
        data.setdefault("verb", action["verb"])
    return data


def _answered(turn_context: TurnContext, response: InvokeResponse) -> InvokeResponse:
    """The invoke's answer handed to the adapter as botbuilder's own send would hand it.

    It goes back in the HTTP response, not over the network: botbuilder's send would first
    deep-copy it (the whole card) and run every send handler of the turn. The activity
    handler sends nothing when the answer is there already (botbuilder's own rule).
    """
    turn_context.turn_state[TurnContext._INVOKE_RESPONSE_KEY] = Activity(
        type=ActivityTypes.invoke_response, value=response
    )
    return response


async def _outside_transactions(context: TurnContext, activities: Any, next_send: Any) -> Any:
    """Every send and update of a turn goes to the Bot Connector: never while a transaction is open."""
    no_transaction_open("a message to the Bot Connector")
    return await next_send()


class KamBot(TeamsActivityHandler):
    def __init__(self, services: Services) -> None:
        self.services = services
        self._stored = RecentlyStored()

    async def on_turn(self, turn_context: TurnContext) -> None:
        activity = turn_context.activity
        ACTIVITY_ID.set(activity.id)
        CONVERSATION_ID.set(activity.conversation.id if activity.conversation else None)
        kind = str(activity.type or "unknown")[:30]
        self.services.metrics.turns.labels(type=kind).inc()
        invoke_name = str(activity.name)[:60] if activity.type == ActivityTypes.invoke and activity.name else None
        with traces.turn(kind, invoke_name, activity.id, CONVERSATION_ID.get(), tenant_of(activity)):
            await self._turn(turn_context, activity)

    async def _turn(self, turn_context: TurnContext, activity: Activity) -> None:
        if not self.services.settings.tenant_allowed(tenant_of(activity)):
            log.warning("turn from a tenant that is not allowed", extra={"tenant": tenant_of(activity)})
            if activity.type == ActivityTypes.invoke:
                await turn_context.send_activity(
                    Activity(type=ActivityTypes.invoke_response, value=InvokeResponse(status=403))
                )
            return
        await self.services.sealer.ready(self.services.db)
        turn_context.on_send_activities(_outside_transactions)
        turn_context.on_update_activity(_outside_transactions)
        await self._remember_conversation(activity)
        await super().on_turn(turn_context)

    async def _remember_conversation(self, activity: Activity) -> None:
        """Where and how to reach this conversation (and a 1:1 chat's user) later, stored when it changed."""
        seen = seen_conversation(activity)
        if seen is None:
            return
        personal = seen.conversation_type == "personal"
        caller = caller_of(activity) if personal else None
        state = (seen, caller, activity.locale, activity.local_timezone)
        if self._stored.unchanged(seen.conversation_id, state):
            return
        async with self.services.db.transaction() as session:
            await remember(session, seen)
            known = caller is None or await remember_chat(
                session, caller, seen.conversation_id, activity.locale, activity.local_timezone, seen.tenant_id
            )
        if known:  # someone not on a team yet is looked up again, until an import adds them
            self._stored.note(seen.conversation_id, state)

    async def on_message_activity(self, turn_context: TurnContext) -> None:
        turn = turn_of(turn_context, self.services)
        if is_card_submit(turn_context.activity):
            reply = await self._run_verb(turn, turn_context.activity.value)
            await self._answer_submit(turn, turn_context.activity, reply)
            return
        route = command_for(turn.command)
        if route is None:
            said = turn.text[:60]
            await turn.say(turn.t("error.unknown_command", text=said) if said else turn.t("help.body"))
            return
        try:
            await run_command(turn, route)
        except USER_ERRORS as error:
            await turn.say(user_message(turn.t, error))

    async def on_invoke_activity(self, turn_context: TurnContext) -> InvokeResponse:
        """kambot's invokes by name (INVOKES), answered from the raw value, so that a malformed one gets our message."""
        answer = INVOKES.get(turn_context.activity.name or "")
        if answer is not None:
            return _answered(turn_context, await answer(self, turn_context))
        try:
            response = await super().on_invoke_activity(turn_context)
        except Exception:  # botbuilder's own parsing of an invoke value we do not use
            log.info("unreadable invoke %r", turn_context.activity.name, exc_info=True)
            response = None
        if response is None or response.status == 501:
            # Not a 5xx: the request is fine, kambot just does not offer this kind of invoke.
            return InvokeResponse(status=400)
        return response

    async def _card_action(self, turn_context: TurnContext) -> InvokeResponse:
        """A Universal Action (Action.Execute): the card that replaces the clicked one, or a message."""
        turn = turn_of(turn_context, self.services)
        reply = await self._run_verb(turn, execute_data(turn_context.activity.value))
        if reply.card is not None:
            body = universal_action_response(CARD_CONTENT_TYPE, turn.sealed(reply.card))
        else:
            body = universal_action_response(MESSAGE_CONTENT_TYPE, reply.message)
        return InvokeResponse(status=200, body=body)

    async def _open_dialog(self, turn_context: TurnContext) -> InvokeResponse:
        """The message action's dialog, opened with the form prefilled from the message."""
        turn = turn_of(turn_context, self.services)
        try:
            reply = await open_form(turn, turn_context.activity.value)
        except USER_ERRORS as error:
            reply = Reply(message=user_message(turn.t, error))
        return self._dialog_answer(turn, reply)

    async def _dialog_submit(self, turn_context: TurnContext) -> InvokeResponse:
        """A submit inside the dialog: the same card verbs as anywhere else."""
        turn = turn_of(turn_context, self.services)
        value = turn_context.activity.value
        data = value.get("data") if isinstance(value, Mapping) else None
        return self._dialog_answer(turn, await self._run_verb(turn, data))

    def _dialog_answer(self, turn: Turn, reply: Reply) -> InvokeResponse:
        """The dialog goes on with the next card, or closes with a message."""
        if reply.card is not None:
            info = TaskModuleTaskInfo(
                title=turn.t("pick.title"),
                card=Attachment(content_type=CARD_CONTENT_TYPE, content=turn.sealed(for_dialog(reply.card))),
                height="large",
                width="medium",
            )
            task: object = TaskModuleContinueResponse(value=info)
        else:
            task = TaskModuleMessageResponse(value=reply.message or turn.t("error.generic"))
        return InvokeResponse(status=200, body=MessagingExtensionActionResponse(task=task))

    async def _search(self, turn_context: TurnContext) -> InvokeResponse:
        """Search results: a preview per account; choosing one inserts its summary card."""
        turn = turn_of(turn_context, self.services)
        text = query_text(turn_context.activity.value)
        if text is None:
            return InvokeResponse(status=400)
        attachments = [_summary(turn, name, found) for name, found in await found_cards(turn, text)]
        result = MessagingExtensionResult(attachment_layout="list", type="result", attachments=attachments)
        return InvokeResponse(status=200, body=MessagingExtensionResponse(compose_extension=result))

    async def _unfurl(self, turn_context: TurnContext) -> InvokeResponse:
        """A pasted link: its account's summary card for the account team; for anyone and anything
        else the same empty result, which Teams shows as the plain link. Never kept by Teams."""
        turn = turn_of(turn_context, self.services)
        url = pasted_url(turn_context.activity.value)
        if url is None:
            return InvokeResponse(status=400)
        found = await unfurled(turn, url)
        attachments = [] if found is None else [_summary(turn, *found)]
        result = MessagingExtensionResult(
            attachment_layout="list", type="result", attachments=attachments, suggested_actions=NOT_CACHED
        )
        return InvokeResponse(status=200, body=MessagingExtensionResponse(compose_extension=result))

    async def on_teams_members_added(
        self, teams_members_added: list[TeamsChannelAccount], team_info: TeamInfo, turn_context: TurnContext
    ) -> None:
        bot_id = turn_context.activity.recipient.id if turn_context.activity.recipient else None
        if any(member.id == bot_id for member in teams_members_added):
            await welcome(turn_of(turn_context, self.services))

    async def on_members_added_activity(self, members_added: list[ChannelAccount], turn_context: TurnContext) -> None:
        await self.on_teams_members_added(members_added, None, turn_context)

    async def on_installation_update_add(self, turn_context: TurnContext) -> None:
        await welcome(turn_of(turn_context, self.services))

    async def _run_verb(self, turn: Turn, value: object) -> Reply:
        try:
            reply = await run_verb(turn, value)
        except USER_ERRORS as error:
            return Reply(message=user_message(turn.t, error))
        except Exception:
            log.exception("card action failed")  # the log line carries the turn's activity id
            return Reply(message=turn.t("error.generic"))
        return reply

    async def _answer_submit(self, turn: Turn, activity: Activity, reply: Reply) -> None:
        """Action.Submit has no invoke response: update the clicked card, or answer in the chat.

        `replyToId` is the client's word: only a message the bot sent in this conversation with
        this very card is updated; anything else gets the answer as a new message.
        """
        if reply.card is None:
            await turn.say(reply.message or turn.t("error.generic"))
            return
        reply_to = activity.reply_to_id
        if reply_to and await self._may_update(turn, reply_to, activity.value):
            try:
                await turn.replies.update(reply_to, turn.sealed(reply.card))  # the message stays recorded
                return
            except Exception:  # noqa: BLE001 - what was saved stays saved; the answer goes out as a new message
                log.warning("could not update the card; answering with a new message", exc_info=True)
        await turn.show(reply.card)

    async def _may_update(self, turn: Turn, reply_to: str, value: object) -> bool:
        card_id = value.get("card_id") if isinstance(value, Mapping) else None
        if not isinstance(card_id, str) or not turn.conversation_id:
            return False
        async with self.services.db.transaction() as session:
            return await holds_card(session, turn.conversation_id, reply_to, card_id)


def _summary(turn: Turn, name: str, card: dict[str, Any]) -> MessagingExtensionAttachment:
    """An account's summary card as a compose extension result, with the preview Teams requires."""
    return MessagingExtensionAttachment(
        content_type=CARD_CONTENT_TYPE,
        content=turn.sealed(card),
        preview=Attachment(content_type=THUMBNAIL, content={"title": name}),
    )


InvokeAnswer = Callable[[KamBot, TurnContext], Awaitable[InvokeResponse]]

# Which invoke goes where. What each asks of the access policy is in bot/routes.py: INVOKE_ROUTES,
# or the card verbs of VERB_ROUTES for the invokes that carry one (VERB_INVOKES).
INVOKES: Mapping[str, InvokeAnswer] = {
    "adaptiveCard/action": KamBot._card_action,
    "composeExtension/fetchTask": KamBot._open_dialog,
    "composeExtension/submitAction": KamBot._dialog_submit,
    "composeExtension/query": KamBot._search,
    "composeExtension/queryLink": KamBot._unfurl,
}
