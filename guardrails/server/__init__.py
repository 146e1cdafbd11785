"""The sidecar proxy: an OpenAI-compatible server that applies a policy per app (needs the 'server' extra)."""

from guardrails.server.app import create_app
from guardrails.server.config import LoadedServerConfig, ServerConfigError, load_server_config, single_app_config

__all__ = ["LoadedServerConfig", "ServerConfigError", "create_app", "load_server_config", "single_app_config"]
