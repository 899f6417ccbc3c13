"""Telemetry as the tests see it: spans and metrics kept in memory, and `kambot serve` in a process of its own.

In a test process the spans go to an in-memory exporter installed as the process's tracer provider
(OpenTelemetry takes one per process, so it is installed once and kept); in a `kambot serve`
process, Azure Monitor's distro sends them to the Application Insights fake.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import aiohttp
from opentelemetry import metrics, trace
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

ROOT = Path(__file__).resolve().parents[2]

# Nothing may leave the machine: no probe of Azure's VM metadata address, no statsbeat, no control plane.
OFFLINE = {
    "OTEL_EXPERIMENTAL_RESOURCE_DETECTORS": "",
    "APPLICATIONINSIGHTS_STATSBEAT_DISABLED_ALL": "true",
    "APPLICATIONINSIGHTS_CONTROLPLANE_DISABLED": "true",
    "APPLICATIONINSIGHTS_SDKSTATS_DISABLED": "true",
}


class Collected:
    """The spans and metrics of this process, as a test reads them."""

    def __init__(self) -> None:
        self.exporter = InMemorySpanExporter()
        self.reader = InMemoryMetricReader()
        tracers = TracerProvider()
        tracers.add_span_processor(SimpleSpanProcessor(self.exporter))
        trace.set_tracer_provider(tracers)
        metrics.set_meter_provider(MeterProvider(metric_readers=[self.reader]))

    def spans(self) -> list[ReadableSpan]:
        return list(self.exporter.get_finished_spans())

    def clear(self) -> None:
        self.exporter.clear()

    def points(self, name: str) -> list[tuple[dict[str, Any], Any]]:
        """(attributes, data point) of every data point of the metric `name` so far."""
        data = self.reader.get_metrics_data()
        found: list[tuple[dict[str, Any], Any]] = []
        for resource in data.resource_metrics if data else []:
            for scope in resource.scope_metrics:
                for metric in scope.metrics:
                    if metric.name == name:
                        found += [(dict(point.attributes or {}), point) for point in metric.data.data_points]
        return found


_installed: list[Collected] = []


def collected() -> Collected:
    """The process's in-memory telemetry, installed on first use."""
    if not _installed:
        _installed.append(Collected())
    return _installed[0]


def attribute_values(spans: Sequence[ReadableSpan]) -> Iterator[str]:
    """Every name, attribute value, event attribute value and status text the spans carry, as text."""
    for span in spans:
        yield span.name
        yield span.status.description or ""
        for value in (span.attributes or {}).values():
            yield str(value)
        for event in span.events:
            yield event.name
            for value in (event.attributes or {}).values():
                yield str(value)


def start_serve(port: int, env: dict[str, str]) -> subprocess.Popen[str]:
    """`kambot serve` in its own process, configured through its environment only."""
    inherited = ("KAMBOT_", "APPLICATIONINSIGHTS_", "OTEL_")
    clean = {k: v for k, v in os.environ.items() if not k.startswith(inherited)}
    return subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "serve"],
        env={
            **clean,
            **OFFLINE,
            "PYTHONPATH": str(ROOT),
            "KAMBOT_HOST": "127.0.0.1",
            "KAMBOT_PORT": str(port),
            "KAMBOT_LOG_LEVEL": "INFO",
            "KAMBOT_NUDGE_WEEKDAY": "off",
            "KAMBOT_MONTHLY_KPI_CARDS": "false",
            **env,
        },
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


async def until_alive(process: subprocess.Popen[str], url: str, timeout: float = 60.0) -> None:
    """Wait for /healthz to answer; a process that ended first fails the test with its output."""
    deadline = time.monotonic() + timeout
    async with aiohttp.ClientSession() as http:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise AssertionError(f"kambot serve ended: {process.communicate()[0]}")
            try:
                async with http.get(f"{url}/healthz") as response:
                    if response.status == 200:
                        return
            except aiohttp.ClientConnectionError:
                pass
            await asyncio.sleep(0.2)
    raise TimeoutError("kambot serve did not come up")


async def stop(process: subprocess.Popen[str]) -> str:
    """SIGTERM, as Container Apps stops a replica; what the process printed."""
    process.terminate()
    output, _ = await asyncio.to_thread(process.communicate, timeout=30)
    return output
