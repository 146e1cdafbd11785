"""Locked floors (#17): a base policy's `locked: true` entries (and top-level `locked:` keys) can only get
stricter in a policy that extends it; every weakening is refused naming both files and lines, the filter
and the key. And `guardrails policy show --provenance`: which file:line each key came from."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from guardrails import Guard
from guardrails.cli.main import main as cli
from guardrails.errors import PolicyError
from guardrails.policy import POLICY_PATH_ENV, load_policy, policy_from_dict, policy_schema
from guardrails.policy_sources import provenance

SUFFIX = "(locked filters can only get stricter)"

# The model publisher's bundled policy, as another engineer's `extends: model` loads it: a parent file.
MODEL = """\
version: 1
name: model
locked: [on_error, responses]
responses:
  self_harm: "Please reach out to a crisis line."
input:
  - filter: builtin
    locked: true
    action: block
    categories:
      self_harm: {threshold: 0.8, action: respond}
      hate: 0.7
      violent_crimes: {threshold: 0.6, action: flag}
  - filter: pii
    locked: true
    action: redact
    threshold: 0.5
    entities: [EMAIL_ADDRESS, PHONE_NUMBER, CREDIT_CARD]
    thresholds: {CREDIT_CARD: 0.3}
    allow_list: [support@example.com]
  - filter: regex
    id: words
    locked: true
    action: flag
    patterns: [alpha, beta]
  - filter: deny_list
    locked: true
    words: [zap, zing]
  - filter: length
    locked: true
    max_chars: 1000
    max_tokens: 300
  - filter: secrets
    locked: true
    on_error: allow
    kinds: [aws_access_key_id, github_token]
  - filter: regex
    id: unlocked
    patterns: [gamma]
output:
  - filter: regex
    id: leak
    locked: true
    patterns: [secret-plan]
"""


@pytest.fixture()
def tree(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """tmp/app/{app.yaml, model/guardrails.yaml, platform/base.yaml}; errors name files relative to tmp."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "app" / "model").mkdir(parents=True)
    (tmp_path / "app" / "platform").mkdir()
    (tmp_path / "app" / "model" / "guardrails.yaml").write_text(MODEL)
    return tmp_path / "app"


def line(path: Path, needle: str, after: str | None = None) -> int:
    """The 1-based line of the first line holding ``needle`` (after the first holding ``after``)."""
    lines = path.read_text().splitlines()
    start = next(i for i, text in enumerate(lines) if after in text) if after else 0
    return next(i for i, text in enumerate(lines) if i >= start and needle in text) + 1


def at(path: Path, needle: str, after: str | None = None) -> str:
    return f"{path.relative_to(Path.cwd())}:{line(path, needle, after)}"


def app(tree: Path, body: str, *, extends: str = "model/guardrails.yaml", name: str = "app.yaml") -> Path:
    path = tree / name
    path.write_text(f"version: 1\nname: app\nextends: {extends}\n{body}")
    return path


def refused(path: Path) -> list[str]:
    with pytest.raises(PolicyError) as info:
        load_policy(path)
    return info.value.problems


def model(tree: Path) -> Path:
    return tree / "model" / "guardrails.yaml"


# -- each kind of weakening is refused, naming both files and lines, the filter and the key ---------------


def test_enabled_false_removes_a_locked_filter(tree: Path) -> None:
    path = app(tree, "input:\n  - filter: builtin\n    enabled: false\n")
    assert refused(path) == [
        f"{at(path, 'enabled: false')}: input[builtin].enabled: false removes the locked filter of "
        f"{at(model(tree), 'locked: true')} {SUFFIX}"
    ]


def test_locked_false_unlocks(tree: Path) -> None:
    path = app(tree, "input:\n  - id: words\n    locked: false\n")
    assert refused(path) == [
        f"{at(path, 'locked: false')}: input[words].locked: false unlocks the locked filter of "
        f"{at(model(tree), 'locked: true', after='id: words')} {SUFFIX}"
    ]


def test_higher_category_threshold_is_weaker(tree: Path) -> None:
    path = app(tree, "input:\n  - filter: builtin\n    categories:\n      self_harm: {threshold: 0.9, action: respond}\n")
    assert refused(path) == [
        f"{at(path, 'self_harm')}: input[builtin].categories.self_harm: threshold 0.9 is weaker than the locked 0.8 "
        f"of {at(model(tree), 'self_harm: {')} {SUFFIX}"
    ]


