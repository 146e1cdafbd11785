"""Policies that travel with the weights: find a model's bundled ``guardrails.yaml`` and load a policy for a model.

A model folder (or a hub repository) may carry ``guardrails.yaml``, its publisher's policy (and
``guardrails.yaml.sig``, its signature). ``find_model_policy(key)`` looks for it where the model's
weights are looked for (``guardrails.runtime.resolve``): a local folder; the Hugging Face cache; the
hub itself unless offline (``HF_HUB_OFFLINE`` / ``GUARDRAILS_OFFLINE``, or ``offline=True``). A file
found in the Hugging Face cache is copied, with its signature, into guardrails' cache folder
(``model-policies/<repo>/<commit>/``): there it is a plain file with its ``.sig`` beside it, as a
signature check needs (the cache's own files are links into a blob store). A hub repository's
policy must be self-contained or extend built-in policies: other files of the repository are not
fetched.

``load_for_model(key, policy)`` loads the policy a guard runs for that model:

- no ``policy``: the model's own ``guardrails.yaml``; the built-in ``default`` when it has none;
- a ``policy`` that builds on it (``extends: model``): that policy;
- a ``policy`` that does not: what ``model_policy`` says (``MODEL_POLICY_MODES``):
  ``stack`` (the default) runs both (the model's filters, their ids prefixed ``model/``, then the
  app's; any block blocks; the app's refusal and messages win), ``refuse`` raises PolicyError,
  ``ignore`` runs the app policy alone (with a warning). The model's policy is never dropped
  without a word.

Then the weight pins (``guardrails.weights_pin``) of the model's policy and of the app policy are
compared with the model folder's weight files; a mismatch warns or refuses as each pin says. The
model's own pins hold even when an app policy extends it (an app cannot waive them; ``ignore``
drops the model's policy, pins included).

``ModelBinding`` records what was done (``Guard.model_binding``, ``guardrails check --model --json``).
"""

from __future__ import annotations

import logging
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Sequence

from guardrails.errors import PolicyError
from guardrails.model_parent import BUNDLED_POLICY, MODEL_PARENT, ModelParent, loading_for
from guardrails.policy import Policy, load_policy, policy_from_dict
from guardrails.runtime.resolve import ModelNotFound, is_offline, is_url, locate_model
from guardrails.weights_pin import HashCache, WeightsCheck, WeightsPin, cache_dir, verify_pins

if TYPE_CHECKING:
    from guardrails.signing import TrustedKeys

logger = logging.getLogger(__name__)

SIGNATURE_FILE = BUNDLED_POLICY + ".sig"
STACK_PREFIX = "model/"
ModelPolicyMode = Literal["stack", "refuse", "ignore"]
MODEL_POLICY_MODES: tuple[str, ...] = ("stack", "refuse", "ignore")
PolicySource = str | os.PathLike[str] | dict[str, Any] | Policy


@dataclass(frozen=True)
class ModelSource:
    """Where a model's files and its bundled policy are.

    ``status``: ``found`` (``policy_file`` is its guardrails.yaml), ``absent`` (the model has none)
    or ``unknown`` (it could not be told: offline and not cached, hub unreachable; ``detail`` says why).
    ``folder``: the local copy of the model's files (None when there is none, e.g. a hub model not
    downloaded). ``fetched``: the policy file was downloaded just now."""

    key: str
    folder: Path | None
    policy_file: Path | None
    status: Literal["found", "absent", "unknown"]
    detail: str = ""
    fetched: bool = False

    def parent(self) -> ModelParent:
        missing = self.detail if self.status == "unknown" else f"there is no {BUNDLED_POLICY} in {self.where}"
        return ModelParent(self.key, self.policy_file, missing)

    @property
    def where(self) -> str:
        return str(self.folder) if self.folder is not None else f"the repository {self.key!r}"


