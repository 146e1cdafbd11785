"""Summaries of the sidecar's audit log (``guardrails audit``): counters over a stream of records.

The audit log (``guardrails.server.audit``) holds one JSON object per line: ``"event": "decision"``
(one verdict: ``ts``, ``app``, ``endpoint``, ``stage``, ``action``, ``policy``, ``policy_hash``,
``policy_signer`` when signed, ``violations`` of ``filter`` / ``category`` / ``score`` / ``action``
and ``error`` for a filter error) and ``"event": "policy_reload"`` (``app``, ``result`` ok|rejected,
``reason``, ``policy_hash``, ``error`` when rejected). Monitor (shadow) mode adds to a decision
``would_action`` (what an enforced policy would have done) and to a monitored violation
``"monitor": true``; those findings count as would-blocks / would-redactions, apart from real ones.

Reading is streaming and constant-memory: one line at a time, counters only (their size grows with
the number of distinct apps, filters, categories, policies and hours, never with the number of
lines). Malformed lines are skipped and counted (by position, never by content). Files may be
gzip-compressed (detected by their first bytes, whatever the name); ``-`` reads standard input.

Nothing that could carry a prompt or an answer is read into the summary: no request ids, no
``field``, no scores per request, no error messages of filters (only their kind, e.g. ``timeout``
or an exception's type name). Reload errors are kept: they name a policy file, line and key.

The JSON form (``AuditSummary.to_dict``) is schema ``guardrails.audit_summary/1``: every key is
always present (empty dicts / lists / null where nothing was seen); see docs/sidecar.md.
"""

from __future__ import annotations

import gzip
import io
import json
import re
import sys
import zlib
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import IO, Any, Iterator, Sequence, cast

SCHEMA = "guardrails.audit_summary/1"

ACTION_RANK = {"allow": 0, "flag": 1, "redact": 2, "block": 3, "respond": 4}
BLOCKING = frozenset({"block", "respond"})  # actions that stop the text (Action.blocks)
FILTER_ERROR = "filter_error"  # the category of a filter's crash or timeout (guardrails.engine)

MAX_LINE_CHARS = 1 << 20  # longer lines are malformed: read past, never held whole
MAX_REJECTIONS = 100  # distinct (app, reason, error) of rejected reloads kept; the rest are "other"
MAX_MALFORMED_SHOWN = 10  # positions (source:line) of malformed lines kept for the report
MAX_KEY_CHARS = 200  # an app / filter / category / policy name longer than this is malformed
_EVENT_NAME = re.compile(r"[A-Za-z0-9_.:-]{1,64}")


class AuditLogError(Exception):
    """A log that cannot be opened (missing file, unreadable)."""


# -- time ---------------------------------------------------------------------------------------


def parse_time(value: str) -> float:
    """An ISO 8601 date or date-time as epoch seconds; a time without an offset is UTC.

    ``2025-05-01``, ``2025-05-01T13:00``, ``2025-05-01T13:00:00Z``, ``2025-05-01T15:00+02:00``."""
    text = value.strip()
    if text[-1:] in ("Z", "z"):
        text = text[:-1] + "+00:00"  # Python 3.10's fromisoformat does not read "Z"
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"expected an ISO 8601 date or date-time (e.g. 2025-05-01T13:00Z), got {value!r}") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.timestamp()