def test_higher_entry_threshold_and_per_entity_threshold_are_weaker(tree: Path) -> None:
    path = app(tree, "input:\n  - filter: pii\n    threshold: 0.6\n    thresholds: {CREDIT_CARD: 0.35}\n")
    problems = refused(path)
    assert f"{at(path, 'threshold: 0.6')}: input[pii].threshold: threshold 0.6 is weaker than the locked 0.5 of " \
           f"{at(model(tree), 'threshold: 0.5')} {SUFFIX}" in problems
    assert f"{at(path, 'thresholds:')}: input[pii].thresholds.CREDIT_CARD: threshold 0.35 is weaker than the locked " \
           f"0.3 of {at(model(tree), 'thresholds:')} {SUFFIX}" in problems
    # An entity without its own threshold takes the entry's: a new one above it is weaker too.
    path = app(tree, "input:\n  - filter: pii\n    thresholds: {PHONE_NUMBER: 0.7}\n")
    assert refused(path) == [
        f"{at(path, 'thresholds:')}: input[pii].thresholds.PHONE_NUMBER: threshold 0.7 is weaker than the locked 0.5 "
        f"of {at(model(tree), 'threshold: 0.5')} {SUFFIX}"
    ]


def test_category_off_is_weaker(tree: Path) -> None:
    path = app(tree, "input:\n  - filter: builtin\n    categories: {hate: off}\n")
    assert refused(path) == [
        f"{at(path, 'hate: off')}: input[builtin].categories.hate: action off is weaker than the locked block of "
        f"{at(model(tree), 'hate: 0.7')} {SUFFIX}"
    ]
    # off on a category the locked entry did not list allows it (builtin: no longer under harmful_request).
    path = app(tree, "input:\n  - filter: builtin\n    categories: {sexual_content: off}\n")
    assert refused(path) == [
        f"{at(path, 'sexual_content')}: input[builtin].categories.sexual_content: off allows a category that the "
        f"locked entry of {at(model(tree), 'filter: builtin')} does not allow {SUFFIX}"
    ]


def test_category_rule_removed_is_weaker(tree: Path) -> None:
    base = tree / "platform" / "guard.yaml"
    base.write_text("version: 1\nname: guard\ninput:\n  - filter: safety_model\n    endpoint: http://127.0.0.1:9\n"
                    "    locked: true\n    categories: {violent_crimes: 0.5, self_harm: 0.4}\n")
    path = app(tree, "input:\n  - filter: safety_model\n    categories: [violent_crimes]\n", extends="platform/guard.yaml")
    # The list form replaces the mapping: self_harm (S11) is gone, violent_crimes (S1) lost its threshold.
    assert refused(path) == [
        f"{at(path, 'categories:')}: input[safety_model].categories.S1: threshold (the filter's default) replaces the "
        f"locked 0.5 of {at(base, 'categories:')} {SUFFIX}",
        f"{at(path, 'categories:')}: input[safety_model].categories.S11: the rule of the locked entry of "
        f"{at(base, 'categories:')} is missing {SUFFIX}",
    ]


def test_builtin_categories_replacing_the_defaults_is_weaker(tree: Path) -> None:
    base = tree / "platform" / "b.yaml"
    base.write_text("version: 1\nname: b\ninput:\n  - filter: builtin\n    locked: true\n")
    path = app(tree, "input:\n  - filter: builtin\n    categories: {hate: 0.1}\n", extends="platform/b.yaml")
    assert refused(path) == [
        f"{at(path, 'categories:')}: input[builtin].categories: a categories mapping replaces the default categories "
        f"of the locked entry of {at(base, 'filter: builtin')} (only the categories listed would be enforced) {SUFFIX}"
    ]


