"""``guardrails serve`` options: GUARDRAILS_* environment defaults, --workers bounds, refused combinations."""

from __future__ import annotations

import pytest

from guardrails.cli.main import build_parser, main


def test_every_option_falls_back_to_its_guardrails_variable_and_a_flag_wins(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GUARDRAILS_UPSTREAM", "http://vllm:8000/v1")
    monkeypatch.setenv("GUARDRAILS_WORKERS", "3")
    monkeypatch.setenv("GUARDRAILS_PORT", "9000")
    monkeypatch.setenv("GUARDRAILS_DRAIN_DELAY", "2.5")
    monkeypatch.setenv("GUARDRAILS_BLOCK_STYLE", "error")
    args = build_parser().parse_args(["serve"])
    assert (args.upstream, args.workers, args.port, args.drain_delay, args.block_style) == \
        ("http://vllm:8000/v1", 3, 9000, 2.5, "error")
    args = build_parser().parse_args(["serve", "--workers", "1", "--port", "8081"])
    assert (args.workers, args.port) == (1, 8081)


def test_defaults_without_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("UPSTREAM", "WORKERS", "PORT", "DRAIN_DELAY", "BLOCK_STYLE", "CONFIG", "POLICY"):
        monkeypatch.delenv(f"GUARDRAILS_{name}", raising=False)
    args = build_parser().parse_args(["serve"])
    assert (args.upstream, args.workers, args.port, args.drain_delay, args.block_style) == (None, 1, None, 0.0, "refusal")


@pytest.mark.parametrize("value", ["0", "-2", "two"])
def test_workers_must_be_a_whole_number_of_at_least_one(value: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        build_parser().parse_args(["serve", "--workers", value])
    assert exc.value.code == 2
    assert "--workers" in capsys.readouterr().err


def test_without_upstream_the_error_names_flags_and_variables(monkeypatch: pytest.MonkeyPatch,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("uvicorn")
    monkeypatch.delenv("GUARDRAILS_UPSTREAM", raising=False)
    monkeypatch.delenv("GUARDRAILS_CONFIG", raising=False)
    assert main(["serve"]) == 2
    err = capsys.readouterr().err
    assert "--upstream" in err and "GUARDRAILS_UPSTREAM" in err and "GUARDRAILS_CONFIG" in err


def test_model_in_process_refuses_several_workers(capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("uvicorn")
    assert main(["serve", "--model", "./some-model", "--workers", "2"]) == 2
    assert "--workers 1" in capsys.readouterr().err
