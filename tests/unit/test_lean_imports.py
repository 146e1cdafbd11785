"""Start-up stays light: the default policy (and `guardrails check`) never import the model stack.

Each case runs in a fresh interpreter, since this process may already hold torch from other tests.
Timing and memory are measured by benchmarks/bench_startup.py, not here.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
MODEL_STACK = ("torch", "transformers", "detoxify", "onnxruntime", "tokenizers")
SERVER_STACK = ("fastapi", "uvicorn", "starlette")

REPORT = """
def _heavy():
    return sorted(m for m in {names!r} if m in sys.modules)
def _report(**extra):
    print(json.dumps({{"heavy": _heavy(), "presidio": "presidio_analyzer" in sys.modules, **extra}}))
"""


def _run(code: str) -> dict[str, object]:
    env = {**os.environ, "PYTHONPATH": str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""),
           "TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS": "", "HF_HUB_OFFLINE": "1"}
    prelude = "import json, sys\n" + REPORT.format(names=MODEL_STACK + SERVER_STACK)
    proc = subprocess.run([sys.executable, "-c", prelude + code], capture_output=True, text=True, env=env, cwd=REPO,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def test_default_policy_checks_without_importing_torch_or_transformers() -> None:
    out = _run(
        "import guardrails\n"
        "guard = guardrails.Guard.from_policy('default')\n"
        "v = guard.check_input('My card is 4111 1111 1111 1111, mail jane@example.org')\n"
        "a = guard.check_output('Mix flour and water, then bake it.', prompt='How do I bake bread?')\n"
        "after_checks = _heavy()\n"
        "import torch  # a model filter loaded later in the same process still gets a working torch\n"
        "ok = float(torch.ones(2).sum()) == 2.0\n"
        "_report(filters=sorted({x.filter for x in v.violations}), answer=a.action.value, torch_later=ok,\n"
        "        after_checks=after_checks)\n"
    )
    # The pii filter really ran (Presidio is loaded and redacted the card number and the address) ...
    assert out["presidio"] is True and "pii" in out["filters"] and out["answer"] == "allow"
    # ... and neither the model stack nor the server stack came with it; torch still imports afterwards.
    assert out["after_checks"] == []
    assert out["torch_later"] is True


def test_cli_check_imports_no_model_or_server_stack() -> None:
    out = _run(
        "from guardrails.cli.main import main\n"
        "code = main(['check', '--json', 'hello, my mail is jane@example.org'])\n"
        "_report(code=code)\n"
    )
    assert out["code"] == 0 and out["presidio"] is True
    assert out["heavy"] == []


def test_cli_check_of_plain_text_imports_neither_presidio_nor_spacy() -> None:
    """Text with nothing a pattern entity needs (no digit, '@', ':') is screened: Presidio and spaCy stay out."""
    out = _run(
        "from guardrails.cli.main import main\n"
        "code = main(['check', '--json', 'hello, thanks for the help!'])\n"
        "_report(code=code, spacy='spacy' in sys.modules)\n"
    )
    assert out["code"] == 0
    assert out["presidio"] is False and out["spacy"] is False and out["heavy"] == []
