"""What handlers need beyond the turn itself, built once at start-up."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from azure.core.credentials_async import AsyncTokenCredential

from bot.metrics import Metrics
from bot.outbox.sender import Sender
from bot.sealer import Sealer
from bot.settings import Settings
from bot.tab_links import TabLinks
from kam.catalogue import Catalogue
from kam.kpis import KpiCache
from kam.rules import Rules
from kam.selection import Selection
from kam.storage import Database


@dataclass
class Services:
    settings: Settings
    db: Database
    sender: Sender
    sealer: Sealer
    # None: the identity configured in the settings; tests hand in one for the Graph fake.
    graph_credential: AsyncTokenCredential | None = None
    rules: Rules = field(default_factory=Rules)
    catalogue: Catalogue = field(default_factory=Catalogue)
    # The steering figures of complete days, computed once a day in this process (bot/app.py keeps them warm).
    kpi_cache: KpiCache = field(default_factory=KpiCache)
    selection: Selection = field(default_factory=Selection)
    metrics: Metrics = field(default_factory=Metrics)
    provisioning: asyncio.Task[None] | None = None

    @property
    def links(self) -> TabLinks:
        return TabLinks.of(self.settings)
