"""The container image, built with podman and run as a deployer would (benchmarks/bench_container.py).

Slow (a build, minutes the first time) and needs root podman: not in the default run. Opt in with
    GUARDRAILS_CONTAINER_TESTS=1 python -m pytest tests/container -m container
"""

from __future__ import annotations

import os

import pytest

pytestmark = [pytest.mark.container, pytest.mark.slow]

OPT_IN = "GUARDRAILS_CONTAINER_TESTS"


def test_image_builds_runs_guarded_as_uid_10001_and_stops_on_sigterm() -> None:
    if os.environ.get(OPT_IN) != "1":
        pytest.skip(f"container build-and-run test: set {OPT_IN}=1 to run it (builds the image with podman: minutes)")
    from benchmarks import bench_container

    reason = bench_container.missing_reason()
    if reason:
        pytest.skip(f"container build-and-run test: {reason}")
    tag, _ = bench_container.build(no_cache=False, variant="server")
    results = bench_container.run_checks(tag, workers=2, idle_s=0.5)
    failed = [name for name, ok in results["checks"].items() if not ok]
    assert not failed, results
    assert set(results["checks"]) == {"no_upstream_exits_2_naming_the_variables", "healthz", "readyz", "chat_through_upstream", "injection_blocked_not_forwarded",
                                      "exec_id_is_10001", "server_process_uid_10001", "healthcheck_passes",
                                      "exits_on_sigterm"}
    assert results["processes"] >= 3  # the supervisor and two workers
