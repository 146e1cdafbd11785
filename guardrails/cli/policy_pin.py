"""``guardrails policy pin MODEL_DIR POLICY``: write the sha256 of a model's weight files into a policy file.

The pins go into the file's top-level ``weights:`` block, replaced if there is one, appended if not;
every other line of the file (comments included) is kept as written. The edit is checked (the file
must read back as before, plus the new pins) and written atomically. Pin before signing: a signed
file's signature (``FILE.sig``) no longer matches after the edit.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

import yaml

from guardrails.errors import PolicyError
from guardrails.runtime import ModelNotFound, locate_model
from guardrails.weights_pin import HashCache, OnMismatch, WeightsPin, hash_weights, set_pins, weight_files


def register(cmds: Any) -> None:
    p = cmds.add_parser(
        "pin", help="pin the sha256 of a model's weight files in a policy file",
        description="Write the sha256 of MODEL's weight files (*.safetensors; else *.bin/*.pt/*.pth/*.ckpt) into "
                    "POLICY's 'weights:' block, keeping the rest of the file. A policy loaded for a model whose "
                    "files then differ warns or refuses (on_mismatch).",
    )
    p.add_argument("model", metavar="MODEL_DIR", help="model folder (or a hub id already in the local cache)")
    p.add_argument("policy", metavar="POLICY", help="policy file to write the pins into")
    p.add_argument("--on-mismatch", choices=["warn", "refuse"], default=None,
                   help="what a mismatch does (default: the file's current setting, else refuse)")
    p.set_defaults(handler=run)


def pin_policy(model: str | os.PathLike[str], policy: str | os.PathLike[str], *,
               on_mismatch: OnMismatch | None = None, cache: HashCache | None = None) -> dict[str, str]:
    """Pin ``model``'s weight files in ``policy`` (a file); returns the pins written."""
    folder = locate_model(str(model))
    if folder is None or not folder.is_dir():
        raise ModelNotFound(f"{model}: no model folder there (a hub model must be downloaded first)")
    names = weight_files(folder)
    if not names:
        raise PolicyError(f"{folder}: no weight files (*.safetensors, *.bin, *.pt, *.pth, *.ckpt) to pin")
    path = Path(policy)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise PolicyError(f"{path}: cannot read policy file ({type(exc).__name__})") from None
    before = _parse(text, path)
    old = before.get("weights")
    mode: OnMismatch = on_mismatch or ("warn" if isinstance(old, dict) and old.get("on_mismatch") == "warn" else "refuse")
    pins = hash_weights(folder, names, cache)
    new_text = set_pins(text, pins, mode)
    after = _parse(new_text, path)
    expected = {**before, "weights": {"on_mismatch": mode, "sha256": pins}}
    if after != expected or WeightsPin.model_validate(after["weights"]).sha256 != pins:
        raise PolicyError(f"{path}: cannot place the pins in this file's text safely; add this block by hand:\n"
                          + set_pins("", pins, mode))
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
            f.write(new_text)
        os.chmod(tmp, path.stat().st_mode & 0o7777)
        os.replace(tmp, path)  # atomic: a sidecar watching the file never reads half of it
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return pins


def _parse(text: str, path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise PolicyError(f"{path}: not valid YAML ({exc.__class__.__name__}); fix it before pinning") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise PolicyError(f"{path}: expected a mapping of policy keys at the top level")
    return data


def run(args: argparse.Namespace) -> int:
    pins = pin_policy(args.model, args.policy, on_mismatch=args.on_mismatch)
    for name, digest in sorted(pins.items()):
        print(f"{digest}  {name}")
    print(f"{args.policy}: pinned {len(pins)} weight file(s) of {args.model}", file=sys.stderr)
    if Path(str(args.policy) + ".sig").exists():
        print(f"{args.policy}.sig no longer matches the file: sign it again (guardrails policy sign)", file=sys.stderr)
    return 0
