"""Binding a policy to the weights it was written for: sha256 pins of a model's weight files.

A policy may carry, at the top level::

    weights:
      on_mismatch: refuse        # or warn
      sha256:
        model.safetensors: 3f1c...   # file name in the model folder -> sha256 (hex)

``guardrails policy pin MODEL_DIR POLICY`` writes that block (``set_pins``: the rest of the file's
text, comments included, is kept). When a policy is loaded *for a model* (``Guard.for_model``,
``guard.wrap``, ``check --model``, ``serve --model``), the model folder's weight files are compared
with the pins (``verify_pins``): a file that differs, is missing, or is a weight file the pins do not
list is a mismatch, which logs a warning (``warn``) or refuses the policy (``refuse``, the default).

Which files are weights (``weight_files``): the ``*.safetensors`` files at the top of the folder;
when it has none, its ``*.bin``, ``*.pt``, ``*.pth`` and ``*.ckpt`` files (pickled checkpoints, what
transformers falls back to). Sub-folders are not looked at (transformers loads from the top level;
e.g. a repository's ``original/`` copy of the weights is not pinned). Tokenizer and config files
are not weights and are not pinned.

Hashing a multi-gigabyte folder takes seconds, so digests are cached (``HashCache``) by the file's
real path with its size, mtime_ns, ctime_ns and inode, in a JSON file:
``$GUARDRAILS_HASH_CACHE``, else ``weights-hashes.json`` in guardrails' cache folder
(``$GUARDRAILS_CACHE``, default ``~/.cache/guardrails``, as for ONNX exports).
``GUARDRAILS_HASH_CACHE=off`` hashes every time. A file rewritten in place keeps its path but gets
a new mtime and ctime (the ctime cannot be set back by a user), so it is hashed again.

This module is in the policy layer: stdlib and pydantic only.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Literal, Mapping

from pydantic import BaseModel, ConfigDict, Field, field_validator

logger = logging.getLogger(__name__)

CACHE_DIR_ENV = "GUARDRAILS_CACHE"  # as guardrails.runtime.onnx_export
HASH_CACHE_ENV = "GUARDRAILS_HASH_CACHE"
HASH_CACHE_FILE = "weights-hashes.json"
WEIGHT_PATTERNS = ("*.safetensors",)
FALLBACK_PATTERNS = ("*.bin", "*.pt", "*.pth", "*.ckpt")
CHUNK_BYTES = 8 * 1024 * 1024
_HEX64 = re.compile(r"^[0-9a-f]{64}$")

OnMismatch = Literal["warn", "refuse"]


class WeightsPin(BaseModel):
    """The ``weights:`` block of a policy."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    sha256: dict[str, str] = Field(
        min_length=1,
        description="Weight file name (relative to the model folder) -> its sha256 in hex; written by `guardrails policy pin`.",
    )
    on_mismatch: OnMismatch = Field(
        "refuse", description="What a model whose weight files differ from the pins does: warn (log) or refuse (error)."
    )

    @field_validator("sha256")
    @classmethod
    def _names_and_digests(cls, value: dict[str, str]) -> dict[str, str]:
        out = {}
        for name, digest in value.items():
            if not isinstance(digest, str) or not _HEX64.match(digest.lower()):
                raise ValueError(f"{name}: expected a sha256 digest (64 hex digits), got {digest!r}")
            parts = name.replace("\\", "/").split("/")
            if not name or name.startswith("/") or ".." in parts or "\\" in name:
                raise ValueError(f"{name!r}: expected a file name relative to the model folder")
            out[name] = digest.lower()
        return out


# -- which files, and their digests -------------------------------------------------------------


def weight_files(folder: str | os.PathLike[str]) -> list[str]:
    """The weight files of a model folder (see the module docstring), as sorted relative names."""
    root = Path(folder)
    for patterns in (WEIGHT_PATTERNS, FALLBACK_PATTERNS):
        found = sorted({p.name for pattern in patterns for p in root.glob(pattern) if p.is_file()})
        if found:
            return found
    return []