def model_key_of(model: Any) -> str | None:
    """Where a transformers model (or pipeline) was loaded from: ``name_or_path`` (a folder or hub id)."""
    inner = getattr(model, "model", None)
    if inner is not None and hasattr(model, "tokenizer") and hasattr(model, "task"):
        model = inner  # a pipeline
    for value in (getattr(model, "name_or_path", None), getattr(getattr(model, "config", None), "_name_or_path", None)):
        if isinstance(value, (str, os.PathLike)) and str(value).strip():
            return str(value)
    return None


def _looks_like_path(key: str) -> bool:
    return key.startswith((".", "/", "~")) or Path(key).expanduser().exists()


def find_model_policy(key: str | os.PathLike[str], *, offline: bool | None = None, revision: str | None = None) -> ModelSource:
    """Find ``key``'s ``guardrails.yaml`` (see the module docstring). Raises ModelNotFound for a
    local path that does not exist; never raises for a hub id (``status`` says what was found)."""
    key = str(key)
    offline = is_offline(bool(offline))
    if is_url(key):
        return ModelSource(key, None, None, "absent", "a checkpoint URL carries no policy")
    if key.startswith("package://") or _looks_like_path(key):
        folder = locate_model(key, revision=revision)
        if folder is None:
            raise ModelNotFound(f"model path {key!r} does not exist")
        folder = folder if folder.is_dir() else folder.parent
        file = folder / BUNDLED_POLICY
        return ModelSource(key, folder, file if file.is_file() else None, "found" if file.is_file() else "absent")
    folder = locate_model(key, revision=revision)
    return _from_hub(key, folder, offline=offline, revision=revision)


def _from_hub(key: str, folder: Path | None, *, offline: bool, revision: str | None) -> ModelSource:
    try:
        from huggingface_hub import hf_hub_download, try_to_load_from_cache
    except ImportError:
        return ModelSource(key, folder, None, "unknown", "huggingface_hub is not installed, so the hub cannot be asked")
    try:
        cached = try_to_load_from_cache(key, BUNDLED_POLICY, revision=revision)
    except Exception as exc:  # noqa: BLE001 - e.g. not a valid repository id
        return ModelSource(key, folder, None, "unknown", f"{key!r} is neither a folder nor a hub id ({type(exc).__name__})")
    if isinstance(cached, str):
        return _materialized(key, folder, Path(cached), fetched=False, offline=offline, revision=revision)
    if cached is not None:  # huggingface_hub's marker: the hub said the file does not exist
        return ModelSource(key, folder, None, "absent")
    if offline:
        return ModelSource(key, folder, None, "unknown",
                           f"offline, and the local cache does not say whether {key!r} has a {BUNDLED_POLICY}; run "
                           f"'guardrails models prefetch --model {key}' on a host with network")
    try:
        path = Path(hf_hub_download(key, BUNDLED_POLICY, revision=revision))
    except Exception as exc:  # noqa: BLE001 - a 404 means "none"; anything else means "cannot tell"
        if type(exc).__name__ in ("RemoteEntryNotFoundError", "EntryNotFoundError"):
            return ModelSource(key, folder, None, "absent")
        return ModelSource(key, folder, None, "unknown",
                           f"could not fetch {BUNDLED_POLICY} of {key!r} ({type(exc).__name__})")
    return _materialized(key, folder, path, fetched=True, offline=offline, revision=revision)


