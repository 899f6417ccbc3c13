"""An Application Insights ingestion fake: a real aiohttp server on loopback that takes telemetry as the service does.

Azure Monitor's exporter POSTs a JSON array of envelopes to `<IngestionEndpoint>/v2.1/track`
(gzip when it chooses to) and reads back how many were accepted. Live metrics talk to the
`LiveEndpoint`; pointed here as well, they are told nobody is watching. The connection string
names this server for both, so no telemetry can leave the machine.
"""

from __future__ import annotations

import asyncio
import gzip
import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from tests.support.fakes.loopback import LoopbackServer


def base(envelope: dict[str, Any]) -> dict[str, Any]:
    """What an envelope is about: a request's or dependency's name, data and properties, a metric's values."""
    return dict(envelope.get("data", {}).get("baseData", {}))


def properties(envelope: dict[str, Any]) -> dict[str, Any]:
    """The custom properties: our `kambot.*` attributes."""
    return dict(base(envelope).get("properties") or {})


@dataclass
class AppInsightsFake(LoopbackServer):
    # A key of its own: the exporter keeps what it could not send under its key, for a later process to send.
    instrumentation_key: str = field(default_factory=lambda: str(uuid.uuid4()))
    envelopes: list[dict[str, Any]] = field(default_factory=list)
    live_requests: int = 0
    url: str = ""

    @property
    def connection_string(self) -> str:
        return f"InstrumentationKey={self.instrumentation_key};IngestionEndpoint={self.url}/;LiveEndpoint={self.url}/"

    def of_type(self, kind: str) -> list[dict[str, Any]]:
        """Envelopes of one type: Request, RemoteDependency, Metric, Message, Exception, Event."""
        return [e for e in self.envelopes if e.get("name") == f"Microsoft.ApplicationInsights.{kind}"]

    async def wait_for(self, predicate: Callable[[AppInsightsFake], bool], timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        while not predicate(self):
            if time.monotonic() > deadline:
                raise TimeoutError("the Application Insights fake did not receive what was expected")
            await asyncio.sleep(0.1)

    async def _any(self, request: web.Request) -> web.Response:
        """The exporter joins the endpoint and its path with slashes to spare (`////v2.1/track`)."""
        if request.method == "POST" and request.path.lstrip("/") in ("v2.1/track", "v2/track"):
            return await self._track(request)
        return await self._live(request)

    async def _track(self, request: web.Request) -> web.Response:
        body = await request.read()
        if request.headers.get("Content-Encoding") == "gzip":
            body = gzip.decompress(body)
        received = json.loads(body)
        self.envelopes.extend(received)
        return web.json_response({"itemsReceived": len(received), "itemsAccepted": len(received), "errors": []})

    async def _live(self, request: web.Request) -> web.Response:
        await request.read()
        self.live_requests += 1
        return web.Response(status=200, headers={"x-ms-qps-subscribed": "false"})

    async def start(self) -> AppInsightsFake:
        app = web.Application()
        app.router.add_route("*", "/{anything:.*}", self._any)
        self.url = await self._listen(app)
        return self
