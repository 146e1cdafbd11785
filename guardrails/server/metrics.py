"""Prometheus metrics of one sidecar instance (its own registry: no process globals).

Several worker processes (``guardrails serve --workers N``) share one ``PROMETHEUS_MULTIPROC_DIR``: prometheus_client
then keeps every value in a file there, and ``render`` aggregates the files of all workers (counters and histograms
summed, gauges of live workers summed), whichever worker answers /metrics.
"""

from __future__ import annotations

import os
from typing import Any, Callable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from guardrails.verdict import Verdict

_FAST = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
_SLOW = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)

CONTENT_TYPE = CONTENT_TYPE_LATEST


class Metrics:
    """Requests, decisions, blocks by app/stage/filter/category, filter and upstream latencies; what filters in
    monitor mode would have done (``guardrails_would_block_total`` and friends, docs/sidecar.md)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        # Set by `serve --workers N` (or by the deployer) before prometheus_client is imported.
        self.multiprocess_dir = os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None
        # Gauges computed from live state: read when rendered (one process), or copied into the shared files by
        # sync() (several processes: the other workers' callbacks cannot be called from here).
        self._watched: list[tuple[Any, Callable[[], float]]] = []
        self._children: dict[tuple[int, tuple[str, ...]], Any] = {}
        r = self.registry
        self.requests = Counter("guardrails_requests", "Requests handled", ["app", "endpoint", "status"], registry=r)
        self.decisions = Counter("guardrails_decisions", "Stage decisions by action", ["app", "stage", "action"], registry=r)
        self.blocks = Counter("guardrails_blocks", "Blocking violations", ["app", "stage", "filter", "category"], registry=r)
        self.violations = Counter("guardrails_violations", "Violations of any action", ["app", "stage", "filter", "category", "action"], registry=r)
        # Monitor (shadow) mode: findings of filters in mode: monitor, which changed nothing (not in the counters above).
        self.monitored = Counter("guardrails_monitored_violations", "Findings of filters in monitor mode, by the action "
                                 "they would have taken", ["app", "stage", "filter", "category", "action"], registry=r)
        self.would_block = Counter("guardrails_would_block", "Findings of filters in monitor mode that would have "
                                   "blocked (block or respond)", ["app", "stage", "filter", "category"], registry=r)
        self.would_decisions = Counter("guardrails_would_decisions", "Stage decisions in which a filter in monitor mode "
                                       "fired, by the strongest action it would have taken", ["app", "stage", "would_action"],
                                       registry=r)
        self.check_latency = Histogram("guardrails_check_latency_seconds", "Time of one stage check", ["app", "stage"], buckets=_FAST, registry=r)
        self.filter_latency = Histogram("guardrails_filter_latency_seconds", "Time of one filter call", ["app", "stage", "filter"], buckets=_FAST, registry=r)
        self.request_duration = Histogram("guardrails_request_duration_seconds", "Time to the response (start of a stream)", ["app", "endpoint"], buckets=_SLOW, registry=r)
        self.upstream_latency = Histogram("guardrails_upstream_latency_seconds", "Upstream time to response headers", ["app", "endpoint"], buckets=_SLOW, registry=r)
        self.upstream_errors = Counter("guardrails_upstream_errors", "Upstream failures", ["app", "kind"], registry=r)
        self.reloads = Counter("guardrails_policy_reloads", "Policy reloads", ["app", "result"], registry=r)
        self.inflight = Gauge("guardrails_inflight_requests", "Requests in progress", ["app"], registry=r,
                              multiprocess_mode="livesum")
        # Which policy each app runs: one series per app, value 1 (join on app), replaced on reload.
        self.policy_info = Gauge("guardrails_policy_info", "The policy an app runs: its name, hash and signer key id",
                                 ["app", "policy", "policy_hash", "signer"], registry=r, multiprocess_mode="livemax")
        self._policy_labels: dict[str, tuple[str, ...]] = {}
        self.heavy_checks = Gauge("guardrails_heavy_checks", "Checks of large inputs running or waiting for a turn",
                                  ["state"], registry=r, multiprocess_mode="livesum")

    def policy(self, app: str, name: str, policy_hash: str, signer: str | None) -> None:
        """Record the policy ``app`` runs now (the series of its previous policy is removed)."""
        old = self._policy_labels.pop(app, None)
        if old is not None:
            if self.multiprocess_dir:  # a removed series stays in the shared files: show it as no longer in use
                self.policy_info.labels(*old).set(0)
            self.policy_info.remove(*old)
        labels = (app, name, policy_hash, signer or "")
        self.policy_info.labels(*labels).set(1)
        self._policy_labels[app] = labels

    def watch(self, gauge_child: Any, fn: Callable[[], float]) -> None:
        """Make ``gauge_child`` report ``fn()`` (e.g. requests in progress)."""
        if self.multiprocess_dir:
            self._watched.append((gauge_child, fn))
            gauge_child.set(fn())
        else:
            gauge_child.set_function(fn)

    def sync(self) -> None:
        """Several processes: copy the watched gauges' current values into the shared files (see watch)."""
        for gauge_child, fn in self._watched:
            gauge_child.set(fn())

    def child(self, metric: Any, *labels: str) -> Any:
        """``metric.labels(*labels)``, cached: prometheus_client's lookup takes a lock and builds a key each call."""
        key = (id(metric), labels)
        found = self._children.get(key)
        if found is None:
            found = self._children[key] = metric.labels(*labels)
        return found

    def verdict(self, app: str, verdict: Verdict) -> None:
        stage = verdict.stage.value
        self.child(self.decisions, app, stage, verdict.action.value).inc()
        self.child(self.check_latency, app, stage).observe(verdict.latency_ms / 1000)
        monitored = False
        for v in verdict.violations:
            if v.monitor:  # monitor mode: what it would have done, counted apart from what was done
                monitored = True
                self.child(self.monitored, app, stage, v.filter, v.category, v.action.value).inc()
                if v.action.blocks:
                    self.child(self.would_block, app, stage, v.filter, v.category).inc()
                continue
            self.child(self.violations, app, stage, v.filter, v.category, v.action.value).inc()
            if v.action.value == "block":
                self.child(self.blocks, app, stage, v.filter, v.category).inc()
        if monitored:
            self.child(self.would_decisions, app, stage, verdict.would_action.value).inc()

    def filter_times(self, app: str, stage: str, timings: list[tuple[str, float]]) -> None:
        for filter_id, seconds in timings:
            self.child(self.filter_latency, app, stage, filter_id).observe(seconds)

    def render(self) -> bytes:
        """The text exposition: this instance's registry, or every worker's values when several share a directory."""
        if not self.multiprocess_dir:
            return generate_latest(self.registry)
        from prometheus_client import multiprocess

        self.sync()
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry, path=self.multiprocess_dir)  # type: ignore[no-untyped-call]
        return generate_latest(registry)