def _materialized(key: str, folder: Path | None, cached: Path, *, fetched: bool, offline: bool,
                  revision: str | None) -> ModelSource:
    """Copy a cached guardrails.yaml (and its .sig) out of the Hugging Face cache's blob links."""
    sig = cached.with_name(SIGNATURE_FILE)
    if not sig.is_file() and not offline:
        try:
            from huggingface_hub import hf_hub_download

            sig = Path(hf_hub_download(key, SIGNATURE_FILE, revision=revision))
        except Exception:  # noqa: BLE001 - an unsigned policy has none
            pass
    commit = cached.parent.name
    dest = cache_dir() / "model-policies" / ("models--" + key.replace("/", "--")) / commit
    copies = [(cached, dest / BUNDLED_POLICY)] + ([(sig, dest / SIGNATURE_FILE)] if sig.is_file() else [])
    try:
        dest.mkdir(parents=True, exist_ok=True)
        for src, dst in copies:
            data = src.read_bytes()
            if not dst.is_file() or dst.read_bytes() != data:
                fd, tmp = tempfile.mkstemp(dir=dest, prefix=".tmp-")
                with os.fdopen(fd, "wb") as f:
                    f.write(data)
                os.replace(tmp, dst)
        if not sig.is_file() and (dest / SIGNATURE_FILE).exists():
            (dest / SIGNATURE_FILE).unlink()  # a stale signature of an earlier copy
    except OSError as exc:
        logger.warning("cannot copy %s of %s into %s (%s); using the cached file", BUNDLED_POLICY, key, dest, exc)
        return ModelSource(key, folder, cached, "found", fetched=fetched)
    return ModelSource(key, folder, dest / BUNDLED_POLICY, "found", fetched=fetched)


# -- loading a policy for a model ---------------------------------------------------------------


@dataclass(frozen=True)
class ModelBinding:
    """How a guard's policy relates to the model it guards.

    ``mode``: ``bundled`` (the policy is the model's guardrails.yaml), ``extends`` (the policy builds
    on it), ``stacked`` (both run), ``ignored`` (the model has one; it does not run), ``none`` (the
    model has none) or ``unknown`` (could not be told; see ``detail``). ``weights``: the pin checks
    made (empty when no policy pins weights); ``weights_ok`` is False when one found a mismatch
    that was only warned about."""

    key: str
    folder: str | None
    policy_file: str | None
    mode: str
    weights: tuple[WeightsCheck, ...] = ()
    detail: str = ""

    @property
    def weights_ok(self) -> bool:
        return all(check.ok for check in self.weights)

    def same_model(self, key: str) -> bool:
        if key == self.key:
            return True
        return self.folder is not None and os.path.realpath(Path(key).expanduser()) == os.path.realpath(self.folder)

    def to_dict(self) -> dict[str, Any]:
        return {"model": self.key, "folder": self.folder, "policy_file": self.policy_file, "mode": self.mode,
                "weights_ok": self.weights_ok, "weights": [c.to_dict() for c in self.weights],
                **({"detail": self.detail} if self.detail else {})}


@dataclass(frozen=True)
class ModelPolicy:
    policy: Policy
    binding: ModelBinding
    bundled: Policy | None = field(default=None, repr=False)


def load_for_model(
    model: str | os.PathLike[str],
    policy: PolicySource | None = None,
    *,
    model_policy: ModelPolicyMode | None = None,
    trust_plugins: bool | Sequence[str] = False,
    trusted_keys: "TrustedKeys | None" = None,
    offline: bool | None = None,
    revision: str | None = None,
    verify_weights: bool = True,
    source: ModelSource | None = None,
) -> ModelPolicy:
    """The policy to run for ``model`` (a folder, hub id or ``package://`` path), and how it was made.

    ``policy``: an app policy (built-in name, file, dict or Policy; it may ``extends: model``), or
    None for the model's own. ``model_policy``: what to do when ``policy`` does not build on the
    model's policy (None: ``stack``, with a warning). ``trust_plugins`` defaults to False here: a
    model's policy comes from its publisher, and may not import modules unless you allow it.
    ``trusted_keys``: signatures required, as in ``load_policy``. ``verify_weights=False`` skips
    the pins (logged)."""
    if model_policy is not None and model_policy not in MODEL_POLICY_MODES:
        raise ValueError(f"model_policy: expected one of {', '.join(MODEL_POLICY_MODES)}, got {model_policy!r}")
    if isinstance(policy, str) and policy == MODEL_PARENT:
        policy = None  # `policy: model` (a server config): the model's own policy
    src = source if source is not None else find_model_policy(model, offline=offline, revision=revision)
    with loading_for(src.parent()):
        bundled = None
        if src.policy_file is not None:
            try:
                bundled = load_policy(src.policy_file, trust_plugins=trust_plugins, trusted_keys=trusted_keys)
            except PolicyError as exc:
                raise type(exc)([f"the policy bundled with model {src.key!r} cannot be loaded:", *exc.problems]) from None
        app = _load_app(policy, trust_plugins, trusted_keys)
    result = combine(src, bundled, app, model_policy)
    if src.status == "unknown":
        logger.warning("model %s: %s; running without its bundled policy, if it has one", src.key, src.detail)
    if verify_weights:
        checks = check_weights(result.policy, bundled if result.binding.mode != "ignored" else None, src)
        result = ModelPolicy(result.policy, _with(result.binding, weights=checks), bundled)
    elif result.policy.weights is not None or (bundled is not None and bundled.weights is not None):
        logger.info("model %s: weight pins not checked (verify_weights=False)", src.key)
    return result


