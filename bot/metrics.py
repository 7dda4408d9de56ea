"""Prometheus metrics of one process (`run` or `worker`): queue depth, stage and model times, failures.

Each process owns its registry (never the library's global one), so tests and several pools in one
process do not share counters. The queue depth is read from the database when scraped, on the
metrics server's thread, so every process reports the whole shared queue.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from wsgiref.simple_server import WSGIServer

from prometheus_client import CollectorRegistry, Counter, Histogram, start_http_server
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from storage.queue_types import JobState

logger = logging.getLogger(__name__)

# Seconds: downloads and decodes take from milliseconds to a minute, model calls up to the lease.
_STAGE_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30, 60, 120, 300)
# Seconds: one claim statement, normally a few milliseconds; contention shows as a long tail.
_CLAIM_BUCKETS = (0.001, 0.002, 0.003, 0.005, 0.0075, 0.01, 0.015, 0.02, 0.03, 0.05, 0.075, 0.1, 0.25, 0.5, 1, 2.5)


class QueueDepthCollector(Collector):
    """Jobs per state, counted in the database at scrape time."""

    def __init__(self, counts: Callable[[], dict[str, int]]) -> None:
        """Keep the function that counts jobs by state."""
        self._counts = counts

    def collect(self) -> Iterator[GaugeMetricFamily]:
        """One gauge sample per job state (0 for states with no jobs)."""
        family = GaugeMetricFamily("rehab_queue_jobs", "Jobs in the shared queue by state.", labels=["state"])
        try:
            counts = self._counts()
        except Exception as error:  # a scrape must not fail because the database blinked
            logger.warning("queue depth unavailable: %s", type(error).__name__)
            return
        for state in JobState:
            family.add_metric([state.value], counts.get(state.value, 0))
        yield family

    def describe(self) -> list[GaugeMetricFamily]:
        """Describe without querying the database (registration must not touch it)."""
        return [GaugeMetricFamily("rehab_queue_jobs", "Jobs in the shared queue by state.", labels=["state"])]


@dataclass
class MetricsServer:
    """The HTTP endpoint serving one registry."""

    server: WSGIServer
    thread: threading.Thread

    @property
    def port(self) -> int:
        """The port actually bound."""
        return int(self.server.server_address[1])

    def stop(self) -> None:
        """Stop serving and release the port."""
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


class Metrics:
    """The counters and histograms workers update, in a registry of their own."""

    def __init__(self, queue_counts: Callable[[], dict[str, int]] | None = None) -> None:
        """Create the metrics; with `queue_counts` the queue depth is reported too."""
        self.registry = CollectorRegistry()
        self.stage_seconds = Histogram(
            "rehab_job_stage_seconds",
            "Time jobs spent in each stage.",
            ["kind", "stage"],
            buckets=_STAGE_BUCKETS,
            registry=self.registry,
        )
        self.model_seconds = Histogram(
            "rehab_model_call_seconds",
            "Latency of one model call.",
            ["kind"],
            buckets=_STAGE_BUCKETS,
            registry=self.registry,
        )
        self.claim_seconds = Histogram(
            "rehab_queue_claim_seconds",
            "Duration of one claim statement (whether or not it found a job).",
            buckets=_CLAIM_BUCKETS,
            registry=self.registry,
        )
        self.jobs_finished = Counter(
            "rehab_job_attempts", "Job attempts by how they ended.", ["kind", "outcome"], registry=self.registry
        )
        self.retries = Counter(
            "rehab_job_retries", "Failed attempts that will be retried.", ["reason"], registry=self.registry
        )
        self.dead_jobs = Counter("rehab_jobs_dead", "Jobs that used up their attempts.", registry=self.registry)
        self.delivery_failures = Counter(
            "rehab_delivery_failures", "Bot API calls of jobs that failed.", ["reason"], registry=self.registry
        )
        if queue_counts is not None:
            self.registry.register(QueueDepthCollector(queue_counts))

    def serve(self, host: str, port: int) -> MetricsServer:
        """Start the Prometheus endpoint on its own thread."""
        server, thread = start_http_server(port, addr=host, registry=self.registry)
        logger.info("metrics on %s:%d", host, server.server_address[1])
        return MetricsServer(server, thread)
