"""The fast reader of gitcoord's own YAML (gitcoord/yaml_subset.py) against PyYAML itself.

Soundness: whatever the fast reader accepts, PyYAML (with the store's loader) reads to the very
same value — for files our writer produced and for hand-written or garbled ones alike. Use: it
does accept what gitcoord writes, so cold reads really skip PyYAML.
"""

from __future__ import annotations

import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gitcoord import yaml_subset
from gitcoord.store import _yaml, dump_bytes, parse_bytes

NOT_SUBSET = yaml_subset.NOT_SUBSET


def pyyaml(text: str):
    yaml, loader, _ = _yaml()
    return yaml.load(text, Loader=loader)


def same(a, b) -> bool:
    """Equal values of equal types all the way down (1 == 1.0 == True is not enough)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return list(a) == list(b) and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, float) and math.isnan(a):
        return math.isnan(b)
    return a == b


def assert_sound(text: str) -> object:
    """The fast reader either declines or agrees with PyYAML; returns its answer."""
    fast = yaml_subset.parse(text)
    if fast is not NOT_SUBSET:
        try:
            slow = pyyaml(text)
        except Exception as exc:  # noqa: BLE001 — any PyYAML error means we must have declined
            raise AssertionError(f"fast reader accepted what PyYAML refuses ({exc}):\n{text}") from None
        assert same(fast, slow), f"fast {fast!r} != PyYAML {slow!r} for:\n{text}"
    return fast


TASK = {"id": "API-1", "title": "Build the orders API, v2 (with auth)", "feature": "shop", "role": "backend",
        "agent": None, "estimate": 2.5, "priority": -1, "status": "in_progress", "branch": "feature/shop/api-1",
        "depends_on": [{"task": "DB-1", "kind": "hard"}, {"task": "UI_2", "kind": "info"}],
        "owns": ["/api/orders/", "src/**/*.py", "!src/generated/"], "provides": [], "consumes": [],
        "created_at": "2026-01-01T00:00:00Z", "notes": {"a": {"b": ["x", {"c": True, "d": False}]}, "e": {}},
        "description": "it's the 'main' one; 100% done? no & more | <html> ~ $x @y"}


def test_what_gitcoord_writes_is_read_without_pyyaml_to_the_same_value():
    text = dump_bytes("tasks/API-1.yaml", TASK).decode()
    fast = assert_sound(text)
    assert fast is not NOT_SUBSET, text
    assert same(fast, TASK)
    assert same(parse_bytes("tasks/API-1.yaml", text.encode()), TASK)


def test_reading_and_writing_gitcoords_yaml_never_imports_pyyaml():
    import subprocess
    import sys

    code = ("import sys; from gitcoord.store import dump_bytes, parse_bytes; "
            f"doc = {TASK!r}; text = dump_bytes('tasks/A.yaml', doc); assert parse_bytes('tasks/A.yaml', text) == doc; "
            "assert 'yaml' not in sys.modules, 'PyYAML was imported'")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


TRICKY_SCALARS = [
    "yes", "No", "ON", "off", "y", "n", "Y", "true", "True", "TRUE", "false", "null", "Null", "NULL", "~", "",
    "0", "-0", "+1", "007", "0o17", "0x1f", "0b101", "1_000", "1:30", "190:20:30", "1e5", "1e+5", "1.0e+5",
    "1.", ".5", "-.5", "1.5", "-1.5", "1.5e-07", ".inf", "-.inf", ".nan", "NaN", "inf", "2h", "12abc", "3d6",
    "2026-01-01", "2026-01-01T00:00:00Z", "1.2.3", "<<", "=", "-", "--", "- x", "-x", "?", "? x", "!x", "!!str x",
    "&a x", "*a", "%x", "@x", "`x", "|", ">", "'q'", "'q''s'", "'a: b'", "'# c'", "'unterminated", '"dq"',
    "a b", "a  b", "a #b", "a# b", "a: b", "a:b", "http://x.y/z", "[a]", "{a: 1}", "[]", "{}", "a, b", "a,b",
    "a[0]", "a{b}", "feature/{feature}/agent/{role}/{task}", "x]", "x}", "a {b}", "a [b]", "a{", "a, {b}",
    "ünïcödé", "é x", "\u00a0x", "x\u00a0", "日本語", "emoji 🎉", "tab\tx", "back\\slash", "_x", "/x/", "x y z",
]


@pytest.mark.parametrize("token", TRICKY_SCALARS)
def test_tricky_scalars_are_read_as_pyyaml_reads_them(token):
    for text in (f"key: {token}\n", f"key:\n- {token}\n", f"{token}: 1\n", f"a:\n  b: {token}\n  c: 1\n"):
        assert_sound(text)


def test_ambiguous_words_are_left_to_pyyaml():
    for token in ("yes", "on", "~", "0x1f", "1_000", "1e5", "007", ".inf", "1:30"):
        assert yaml_subset.parse(f"key: {token}\n") is NOT_SUBSET


HAND_EDITED = [
    "id: A\ntitle: x # a comment\n",
    "id: A\ntitle: first\n  continued\n",
    "id: A\nowns:\n- /a/\n  /b/\n",
    "id: A\nowns:\n  - /a/\n  - /b/\n",
    "id: A\ndepends_on:\n- task: B\n  kind: hard\n    extra: 1\n",
    "id: A\n\ntitle: x\n",
    "---\nid: A\n",
    "id: A\n...\n",
    "id: &x A\ntitle: *x\n",
    "id: A\r\ntitle: x\r\n",
    "id: A\ntitle: x",
    "\ufeffid: A\n",
    "id: A\n title: x\n",
    "id: A\ntitle:\n",
    "id: A\nid: B\n",
    "id: A\nlist:\n- - x\n",
    "id: A\nlist:\n-\n  a: 1\n",
    "id: A\nmap:\n    a: 1\n",
    "id: A\ntitle: 'multi\n  line'\n",
    "- a\n- b\n",
    "plain scalar\n",
    "id: [a, b]\n",
    "? complex\n: value\n",
]


@pytest.mark.parametrize("text", HAND_EDITED)
def test_hand_edited_shapes_are_read_as_pyyaml_reads_them(text):
    assert_sound(text)


# Documents made of random lines: indentation, dashes, keys and tricky scalars in every mix.
_line = st.tuples(
    st.sampled_from(["", " ", "  ", "   ", "    ", "      "]),
    st.sampled_from(["", "- ", "-", "- - "]),
    st.one_of(st.none(), st.sampled_from(["id", "a", "b", "yes", "null", "k-1", "_x", "1", "a b", "'q'"])),
    st.one_of(st.none(), st.sampled_from(TRICKY_SCALARS)),
)


def _render(line) -> str:
    indent, dash, key, value = line
    if key is None:
        return f"{indent}{dash}{value or ''}"
    return f"{indent}{dash}{key}:" + (f" {value}" if value is not None else "")


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_line, min_size=1, max_size=8))
def test_random_documents_are_never_read_differently(lines):
    assert_sound("\n".join(_render(line) for line in lines) + "\n")


# Random values written by gitcoord's writer: read back identically, by the fast reader when it can.
_text = st.one_of(st.sampled_from(TRICKY_SCALARS), st.text(max_size=12),
                  st.text(alphabet="ab -_/.:#'\"", max_size=8))
_leaf = st.one_of(st.none(), st.booleans(), st.integers(), _text,
                  st.floats(allow_nan=False, allow_infinity=False))
_value = st.recursive(_leaf, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.sampled_from(["id", "a", "kind", "x_y", "k-1", "on"]), inner,
                                                 max_size=4)), max_leaves=12)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(st.sampled_from(["id", "title", "owns", "depends_on", "n", "yes", "b"]), _value, min_size=1))
def test_written_values_read_back_the_same(doc):
    text = dump_bytes("tasks/T.yaml", doc).decode()
    fast = assert_sound(text)
    if fast is not NOT_SUBSET:
        assert same(fast, doc)


def pyyaml_dump(doc) -> str:
    yaml, _, dumper = _yaml()
    return yaml.dump(doc, Dumper=dumper, sort_keys=False, allow_unicode=True, width=100)


def test_the_writer_writes_what_pyyaml_writes_for_a_task():
    text = yaml_subset.dump(TASK)
    assert text is not None and text == pyyaml_dump(TASK)


@pytest.mark.parametrize("token", TRICKY_SCALARS + ["a" * 90, "x " * 45, "~", ".hidden", "a  b", "2h", "-1", "1.5",
                                                    "2026-01-01", "2026-12-01T21:22:18.123Z", "it's", "a:", "- x"])
def test_the_writer_writes_tricky_strings_as_pyyaml_or_not_at_all(token):
    for doc in ({"key": token}, {"key": [token, {"k": token}]}, {"a": {"b": token}}):
        text = yaml_subset.dump(doc)
        assert text is None or text == pyyaml_dump(doc), (doc, text)


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(st.sampled_from(["id", "title", "owns", "depends_on", "n", "yes", "b", "k" * 70]), _value,
                       min_size=1))
def test_the_writer_writes_what_pyyaml_writes_or_nothing(doc):
    text = yaml_subset.dump(doc)
    if text is not None:
        assert text == pyyaml_dump(doc)
        assert same(yaml_subset.parse(text), doc)  # and reads it back without PyYAML