def _load_app(policy: PolicySource | None, trust_plugins: bool | Sequence[str], trusted_keys: "TrustedKeys | None") -> Policy | None:
    if policy is None or isinstance(policy, Policy):
        return policy
    if isinstance(policy, dict):
        if trusted_keys is not None:
            raise PolicyError("trusted_keys: a policy given as a dict has no signature; load it from a signed file")
        return policy_from_dict(policy, trust_plugins=trust_plugins)
    return load_policy(policy if isinstance(policy, str) else Path(policy), trust_plugins=trust_plugins, trusted_keys=trusted_keys)


def _with(binding: ModelBinding, **changes: Any) -> ModelBinding:
    return ModelBinding(**{**binding.__dict__, **changes})


def builds_on(policy: Policy, policy_file: Path | str) -> bool:
    """Whether ``policy`` was built from ``policy_file`` (it is that file, or extends it)."""
    target = os.path.realpath(policy_file)
    return any(os.path.realpath(f) == target for f in policy.files)


def combine(src: ModelSource, bundled: Policy | None, app: Policy | None, mode: ModelPolicyMode | None) -> ModelPolicy:
    """The policy for the model from its bundled policy (if any) and an app policy (if any)."""
    folder = str(src.folder) if src.folder is not None else None
    file = str(src.policy_file) if src.policy_file is not None else None

    def bound(policy: Policy, how: str, detail: str = "") -> ModelPolicy:
        return ModelPolicy(policy, ModelBinding(src.key, folder, file, how, detail=detail), bundled)

    if bundled is None or src.policy_file is None:
        how = "unknown" if src.status == "unknown" else "none"
        if app is not None:
            return bound(app, how, src.detail)
        logger.info("model %s ships no %s; using the built-in 'default' policy", src.key, BUNDLED_POLICY)
        return bound(load_policy("default"), how, src.detail)
    if app is None:
        return bound(bundled, "bundled")
    if builds_on(app, src.policy_file):
        return bound(app, "extends")
    what = (f"model {src.key!r} ships {BUNDLED_POLICY} (policy {bundled.name!r}), and policy {app.name!r} "
            f"does not build on it (extends: {MODEL_PARENT})")
    if mode == "refuse":
        raise PolicyError(f"{what}: refused (model_policy='refuse'); add 'extends: {MODEL_PARENT}' to the app policy, "
                          "or choose model_policy 'stack' (run both) or 'ignore' (run the app policy alone)")
    if mode == "ignore":
        logger.warning("%s: its policy does NOT run (model_policy='ignore')", what)
        return bound(app, "ignored")
    log = logger.info if mode == "stack" else logger.warning
    log("%s: both run, the model's filters as '%s<id>' (model_policy='stack'); write 'extends: %s' in the "
        "app policy to build on it instead", what, STACK_PREFIX, MODEL_PARENT)
    return bound(stack_policies(bundled, app), "stacked")