@pytest.mark.parametrize("entry, key, new, old, needle", [
    ("  - filter: builtin\n    action: flag\n", "action", "flag", "block", "action: block"),
    ("  - filter: pii\n    action: mask\n", "action", "mask", "redact", "action: redact"),
    ("  - filter: pii\n    action: flag\n", "action", "flag", "redact", "action: redact"),
    ("  - id: words\n    action: redact\n", None, None, None, None),  # flag -> redact: stricter
])
def test_weaker_actions(tree: Path, entry: str, key: str | None, new: str, old: str, needle: str) -> None:
    path = app(tree, "input:\n" + entry)
    if key is None:
        assert load_policy(path).input[2].action == "redact"
        return
    fid = "builtin" if "builtin" in entry else "pii"
    problems = refused(path)
    assert len(problems) == 1
    assert problems[0].startswith(f"{at(path, 'action:')}: input[{fid}].action: action {new} is weaker than the locked "
                                  f"{old} of {at(model(tree), needle, after='filter: ' + fid)}")
    assert problems[0].endswith(SUFFIX)


def test_category_action_flag_instead_of_respond_is_weaker(tree: Path) -> None:
    path = app(tree, "input:\n  - filter: builtin\n    categories:\n      self_harm: {threshold: 0.8, action: flag}\n")
    assert refused(path) == [
        f"{at(path, 'self_harm')}: input[builtin].categories.self_harm: action flag is weaker than the locked respond "
        f"of {at(model(tree), 'self_harm: {')} {SUFFIX}"
    ]


def test_on_error_allow_is_weaker(tree: Path) -> None:
    path = app(tree, "input:\n  - filter: builtin\n    on_error: allow\n")
    assert refused(path) == [
        f"{at(path, 'on_error: allow')}: input[builtin].on_error: on_error allow is weaker than the locked block of "
        f"{at(model(tree), 'filter: builtin')} {SUFFIX}"
    ]


def test_policy_on_error_allow_is_refused_for_the_policy_and_the_locked_entries_that_inherit_it(tree: Path) -> None:
    path = app(tree, "on_error: allow\n")
    problems = refused(path)
    assert problems[0] == (f"{at(path, 'on_error')}: on_error: allow is weaker than the locked block of "
                           f"{at(model(tree), 'locked: [on_error')} (locked by {at(model(tree), 'locked: [on_error')}; "
                           f"locked policy keys can only get stricter)")
    inherit = problems[1]
    assert inherit.startswith(f"{at(path, 'on_error')}: on_error: allow is weaker than the locked block (the default) "
                              f"that the locked filters input[builtin], input[pii], input[words]")
    assert "input[secrets]" not in inherit  # it has its own on_error: allow
    assert inherit.endswith(f"output[leak] inherit; give them on_error: block {SUFFIX}")


def test_fewer_entities_patterns_words_kinds_and_a_longer_allow_list_are_weaker(tree: Path) -> None:
    path = app(tree, """input:
  - filter: pii
    entities: [EMAIL_ADDRESS]
    allow_list: [support@example.com, ceo@example.com]
  - id: words
    patterns: [alpha]
  - filter: deny_list
    words: [zap]
  - filter: secrets
    kinds: [aws_access_key_id]
""")
    m = model(tree)
    assert refused(path) == [
        f"{at(path, 'entities:')}: input[pii].entities: 2 of the locked entities of {at(m, 'entities:')} are missing: "
        f"'PHONE_NUMBER', 'CREDIT_CARD' {SUFFIX}",
        f"{at(path, 'allow_list:')}: input[pii].allow_list: 'ceo@example.com' added to the locked allow_list of "
        f"{at(m, 'allow_list:')} (more would pass) {SUFFIX}",
        f"{at(path, 'patterns:')}: input[words].patterns: 1 of the locked patterns of {at(m, 'patterns: [alpha')} is "
        f"missing: 'beta' {SUFFIX}",
        f"{at(path, 'words: [zap]')}: input[deny_list].words: 1 of the locked words of {at(m, 'words: [zap')} is "
        f"missing: 'zing' {SUFFIX}",
        f"{at(path, 'kinds:')}: input[secrets].kinds: 1 of the locked kinds of {at(m, 'kinds:')} is missing: "
        f"'github_token' {SUFFIX}",
    ]


def test_longer_or_removed_length_limits_are_weaker(tree: Path) -> None:
    path = app(tree, "input:\n  - filter: length\n    max_chars: 5000\n    max_tokens: null\n")
    m = model(tree)
    assert refused(path) == [
        f"{at(path, 'max_chars')}: input[length].max_chars: max_chars 5000 is weaker than the locked 1000 of "
        f"{at(m, 'max_chars')} {SUFFIX}",
        f"{at(path, 'max_tokens')}: input[length].max_tokens: no max_tokens is weaker than the locked 300 of "
        f"{at(m, 'max_tokens')} {SUFFIX}",
    ]


