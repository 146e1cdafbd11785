# guardrails sidecar: an OpenAI-compatible proxy that applies a policy per app (docs/deployment.md).
#
#   docker build -t guardrails .                                  # server variant: no torch, about 600 MB
#   docker build -t guardrails:models --build-arg VARIANT=models .  # + CPU torch/transformers for model filters
#
#   docker run -p 8080:8080 -e GUARDRAILS_UPSTREAM=http://vllm:8000/v1 guardrails
#   docker run -p 8080:8080 -v $PWD/deploy/config:/config:ro -e GUARDRAILS_CONFIG=/config/server.yaml \
#       -e SUPPORT_KEY=... guardrails
#
# The upstream is required (GUARDRAILS_UPSTREAM, or `upstream:` in a mounted GUARDRAILS_CONFIG): the container
# stops at once with a message naming both when neither is set. Every `guardrails serve` flag has a GUARDRAILS_*
# variable (GUARDRAILS_POLICY, GUARDRAILS_WORKERS, GUARDRAILS_DRAIN_DELAY, GUARDRAILS_API_KEY_ENV, ...).
# podman/buildah build it as well (`--format docker` keeps the HEALTHCHECK).

ARG BASE_IMAGE=python:3.11-slim

# -- stage 1: wheels of the package and every dependency --------------------------------------------------------
FROM ${BASE_IMAGE} AS wheels
# server: the sidecar without torch. models: also torch (from PyTorch's CPU index: the default wheels bring
# gigabytes of CUDA), transformers and detoxify, for model-backed filters and `serve --model`.
ARG VARIANT=server
ARG TORCH_CPU_INDEX=https://download.pytorch.org/whl/cpu
WORKDIR /src
COPY pyproject.toml README.md constraints.txt ./
COPY guardrails ./guardrails
RUN set -eu; \
    case "$VARIANT" in \
      server) extras=server; set -- ;; \
      models) extras=server,models; set -- --extra-index-url "$TORCH_CPU_INDEX" ;; \
      *) echo "VARIANT must be server or models, not $VARIANT" >&2; exit 1 ;; \
    esac; \
    pip wheel --no-cache-dir --wheel-dir /wheels "$@" -c constraints.txt ".[$extras]"; \
    echo "$extras" > /wheels/EXTRAS; \
    sha256sum /wheels/*.whl /wheels/EXTRAS > /wheels/MANIFEST

# -- stage 2: the runtime: installed from those wheels only, no compilers, no pip cache, not root -----------------
FROM ${BASE_IMAGE}
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS="" \
    HF_HOME=/models \
    GUARDRAILS_HOST=0.0.0.0 \
    GUARDRAILS_PORT=8080
# A bind mount's content is not part of a build cache key (buildah/podman): copying the wheels' checksums first
# makes a rebuild with other wheels (new code, another VARIANT) reinstall instead of reusing a stale layer.
COPY --from=wheels /wheels/MANIFEST /etc/guardrails-wheels.sha256
RUN --mount=type=bind,from=wheels,source=/wheels,target=/wheels \
    pip install --no-cache-dir --no-index --find-links /wheels "openweights-guardrails[$(cat /wheels/EXTRAS)]" \
    && groupadd --gid 10001 guardrails \
    && useradd --uid 10001 --gid 10001 --no-create-home --home-dir /models --shell /usr/sbin/nologin guardrails \
    && mkdir -p /models /config \
    && chown 10001:10001 /models
# The policy library ships in the package: GUARDRAILS_POLICY=customer-support (any name in policies/), or a mounted
# file. Relative paths are read from /config, where a server config is usually mounted.
WORKDIR /config

# Hub models (model-backed filters, `guardrails models prefetch`) are cached here: mount a volume to keep them.
VOLUME ["/models"]
USER 10001:10001
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=3s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('GUARDRAILS_PORT', '8080'), timeout=2)"]
STOPSIGNAL SIGTERM
ENTRYPOINT ["guardrails"]
CMD ["serve"]
