"""Signed policies: Ed25519 key pairs, detached signatures of policy files, and their verification.

A publisher makes a key pair once (``guardrails keygen``) and signs each policy file it ships
(``guardrails policy sign``); a deployer lists the public keys it trusts (a folder of ``*.pub``
files) and loads policies with ``trusted_keys=`` (``load_policy``, ``Guard.from_policy``,
``guardrails serve --trusted-keys``). Then every file a policy is built from (the file, each
``extends`` parent, each file its filters read, such as a deny list) needs a valid signature by
one of those keys, or the policy is refused. Files inside the installed package (the built-in
policies and data) are part of the installed code and need none. Without ``trusted_keys``
signatures are ignored.

Formats (docs/threat-model.md, "Signing"):

- private key: ``NAME.key``, PKCS#8 PEM, unencrypted, written with permissions 0600;
- public key: ``NAME.pub``, SubjectPublicKeyInfo PEM (what ``openssl pkey -pubout`` writes);
- key id: the first 16 hex digits of the SHA-256 of the raw 32-byte public key;
- signature: ``FILE.sig`` next to ``FILE``, a JSON object ``{"version": 1, "algorithm": "ed25519",
  "key_id", "public_key" (raw, base64), "sha256" (hex, of the file), "signature" (base64)}``;
  the signature is Ed25519 over the file's exact bytes.

The key id only picks which trusted key checks the signature; the signature is always checked
with the trusted key itself, never with the ``public_key`` the signature file carries (that one
serves ``guardrails policy verify`` without ``--trusted-keys``, which checks integrity only).

Verification reads each policy file once: ``guardrails.policy`` hands this module the exact
bytes it is about to parse (``check_read``), so a file swapped between the check and the parse
cannot slip through.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import contextvars
import hashlib
import json
import os
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Iterator, Mapping, Protocol, Sequence, Union

from guardrails.errors import PolicyError

if TYPE_CHECKING:  # cryptography is imported where keys are used: loading an unsigned policy never needs it
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

ALGORITHM = "ed25519"
SIGNATURE_VERSION = 1
SIGNATURE_SUFFIX = ".sig"
PRIVATE_SUFFIX = ".key"
PUBLIC_SUFFIX = ".pub"
KEY_ID_HEX = 16
PACKAGE_DIR = Path(__file__).resolve().parent
MAX_SIGNATURE_BYTES = 64 * 1024
MAX_SIGNED_BYTES = 64 * 1024 * 1024  # files read by filters (deny lists) are far smaller
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
_KEY_ID = re.compile(r"^[0-9a-f]{16}$")


class PolicySignatureError(PolicyError):
    """A policy file's signature is missing, does not match the file, or is by a key that is not
    trusted. ``problems`` holds one line per file: ``FILE: why``."""


PublicKeyLike = Union["Ed25519PublicKey", bytes, str, "os.PathLike[str]"]


@dataclass(frozen=True)
class KeyRing:
    """The public keys a deployment trusts, by key id; ``source`` names where they came from."""

    keys: Mapping[str, Ed25519PublicKey]
    source: str = "the given keys"
    # Only for `guardrails policy verify` without --trusted-keys: accept the key a signature file
    # carries. That shows a file is unchanged since it was signed, not that a trusted party signed it.
    integrity_only: bool = field(default=False, repr=False)

    @classmethod
    def integrity_only_ring(cls) -> "KeyRing":
        return cls({}, "no trusted keys (integrity check only)", integrity_only=True)

    def __contains__(self, key_id: object) -> bool:
        return key_id in self.keys


TrustedKeys = Union[KeyRing, str, "os.PathLike[str]", Sequence[PublicKeyLike]]


def key_id(public_key: Ed25519PublicKey) -> str:
    """A short stable fingerprint: the first 16 hex digits of sha256 of the raw 32-byte public key."""
    from cryptography.hazmat.primitives import serialization

    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:KEY_ID_HEX]


def signature_path(path: str | os.PathLike[str]) -> Path:
    """Where the detached signature of ``path`` lives: ``FILE.sig`` next to it."""
    p = Path(path)
    return p.with_name(p.name + SIGNATURE_SUFFIX)


def is_package_file(path: str | os.PathLike[str]) -> bool:
    """True for files inside the installed ``guardrails`` package (built-in policies, data): they
    are part of the installed code, so they carry no signature of their own."""
    return Path(path).resolve().is_relative_to(PACKAGE_DIR)


def _display(path: Path) -> str:
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


# -- keys -------------------------------------------------------------------------------------


def generate_key_pair(out_dir: str | os.PathLike[str], name: str = "signing") -> tuple[Path, Path, str]:
    """Write ``NAME.key`` (private, PEM, 0600) and ``NAME.pub`` (public, PEM) into ``out_dir``;
    returns (private path, public path, key id). Never overwrites an existing file."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    if not _NAME.match(name):
        raise PolicyError(f"key name {name!r}: use letters, digits, '.', '_' and '-' (at most 64)")
    folder = Path(out_dir)
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    private_path, public_path = folder / (name + PRIVATE_SUFFIX), folder / (name + PUBLIC_SUFFIX)
    for existing in (private_path, public_path):
        if existing.exists():
            raise PolicyError(f"{_display(existing)} already exists; choose another --name or move it away")
    key = Ed25519PrivateKey.generate()
    private_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption())
    public_pem = key.public_key().public_bytes(serialization.Encoding.PEM,
                                               serialization.PublicFormat.SubjectPublicKeyInfo)
    fd = os.open(private_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.fchmod(fd, 0o600)  # whatever the umask
        os.write(fd, private_pem)
    finally:
        os.close(fd)
    fd = os.open(public_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    try:
        os.write(fd, public_pem)
    finally:
        os.close(fd)
    return private_path, public_path, key_id(key.public_key())


def load_private_key(path: str | os.PathLike[str]) -> Ed25519PrivateKey:
    """Read an Ed25519 private key written by ``guardrails keygen`` (unencrypted PKCS#8 PEM)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    p = Path(path)
    try:
        data = p.read_bytes()
    except OSError as exc:
        raise PolicyError(f"{_display(p)}: cannot read private key ({exc.strerror or type(exc).__name__})") from None
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except TypeError:
        raise PolicyError(f"{_display(p)}: the private key is encrypted; give an unencrypted one "
                          f"(guardrails keygen writes one with permissions 0600)") from None
    except ValueError:
        raise PolicyError(f"{_display(p)}: not a PEM private key") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise PolicyError(f"{_display(p)}: not an Ed25519 private key ({type(key).__name__}); "
                          f"make one with `guardrails keygen`")
    return key


def _public_key(item: PublicKeyLike, where: str) -> Ed25519PublicKey:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    if isinstance(item, Ed25519PublicKey):
        return item
    data = item if isinstance(item, bytes) else str(item).encode()
    if len(data) == 32 and isinstance(item, bytes):
        return Ed25519PublicKey.from_public_bytes(data)
    if b"PRIVATE KEY" in data:
        raise PolicyError(f"{where}: is a private key; trust the public key (.pub) instead")
    try:
        key = serialization.load_pem_public_key(data)
    except ValueError:
        raise PolicyError(f"{where}: not a PEM public key") from None
    if not isinstance(key, Ed25519PublicKey):
        raise PolicyError(f"{where}: not an Ed25519 public key ({type(key).__name__})")
    return key


def _keys_from_path(path: Path) -> list[tuple[Ed25519PublicKey, str]]:
    files = sorted(path.glob("*" + PUBLIC_SUFFIX)) if path.is_dir() else [path]
    out = []
    for file in files:
        try:
            data = file.read_bytes()
        except OSError as exc:
            raise PolicyError(f"trusted keys: {_display(file)}: cannot read "
                              f"({exc.strerror or type(exc).__name__})") from None
        out.append((_public_key(data, f"trusted keys: {_display(file)}"), _display(file)))
    return out


def load_trusted_keys(spec: TrustedKeys) -> KeyRing:
    """The trusted public keys: a folder (its ``*.pub`` files), one ``.pub`` file, or a list of
    public keys (``Ed25519PublicKey`` objects, PEM text or bytes, 32 raw bytes, or paths)."""
    if isinstance(spec, KeyRing):
        return spec
    found: list[tuple[Ed25519PublicKey, str]] = []
    if isinstance(spec, (str, os.PathLike)) and not (isinstance(spec, str) and spec.lstrip().startswith("-----BEGIN")):
        path = Path(spec)
        source = _display(path)
        if not path.exists():
            raise PolicyError(f"trusted keys: {source}: no such folder or file")
        found = _keys_from_path(path)
        if not found:
            raise PolicyError(f"trusted keys: {source}: no public keys (*{PUBLIC_SUFFIX} files) in this folder")
    else:
        items: Sequence[PublicKeyLike] = [spec] if isinstance(spec, str) else spec
        source = "the given keys"
        for i, item in enumerate(items):
            if isinstance(item, os.PathLike) or (isinstance(item, str) and not item.lstrip().startswith("-----BEGIN")):
                found.extend(_keys_from_path(Path(item)))
            else:
                found.append((_public_key(item, f"trusted keys[{i}]"), f"trusted keys[{i}]"))
        if not found:
            raise PolicyError("trusted keys: the list holds no public keys")
    return KeyRing({key_id(key): key for key, _ in found}, source)


# -- signing and checking one file --------------------------------------------------------------


def sign_bytes(data: bytes, key: Ed25519PrivateKey) -> dict[str, Any]:
    """The signature document of ``data`` (what ``FILE.sig`` holds)."""
    from cryptography.hazmat.primitives import serialization

    public = key.public_key()
    return {
        "version": SIGNATURE_VERSION,
        "algorithm": ALGORITHM,
        "key_id": key_id(public),
        "public_key": base64.b64encode(public.public_bytes(serialization.Encoding.Raw,
                                                           serialization.PublicFormat.Raw)).decode(),
        "sha256": hashlib.sha256(data).hexdigest(),
        "signature": base64.b64encode(key.sign(data)).decode(),
    }


def sign_file(path: str | os.PathLike[str], key: Ed25519PrivateKey) -> tuple[Path, str]:
    """Sign ``path``'s exact bytes; write ``FILE.sig`` atomically; returns (signature path, key id)."""
    p = Path(path)
    try:
        data = p.read_bytes()
    except OSError as exc:
        raise PolicyError(f"{_display(p)}: cannot read ({exc.strerror or type(exc).__name__})") from None
    doc = sign_bytes(data, key)
    target = signature_path(p)
    fd, tmp = tempfile.mkstemp(prefix="." + target.name + ".", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump(doc, out, indent=2)
            out.write("\n")
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return target, str(doc["key_id"])


def _read_signature(sig: Path) -> dict[str, Any]:
    where = _display(sig)
    malformed = f"{where}: not a guardrails signature file (expected JSON with algorithm, key_id and signature)"
    try:
        if sig.stat().st_size > MAX_SIGNATURE_BYTES:
            raise PolicySignatureError(malformed)
        doc = json.loads(sig.read_bytes())
    except OSError as exc:
        raise PolicySignatureError(f"{where}: cannot read ({exc.strerror or type(exc).__name__})") from None
    except ValueError:
        raise PolicySignatureError(malformed) from None
    if not isinstance(doc, dict):
        raise PolicySignatureError(malformed)
    if doc.get("algorithm") != ALGORITHM:
        raise PolicySignatureError(f"{where}: unsupported signature algorithm {doc.get('algorithm')!r} "
                                   f"(expected {ALGORITHM!r})")
    if doc.get("version") != SIGNATURE_VERSION:
        raise PolicySignatureError(f"{where}: unsupported signature version {doc.get('version')!r} "
                                   f"(expected {SIGNATURE_VERSION})")
    if not isinstance(doc.get("key_id"), str) or not _KEY_ID.match(doc["key_id"]) or not isinstance(doc.get("signature"), str):
        raise PolicySignatureError(malformed)
    return doc


def verify_bytes(path: str | os.PathLike[str], data: bytes, ring: KeyRing) -> str:
    """Check ``data`` (the content of ``path``) against ``FILE.sig``; returns the signer's key id.

    Raises PolicySignatureError naming the file and why: no signature file, a signature that does
    not match the file (tampered?), or a signer that is not in the trusted keys."""
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    p = Path(path)
    where = _display(p)
    sig = signature_path(p)
    if not sig.is_file():
        raise PolicySignatureError(f"{where}: no signature file (expected {_display(sig)}; "
                                   f"sign it with `guardrails policy sign --key KEY {where}`)")
    doc = _read_signature(sig)
    kid: str = doc["key_id"]
    if ring.integrity_only:
        try:
            public = Ed25519PublicKey.from_public_bytes(base64.b64decode(str(doc.get("public_key")), validate=True))
        except (ValueError, binascii.Error):
            raise PolicySignatureError(f"{_display(sig)}: holds no valid public key") from None
        if key_id(public) != kid:
            raise PolicySignatureError(f"{_display(sig)}: its public key does not match its key id")
    elif kid not in ring:
        raise PolicySignatureError(f"{where}: signed by key {kid}, not in the trusted keys ({ring.source})")
    else:
        public = ring.keys[kid]
    try:
        signature = base64.b64decode(doc["signature"], validate=True)
        if "sha256" in doc and doc["sha256"] != hashlib.sha256(data).hexdigest():
            raise InvalidSignature
        public.verify(signature, data)
    except (InvalidSignature, ValueError, binascii.Error):
        raise PolicySignatureError(f"{where}: signature does not match the file (tampered?)") from None
    return kid


def verify_file(path: str | os.PathLike[str], ring: KeyRing) -> str:
    """``verify_bytes`` of the file as it is on disk now."""
    p = Path(path)
    try:
        if p.stat().st_size > MAX_SIGNED_BYTES:
            raise PolicySignatureError(f"{_display(p)}: file is too large to verify ({MAX_SIGNED_BYTES} bytes at most)")
        data = p.read_bytes()
    except OSError as exc:
        raise PolicySignatureError(f"{_display(p)}: cannot read ({exc.strerror or type(exc).__name__})") from None
    return verify_bytes(p, data, ring)


# -- verifying a whole policy while it loads ----------------------------------------------------


class Verification:
    """The signature checks of one policy load: every file read is checked (``read``), problems are
    collected so that all of them are reported at once, and ``cover`` checks the files the policy's
    filters read (deny lists) that the loader did not. Inactive (every method a no-op) without keys."""

    def __init__(self, ring: KeyRing | None) -> None:
        self.ring = ring
        self.signers: dict[str, str] = {}  # resolved file -> key id
        self.package_files: list[str] = []
        self.problems: list[str] = []

    @property
    def active(self) -> bool:
        return self.ring is not None

    def read(self, path: Path, data: bytes) -> None:
        if self.ring is None:
            return
        resolved = str(path.resolve())
        if resolved in self.signers or resolved in self.package_files:
            return
        if is_package_file(path):
            self.package_files.append(resolved)
            return
        try:
            self.signers[resolved] = verify_bytes(path, data, self.ring)
        except PolicySignatureError as exc:
            if exc.problems[0] not in self.problems:
                self.problems.extend(exc.problems)

    def check(self) -> None:
        """Raise every problem found so far (before the policy is validated: validating may import
        a plugin filter's module, which an unverified file must not get to name)."""
        if self.problems:
            raise PolicySignatureError(list(self.problems))

    def cover(self, files: Iterable[str]) -> tuple[tuple[str, str], ...]:
        """Check the ``files`` not checked yet; returns (file, key id) of every signed file, in order."""
        if self.ring is None:
            return ()
        for file in files:
            path = Path(file)
            resolved = str(path.resolve())
            if resolved in self.signers or resolved in self.package_files:
                continue
            if is_package_file(path):
                self.package_files.append(resolved)
                continue
            try:
                self.signers[resolved] = verify_file(path, self.ring)
            except PolicySignatureError as exc:
                self.problems.extend(exc.problems)
        self.check()
        return tuple((f, self.signers[str(Path(f).resolve())]) for f in files
                     if str(Path(f).resolve()) in self.signers)


_active: contextvars.ContextVar[Verification | None] = contextvars.ContextVar("guardrails_signing", default=None)


@contextlib.contextmanager
def verifying(trusted_keys: TrustedKeys | None) -> Iterator[Verification]:
    """Check the signature of every policy file read inside this block (``check_read``) against
    ``trusted_keys``; nothing is checked when it is None. A failed signature wins over any other
    error of the load (a tampered file that no longer parses is reported as tampered)."""
    verification = Verification(None if trusted_keys is None else load_trusted_keys(trusted_keys))
    token = _active.set(verification)
    try:
        yield verification
    except PolicySignatureError:
        raise
    except PolicyError:
        verification.check()
        raise
    finally:
        _active.reset(token)


def check_read(path: Path, data: bytes) -> None:
    """Called by the policy loader with the exact bytes of each policy file it is about to parse."""
    verification = _active.get()
    if verification is not None:
        verification.read(path, data)


class _Loaded(Protocol):
    @property
    def files(self) -> tuple[str, ...]: ...

    @property
    def signatures(self) -> dict[str, str]: ...


def require_verified(policy: _Loaded, trusted_keys: TrustedKeys) -> None:
    """For a Policy object handed over with ``trusted_keys``: it must have been loaded with
    signature checks, each by a key of ``trusted_keys`` (the files are not read again)."""
    ring = load_trusted_keys(trusted_keys)
    problems = []
    signatures = policy.signatures
    for file in policy.files:
        if is_package_file(file):
            continue
        kid = signatures.get(file)
        if kid is None:
            problems.append(f"{_display(Path(file))}: not verified when the policy was loaded "
                            f"(load it with trusted_keys=..., or pass the file path instead)")
        elif not ring.integrity_only and kid not in ring:
            problems.append(f"{_display(Path(file))}: signed by key {kid}, not in the trusted keys ({ring.source})")
    if problems:
        raise PolicySignatureError(problems)


__all__ = [
    "ALGORITHM",
    "KeyRing",
    "PolicySignatureError",
    "TrustedKeys",
    "generate_key_pair",
    "is_package_file",
    "key_id",
    "load_private_key",
    "load_trusted_keys",
    "require_verified",
    "sign_bytes",
    "sign_file",
    "signature_path",
    "verify_bytes",
    "verify_file",
    "verifying",
]