def test_timeout_is_weaker_only_where_a_failure_passes_the_text(tree: Path) -> None:
    # secrets has on_error: allow: a timeout added there lets text through unchecked.
    path = app(tree, "input:\n  - filter: secrets\n    timeout_ms: 50\n")
    assert refused(path) == [
        f"{at(path, 'timeout_ms')}: input[secrets].timeout_ms: timeout_ms 50 is weaker than the locked none of "
        f"{at(model(tree), 'filter: secrets')}: with on_error allow a check that fails passes the text (with on_error "
        f"block it may change) {SUFFIX}"
    ]
    # ... and with on_error block it fails closed: allowed, also together with switching to block.
    path = app(tree, "input:\n  - filter: secrets\n    timeout_ms: 50\n    on_error: block\n"
                     "  - filter: builtin\n    timeout_ms: 20\n")
    policy = load_policy(path)
    assert {c.id: c.timeout_ms for c in policy.input}["secrets"] == 50
    assert {c.id: c.timeout_ms for c in policy.input}["builtin"] == 20


def test_a_swapped_model_or_filter_cannot_be_ordered(tree: Path) -> None:
    import shutil

    from guardrails.detector import DEFAULT_DIR

    (tree / "my-detector").mkdir()
    for name in ("meta.json", "weights.npz"):  # a real detector folder: the builtin filter checks it
        shutil.copy(DEFAULT_DIR / name, tree / "my-detector" / name)
    path = app(tree, "input:\n  - filter: builtin\n    model: ./my-detector\n")
    assert refused(path) == [
        f"{at(path, 'model:')}: input[builtin].model: model {(tree / 'my-detector').resolve()} replaces the locked none of "
        f"{at(model(tree), 'filter: builtin')} (a change that cannot be ordered counts as weaker) {SUFFIX}"
    ]
    base = tree / "platform" / "m.yaml"
    base.write_text("version: 1\nname: m\ninput:\n  - filter: length\n    id: size\n    locked: true\n    max_chars: 10\n")
    path = app(tree, "input:\n  - id: size\n    filter: tests.helpers.fakes:KeywordFilter\n", extends="platform/m.yaml")
    with pytest.raises(PolicyError) as info:
        load_policy(path, trust_plugins=False)
    assert info.value.problems[0].startswith(f"{at(path, 'filter: tests')}: input[size].filter: filter "
                                             f"tests.helpers.fakes:KeywordFilter replaces the locked length of {at(base, 'filter: length')}")


def test_other_keys_and_switches(tree: Path) -> None:
    path = app(tree, "input:\n  - id: words\n    case_sensitive: true\n    normalize: false\n    category: other\n")
    base = tree / "platform" / "words.yaml"
    base.write_text("version: 1\nname: w\ninput:\n  - filter: regex\n    id: words\n    locked: true\n"
                    "    normalize: true\n    patterns: [alpha]\n")
    path = app(tree, "input:\n  - id: words\n    case_sensitive: true\n    normalize: false\n    category: other\n",
               extends="platform/words.yaml")
    assert refused(path) == [
        f"{at(path, 'case_sensitive')}: input[words].case_sensitive: case_sensitive true is weaker than the locked "
        f"false of {at(base, 'filter: regex')} {SUFFIX}",
        f"{at(path, 'category')}: input[words].category: category other replaces the locked regex of "
        f"{at(base, 'filter: regex')} (a change that cannot be ordered counts as weaker) {SUFFIX}",
        f"{at(path, 'normalize')}: input[words].normalize: normalize false is weaker than the locked true of "
        f"{at(base, 'normalize')} {SUFFIX}",
    ]


