"""Evaluation metrics, dataset reading and summaries on small handmade cases."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest

from guardrails import Guard
from guardrails.eval import metrics
from guardrails.eval.dataset import DatasetError, read_dataset
from guardrails.eval.runner import run
from guardrails.eval.summary import summarize
from guardrails.filters.base import BaseFilter
from guardrails.types import Context, FilterResult, Stage

# -- confusion and rates -----------------------------------------------------------------------


def test_confusion_mixed_labels_counts_and_rates() -> None:
    c = metrics.confusion([True, True, True, False, False, False, False], [True, True, False, True, False, False, False])
    assert (c.tp, c.fn, c.fp, c.tn) == (2, 1, 1, 3)
    assert c.precision == pytest.approx(2 / 3)
    assert c.recall == pytest.approx(2 / 3)
    assert c.fpr == pytest.approx(1 / 4)
    assert c.f1 == pytest.approx(2 / 3)
    assert c.positive_rate == pytest.approx(3 / 7)


def test_confusion_no_negatives_fpr_undefined() -> None:
    c = metrics.confusion([True, True], [True, False])
    assert c.fpr is None
    assert c.recall == 0.5
    assert c.precision == 1.0


def test_confusion_no_positives_recall_and_f1_undefined() -> None:
    c = metrics.confusion([False, False, False], [False, True, False])
    assert c.recall is None
    assert c.f1 is None
    assert c.precision == 0.0
    assert c.fpr == pytest.approx(1 / 3)


def test_confusion_nothing_predicted_precision_undefined() -> None:
    c = metrics.confusion([True, False], [False, False])
    assert c.precision is None
    assert c.recall == 0.0
    assert c.f1 is None


def test_confusion_all_wrong_f1_zero() -> None:
    c = metrics.confusion([True, False], [False, True])
    assert c.precision == 0.0 and c.recall == 0.0
    assert c.f1 == 0.0


def test_confusion_empty_input_all_rates_undefined() -> None:
    c = metrics.confusion([], [])
    assert c.n == 0
    assert (c.precision, c.recall, c.fpr, c.accuracy, c.positive_rate) == (None, None, None, None, None)


def test_confusion_length_mismatch_raises() -> None:
    with pytest.raises(ValueError, match="differ in length"):
        metrics.confusion([True], [True, False])


# -- average precision ---------------------------------------------------------------------------


def test_average_precision_distinct_scores_step_sum() -> None:
    # thresholds .9 (P=1, R=.5), .8 (P=.5, R=.5), .7 (P=2/3, R=1), .1: AP = .5*1 + .5*2/3
    ap = metrics.average_precision([True, False, True, False], [0.9, 0.8, 0.7, 0.1])
    assert ap == pytest.approx(0.5 + 0.5 * 2 / 3)


def test_average_precision_perfect_ranking_is_one() -> None:
    assert metrics.average_precision([True, True, False, False], [0.9, 0.8, 0.2, 0.1]) == pytest.approx(1.0)


def test_average_precision_tie_between_classes_not_optimistic() -> None:
    # One threshold holds both examples: precision 1/2 at recall 1, never 1.0 from a lucky order.
    assert metrics.average_precision([True, False], [0.5, 0.5]) == pytest.approx(0.5)
    assert metrics.average_precision([False, True], [0.5, 0.5]) == pytest.approx(0.5)


def test_average_precision_partial_tie_grouped() -> None:
    # .9 -> P=1 R=1/2 ; .4 (tie of a positive and a negative) -> P=2/3 R=1
    ap = metrics.average_precision([True, True, False], [0.9, 0.4, 0.4])
    assert ap == pytest.approx(0.5 * 1 + 0.5 * 2 / 3)


def test_average_precision_constant_scores_equals_prevalence() -> None:
    assert metrics.average_precision([True, False, False, False], [0.0] * 4) == pytest.approx(0.25)


def test_average_precision_no_positives_is_none() -> None:
    assert metrics.average_precision([False, False], [0.3, 0.9]) is None


def test_average_precision_no_negatives_is_one() -> None:
    assert metrics.average_precision([True, True], [0.3, 0.1]) == pytest.approx(1.0)


def test_average_precision_empty_is_none() -> None:
    assert metrics.average_precision([], []) is None


def test_average_precision_nan_score_raises() -> None:
    with pytest.raises(ValueError, match="real numbers"):
        metrics.average_precision([True], [float("nan")])


# -- threshold for a target FPR ------------------------------------------------------------------

Y = [False, False, False, False, True, True, True]
S = [0.1, 0.2, 0.3, 0.9, 0.95, 0.8, 0.6]


def test_threshold_for_fpr_zero_target_picks_above_top_negative() -> None:
    op = metrics.threshold_for_fpr(Y, S, 0.0)
    assert op.threshold == 0.95
    assert op.fpr == 0.0
    assert op.recall == pytest.approx(1 / 3)


def test_threshold_for_fpr_quarter_target_picks_lowest_meeting_threshold() -> None:
    op = metrics.threshold_for_fpr(Y, S, 0.25)
    assert op.threshold == 0.6
    assert op.fpr == 0.25
    assert op.recall == 1.0
    assert op.precision == pytest.approx(3 / 4)
    assert (op.tp, op.fp) == (3, 1)


def test_threshold_for_fpr_top_score_negative_no_threshold() -> None:
    op = metrics.threshold_for_fpr([False, True], [0.9, 0.5], 0.0)
    assert op.threshold is None
    assert op.recall == 0.0


def test_threshold_for_fpr_tie_at_threshold_counts_both_classes() -> None:
    # The positive shares its score with a negative: no threshold keeps FPR at 0 and catches it.
    op = metrics.threshold_for_fpr([True, False, False], [0.7, 0.7, 0.1], 0.0)
    assert op.threshold is None
    op = metrics.threshold_for_fpr([True, False, False], [0.7, 0.7, 0.1], 0.5)
    assert op.threshold == 0.7 and op.recall == 1.0 and op.fpr == 0.5


def test_threshold_for_fpr_no_negatives_lowest_threshold_fpr_undefined() -> None:
    op = metrics.threshold_for_fpr([True, True], [0.4, 0.8], 0.01)
    assert op.threshold == 0.4
    assert op.fpr is None
    assert op.recall == 1.0


def test_threshold_for_fpr_bad_target_raises() -> None:
    with pytest.raises(ValueError, match="between 0 and 1"):
        metrics.threshold_for_fpr([True], [0.5], 1.5)


# -- latency percentiles ---------------------------------------------------------------------------


def test_percentiles_linear_interpolation() -> None:
    p = metrics.percentiles([4.0, 1.0, 3.0, 2.0])
    assert p["p50"] == pytest.approx(2.5)
    assert p["p95"] == pytest.approx(3.85)
    assert p["p99"] == pytest.approx(3.97)
    assert p["mean"] == pytest.approx(2.5)
    assert p["max"] == 4.0


def test_percentiles_single_value_every_quantile_equal() -> None:
    assert metrics.percentiles([7.0]) == {"p50": 7.0, "p95": 7.0, "p99": 7.0, "mean": 7.0, "max": 7.0}


def test_percentiles_empty_all_none() -> None:
    assert set(metrics.percentiles([]).values()) == {None}


# -- PII spans ---------------------------------------------------------------------------------------


def test_span_scores_overlap_match_per_entity_type() -> None:
    gold = [[(0, 5, "PERSON"), (10, 20, "EMAIL_ADDRESS")], [(3, 8, "PHONE_NUMBER")]]
    pred = [[(0, 4, "PERSON"), (30, 35, "EMAIL_ADDRESS")], [(3, 8, "PHONE_NUMBER")]]
    s = metrics.span_scores(gold, pred)
    assert (s["PERSON"].tp, s["PERSON"].fp, s["PERSON"].fn) == (1, 0, 0)
    assert (s["EMAIL_ADDRESS"].tp, s["EMAIL_ADDRESS"].fp, s["EMAIL_ADDRESS"].fn) == (0, 1, 1)
    assert s["EMAIL_ADDRESS"].precision == 0.0 and s["EMAIL_ADDRESS"].recall == 0.0
    assert (s["ALL"].tp, s["ALL"].fp, s["ALL"].fn) == (2, 1, 1)
    assert s["ALL"].precision == pytest.approx(2 / 3)


def test_span_scores_exact_mode_boundary_miss_counts_fp_and_fn() -> None:
    s = metrics.span_scores([[(0, 5, "PERSON")]], [[(0, 4, "PERSON")]], exact=True)
    assert (s["PERSON"].tp, s["PERSON"].fp, s["PERSON"].fn) == (0, 1, 1)


def test_span_scores_two_predictions_on_one_gold_one_to_one() -> None:
    s = metrics.span_scores([[(0, 10, "PERSON")]], [[(0, 4, "PERSON"), (5, 10, "PERSON")]])
    assert (s["PERSON"].tp, s["PERSON"].fp, s["PERSON"].fn) == (1, 1, 0)


def test_span_scores_wrong_type_is_miss_and_false_alarm() -> None:
    s = metrics.span_scores([[(0, 10, "PERSON")]], [[(0, 10, "LOCATION")]])
    assert (s["PERSON"].fn, s["LOCATION"].fp, s["ALL"].tp) == (1, 1, 0)


def test_span_scores_alias_and_entity_filter() -> None:
    gold = [[(0, 6, "GPE"), (10, 14, "AGE")]]
    pred = [[(0, 6, "LOCATION"), (20, 30, "URL")]]
    s = metrics.span_scores(gold, pred, aliases={"GPE": "LOCATION"}, entities={"LOCATION", "AGE"})
    assert s["LOCATION"].tp == 1
    assert s["AGE"].fn == 1
    assert "URL" not in s
    assert (s["ALL"].tp, s["ALL"].fp, s["ALL"].fn) == (1, 0, 1)


def test_span_scores_no_spans_anywhere_all_undefined() -> None:
    s = metrics.span_scores([[], []], [[], []])
    assert list(s) == ["ALL"]
    assert (s["ALL"].precision, s["ALL"].recall, s["ALL"].f1) == (None, None, None)


# -- dataset reading ------------------------------------------------------------------------------


def _write(tmp_path: Path, lines: list[str], name: str = "d.jsonl") -> Path:
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_read_dataset_valid_lines_parsed_with_defaults(tmp_path: Path) -> None:
    path = _write(tmp_path, [
        '{"text": "hi", "label": "safe", "category": "benign", "source": "s1", "extra": 1}',
        "",
        '{"text": "x", "label": "unsafe", "stage": "output", "id": 7}',
        '{"text": "mail a@b.co", "spans": [{"start": 5, "end": 11, "entity_type": "EMAIL_ADDRESS"}]}',
    ])
    a, b, c = read_dataset([path])
    assert (a.label, a.category, a.source, a.stage) == ("safe", "benign", "s1", None)
    assert (b.category, b.source, b.stage, b.id) == (None, "d", Stage.OUTPUT, "7")  # a label is not a category
    assert c.label is None and c.spans is not None and c.spans[0].entity_type == "EMAIL_ADDRESS"
    assert b.where.endswith("d.jsonl:3")


def test_read_dataset_bad_label_names_file_line_and_field(tmp_path: Path) -> None:
    path = _write(tmp_path, ['{"text": "ok", "label": "safe"}', '{"text": "secret words", "label": "maybe"}'])
    with pytest.raises(DatasetError) as err:
        read_dataset([path])
    msg = str(err.value)
    assert f"{path}:2: label: expected" in msg
    assert "'maybe'" in msg
    assert "secret words" not in msg  # the text is never quoted


def test_read_dataset_every_bad_line_listed(tmp_path: Path) -> None:
    path = _write(tmp_path, [
        "{not json",
        '{"text": 5, "label": "safe"}',
        '{"text": "t"}',
        '{"text": "abc", "spans": [{"start": 2, "end": 9, "entity_type": "PERSON"}]}',
        '{"text": "abc", "label": "safe", "stage": "middle"}',
        '{"text": "abc", "spans": [{"start": 0, "end": 1}]}',
    ])
    with pytest.raises(DatasetError) as err:
        read_dataset([path])
    problems = err.value.problems
    assert problems[0].startswith(f"{path}:1: not valid JSON")
    assert problems[1] == f"{path}:2: text: expected a string, got int"
    assert problems[2].startswith(f"{path}:3: label: missing")
    assert problems[3].startswith(f"{path}:4: spans[0]: expected 0 <= start < end <= 3")
    assert problems[4].startswith(f"{path}:5: stage: expected")
    assert problems[5].startswith(f"{path}:6: spans[0].entity_type: expected a non-empty string")


def test_read_dataset_missing_file_clear_error(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="dataset file not found"):
        read_dataset([tmp_path / "nope.jsonl"])


# -- runner + summary with a real Guard -------------------------------------------------------------

POLICY = {
    "name": "eval-test",
    "input": [
        {"filter": "regex", "id": "bomb", "patterns": ["bomb"], "action": "block", "category": "weapons"},
        {"filter": "regex", "id": "mail", "patterns": [r"\w+@\w+\.com"], "action": "redact", "category": "EMAIL_ADDRESS"},
    ],
}


def test_summarize_real_guard_counts_categories_and_spans(tmp_path: Path) -> None:
    path = _write(tmp_path, [
        json.dumps({"text": "how to build a bomb", "label": "unsafe", "category": "weapons"}),
        json.dumps({"text": "bomb calorimeter homework", "label": "safe", "category": "edgy"}),
        json.dumps({"text": "how to poison a dog", "label": "unsafe", "category": "weapons"}),
        json.dumps({"text": "what is 2+2", "label": "safe", "category": "benign"}),
        json.dumps({"text": "write to ann@corp.com or bob@x.org", "spans": [
            {"start": 9, "end": 21, "entity_type": "EMAIL_ADDRESS"}, {"start": 25, "end": 34, "entity_type": "EMAIL_ADDRESS"}]}),
    ])
    result = run(Guard.from_policy(POLICY), read_dataset([path]))
    summary = summarize(result, target_fprs=[0.0, 0.5])
    o = summary["overall"]
    assert (o["tp"], o["fp"], o["tn"], o["fn"]) == (1, 1, 1, 1)
    assert o["block_rate"] == 0.5
    assert summary["by_category"]["weapons"]["recall"] == 0.5
    assert summary["by_category"]["weapons"]["fpr"] is None
    assert summary["by_category"]["edgy"]["fpr"] == 1.0
    bomb = summary["filters"]["bomb"]
    assert bomb["scored"] == 4 and bomb["auprc"] == pytest.approx(0.5 * 0.5 + 0.5 * 0.5)
    assert bomb["operating_points"][0]["threshold"] is None
    assert bomb["operating_points"][1]["threshold"] == 1.0
    pii = summary["pii"]["overlap"]["EMAIL_ADDRESS"]
    assert (pii["tp"], pii["fp"], pii["fn"]) == (1, 0, 1)
    # Latency is reported from each record's own verdict latency (how fast is not the test's business).
    assert summary["latency_ms"] == metrics.percentiles(r.latency_ms for r in result.records)


def test_record_positive_modes_redaction_counts_only_as_any(tmp_path: Path) -> None:
    path = _write(tmp_path, [
        json.dumps({"text": "mail ann@corp.com", "label": "unsafe"}),
        json.dumps({"text": "a bomb and ann@corp.com", "label": "unsafe"}),
    ])
    redacted, blocked = run(Guard.from_policy(POLICY), read_dataset([path])).records
    assert (redacted.positive("flagged"), redacted.positive("blocked"), redacted.positive("any")) == (False, False, True)
    assert redacted.redacted and not redacted.flagged
    assert (blocked.positive("flagged"), blocked.positive("blocked"), blocked.positive("any")) == (True, True, True)


def test_run_filter_skipped_after_block_still_scored(tmp_path: Path) -> None:
    policy = {"name": "p", "input": [
        {"filter": "regex", "id": "first", "patterns": ["x"], "action": "block"},
        {"filter": "tests.helpers.fakes:KeywordFilter", "id": "kw", "word": "y", "score": 0.7},
    ]}
    path = _write(tmp_path, [json.dumps({"text": "x y", "label": "unsafe"})])
    record = run(Guard.from_policy(policy), read_dataset([path])).records[0]
    assert record.blocked
    assert record.scores["kw"] == 0.7  # the engine stopped at 'first'; the runner scored 'kw' alone
    assert record.violating == {"first"}


class CostlyCrashingFilter(BaseFilter):
    """Raises on every check; a model's cost (2), so a pattern's block skips it."""

    name = "costly_crashing"
    cost = 2

    def check(self, text: str, ctx: Context) -> FilterResult:
        raise RuntimeError("boom")


class HangingFilter(BaseFilter):
    """Waits for ``release`` (set by the test once the check is over): it only ever ends by timeout."""

    name = "hanging"
    cost = 2
    release = threading.Event()

    def check(self, text: str, ctx: Context) -> FilterResult:
        HangingFilter.release.wait(timeout=30)
        return FilterResult.clean({"x": 1.0})


@pytest.mark.parametrize("entry", [
    {"filter": "tests.unit.test_eval_metrics:CostlyCrashingFilter", "id": "late"},
    {"filter": "tests.unit.test_eval_metrics:HangingFilter", "id": "late", "timeout_ms": 20},
], ids=["crash", "timeout"])
def test_run_skipped_filter_failing_alone_goes_through_engine_error_path(tmp_path: Path, entry: dict[str, object]) -> None:
    # The runner scores a filter the block skipped through Guard.check_alone: a crash or a timeout
    # there is the engine's filter error (score missing), not an exception or a made-up score.
    policy = {"name": "p", "on_error": "allow", "input": [{"filter": "regex", "id": "first", "patterns": ["x"], "action": "block"}, entry]}
    path = _write(tmp_path, [json.dumps({"text": "x y", "label": "unsafe"})])
    HangingFilter.release = threading.Event()
    try:
        record = run(Guard.from_policy(policy), read_dataset([path])).records[0]
    finally:
        HangingFilter.release.set()
    assert record.blocked and record.violating == {"first"}
    assert record.scores["late"] is None and "late" not in record.category_scores
    assert record.errors == ()  # errors count the policy's own verdict; the alone run is only for scores


def test_check_alone_runs_one_filter_with_its_policy_settings() -> None:
    guard = Guard.from_policy({"name": "p", "input": [
        {"filter": "regex", "id": "first", "patterns": ["x"], "action": "block"},
        {"filter": "regex", "id": "second", "patterns": ["y"], "action": "flag"},
    ]})
    verdict = guard.check_alone("second", "x y")
    assert [(v.filter, v.action.value) for v in verdict.violations] == [("second", "flag")]
    assert verdict.allowed and set(verdict.scores) == {"second"}
    with pytest.raises(KeyError):
        guard.check_alone("nope", "x y")


def test_run_crashing_filter_score_missing_and_error_counted(tmp_path: Path) -> None:
    policy = {"name": "p", "on_error": "allow", "input": [{"filter": "tests.helpers.fakes:CrashingFilter", "id": "boom"}]}
    path = _write(tmp_path, [json.dumps({"text": "t", "label": "safe"})])
    summary = summarize(run(Guard.from_policy(policy), read_dataset([path])))
    assert summary["filter_errors"] == 1
    assert summary["filters"]["boom"]["missing"] == 1 and summary["filters"]["boom"]["scored"] == 0
    assert summary["filters"]["boom"]["auprc"] is None



class LengthScoreFilter(BaseFilter):
    """Scores a text by its length / 10 (a continuous score for sweep tests); never a violation."""

    name = "length_score"
    cost = 0

    def check(self, text: str, ctx: Context) -> FilterResult:
        return FilterResult.clean({"len": min(len(text) / 10, 1.0)})


def test_summarize_continuous_scores_sweep_at_fixed_thresholds(tmp_path: Path) -> None:
    policy = {"name": "p", "input": [{"filter": "tests.unit.test_eval_metrics:LengthScoreFilter", "id": "len"}]}
    lines = [("x" * 2, "safe"), ("x" * 4, "safe"), ("x" * 6, "unsafe"), ("x" * 8, "unsafe"), ("x" * 6, "safe")]
    path = _write(tmp_path, [json.dumps({"text": t, "label": lab}) for t, lab in lines])
    f = summarize(run(Guard.from_policy(policy), read_dataset([path])), target_fprs=[1 / 3])["filters"]["len"]
    assert f["distinct_scores"] == 4
    at = {p["threshold"]: p for p in f["sweep"]}
    assert len(at) == 9
    assert at[0.5] == {"threshold": 0.5, "fpr": pytest.approx(1 / 3), "recall": 1.0, "precision": pytest.approx(2 / 3)}
    assert at[0.7]["fpr"] == 0.0 and at[0.7]["recall"] == 0.5 and at[0.7]["precision"] == 1.0
    assert at[0.9]["precision"] is None and at[0.9]["recall"] == 0.0
    assert f["operating_points"][0]["threshold"] == pytest.approx(0.6)
    assert f["auprc"] == pytest.approx(0.5 * 1.0 + 0.5 * 2 / 3)


class TwoCategoryFilter(BaseFilter):
    """Scores 'long' = len/10 and 'short' = 1 - len/10; never a violation."""

    name = "two_category"
    cost = 0

    def check(self, text: str, ctx: Context) -> FilterResult:
        x = min(len(text) / 10, 1.0)
        return FilterResult.clean({"long": x, "short": 1 - x})


def test_summarize_multi_category_filter_scored_per_category(tmp_path: Path) -> None:
    policy = {"name": "p", "input": [{"filter": "tests.unit.test_eval_metrics:TwoCategoryFilter", "id": "two"}]}
    lines = [("x" * 2, "safe"), ("x" * 3, "safe"), ("x" * 7, "unsafe"), ("x" * 9, "unsafe")]
    path = _write(tmp_path, [json.dumps({"text": t, "label": lab}) for t, lab in lines])
    filters = summarize(run(Guard.from_policy(policy), read_dataset([path])))["filters"]
    assert set(filters) == {"two", "two/long", "two/short"}
    assert filters["two/long"]["auprc"] == pytest.approx(1.0)  # long texts are the unsafe ones
    # worst ranking: both safe first, then P=1/3 at R=1/2 and P=1/2 at R=1
    assert filters["two/short"]["auprc"] == pytest.approx(0.5 / 3 + 0.5 * 0.5)
    assert (filters["two/long"]["filter"], filters["two/long"]["category"]) == ("two", "long")
    assert filters["two"]["category"] is None


def test_evaluate_api_dict_policy_returns_metrics(tmp_path: Path) -> None:
    from guardrails.eval import evaluate

    path = _write(tmp_path, [json.dumps({"text": "a bomb", "label": "unsafe"}), json.dumps({"text": "tea", "label": "safe"})])
    summary = evaluate(POLICY, [path], target_fprs=[0.0])
    assert summary["policy"] == "eval-test"
    assert (summary["overall"]["tp"], summary["overall"]["tn"]) == (1, 1)
    assert summary["filters"]["bomb"]["operating_points"][0]["threshold"] == 1.0