def default_cache_path() -> Path | None:
    """Where digests are cached (None: caching is off)."""
    explicit = os.environ.get(HASH_CACHE_ENV, "").strip()
    if explicit.lower() in ("off", "0", "false", "no", "none"):
        return None
    if explicit:
        return Path(explicit).expanduser()
    return cache_dir() / HASH_CACHE_FILE


def cache_dir() -> Path:
    """guardrails' own cache folder: $GUARDRAILS_CACHE, else ~/.cache/guardrails."""
    explicit = os.environ.get(CACHE_DIR_ENV, "").strip()
    return Path(explicit).expanduser() if explicit else Path.home() / ".cache" / "guardrails"


def sha256_file(path: str | os.PathLike[str]) -> str:
    """The sha256 of a file, read in 8 MiB pieces (no caching)."""
    digest = hashlib.sha256()
    buffer = bytearray(CHUNK_BYTES)
    view = memoryview(buffer)
    with open(path, "rb", buffering=0) as f:
        while True:
            n = f.readinto(buffer)
            if not n:
                break
            digest.update(view[:n])
    return digest.hexdigest()


class HashCache:
    """File digests cached by (real path, size, mtime_ns, ctime_ns, inode) in a JSON file.

    ``reads`` counts the files this instance actually read (a cache hit reads nothing). ``save``
    merges with what is on disk (another process may have added entries) and replaces the file
    atomically; entries of files that no longer exist are dropped. A missing or unreadable cache
    file is an empty cache.
    """

    def __init__(self, path: str | os.PathLike[str] | None) -> None:
        self.path = Path(path) if path is not None else None
        self.reads = 0
        self.bytes_read = 0
        self._entries: dict[str, dict[str, Any]] = self._load()
        self._dirty = False

    @classmethod
    def default(cls) -> "HashCache":
        return cls(default_cache_path())

    def _load(self) -> dict[str, dict[str, Any]]:
        if self.path is None:
            return {}
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        files = data.get("files") if isinstance(data, dict) else None
        return {k: v for k, v in files.items() if isinstance(v, dict)} if isinstance(files, dict) else {}

    @staticmethod
    def _stamp(st: os.stat_result) -> dict[str, int]:
        return {"size": st.st_size, "mtime_ns": st.st_mtime_ns, "ctime_ns": st.st_ctime_ns, "ino": st.st_ino}

    def sha256(self, path: str | os.PathLike[str]) -> str:
        """The file's sha256: from the cache when its stamp is unchanged, else read (and cached)."""
        real = os.path.realpath(path)
        stamp = self._stamp(os.stat(real))
        entry = self._entries.get(real)
        if entry is not None and all(entry.get(k) == v for k, v in stamp.items()) and isinstance(entry.get("sha256"), str):
            return str(entry["sha256"])
        digest = sha256_file(real)
        self.reads += 1
        self.bytes_read += stamp["size"]
        if self.path is not None and self._stamp(os.stat(real)) == stamp:  # unchanged while read: safe to cache
            self._entries[real] = {**stamp, "sha256": digest}
            self._dirty = True
        return digest

    def save(self) -> None:
        if self.path is None or not self._dirty:
            return
        on_disk = self._load()
        merged = {k: v for k, v in {**on_disk, **self._entries}.items() if os.path.exists(k)}
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=".weights-hashes-", suffix=".tmp", dir=self.path.parent)
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump({"version": 1, "files": merged}, f, indent=0, sort_keys=True)
            os.replace(tmp, self.path)
        except OSError as exc:  # a read-only home: the digests were still checked, only not kept
            logger.debug("weights hash cache %s not written: %s", self.path, exc)
            return
        self._entries = merged
        self._dirty = False


def hash_weights(folder: str | os.PathLike[str], names: Iterable[str] | None = None,
                 cache: HashCache | None = None) -> dict[str, str]:
    """sha256 of the given files of ``folder`` (default: its weight files), through the cache."""
    cache = cache if cache is not None else HashCache.default()
    root = Path(folder)
    try:
        return {name: cache.sha256(root / name) for name in (weight_files(root) if names is None else names)}
    finally:
        cache.save()