def test_a_default_threshold_the_filter_measures_cannot_be_replaced_but_a_class_default_can_be_lowered(tree: Path) -> None:
    base = tree / "platform" / "d.yaml"
    base.write_text("version: 1\nname: d\ninput:\n  - filter: builtin\n    locked: true\n    categories:\n"
                    "      self_harm: {action: respond}\n  - filter: pii\n    locked: true\nresponses: {self_harm: help}\n")
    path = app(tree, "input:\n  - filter: builtin\n    categories:\n      self_harm: {threshold: 0.3, action: respond}\n",
               extends="platform/d.yaml")
    (problem,) = refused(path)
    assert problem.startswith(f"{at(path, 'self_harm', after='categories')}: input[builtin].categories.self_harm: threshold 0.3 cannot be "
                              f"compared with the filter's default threshold that the locked entry of {at(base, 'self_harm')}")
    # pii's default is its class's default_threshold (0.4): lower passes, higher is weaker.
    assert load_policy(app(tree, "input:\n  - filter: pii\n    threshold: 0.3\n", extends="platform/d.yaml")).input[1].threshold == 0.3
    (problem,) = refused(app(tree, "input:\n  - filter: pii\n    threshold: 0.45\n", extends="platform/d.yaml"))
    assert "input[pii].threshold: threshold 0.45 is weaker than the locked 0.4 of" in problem


def test_a_plugin_filter_is_compared_without_importing_it(tree: Path) -> None:
    base = tree / "platform" / "p.yaml"
    base.write_text("version: 1\nname: p\ninput:\n  - filter: tests.helpers.fakes:KeywordFilter\n    id: kw\n"
                    "    locked: true\n    word: zap\n    threshold: 0.5\n")
    path = app(tree, "input:\n  - id: kw\n    word: zing\n    threshold: 0.6\n", extends="platform/p.yaml")
    with pytest.raises(PolicyError) as info:
        load_policy(path, trust_plugins=False)  # refused by the lock, before the untrusted module could matter
    assert info.value.problems == [
        f"{at(path, 'word:')}: input[kw].word: word zing replaces the locked zap of {at(base, 'word:')} "
        f"(a change that cannot be ordered counts as weaker) {SUFFIX}",
        f"{at(path, 'threshold: 0.6')}: input[kw].threshold: threshold 0.6 is weaker than the locked 0.5 of "
        f"{at(base, 'threshold: 0.5')} {SUFFIX}",
    ]


# -- policy keys locked with a top-level `locked:` -----------------------------------------------------


def test_locked_policy_keys(tree: Path) -> None:
    base = tree / "platform" / "keys.yaml"
    base.write_text("version: 1\nname: k\nlocked: [offline, refusal, responses]\noffline: true\nrefusal: No.\n"
                    "responses:\n  self_harm: {default: Call 112., de: Ruf 112 an.}\n  hate: Not here.\n")
    path = app(tree, "offline: false\nrefusal: Nope.\nresponses:\n  self_harm: {default: Call 911., fr: Appelle.}\n",
               extends="platform/keys.yaml")
    lock = at(base, "locked:")
    assert refused(path) == [
        f"{at(path, 'offline')}: offline: false is weaker than the locked true of {at(base, 'offline: true')} (locked by "
        f"{lock}; locked policy keys can only get stricter)",
        f"{at(path, 'refusal')}: refusal: changes the locked refusal of {at(base, 'refusal: No.')} (locked by {lock}; "
        f"locked policy keys can only get stricter)",
        f"{at(path, 'self_harm')}: responses.self_harm: changes the locked message of {at(base, 'self_harm')} (new "
        f"locales may be added) (locked by {lock}; locked policy keys can only get stricter)",
        f"{at(path, 'responses:')}: responses: hate: the locked message of {at(base, 'hate')} is missing (a `responses:` "
        f"mapping replaces the inherited one: repeat it) (locked by {lock}; locked policy keys can only get stricter)",
    ]
    # Adding a locale and a category, and keeping the rest, passes.
    path = app(tree, "responses:\n  self_harm: {default: Call 112., de: Ruf 112 an., fr: Appelle le 112.}\n"
                     "  hate: Not here.\n  violent_crimes: No.\n", extends="platform/keys.yaml")
    policy = load_policy(path)
    assert policy.response_for("self_harm", "fr") == "Appelle le 112." and policy.locked == ("offline", "refusal", "responses")


def test_unknown_policy_lock_is_a_located_error(tree: Path) -> None:
    path = tree / "p.yaml"
    path.write_text("version: 1\nname: p\nlocked: [input]\n")
    (problem,) = refused(path)
    assert problem.startswith("app/p.yaml:3: locked[0]: expected one of 'on_error', 'offline', 'refusal' or 'responses'") or \
        problem.startswith("app/p.yaml:3: locked[0]:"), problem


# -- stricter overrides pass and take effect ------------------------------------------------------------