def stack_policies(model: Policy, app: Policy) -> Policy:
    """One policy that runs both: ``model``'s filters (ids prefixed ``model/``, each with its own
    on_error) then ``app``'s; any block blocks. Name ``app+model``; ``app``'s refusal, its messages
    over the model's, offline if either is, on_error block if either is. A model entry identical
    to an app entry runs once."""
    stages: dict[str, list[Any]] = {}
    for stage in ("input", "output"):
        own = [cfg.model_copy(update={"on_error": cfg.on_error or app.on_error}) for cfg in app.stage(stage)]
        seen = [_same_check(cfg) for cfg in own]
        theirs = []
        for cfg in model.stage(stage):
            cfg = cfg.model_copy(update={"on_error": cfg.on_error or model.on_error})
            if _same_check(cfg) in seen:
                continue
            theirs.append(cfg.model_copy(update={"id": STACK_PREFIX + (cfg.id or cfg.filter)}))
        stages[stage] = [*theirs, *own]
    # A copy of the app policy (its other keys and private state come along), then what changes.
    out = app.model_copy(update=dict(
        name=f"{app.name}+{model.name}",
        description=f"{app.name!r} and the model's own policy {model.name!r}, both enforced",
        input=tuple(stages["input"]), output=tuple(stages["output"]),
        on_error="block" if "block" in (app.on_error, model.on_error) else "allow",
        responses={**model.responses, **app.responses}, offline=app.offline or model.offline,
    ))
    # Private state: the files both were read from (hot reload, signatures) are joined; the
    # filters each switched off are kept; anything else stays the app's. The hash is recomputed.
    for name in type(app).__private_attributes__:
        mine, other = getattr(app, name), getattr(model, name)
        value: Any = mine
        if name == "_hash":
            value = None
        elif name == "_disabled":
            value = {s: mine.get(s, frozenset()) | {STACK_PREFIX + x for x in other.get(s, frozenset())}
                     for s in {*mine, *other}}
        elif isinstance(mine, tuple) and isinstance(other, tuple):
            value = tuple(dict.fromkeys([*mine, *other]))
        elif isinstance(mine, frozenset) and isinstance(other, frozenset):
            value = mine | other
        setattr(out, name, value)
    return out

def _same_check(cfg: Any) -> dict[str, Any]:
    data: dict[str, Any] = cfg.model_dump(mode="json", exclude={"id"})
    return data


def check_weights(policy: Policy, bundled: Policy | None, src: ModelSource, cache: HashCache | None = None) -> tuple[WeightsCheck, ...]:
    """Compare the model's weight files with the pins of its bundled policy and of ``policy``;
    warn (logging) or raise PolicyError naming the files, as each pin's ``on_mismatch`` says."""
    pins: list[tuple[WeightsPin, str]] = []
    if bundled is not None and bundled.weights is not None:
        pins.append((bundled.weights, bundled.source or bundled.name))
    if policy.weights is not None and all(policy.weights != pin for pin, _ in pins):
        pins.append((policy.weights, policy.source or policy.name))
    if not pins:
        return ()
    cache = cache if cache is not None else HashCache.default()
    checks = []
    for pin, by in pins:
        check = verify_pins(pin, src.folder, pinned_by=by, cache=cache)
        checks.append(check)
        if check.ok:
            logger.debug("model %s: weights match the pins of %s", src.key, by)
            continue
        where = f" ({src.folder})" if src.folder is not None and str(src.folder) != src.key else ""
        lines = [f"{by}: weights: the files of model {src.key!r}{where} differ from the pinned weights:",
                 *(f"  {p}" for p in check.problems)]
        if pin.on_mismatch == "refuse":
            raise PolicyError([*lines, "  (on_mismatch: refuse; re-pin with 'guardrails policy pin' if the new weights are intended)"])
        logger.warning("%s (on_mismatch: warn)", " ".join(s.strip() for s in lines))
    return tuple(checks)