def iso(ts: float | None) -> str | None:
    """Epoch seconds as ``YYYY-MM-DDTHH:MM:SSZ`` (UTC), None for None."""
    if ts is None:
        return None
    return datetime.fromtimestamp(ts, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def bucket_of(ts: float, by: str) -> str:
    """The UTC hour (``2025-05-01T13:00Z``) or day (``2025-05-01``) that ``ts`` falls in."""
    moment = datetime.fromtimestamp(ts, tz=timezone.utc)
    return moment.strftime("%Y-%m-%d") if by == "day" else moment.strftime("%Y-%m-%dT%H:00Z")


# -- counters -----------------------------------------------------------------------------------


@dataclass
class Tally:
    """Decision counts of one group (an app, a policy, a stage, an hour)."""

    decisions: int = 0
    blocked: int = 0  # action block or respond
    would_block: int = 0  # not blocked, but monitor mode says it would have been
    redacted: int = 0
    would_redact: int = 0  # neither blocked nor redacted, but would have been redacted
    flagged: int = 0
    errors: int = 0  # decisions with at least one filter error

    def add(self, flags: tuple[bool, bool, bool, bool, bool, bool]) -> None:
        """Count one decision, given its ``_Decision.flags``."""
        blocked, would_block, redacted, would_redact, flagged, errors = flags
        self.decisions += 1
        self.blocked += blocked
        self.would_block += would_block
        self.redacted += redacted
        self.would_redact += would_redact
        self.flagged += flagged
        self.errors += errors

    def to_dict(self) -> dict[str, Any]:
        return {
            "decisions": self.decisions, "blocked": self.blocked, "would_block": self.would_block,
            "redacted": self.redacted, "would_redact": self.would_redact, "flagged": self.flagged,
            "errors": self.errors, "block_rate": rate(self.blocked, self.decisions),
            "would_block_rate": rate(self.would_block, self.decisions),
        }


@dataclass
class Hits:
    """Violation counts of one filter or category; monitored findings count as ``would_*``."""

    violations: int = 0  # every violation of it, enforced or monitored, filter errors included
    block: int = 0  # action block or respond
    redact: int = 0
    flag: int = 0
    would_block: int = 0
    would_redact: int = 0
    would_flag: int = 0
    errors: int = 0  # filter errors (counted here only, not as block / redact / flag)

    def add(self, action: str, monitor: bool, error: bool) -> None:
        self.violations += 1
        if error:
            self.errors += 1
            return
        kind = "block" if action in BLOCKING else action if action in ("redact", "flag") else None
        if kind is not None:
            name = f"would_{kind}" if monitor else kind
            setattr(self, name, getattr(self, name) + 1)

    def to_dict(self) -> dict[str, Any]:
        return {
            "violations": self.violations, "block": self.block, "redact": self.redact, "flag": self.flag,
            "would_block": self.would_block, "would_redact": self.would_redact, "would_flag": self.would_flag,
            "errors": self.errors,
        }


@dataclass
class FilterErrors:
    """Filter errors of one filter: how many, what on_error did, and of which kind."""

    count: int = 0
    on_error: Counter[str] = field(default_factory=Counter)  # "block", "allow", ... ("would_block" if monitored)
    kinds: Counter[str] = field(default_factory=Counter)  # "timeout", "RuntimeError", ...

    def to_dict(self) -> dict[str, Any]:
        return {"count": self.count, "on_error": dict(sorted(self.on_error.items())),
                "kinds": dict(sorted(self.kinds.items(), key=lambda kv: (-kv[1], kv[0])))}


@dataclass
class PolicyTally:
    """Decisions of one app under one policy (name, hash, signer)."""

    tally: Tally = field(default_factory=Tally)
    first: float | None = None
    last: float | None = None


@dataclass
class Reloads:
    ok: int = 0
    rejected: int = 0
    last_policy_hash: str | None = None  # of the last reload that went through
    last_policy_signer: str | None = None


@dataclass
class Rejection:
    count: int = 0
    first: float | None = None
    last: float | None = None


@dataclass
class SourceStats:
    """What was read from one log."""

    path: str
    lines: int = 0
    malformed: int = 0
    truncated: bool = False  # the file ended early or could not be read to its end (a cut gzip)


def rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _kind_of_error(error: str) -> str:
    """The kind of a filter error, never its message: ``timeout``, or the exception's type name."""
    if error.startswith("timeout"):
        return "timeout"
    head = error.split(":", 1)[0].strip()
    return head if head.isidentifier() and len(head) <= 80 else "other"


def _stamp(first: float | None, last: float | None, ts: float | None) -> tuple[float | None, float | None]:
    if ts is None:
        return first, last
    return (ts if first is None or ts < first else first), (ts if last is None or ts > last else last)


@dataclass
class _Decision:
    """One decision record, checked and reduced to what is counted."""

    ts: float | None
    app: str
    stage: str
    action: str
    policy: str
    policy_hash: str
    policy_signer: str | None
    violations: list[tuple[str, str, str, bool, str | None]]  # filter, category, action, monitor, error
    would: str  # what monitor mode says would have happened (at least ``action``)

    @property
    def flags(self) -> tuple[bool, bool, bool, bool, bool, bool]:
        """(blocked, would_block, redacted, would_redact, flagged, errors): a would-block is a decision that
        was not blocked but would have been; a would-redact one neither blocked nor redacted, nor would-block."""
        blocked = self.action in BLOCKING
        would_block = not blocked and self.would in BLOCKING
        weaker = ACTION_RANK[self.action] < ACTION_RANK["redact"]
        return (blocked, would_block, self.action == "redact", weaker and self.would == "redact",
                self.action == "flag", any(v[4] is not None for v in self.violations))


def _name(value: Any) -> str:
    if not isinstance(value, str) or not value or len(value) > MAX_KEY_CHARS:
        raise ValueError("bad name")
    return value


def _action(value: Any) -> str:
    if value not in ACTION_RANK:
        raise ValueError("bad action")
    return str(value)


def _ts(value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < 1e11:
        raise ValueError("bad ts")  # not a number, NaN, infinite, or beyond the year 5000
    return float(value)


def _parse_decision(rec: dict[str, Any]) -> _Decision:
    """The counted parts of a decision record; ValueError when a part is missing or of a wrong type."""
    raw = rec.get("violations", [])
    if not isinstance(raw, list):
        raise ValueError("violations")
    violations = []
    for v in raw:
        if not isinstance(v, dict):
            raise ValueError("violation")
        error = v.get("error")
        category = _name(v.get("category"))
        if category == FILTER_ERROR and not isinstance(error, str):
            error = "unknown"
        monitor = v.get("monitor") is True
        action = _action(v.get("would_action", v.get("action")) if monitor else v.get("action"))
        violations.append((_name(v.get("filter")), category, action, monitor,
                           error if isinstance(error, str) else None))
    action = _action(rec.get("action"))
    # Monitor mode: the record's would_action and its monitored violations, whichever is strongest;
    # never weaker than what was done.
    would = action
    declared = rec.get("would_action")
    candidates = [_action(declared)] if declared is not None else []
    candidates += [a for _, _, a, monitor, _ in violations if monitor]  # a monitored error: its on_error
    for candidate in candidates:
        if ACTION_RANK[candidate] > ACTION_RANK[would]:
            would = candidate
    signer = rec.get("policy_signer")
    return _Decision(
        ts=_ts(rec.get("ts")), app=_name(rec.get("app")), stage=_name(rec.get("stage")), action=action,
        policy=_name(rec.get("policy")), policy_hash=_name(rec.get("policy_hash")),
        policy_signer=_name(signer) if signer is not None else None, violations=violations, would=would,
    )


# -- the summary --------------------------------------------------------------------------------


class AuditSummary:
    """Counters over audit records; ``since`` (inclusive) and ``until`` (exclusive) are epoch seconds,
    ``apps`` the app names to keep (None: all), ``by`` the time bucket (``hour`` or ``day``)."""

    def __init__(self, *, since: float | None = None, until: float | None = None,
                 apps: Sequence[str] | None = None, by: str = "hour") -> None:
        if by not in ("hour", "day"):
            raise ValueError(f"by: expected 'hour' or 'day', got {by!r}")
        self.since, self.until, self.by = since, until, by
        self.apps = frozenset(apps) if apps else None
        self.sources: list[SourceStats] = []
        self.lines = 0
        self.malformed = 0
        self.malformed_at: list[str] = []
        self.excluded = 0
        self.undated = 0
        self.other_events: Counter[str] = Counter()
        self.first: float | None = None
        self.last: float | None = None
        self.total = Tally()
        self.by_action: Counter[str] = Counter()
        self.by_stage: dict[str, Tally] = {}
        self.by_app: dict[str, Tally] = {}
        self.by_time: dict[int, Tally] = {}  # hours (or days) since the epoch, UTC
        self._bucket_s = 86400 if by == "day" else 3600
        self.by_filter: dict[str, Hits] = {}
        self.by_category: dict[str, Hits] = {}
        self.policies: dict[tuple[str, str, str, str | None], PolicyTally] = {}
        self.reloads: dict[str, Reloads] = {}
        self.reload_reasons: Counter[tuple[str, str, str]] = Counter()  # (app, result, reason)
        self.rejections: dict[tuple[str, str, str], Rejection] = {}  # (app, reason, error)
        self.filter_errors: dict[str, FilterErrors] = {}

    # -- reading --

    def read(self, path: str) -> SourceStats:
        """Read one log (a path, or ``-`` for standard input) into the counters."""
        stats = SourceStats(path)
        self.sources.append(stats)
        with _open_log(path) as text:
            try:
                for number, line in enumerate(_lines(text), start=1):
                    self._line(line, stats, number)
            except (EOFError, OSError, zlib.error):
                stats.truncated = True  # e.g. a gzip file cut short while being written or copied
        return stats

    def _line(self, line: str | None, stats: SourceStats, number: int) -> None:
        if line is not None and not line.strip():
            return
        stats.lines += 1
        self.lines += 1
        try:
            if line is None:
                raise ValueError("line too long")
            rec = json.loads(line)
            if not isinstance(rec, dict):
                raise ValueError("not an audit record")
            self.add(rec)
        except (ValueError, TypeError, RecursionError):  # json.JSONDecodeError is a ValueError
            stats.malformed += 1
            self.malformed += 1
            if len(self.malformed_at) < MAX_MALFORMED_SHOWN:
                self.malformed_at.append(f"{stats.path}:{number}")

    def _keep(self, app: str, ts: float | None) -> bool:
        if self.apps is not None and app not in self.apps:
            return False
        if ts is None:
            return self.since is None and self.until is None  # cannot be placed in a time window
        if self.since is not None and ts < self.since:
            return False
        return self.until is None or ts < self.until

    def add(self, rec: dict[str, Any]) -> None:
        """Count one record (a parsed line); ValueError when it is not a well-formed audit record."""
        event = rec.get("event")
        if not isinstance(event, str):
            raise ValueError("no event")
        if event == "decision":
            self._decision(_parse_decision(rec))
        elif event == "policy_reload":
            self._reload(rec)
        else:
            # Only a name-like event type is kept: a foreign line's "event" could hold anything.
            self.other_events[event if _EVENT_NAME.fullmatch(event) else "(other)"] += 1

    def _decision(self, d: _Decision) -> None:
        if not self._keep(d.app, d.ts):
            self.excluded += 1
            return
        if d.ts is None:
            self.undated += 1
        self.first, self.last = _stamp(self.first, self.last, d.ts)
        flags = d.flags
        self.total.add(flags)
        self.by_action[d.action] += 1
        self.by_stage.setdefault(d.stage, Tally()).add(flags)
        self.by_app.setdefault(d.app, Tally()).add(flags)
        if d.ts is not None:
            self.by_time.setdefault(int(d.ts // self._bucket_s), Tally()).add(flags)
        pol = self.policies.setdefault((d.app, d.policy, d.policy_hash, d.policy_signer), PolicyTally())
        pol.tally.add(flags)
        pol.first, pol.last = _stamp(pol.first, pol.last, d.ts)
        for filt, category, action, monitor, error in d.violations:
            is_error = error is not None
            self.by_filter.setdefault(filt, Hits()).add(action, monitor, is_error)
            if is_error:
                errs = self.filter_errors.setdefault(filt, FilterErrors())
                errs.count += 1
                errs.on_error[f"would_{action}" if monitor else action] += 1
                errs.kinds[_kind_of_error(error or "")] += 1
            else:
                self.by_category.setdefault(category, Hits()).add(action, monitor, False)

    def _reload(self, rec: dict[str, Any]) -> None:
        app = _name(rec.get("app"))
        result = rec.get("result")
        if result not in ("ok", "rejected"):
            raise ValueError("reload result")
        reason = rec.get("reason")
        reason = reason[:MAX_KEY_CHARS] if isinstance(reason, str) and reason else "unknown"
        ts = _ts(rec.get("ts"))  # logs of older versions wrote policy_reload records without ts
        if not self._keep(app, ts):
            self.excluded += 1
            return
        if ts is None:
            self.undated += 1
        self.first, self.last = _stamp(self.first, self.last, ts)
        tally = self.reloads.setdefault(app, Reloads())
        self.reload_reasons[(app, result, reason)] += 1
        if result == "ok":
            tally.ok += 1
            pol_hash, signer = rec.get("policy_hash"), rec.get("policy_signer")
            tally.last_policy_hash = pol_hash if isinstance(pol_hash, str) else None
            tally.last_policy_signer = signer if isinstance(signer, str) else None
            return
        tally.rejected += 1
        error = rec.get("error")
        error = error if isinstance(error, str) and error else "unknown"
        key = (app, reason, error)
        if key not in self.rejections and len(self.rejections) >= MAX_REJECTIONS:
            key = (app, reason, "other (more distinct errors than the summary keeps)")
        rej = self.rejections.setdefault(key, Rejection())
        rej.count += 1
        rej.first, rej.last = _stamp(rej.first, rej.last, ts)

    # -- output --

    def policy_rows(self) -> list[dict[str, Any]]:
        """One entry per (app, policy, hash, signer), highest block rate first (then most decisions)."""
        rows: list[dict[str, Any]] = [
            {"app": app, "policy": policy, "policy_hash": pol_hash, "policy_signer": signer, **p.tally.to_dict(),
             "first": iso(p.first), "last": iso(p.last)}
            for (app, policy, pol_hash, signer), p in self.policies.items()
        ]
        rows.sort(key=lambda r: (-(r["block_rate"] or 0.0), -r["decisions"], r["app"], r["policy"], r["policy_hash"]))
        return rows

    def to_dict(self) -> dict[str, Any]:
        """The summary as JSON-ready data (schema ``guardrails.audit_summary/1``, see docs/sidecar.md)."""
        def hits(table: dict[str, Hits]) -> dict[str, Any]:
            return {k: table[k].to_dict() for k in sorted(table, key=lambda k: (-table[k].violations, k))}

        def tallies(table: dict[str, Tally]) -> dict[str, Any]:
            return {k: table[k].to_dict() for k in sorted(table)}

        rejected = [{"app": app, "reason": reason, "error": error, "count": r.count,
                     "first": iso(r.first), "last": iso(r.last)}
                    for (app, reason, error), r in sorted(self.rejections.items(), key=lambda kv: (-kv[1].count, kv[0]))]
        return {
            "schema": SCHEMA,
            "query": {"since": iso(self.since), "until": iso(self.until),
                      "apps": sorted(self.apps) if self.apps is not None else None, "by": self.by},
            "sources": [{"path": s.path, "lines": s.lines, "malformed": s.malformed, "truncated": s.truncated}
                        for s in self.sources],
            "lines": {"read": self.lines, "malformed": self.malformed, "malformed_at": list(self.malformed_at),
                      "excluded": self.excluded, "undated": self.undated,
                      "other_events": dict(sorted(self.other_events.items()))},
            "period": {"first": iso(self.first), "last": iso(self.last)},
            "totals": {**self.total.to_dict(),
                       "reloads_ok": sum(r.ok for r in self.reloads.values()),
                       "reloads_rejected": sum(r.rejected for r in self.reloads.values()),
                       "filter_errors": sum(e.count for e in self.filter_errors.values())},
            "by_action": {a: self.by_action[a] for a in ACTION_RANK},
            "by_stage": tallies(self.by_stage),
            "by_app": tallies(self.by_app),
            "by_time": {bucket_of(k * self._bucket_s, self.by): self.by_time[k].to_dict() for k in sorted(self.by_time)},
            "by_filter": hits(self.by_filter),
            "by_category": hits(self.by_category),
            "policies": self.policy_rows(),
            "reloads": {
                "ok": sum(r.ok for r in self.reloads.values()),
                "rejected": sum(r.rejected for r in self.reloads.values()),
                "by_app": {app: {"ok": r.ok, "rejected": r.rejected, "last_policy_hash": r.last_policy_hash,
                                 "last_policy_signer": r.last_policy_signer}
                           for app, r in sorted(self.reloads.items())},
                "reasons": [{"app": app, "result": result, "reason": reason, "count": n}
                            for (app, result, reason), n in sorted(self.reload_reasons.items())],
                "rejections": rejected,
            },
            "errors": {
                "filter_errors": sum(e.count for e in self.filter_errors.values()),
                "decisions_with_errors": self.total.errors,
                "by_filter": {k: self.filter_errors[k].to_dict()
                              for k in sorted(self.filter_errors, key=lambda k: (-self.filter_errors[k].count, k))},
            },
        }


def summarize(paths: Sequence[str], *, since: float | None = None, until: float | None = None,
              apps: Sequence[str] | None = None, by: str = "hour") -> AuditSummary:
    """Read every log in ``paths`` (``-``: standard input) into one summary."""
    summary = AuditSummary(since=since, until=until, apps=apps, by=by)
    for path in paths:
        summary.read(path)
    return summary


# -- reading logs -------------------------------------------------------------------------------


class _LogFile:
    """A log opened as text: gzip when its first two bytes say so; ``-`` is standard input."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._owned: IO[bytes] | None = None
        self.text: IO[str]

    def __enter__(self) -> IO[str]:
        if self.path == "-":
            binary = getattr(sys.stdin, "buffer", None)
            if binary is None:  # a text-only stand-in (tests, embedding): no gzip detection
                self.text = sys.stdin
                return self.text
            raw: IO[bytes] = binary
        else:
            try:
                raw = self._owned = open(self.path, "rb")  # noqa: SIM115 - closed in __exit__
            except OSError as exc:
                raise AuditLogError(f"{self.path}: cannot read ({exc.strerror or type(exc).__name__})") from None
        magic = raw.peek(2)[:2] if isinstance(raw, io.BufferedReader) else b""
        stream = cast(IO[bytes], gzip.GzipFile(fileobj=raw, mode="rb")) if magic == b"\x1f\x8b" else raw
        self.text = io.TextIOWrapper(stream, encoding="utf-8", errors="replace")
        return self.text

    def __exit__(self, *exc: object) -> None:
        if self._owned is not None:
            self.text.close()
            self._owned.close()
        elif self.path == "-" and isinstance(self.text, io.TextIOWrapper):
            self.text.detach()  # leave standard input open


def _open_log(path: str) -> _LogFile:
    return _LogFile(path)


def _lines(text: IO[str]) -> Iterator[str | None]:
    """The lines of ``text``; a line longer than MAX_LINE_CHARS is read past and given as None."""
    while True:
        line = text.readline(MAX_LINE_CHARS)
        if not line:
            return
        if len(line) >= MAX_LINE_CHARS and not line.endswith("\n"):
            while True:
                more = text.readline(MAX_LINE_CHARS)
                if not more or more.endswith("\n"):
                    break
            yield None
        else:
            yield line


# -- the text report ----------------------------------------------------------------------------


def table(header: Sequence[str], rows: Sequence[Sequence[str]], left: int = 1) -> str:
    """A fixed-width table: the first ``left`` columns (names) left-aligned, the others (numbers) right-aligned."""
    widths = [max(len(str(x)) for x in col) for col in zip(header, *rows)]
    lines = ["  ".join(str(c).ljust(w) if i < left else str(c).rjust(w) for i, (c, w) in enumerate(zip(r, widths))).rstrip()
             for r in [header, *rows]]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def pct(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.1f}%"


def short_hash(value: str | None) -> str:
    """``sha256:`` and the first 12 hex digits: enough to tell policies apart in a table."""
    if not value:
        return "-"
    algo, sep, digest = value.partition(":")
    return f"{algo}:{digest[:12]}" if sep else value[:19]


def _num(n: int) -> str:
    return f"{n:,}"


_TALLY_HEADER = ("decisions", "blocked", "would block", "redacted", "would redact", "flagged", "errors", "block rate")


def _tally_cells(name: str, t: dict[str, Any]) -> list[str]:
    return [name, *(_num(t[k]) for k in ("decisions", "blocked", "would_block", "redacted", "would_redact",
                                         "flagged", "errors")), pct(t["block_rate"])]


def _hits_rows(table_: dict[str, Any]) -> list[list[str]]:
    return [[name, *(_num(h[k]) for k in ("violations", "block", "would_block", "redact", "would_redact",
                                           "flag", "would_flag", "errors"))] for name, h in table_.items()]


_HITS_HEADER = ("violations", "block", "would block", "redact", "would redact", "flag", "would flag", "errors")


def format_report(data: dict[str, Any], *, top: int = 10) -> str:
    """The text report of ``AuditSummary.to_dict()``: aligned tables, no texts (the log has none)."""
    out: list[str] = []
    lines, period, q = data["lines"], data["period"], data["query"]
    logs = len(data["sources"])
    head = (f"audit log summary: {logs} log{'s' if logs != 1 else ''}, {_num(lines['read'])} lines, "
            f"{_num(data['totals']['decisions'])} decisions")
    if period["first"]:
        head += f", {period['first']} .. {period['last']} (UTC)"
    out.append(head)
    window = [f"since {q['since']}" if q["since"] else "", f"until {q['until']}" if q["until"] else "",
              f"apps {', '.join(q['apps'])}" if q["apps"] else ""]
    if any(window):
        out.append("window: " + ", ".join(w for w in window if w) + f" ({_num(lines['excluded'])} records outside it)")
    if lines["malformed"]:
        at = ", ".join(lines["malformed_at"]) + (" ..." if lines["malformed"] > len(lines["malformed_at"]) else "")
        out.append(f"skipped {_num(lines['malformed'])} malformed line(s): {at}")
    for s in data["sources"]:
        if s["truncated"]:
            out.append(f"warning: {s['path']}: ended early (a cut or damaged file); counted up to there")
    if lines["undated"]:
        out.append(f"note: {_num(lines['undated'])} record(s) without a timestamp (older logs): counted, "
                   f"but not in the per-{q['by']} table, nor in any --since/--until window")
    if lines["other_events"]:
        out.append("other events (not summarised): " + ", ".join(f"{k} {_num(v)}" for k, v in lines["other_events"].items()))

    t = data["totals"]
    out += ["", "Decisions", table(("", *_TALLY_HEADER), [
        _tally_cells("all", t), *(_tally_cells(f"stage {k}", v) for k, v in data["by_stage"].items())])]
    if t["decisions"]:
        out.append("actions: " + ", ".join(f"{k} {_num(v)}" for k, v in data["by_action"].items() if v))

    if data["by_app"]:
        out += ["", "Per app", table(("app", *_TALLY_HEADER, "would-block rate"),
                                     [[*_tally_cells(k, v), pct(v["would_block_rate"])] for k, v in data["by_app"].items()])]
    if data["by_filter"]:
        out += ["", "Per filter (filter errors only under 'errors')", table(("filter", *_HITS_HEADER), _hits_rows(data["by_filter"]))]
    if data["by_category"]:
        out += ["", "Per category", table(("category", *_HITS_HEADER), _hits_rows(data["by_category"]))]
    if data["by_time"]:
        unit = q["by"]
        out += ["", f"Per {unit} (UTC)", table((unit, *_TALLY_HEADER),
                                               [_tally_cells(k, v) for k, v in data["by_time"].items()])]
    if data["policies"]:
        rows = [[p["app"], p["policy"], short_hash(p["policy_hash"]), p["policy_signer"] or "-",
                 _num(p["decisions"]), _num(p["blocked"]), pct(p["block_rate"]), _num(p["would_block"]),
                 pct(p["would_block_rate"])] for p in data["policies"][:top]]
        more = len(data["policies"]) - top
        title = f"Top policies by block rate (per app; {more} more in --json)" if more > 0 else "Policies by block rate (per app)"
        out += ["", title, table(("app", "policy", "hash", "signer", "decisions", "blocked", "block rate",
                                  "would block", "would-block rate"), rows, left=4)]
    r = data["reloads"]
    if r["ok"] or r["rejected"]:
        out += ["", f"Policy reloads: {_num(r['ok'])} ok, {_num(r['rejected'])} rejected",
                table(("app", "policy now (last ok reload)", "signer", "ok", "rejected"),
                      [[app, short_hash(v["last_policy_hash"]), v["last_policy_signer"] or "-", _num(v["ok"]),
                        _num(v["rejected"])] for app, v in r["by_app"].items()], left=3)]
        out += ["", table(("app", "result", "reason", "count"),
                          [[x["app"], x["result"], x["reason"], _num(x["count"])] for x in r["reasons"]], left=3)]
        if r["rejections"]:
            out += ["", "Rejected reloads (the old policy stayed in force):"]
            for x in r["rejections"]:
                when = f", last {x['last']}" if x["last"] else ""
                error = str(x["error"]).replace("\n", "\n      ")  # a PolicyError lists one problem per line
                out.append(f"  {x['app']}: {x['count']}x on {x['reason']}{when}: {error}")
    e = data["errors"]
    if e["filter_errors"]:
        outcomes = sorted({k for v in e["by_filter"].values() for k in v["on_error"]})
        rows = [[name, ", ".join(f"{kind} {_num(n)}" for kind, n in v["kinds"].items()), _num(v["count"]),
                 *(_num(v["on_error"].get(k, 0)) for k in outcomes)] for name, v in e["by_filter"].items()]
        out += ["", f"Filter errors: {_num(e['filter_errors'])} in {_num(e['decisions_with_errors'])} decision(s)",
                table(("filter", "kinds", "errors", *(f"on_error {k}" for k in outcomes)), rows, left=2)]
    if not t["decisions"] and not (r["ok"] or r["rejected"]):
        out += ["", "no decisions or reloads in the log" + (" within the window" if any(window) else "")]
    return "\n".join(out) + "\n"