def test_stricter_overrides_pass_and_take_effect(tree: Path) -> None:
    path = app(tree, """on_error: block
input:
  - filter: builtin
    categories:
      self_harm: {threshold: 0.5, action: block}
      hate: {threshold: 0.6, action: respond}
      violent_crimes: 0.4
      sex_crimes: 0.3
  - filter: pii
    action: block
    threshold: 0.35
    entities: [EMAIL_ADDRESS, PHONE_NUMBER, CREDIT_CARD, IP_ADDRESS]
    thresholds: {CREDIT_CARD: 0.2, PHONE_NUMBER: 0.3}
    allow_list: []
    mask_char: '#'
  - id: words
    action: block
    patterns: [alpha, beta, delta]
  - filter: deny_list
    words: [zap, zing, zonk]
  - filter: length
    max_chars: 500
    max_tokens: 100
  - filter: secrets
    on_error: block
    timeout_ms: 100
    kinds: [aws_access_key_id, github_token, private_key]
  - id: unlocked
    enabled: false
output:
  - id: leak
    patterns: [secret-plan, other-plan]
    locked: true
responses:
  self_harm: "Please reach out to a crisis line."
  hate: "Let's keep it respectful."
""")
    policy = load_policy(path)
    by_id = {c.id: c for c in policy.input}
    assert set(by_id) == {"builtin", "pii", "words", "deny_list", "length", "secrets"}
    rules = by_id["builtin"].categories  # type: ignore[attr-defined]
    assert rules["self_harm"].threshold == 0.5 and rules["self_harm"].action == "block"  # respond -> block: both block
    assert rules["hate"].action == "respond" and rules["violent_crimes"].threshold == 0.4 and "sex_crimes" in rules
    pii = by_id["pii"]
    assert pii.action == "block" and pii.threshold == 0.35 and "IP_ADDRESS" in pii.entities  # type: ignore[attr-defined]
    assert by_id["words"].action == "block" and by_id["length"].max_chars == 500  # type: ignore[attr-defined]
    assert by_id["secrets"].on_error == "block" and by_id["secrets"].timeout_ms == 100
    guard = Guard(policy)
    assert not guard.check_input("say zonk now").allowed  # a word added to the locked list
    assert not guard.check_input("the delta plan").allowed  # a pattern added, and flag -> block
    assert not guard.check_output("our other-plan is ready").allowed


def test_locks_only_apply_to_locked_entries(tree: Path) -> None:
    path = app(tree, "input:\n  - id: unlocked\n    action: flag\n    patterns: []\n")
    with pytest.raises(PolicyError) as info:
        load_policy(path)
    assert "locked" not in str(info.value)  # only validation's own complaint (patterns must not be empty)
    assert load_policy(app(tree, "input:\n  - id: unlocked\n    action: flag\n")).input[-1].action == "flag"


# -- locks survive levels of extends, sibling parents and every entry point ----------------------------------


