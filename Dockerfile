# guardrails sidecar: an OpenAI-compatible proxy that applies a policy per app.
#   docker build -t guardrails .
#   docker run -p 8080:8080 -e SUPPORT_KEY=... -v $PWD/examples:/config guardrails \
#       serve --config /config/server.yaml --host 0.0.0.0
#   (single app:  ... guardrails serve --upstream http://vllm:8000/v1 --policy default --host 0.0.0.0)
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS=""

WORKDIR /app
COPY pyproject.toml README.md constraints.txt ./
COPY guardrails ./guardrails
COPY policies ./policies

# The server extra keeps the image light (no torch). For model-backed filters or --model, build with
#   --build-arg EXTRAS=server,models
# torch then comes from PyTorch's CPU index (the CUDA wheels add gigabytes); constraints.txt pins it.
ARG EXTRAS=server
RUN pip install --extra-index-url https://download.pytorch.org/whl/cpu -c constraints.txt ".[${EXTRAS}]" \
    && useradd --create-home --uid 10001 guardrails

USER guardrails
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=3s CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8080/healthz')"
ENTRYPOINT ["guardrails"]
CMD ["serve", "--upstream", "http://host.docker.internal:8000/v1", "--policy", "default", "--host", "0.0.0.0", "--port", "8080"]
