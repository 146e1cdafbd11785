"""``guardrails keygen`` and ``guardrails policy sign|verify``: signed policies (see guardrails.signing)."""

from __future__ import annotations

import argparse
import stat
import sys
from pathlib import Path
from typing import Any

from guardrails.cli.options import add_trust_flag, trust_of
from guardrails.errors import PolicyError
from guardrails.policy import load_policy
from guardrails.signing import (
    KeyRing,
    PolicySignatureError,
    generate_key_pair,
    load_private_key,
    load_trusted_keys,
    sign_file,
)

EXIT_OK, EXIT_BAD, EXIT_USAGE = 0, 1, 2


def register(sub: Any) -> None:
    p = sub.add_parser(
        "keygen", help="make an Ed25519 key pair for signing policy files",
        description="Writes DIR/NAME.key (private key, PEM, permissions 0600: keep it secret) and DIR/NAME.pub "
                    "(public key, PEM: copy it into each deployment's trusted keys folder).",
    )
    p.add_argument("--out", required=True, metavar="DIR", help="folder to write the key pair into (created if missing)")
    p.add_argument("--name", default="signing", help="file name of the pair, without extension (default: signing)")
    p.set_defaults(handler=keygen)


def register_policy_commands(cmds: Any) -> None:
    """``policy sign`` and ``policy verify`` (called by guardrails.cli.policy)."""
    s = cmds.add_parser("sign", help="write a detached signature FILE.sig next to each file")
    s.add_argument("--key", required=True, metavar="PRIVATE_KEY", help="private key file written by `guardrails keygen`")
    s.add_argument("files", nargs="+", metavar="FILE",
                   help="policy files, and the files they extend or read (deny lists), each signed on its own")
    s.set_defaults(handler=sign)
    v = cmds.add_parser(
        "verify", help="check the signatures of a policy and of every file it is built from; exit 1 if any is bad",
        description="Exit 0: every file carries a valid signature (built-in policies need none); 1: a file is "
                    "unsigned, changed since signed, or signed by a key not in --trusted-keys; 2: usage error.",
    )
    v.add_argument("files", nargs="+", metavar="FILE")
    v.add_argument("--trusted-keys", metavar="DIR", default=None,
                   help="folder of trusted public keys (*.pub), or one .pub file; without it, only whether each "
                        "file is unchanged since signed is checked, not who signed it")
    add_trust_flag(v)
    v.set_defaults(handler=verify)


def keygen(args: argparse.Namespace) -> int:
    private, public, kid = generate_key_pair(args.out, args.name)
    print(f"key id: {kid}")
    print(f"private key: {private} (permissions 0600: keep it secret, off the serving hosts)")
    print(f"public key:  {public} (copy it into each deployment's trusted keys folder)")
    return EXIT_OK


def sign(args: argparse.Namespace) -> int:
    key = load_private_key(args.key)
    mode = Path(args.key).stat().st_mode
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        print(f"warning: {args.key} can be read by other users (permissions {stat.S_IMODE(mode):o}); "
              f"chmod 600 it", file=sys.stderr)
    for file in args.files:
        if not Path(file).is_file():
            print(f"guardrails policy sign: error: {file}: no such file", file=sys.stderr)
            return EXIT_USAGE
    for file in args.files:
        target, kid = sign_file(file, key)
        print(f"{file}: signed by key {kid} ({target})")
    return EXIT_OK


def _display(file: str) -> str:
    try:
        return str(Path(file).relative_to(Path.cwd()))
    except ValueError:
        return file


def verify(args: argparse.Namespace) -> int:
    try:
        ring = load_trusted_keys(args.trusted_keys) if args.trusted_keys else KeyRing.integrity_only_ring()
    except PolicyError as exc:
        print(f"guardrails policy verify: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    bad = usage = False
    for source in args.files:
        try:
            policy = load_policy(source, trust_plugins=trust_of(args), trusted_keys=ring)
        except PolicySignatureError as exc:
            bad = True
            for problem in exc.problems:
                print(problem, file=sys.stderr)
            print(f"{source}: FAILED", file=sys.stderr)
            continue
        except PolicyError as exc:
            usage = True
            for problem in exc.problems:
                print(problem, file=sys.stderr)
            print(f"{source}: cannot be verified (the policy does not load)", file=sys.stderr)
            continue
        signatures = policy.signatures
        own = [f for f in policy.files if f == policy.source]
        for file in [*own, *(f for f in policy.files if f != policy.source)]:  # the file itself first
            kid = signatures.get(file)
            if kid is not None:
                print(f"{_display(file)}: signed by key {kid}")
            else:
                print(f"{_display(file)}: built-in (part of the installed package: needs no signature)")
        signer = f"signer {policy.signer}" if policy.signer else "built-in policy"
        print(f"{source}: ok, {signer} (policy {policy.name!r}, {policy.hash})")
    if not args.trusted_keys:
        print("note: no --trusted-keys: this shows that the files are unchanged since they were signed, "
              "not that a key you trust signed them", file=sys.stderr)
    return EXIT_BAD if bad else EXIT_USAGE if usage else EXIT_OK
