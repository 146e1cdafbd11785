"""deploy/: the compose files, the Kubernetes manifests and the mounted server config agree with the image and load."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"


def _load(path: Path) -> Any:
    return yaml.safe_load(path.read_text())


def _dockerfile_user() -> str:
    users = re.findall(r"^USER\s+(\S+)", (REPO / "Dockerfile").read_text(), re.M)
    assert users, "Dockerfile has no USER"
    return users[-1]


def test_dockerfile_is_multi_stage_non_root_with_a_json_healthcheck_and_no_default_upstream() -> None:
    text = (REPO / "Dockerfile").read_text()
    assert text.count("FROM ${BASE_IMAGE}") == 2 and "ARG BASE_IMAGE=python:3.11-slim" in text
    assert _dockerfile_user() == "10001:10001"
    assert re.search(r'^HEALTHCHECK .*\n?\s*CMD \["python"', text, re.M)
    assert "host.docker.internal" not in text
    # The PyTorch CPU index is used in the models variant only.
    assert text.count("TORCH_CPU_INDEX") == 2 and re.search(r'models\) .*--extra-index-url "\$TORCH_CPU_INDEX"', text)


def test_compose_puts_the_sidecar_in_front_of_vllm_and_ollama() -> None:
    for name, upstream_service, port in (("compose.yaml", "vllm", 8000), ("compose.ollama.yaml", "ollama", 11434)):
        compose = _load(DEPLOY / name)
        guard = compose["services"]["guardrails"]
        assert guard["build"]["context"] == ".." and (DEPLOY / guard["build"]["context"] / "Dockerfile").exists()
        assert guard["depends_on"][upstream_service]["condition"] == "service_healthy"
        assert "healthcheck" in compose["services"][upstream_service]
        assert "ports" not in compose["services"][upstream_service]  # nothing bypasses the sidecar
        assert any(p.endswith(":8080") for p in guard["ports"])
        assert any(v.endswith(":/models") for v in guard["volumes"])
        env = guard["environment"]
        if "GUARDRAILS_UPSTREAM" in env:
            assert env["GUARDRAILS_UPSTREAM"] == f"http://{upstream_service}:{port}/v1"
        else:
            assert env["GUARDRAILS_CONFIG"] == "/config/server.yaml" and "./config:/config:ro" in guard["volumes"]
            config = _load(DEPLOY / "config" / "server.yaml")
            assert config["upstream"] == f"http://{upstream_service}:{port}/v1"


def test_mounted_server_config_loads_and_builds_the_sidecar(monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("fastapi")
    from guardrails.server import create_app, load_server_config

    monkeypatch.setenv("SUPPORT_KEY", "support-key-for-the-test")
    monkeypatch.setenv("INTERNAL_KEY", "internal-key-for-the-test")
    app = create_app(load_server_config(DEPLOY / "config" / "server.yaml"))  # loads every app's policy
    assert set(app.state.sidecar.apps) == {"support", "internal"}
    # The keys the compose file and the Secret provide are the ones the config reads.
    config_envs = {k["env"] for a in _load(DEPLOY / "config" / "server.yaml")["apps"].values() for k in a["keys"]}
    assert config_envs == set(_load(DEPLOY / "kubernetes" / "secret.example.yaml")["stringData"])
    assert config_envs <= set(_load(DEPLOY / "compose.yaml")["services"]["guardrails"]["environment"])


def test_kubernetes_deployment_service_probes_and_hpa_fit_together() -> None:
    kust = _load(DEPLOY / "kustomization.yaml")
    docs = {p: _load(DEPLOY / p) for p in kust["resources"]}
    by_kind = {d["kind"]: d for d in docs.values()}
    assert set(by_kind) == {"Deployment", "Service", "HorizontalPodAutoscaler", "PodDisruptionBudget"}
    assert (DEPLOY / kust["configMapGenerator"][0]["files"][0].split("=", 1)[1]).exists()

    dep = by_kind["Deployment"]
    labels = dep["spec"]["template"]["metadata"]["labels"]
    assert dep["spec"]["selector"]["matchLabels"] == labels
    pod = dep["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert f'{pod["securityContext"]["runAsUser"]}:{pod["securityContext"]["runAsGroup"]}' == _dockerfile_user()
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    port = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert port == {"http": 8080}
    assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
    assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    env = {e["name"]: e["value"] for e in container["env"]}
    assert env["GUARDRAILS_CONFIG"] == "/config/server.yaml"
    mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
    assert {"/config", "/models", "/tmp"} <= set(mounts)
    assert {v["name"] for v in pod["volumes"]} == set(mounts.values())
    assert next(v for v in pod["volumes"] if v["name"] == mounts["/config"])["configMap"]["name"] == \
        kust["configMapGenerator"][0]["name"]
    # The grace period covers the drain delay plus the 30 s given to requests in progress.
    assert pod["terminationGracePeriodSeconds"] >= float(env["GUARDRAILS_DRAIN_DELAY"]) + 30

    svc = by_kind["Service"]
    assert svc["spec"]["selector"] == labels and svc["spec"]["ports"][0]["targetPort"] == "http"
    hpa = by_kind["HorizontalPodAutoscaler"]
    assert hpa["spec"]["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": dep["metadata"]["name"]}
    assert 1 <= hpa["spec"]["minReplicas"] <= hpa["spec"]["maxReplicas"]
    assert by_kind["PodDisruptionBudget"]["spec"]["selector"]["matchLabels"] == labels