def test_locks_survive_two_levels_of_extends(tree: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    base = tree / "platform" / "base.yaml"
    # The platform base tightens the model's locked entry (without repeating `locked`) and locks more.
    base.write_text("version: 1\nname: base\nextends: ../model/guardrails.yaml\nlocked: [refusal]\ninput:\n"
                    "  - filter: builtin\n    categories:\n      hate: 0.5\n  - id: unlocked\n    locked: true\n")
    monkeypatch.setenv(POLICY_PATH_ENV, str(tree))  # loaded on its own, the base reaches ../model through it
    assert load_policy(base).input[0].locked  # still locked
    monkeypatch.delenv(POLICY_PATH_ENV)
    m = model(tree)
    path = app(tree, "on_error: allow\nrefusal: Bye.\ninput:\n  - filter: builtin\n    categories:\n      hate: 0.6\n"
                     "      self_harm: {threshold: 0.85, action: respond}\n  - id: unlocked\n    enabled: false\n",
               extends="platform/base.yaml")
    problems = refused(path)
    # The floor is the base's tightened value (0.5), or the model's where the base did not change it.
    assert (f"{at(path, 'hate: 0.6')}: input[builtin].categories.hate: threshold 0.6 is weaker than the locked 0.5 "
            f"of {at(base, 'hate: 0.5')} {SUFFIX}") in problems
    assert (f"{at(path, 'self_harm')}: input[builtin].categories.self_harm: threshold 0.85 is weaker than the locked "
            f"0.8 of {at(m, 'self_harm: {')} {SUFFIX}") in problems
    assert (f"{at(path, 'enabled: false')}: input[unlocked].enabled: false removes the locked filter of "
            f"{at(base, 'locked: true')} {SUFFIX}") in problems
    # Policy locks add up: the base's `locked: [refusal]` keeps the model's on_error and responses locks.
    assert any(p.startswith(f"{at(path, 'on_error')}: on_error: allow is weaker") for p in problems)
    assert any(p.startswith(f"{at(path, 'refusal')}: refusal: changes the locked refusal") for p in problems)
    assert load_policy(app(tree, "input: []\n", extends="platform/base.yaml")).locked == ("on_error", "responses", "refusal")


def test_a_later_sibling_parent_cannot_weaken_an_earlier_ones_locks(tree: Path) -> None:
    weak = tree / "platform" / "weak.yaml"
    weak.write_text("version: 1\nname: weak\ninput:\n  - filter: builtin\n    enabled: false\n")
    path = app(tree, "input: []\n", extends="[model/guardrails.yaml, platform/weak.yaml]")
    assert refused(path) == [
        f"{at(weak, 'enabled: false')}: input[builtin].enabled: false removes the locked filter of "
        f"{at(model(tree), 'locked: true')} {SUFFIX}"
    ]


def test_policy_from_dict_checks_locks_too(tree: Path) -> None:
    with pytest.raises(PolicyError) as info:
        policy_from_dict({"name": "d", "extends": "model/guardrails.yaml",
                          "input": [{"filter": "length", "max_chars": 2000}]}, base_dir=tree)
    assert info.value.problems == [
        f"<dict>: input[length].max_chars: max_chars 2000 is weaker than the locked 1000 of "
        f"{at(model(tree), 'max_chars')} {SUFFIX}"
    ]
    with pytest.raises(PolicyError, match=r"input\[length\]\.max_chars"):
        Guard.from_policy({"name": "d", "extends": str(model(tree)), "input": [{"filter": "length", "max_chars": 2000}]})


def test_env_values_never_appear_in_lock_errors(tree: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GR_TEST_WORD", "hush-hush")
    base = tree / "platform" / "env.yaml"
    base.write_text("version: 1\nname: e\ninput:\n  - filter: deny_list\n    locked: true\n    words: ['${GR_TEST_WORD}', x]\n")
    (problem,) = refused(app(tree, "input:\n  - filter: deny_list\n    words: [x]\n", extends="platform/env.yaml"))
    assert "hush-hush" not in problem and "<value from the environment>" in problem


def test_locked_is_a_common_key_shown_only_when_true() -> None:
    plain = policy_from_dict({"name": "p", "input": [{"filter": "length", "max_chars": 5}]})
    assert "locked" not in plain.to_dict()["input"][0] and "locked" not in plain.to_dict()
    locked = policy_from_dict({"name": "p", "locked": ["on_error"], "input": [{"filter": "length", "max_chars": 5, "locked": True}]})
    assert locked.to_dict()["input"][0]["locked"] is True and locked.to_dict()["locked"] == ["on_error"]
    assert locked.hash != plain.hash
    schema = policy_schema()
    assert "locked" in schema["$defs"]["filter_regex"]["properties"] and "locked" in schema["properties"]


# -- guardrails policy show --provenance --------------------------------------------------------------------


PROVENANCE_APP = """input:
  - filter: builtin
    categories:
      self_harm: {threshold: 0.5, action: respond}
  - filter: regex
    id: mine
    patterns: [omega]
"""


def _three_levels(tree: Path) -> tuple[Path, Path, Path]:
    base = tree / "platform" / "base.yaml"
    base.write_text("version: 1\nname: base\nextends: ../model/guardrails.yaml\nrefusal: Not here.\ninput:\n"
                    "  - filter: length\n    max_chars: 800\n")
    return model(tree), base, app(tree, PROVENANCE_APP, extends="platform/base.yaml")


def test_policy_show_provenance_json(tree: Path, capsys: pytest.CaptureFixture[str]) -> None:
    m, base, path = _three_levels(tree)
    assert cli(["policy", "show", "--json", "--provenance", str(path.relative_to(Path.cwd()))]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["_sources"]["files"] == ["app/model/guardrails.yaml", "app/platform/base.yaml", "app/app.yaml"]
    assert data["_sources"]["keys"]["refusal"] == at(base, "refusal")
    assert data["_sources"]["keys"]["responses.self_harm"] == at(m, "self_harm:")
    entries = {e["id"]: e for e in data["input"]}
    builtin = entries["builtin"]["_source"]
    assert builtin["defined"] == at(m, "filter: builtin") and builtin["locked"] == at(m, "locked: true")
    assert builtin["files"] == ["app/model/guardrails.yaml", "app/app.yaml"]
    assert builtin["keys"]["categories.self_harm"] == at(path, "self_harm")
    assert builtin["keys"]["categories.hate"] == at(m, "hate: 0.7")
    length = entries["length"]["_source"]
    assert length["defined"] == at(m, "filter: length") and length["keys"]["max_chars"] == at(base, "max_chars")
    assert length["files"] == ["app/model/guardrails.yaml", "app/platform/base.yaml"]
    assert entries["mine"]["_source"]["defined"] == at(path, "filter: regex") and "locked" not in entries["mine"]["_source"]
    # The entries themselves are what `policy show --json` prints without the flag.
    assert cli(["policy", "show", "--json", str(path)]) == 0
    plain = json.loads(capsys.readouterr().out)
    assert [{k: v for k, v in e.items() if k != "_source"} for e in data["input"]] == plain["input"]
    assert "_sources" not in plain and all("_source" not in e for e in plain["input"])


def test_policy_show_provenance_yaml(tree: Path, capsys: pytest.CaptureFixture[str]) -> None:
    m, base, path = _three_levels(tree)
    assert cli(["policy", "show", "--provenance", str(path)]) == 0
    text = capsys.readouterr().out
    lines = text.splitlines()
    assert lines[0] == "# sources, parents first: app/model/guardrails.yaml, app/platform/base.yaml, app/app.yaml"
    assert f"refusal: Not here.  # {at(base, 'refusal')}" in lines
    assert "description: ''  # default" in lines
    assert (f"# input[builtin]: defined at {at(m, 'filter: builtin')}; changed in app/app.yaml; "
            f"locked at {at(m, 'locked: true')}") in lines
    assert f"    self_harm:  # {at(path, 'self_harm')}" in lines
    assert f"  locked: true  # {at(m, 'locked: true')}" in lines
    assert f"# input[length]: defined at {at(m, 'filter: length')}; changed in app/platform/base.yaml; " \
           f"locked at {at(m, 'locked: true', after='filter: length')}" in lines
    assert f"  max_chars: 800  # {at(base, 'max_chars')}" in lines
    assert f"# input[mine]: defined at {at(path, 'filter: regex')}" in lines
    # Comments aside, it is the same YAML as `policy show` prints.
    assert cli(["policy", "show", str(path)]) == 0
    assert yaml.safe_load(text) == yaml.safe_load(capsys.readouterr().out)


def test_provenance_of_a_single_file_and_of_a_dict(tree: Path) -> None:
    sources = provenance(load_policy(model(tree)))
    assert sources["files"] == ["app/model/guardrails.yaml"]
    assert sources["output"]["leak"]["defined"] == at(model(tree), "filter: regex", after="output:")
    from_dict = provenance(policy_from_dict({"name": "d", "input": [{"filter": "length", "max_chars": 3}]}))
    assert from_dict["input"]["length"]["defined"] == "<dict>" and from_dict["files"] == ["<dict>"]


def test_provenance_of_a_dict_that_extends_a_file(tree: Path) -> None:
    policy = policy_from_dict({"name": "d", "extends": "model/guardrails.yaml", "refusal": "No.",
                               "input": [{"filter": "length", "max_chars": 10}, {"filter": "regex", "id": "r", "patterns": ["x"]}]},
                              base_dir=tree)
    sources = provenance(policy)
    assert sources["keys"]["refusal"] == "<dict>" and sources["files"] == ["app/model/guardrails.yaml", "<dict>"]
    length = sources["input"]["length"]
    assert length["defined"] == at(model(tree), "filter: length") and length["keys"]["max_chars"] == "<dict>"
    assert length["keys"]["max_tokens"] == at(model(tree), "max_tokens")
    assert sources["input"]["r"]["defined"] == "<dict>"
    assert "responses.self_harm" in sources["keys"]
