"""Serve an aiohttp app on 127.0.0.1 with a port the system picks."""

from __future__ import annotations

import socket
import ssl

from aiohttp import web


async def serve_on_loopback(
    app: web.Application, ssl_context: ssl.SSLContext | None = None
) -> tuple[web.AppRunner, int]:
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=ssl_context)
    await site.start()
    return runner, site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]


class LoopbackServer:
    """A fake service's HTTP server on 127.0.0.1, on a port the system picks, until `stop`."""

    _runner: web.AppRunner | None = None

    async def _listen(self, app: web.Application, ssl_context: ssl.SSLContext | None = None) -> str:
        """Serve `app`; the origin it answers on."""
        self._runner, port = await serve_on_loopback(app, ssl_context)
        return f"{'https' if ssl_context else 'http'}://127.0.0.1:{port}"

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()


def free_port() -> int:
    """A port nothing listens on now (for a process or listener that picks no port itself)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