# -- verification -----------------------------------------------------------------------------


@dataclass(frozen=True)
class WeightsCheck:
    """The outcome of comparing a model folder with a policy's pins: ``problems`` names each file
    that differs, is missing or is not pinned; empty means the weights match."""

    folder: str | None
    on_mismatch: OnMismatch
    problems: tuple[str, ...] = ()
    checked: tuple[str, ...] = ()
    pinned_by: str | None = None  # the policy (file) that holds the pins

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "folder": self.folder, "on_mismatch": self.on_mismatch, "pinned_by": self.pinned_by,
                "checked": list(self.checked), "problems": list(self.problems)}


def verify_pins(pin: WeightsPin, folder: str | os.PathLike[str] | None, *, pinned_by: str | None = None,
                cache: HashCache | None = None) -> WeightsCheck:
    """Compare ``folder``'s weight files with ``pin`` (None: the weights are not available locally)."""
    if folder is None:
        return WeightsCheck(None, pin.on_mismatch, ("the model's weight files are not available locally, "
                                                     "so they cannot be compared with the pins",), (), pinned_by)
    root = Path(folder)
    present = set(weight_files(root))
    problems: list[str] = []
    checked: list[str] = []
    for name in sorted(present - set(pin.sha256)):
        problems.append(f"{name}: a weight file the pins do not list")
    to_hash = [name for name in sorted(pin.sha256) if (root / name).is_file()]
    for name in sorted(pin.sha256):
        if name not in to_hash:
            problems.append(f"{name}: pinned, but missing from the model folder")
    found = hash_weights(root, to_hash, cache) if to_hash else {}
    for name in to_hash:
        checked.append(name)
        if found[name] != pin.sha256[name]:
            problems.append(f"{name}: sha256 differs from the pin (pinned {pin.sha256[name][:12]}..., "
                            f"found {found[name][:12]}...)")
    return WeightsCheck(str(root), pin.on_mismatch, tuple(problems), tuple(checked), pinned_by)


# -- writing pins into a policy file's text ---------------------------------------------------

PIN_COMMENT = "# sha256 of the model's weight files (written by `guardrails policy pin`)."
_TOP_KEY = re.compile(r"^weights\s*:")


def pin_block(pins: Mapping[str, str], on_mismatch: OnMismatch) -> str:
    """The ``weights:`` block for ``pins``, as YAML text."""
    lines = [PIN_COMMENT, "weights:", f"  on_mismatch: {on_mismatch}", "  sha256:"]
    lines += [f"    {json.dumps(name)}: {digest}" for name, digest in sorted(pins.items())]
    return "\n".join(lines) + "\n"


def set_pins(text: str, pins: Mapping[str, str], on_mismatch: OnMismatch) -> str:
    """``text`` (a policy file's) with its top-level ``weights:`` block replaced by the given pins,
    or the block appended when it has none. Every other line is kept as it was.

    The block of an existing ``weights:`` key is its line and the indented (or blank) lines after
    it; a comment at column 0 ends it (it belongs to what follows)."""
    block = pin_block(pins, on_mismatch)
    lines = text.splitlines(keepends=True)
    start = next((i for i, line in enumerate(lines) if _TOP_KEY.match(line)), None)
    if start is None:
        body = text if not text or text.endswith("\n") else text + "\n"
        return body + ("\n" if body.strip() else "") + block
    end = start + 1
    while end < len(lines) and (not lines[end].strip() or lines[end][0] in " \t"):
        end += 1
    while end > start + 1 and not lines[end - 1].strip():
        end -= 1  # blank lines after the block stay where they are
    if start > 0 and lines[start - 1].rstrip("\r\n") == PIN_COMMENT:
        start -= 1  # our own comment line, rewritten with the block
    return "".join(lines[:start]) + block + "".join(lines[end:])
