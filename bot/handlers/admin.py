"""provision: admins bring the tenant in line with the account list from the chat."""

from __future__ import annotations

import asyncio
import logging

from bot.admin.provisioning import build_provisioner, provisioning_problems
from bot.requests import CommandRequest
from bot.turn import Turn
from cards.i18n import Texts
from graph.provisioning import Summary
from kam.access import Audience

log = logging.getLogger(__name__)


def report(t: Texts, summary: Summary, *, shared: bool) -> str:
    """The outcome; where others read along (the command may come from a channel), counts without names:
    failed accounts and missing people may belong to confidential accounts."""
    done = t(
        "provision.done",
        created=summary.channels_created,
        adopted=summary.channels_adopted,
        tabs=summary.tabs_added,
        archived=summary.archived,
        unchanged=summary.unchanged,
    )
    if summary.failed:
        names = ", ".join(account for account, _ in summary.failed[:10])
        shown = t("provision.in_private") if shared else names
        done += "\n\n" + t("provision.failed", count=len(summary.failed), names=shown)
    if summary.missing:
        people = ", ".join(dict.fromkeys(f"{gap.person} ({gap.account})" for gap in summary.missing[:20]))
        shown = t("provision.in_private") if shared else people
        done += "\n\n" + t("provision.missing", count=len(summary.missing), people=shown)
    return done


async def provision(turn: Turn, request: CommandRequest) -> None:
    """Runs in the background (it can take minutes); the admin is told here when it is done.

    Only kambot admins get here (the router asks the access policy: PROVISION).
    """
    services = turn.services
    if provisioning_problems(services.settings):
        await turn.say(turn.t("provision.not_configured"))
        return
    if services.provisioning is not None and not services.provisioning.done():
        await turn.say(turn.t("provision.running"))
        return
    address = turn.address
    t = turn.t
    shared = turn.audience != Audience.PRIVATE

    async def run() -> None:
        provisioner = build_provisioner(
            services.settings, services.graph_credential, services.metrics.graph_throttled.inc
        )
        try:
            message = report(t, await provisioner.run(), shared=shared)
        except Exception:
            log.exception("provisioning from the chat failed")
            message = t("error.generic")
        finally:
            await provisioner.db.close()
        if address is not None:
            await services.sender.post(address, message)
        services.sender.kick()

    services.provisioning = asyncio.create_task(run())
    await turn.say(t("provision.started"))
