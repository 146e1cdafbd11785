"""``guardrails serve``: the OpenAI-compatible sidecar proxy (needs the 'server' extra)."""

from __future__ import annotations

import argparse
import logging
import os
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
    p.add_argument("--config", metavar="FILE", default=_env("CONFIG"),
                   help="server YAML with apps, keys, policies, upstreams and limits")
    p.add_argument("--upstream", metavar="URL", default=_env("UPSTREAM"),
                   help="OpenAI-compatible base URL (vLLM, TGI, Ollama, llama.cpp)")
    p.add_argument("--model", metavar="PATH_OR_HUB_ID", help="serve this transformers model in-process as the upstream; "
                   "its own guardrails.yaml applies and its weight pins are checked (guardrails.bundled)")
    p.add_argument("--model-policy", choices=["stack", "refuse", "ignore"], default=None,
                   help="with --model and a --policy that does not extend the model's guardrails.yaml: stack "
                        "(default: run both), refuse (do not start) or ignore (run --policy alone)")
    p.add_argument("--policy", default=_env("POLICY"), help="policy file or built-in name for the single app (default: default; "
                                                  "with --model: the model's own guardrails.yaml, else default)")
    p.add_argument("--api-key-env", metavar="VAR", default=_env("API_KEY_ENV"), help="single app: require the key held by this environment variable")
    p.add_argument("--block-style", choices=["refusal", "error"], default=_env("BLOCK_STYLE") or "refusal",
                   help="single app: refusal (200, finish_reason content_filter) or an OpenAI error (400)")
    p.add_argument("--audit-log", metavar="PATH", default=_env("AUDIT_LOG"), help="'-' (stdout, default), 'off', or a file")
    p.add_argument("--host", default=_env("HOST"), help="bind address (default: 127.0.0.1, or the config's)")
    p.add_argument("--port", type=int, default=_env("PORT"), help="port (default: 8080, or the config's)")
    p.add_argument("--workers", type=_positive_int, default=_env("WORKERS") or "1", metavar="N",
                   help="worker processes behind the one port (default: 1); /metrics sums them all")
    p.add_argument("--drain-delay", type=float, default=_env("DRAIN_DELAY") or "0", metavar="SECONDS",
                   help="on SIGTERM: answer /readyz with 503 and keep serving this long before closing the port "
                        "(time for a load balancer to notice); requests in progress then finish (default: 0)"),
    add_trust_flag(p)
    p.add_argument("--trusted-keys", metavar="DIR", default=_env("TRUSTED_KEYS"),
                   help="refuse policy files (at start and on reload) without a valid signature by one of the "
                        "public keys (*.pub) in DIR; built-in policies need none (see `guardrails policy sign`)")
    p.epilog = ("Every option can also come from an environment variable: GUARDRAILS_ and its name in capitals "
                "(GUARDRAILS_UPSTREAM, GUARDRAILS_CONFIG, GUARDRAILS_WORKERS, ...); a flag wins over its variable.")
    p.set_defaults(handler=run)


def _env(name: str) -> str | None:
    """The default of option ``--name`` from GUARDRAILS_NAME (the container's way of configuring serve)."""
    return os.environ.get(f"GUARDRAILS_{name}") or None


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of at least 1, got {text}")
    return value


def run(args: argparse.Namespace) -> int:
    try:
        from guardrails.server import create_app
        from guardrails.server.backend import LocalModel, start_backend_thread
        from guardrails.server.protocol import uvicorn_options
        from guardrails.server.serving import GRACEFUL_S, serve, supervise
    except ImportError as exc:
        print(f"guardrails serve: error: {exc.name} is missing; install the server extra: "
              "pip install 'openweights-guardrails[server]'", file=sys.stderr)
        return EXIT_USAGE

    if args.config and (args.upstream or args.policy or args.api_key_env):
        print("guardrails serve: error: --config already names upstreams, policies and keys; "
              "drop --upstream/--policy/--api-key-env (or GUARDRAILS_UPSTREAM/_POLICY/_API_KEY_ENV)", file=sys.stderr)
        return EXIT_USAGE
    if not args.config and not args.upstream and not args.model:
        print("guardrails serve: error: give --upstream URL (or --model PATH) and --policy, or --config FILE "
              "(or GUARDRAILS_UPSTREAM / GUARDRAILS_CONFIG)", file=sys.stderr)
        return EXIT_USAGE
    if args.upstream and args.model:
        print("guardrails serve: error: give --upstream or --model, not both", file=sys.stderr)
        return EXIT_USAGE
    if args.model and args.workers > 1:
        print("guardrails serve: error: --model runs the model in this process; use --workers 1 (or serve the model "
              "with vLLM and give --upstream)", file=sys.stderr)
        return EXIT_USAGE

    stop_backend = None
    try:
        if args.workers > 1:
            cfg = _loaded_config(args, args.upstream).config  # report config errors once, before any worker starts
            return supervise(_worker, args, workers=args.workers, host=cfg.host, port=cfg.port,
                             stop_timeout_s=GRACEFUL_S + args.drain_delay + 5)
        upstream = args.upstream
        if args.model:
            _loaded_config(args, "http://127.0.0.1:1/v1")  # validate (policy path, URL) before a long model load
            model = LocalModel(args.model)
            print(f"guardrails serve: loading {args.model} ...", file=sys.stderr)
            upstream, stop_backend = start_backend_thread(model)
        loaded = _loaded_config(args, upstream)
        app = create_app(loaded)
        cfg = loaded.config
        print(f"guardrails serve: {len(cfg.apps)} app(s) on http://{cfg.host}:{cfg.port}/v1", file=sys.stderr)
        serve(app, host=cfg.host, port=cfg.port, options=uvicorn_options(cfg), drain_delay_s=args.drain_delay)
        return 0
    except RuntimeError as exc:
        print(f"guardrails serve: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    finally:
        if stop_backend is not None:
            stop_backend()


def _loaded_config(args: argparse.Namespace, upstream: str | None) -> Any:
    """The server configuration the command line (and GUARDRAILS_* variables) describe."""
    from guardrails.server.config import load_server_config, single_app_config

    if args.config:
        loaded = load_server_config(args.config)
        if args.model:
            raise GuardrailsError("--model with --config: set the apps' 'upstream' in the config instead")
    else:
        assert upstream is not None
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
    return loaded


def _worker(args: argparse.Namespace, sock: Any, started: Any) -> None:
    """One of ``--workers N`` processes (spawned: module level, picklable arguments): serve on the shared socket."""
    from guardrails.server import create_app
    from guardrails.server.protocol import uvicorn_options
    from guardrails.server.serving import EXIT_CONFIG, serve

    logging.basicConfig(level=[logging.WARNING, logging.INFO, logging.DEBUG][min(getattr(args, "verbose", 0), 2)],
                        stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s")
    try:
        loaded = _loaded_config(args, args.upstream)
        app = create_app(loaded)
    except (GuardrailsError, RuntimeError) as exc:
        print(f"guardrails serve: error: {exc}", file=sys.stderr)
        sys.exit(EXIT_CONFIG)
    cfg = loaded.config
    serve(app, host=cfg.host, port=cfg.port, options=uvicorn_options(cfg), drain_delay_s=args.drain_delay,
          sockets=[sock], on_started=started.set)
