"""``guardrails serve``: the OpenAI-compatible sidecar proxy (needs the 'server' extra)."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path
from typing import Any

from guardrails.cli.options import add_trust_flag, trust_of
from guardrails.errors import GuardrailsError

EXIT_USAGE = 2
logger = logging.getLogger("guardrails.serve")


def register(sub: Any) -> None:
    p = sub.add_parser(
        "serve",
        help="run the sidecar proxy in front of an OpenAI-compatible server",
        description="One app:  guardrails serve --upstream http://127.0.0.1:8000/v1 --policy app.yaml\n"
        "Many apps: guardrails serve --config server.yaml\n"
        "No inference server: guardrails serve --model PATH_OR_HUB_ID --policy app.yaml",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--config", metavar="FILE", help="server YAML with apps, keys, policies, upstreams and limits")
    p.add_argument("--upstream", metavar="URL", help="OpenAI-compatible base URL (vLLM, TGI, Ollama, llama.cpp)")
    p.add_argument("--model", metavar="PATH_OR_HUB_ID", help="serve this transformers model in-process as the upstream; "
                   "its own guardrails.yaml applies and its weight pins are checked (guardrails.bundled)")
    p.add_argument("--model-policy", choices=["stack", "refuse", "ignore"], default=None,
                   help="with --model and a --policy that does not extend the model's guardrails.yaml: stack "
                        "(default: run both), refuse (do not start) or ignore (run --policy alone)")
    p.add_argument("--policy", default=None, help="policy file or built-in name for the single app (default: default; "
                                                  "with --model: the model's own guardrails.yaml, else default)")
    p.add_argument("--api-key-env", metavar="VAR", help="single app: require the key held by this environment variable")
    p.add_argument("--block-style", choices=["refusal", "error"], default="refusal",
                   help="single app: refusal (200, finish_reason content_filter) or an OpenAI error (400)")
    p.add_argument("--audit-log", metavar="PATH", default=None, help="'-' (stdout, default), 'off', or a file")
    p.add_argument("--host", default=None, help="bind address (default: 127.0.0.1, or the config's)")
    p.add_argument("--port", type=int, default=None, help="port (default: 8080, or the config's)")
    add_trust_flag(p)
    p.add_argument("--trusted-keys", metavar="DIR", default=None,
                   help="refuse policy files (at start and on reload) without a valid signature by one of the "
                        "public keys (*.pub) in DIR; built-in policies need none (see `guardrails policy sign`)")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    try:
        import uvicorn

        from guardrails.server import create_app
        from guardrails.server.backend import LocalModel, start_backend_thread
        from guardrails.server.config import load_server_config, single_app_config
        from guardrails.server.protocol import uvicorn_options
    except ImportError as exc:
        print(f"guardrails serve: error: {exc.name} is missing; install the server extra: "
              "pip install 'openweights-guardrails[server]'", file=sys.stderr)
        return EXIT_USAGE

    if args.config and (args.upstream or args.policy or args.api_key_env):
        print("guardrails serve: error: --config already names upstreams, policies and keys; "
              "drop --upstream/--policy/--api-key-env", file=sys.stderr)
        return EXIT_USAGE
    if not args.config and not args.upstream and not args.model:
        print("guardrails serve: error: give --upstream URL (or --model PATH) and --policy, or --config FILE",
              file=sys.stderr)
        return EXIT_USAGE
    if args.upstream and args.model:
        print("guardrails serve: error: give --upstream or --model, not both", file=sys.stderr)
        return EXIT_USAGE

    stop_backend = None
    upstream = args.upstream
    try:
        if args.config:
            loaded = load_server_config(args.config)
            if args.model:
                raise GuardrailsError("--model with --config: set the apps' 'upstream' in the config instead")
        else:
            # Validate the config (policy path, URL) before spending minutes on a model load.
            loaded = single_app_config(upstream=upstream or "http://127.0.0.1:1/v1", policy=args.policy or "default",
                                       key_env=args.api_key_env, block_style=args.block_style)
        if args.model:
            model = LocalModel(args.model)
            print(f"guardrails serve: loading {args.model} ...", file=sys.stderr)
            upstream, stop_backend = start_backend_thread(model)
        if not args.config:
            loaded = single_app_config(upstream=upstream, policy=args.policy or ("model" if args.model else "default"),
                                       key_env=args.api_key_env, block_style=args.block_style, audit=args.audit_log or "-",
                                       model=args.model, model_policy=args.model_policy)
        config = loaded.config
        updates: dict[str, Any] = {}
        if args.host is not None:
            updates["host"] = args.host
        if args.port is not None:
            updates["port"] = args.port
        if args.audit_log is not None:
            updates["audit"] = config.audit.model_copy(update={"path": args.audit_log})
        trust = trust_of(args)
        if trust:
            updates["allow_plugins"] = trust
        if args.trusted_keys is not None:
            updates["trusted_keys"] = str(Path(args.trusted_keys).expanduser().resolve())
        if updates:
            loaded.config = config.model_copy(update=updates)
        app = create_app(loaded)
        cfg = loaded.config
        print(f"guardrails serve: {len(cfg.apps)} app(s) on http://{cfg.host}:{cfg.port}/v1", file=sys.stderr)
        uvicorn.run(app, host=cfg.host, port=cfg.port, log_level="warning", access_log=False, timeout_graceful_shutdown=30,
                    **uvicorn_options(cfg))
        return 0
    except RuntimeError as exc:
        print(f"guardrails serve: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    finally:
        if stop_backend is not None:
            stop_backend()
