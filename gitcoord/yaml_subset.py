"""Read the plain block-YAML that gitcoord's own writer emits, without PyYAML.

A cold read of 10,000 task files spends almost all its time in PyYAML's pure-Python constructor.
The files gitcoord writes (``store.dump_bytes``: block style, one scalar per line) use a small,
regular part of YAML, which this module reads ~20x faster. It is strict on purpose: it accepts a
document only when every line has one of the shapes below and every scalar has exactly one
meaning under PyYAML's YAML 1.1 rules; anything else (comments, multi-line or double-quoted
strings, flow collections, anchors, tabs, odd indentation, words like ``yes``/``on``, numbers
written as ``0x1f`` or ``1_000``...) makes ``parse`` return ``NOT_SUBSET`` and the caller reads
the file with PyYAML as before, so hand-edited files keep their meaning and their error messages.

Accepted lines (``I`` = the enclosing indentation; sequences under a key are written at the key's
own indentation, as PyYAML's dumper does):
    I key: scalar | [] | {}       I key:   (then a mapping at I+2 or a sequence at I)
    I - scalar | [] | {}          I - key: ...   (a mapping whose keys continue at I+2)
Scalars: ``null``, ``true``, ``false``, integers ``-?(0|[1-9][0-9]*)``, decimals ``-?D.D`` with an
optional ``e±D`` exponent, single-quoted strings on one line, and plain strings that start with a
letter (or ``_``/``/``) and hold no character YAML treats specially.
"""

from __future__ import annotations

import re
from typing import Any

NOT_SUBSET: Any = object()
"""``parse``'s answer for a document outside the subset: read it with PyYAML instead."""

MAX_DEPTH = 64

# Characters outside printable text, and YAML line breaks other than \n (\x85, \u2028, \u2029):
# a file holding any is PyYAML's. (Classes are written as small ranges: a class spanning all of
# Unicode takes ~20 ms to compile, on every start.)
_OUTSIDE = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff\ufeff\ufffe\uffff]")
_LINE = re.compile(r"^( *)(- |)(?:([A-Za-z_][A-Za-z0-9_-]{0,127}):(?: (.+)|)|(.+))$", re.M)
# Plain strings: a letter, ``_`` or ``/`` first (no indicator, digit or sign), then no space,
# ``#``, ``:``, brackets, braces, backquote or backslash inside a word; single spaces between words.
_WORD = r"[^\x00-\x20#:\[\\\]`{}\x7f-\x9f]"
_PLAIN = re.compile(rf"[^\x00-\x2e0-9:-@\[-\^`{{-\xbf]{_WORD}*(?: {_WORD}+)*")
# A plain word starting with a digit is a string in YAML 1.1 only if it holds a letter that no
# number form (0x.., 0b.., 1e5, 1_000, 1:30, .inf) uses; anything else is left to PyYAML.
_DIGIT_WORD = re.compile(rf"[0-9]{_WORD}*[g-wyzG-WYZ]{_WORD}*(?: {_WORD}+)*")
_INT = re.compile(r"-?(?:0|[1-9][0-9]*)")
_FLOAT = re.compile(r"-?[0-9]+\.[0-9]+(?:e[-+][0-9]+)?")
_QUOTED = re.compile(r"'((?:[^']|'')*)'")
_CONSTANTS = {"null": None, "true": True, "false": False}
# Words PyYAML 1.1 reads as booleans or null: never plain strings here.
_RESERVED = frozenset("yes Yes YES no No NO True TRUE False FALSE on On ON off Off OFF Null NULL".split())


class _Outside(Exception):
    pass


def parse(text: str) -> Any:
    """The document's value, or NOT_SUBSET when it is not in the subset this module reads."""
    if not text.endswith("\n") or _OUTSIDE.search(text):
        return NOT_SUBSET
    lines = _LINE.findall(text)
    if len(lines) != text.count("\n"):
        return NOT_SUBSET  # a line of no accepted shape (findall skipped it)
    try:
        reader = _Reader(lines)
        value = reader.mapping("", 0)
        if reader.pos != len(lines):
            return NOT_SUBSET
        return value
    except (_Outside, IndexError, RecursionError):
        return NOT_SUBSET


class _Reader:
    """Lines are ``(indentation, "- " or "", key, value, item)`` as ``_LINE`` finds them."""

    def __init__(self, lines: list[tuple[str, str, str, str, str]]):
        self.lines = lines
        self.pos = 0

    def mapping(self, indent: str, depth: int, first_in_item: bool = False) -> dict[str, Any]:
        """Keys at ``indent``; with ``first_in_item`` the first key sits after a ``- `` at indent-2."""
        if depth > MAX_DEPTH:
            raise _Outside
        out: dict[str, Any] = {}
        lines = self.lines
        end = len(lines)
        pos = self.pos
        seen = _SEEN
        while pos < end:
            col, dash, key, value, item = lines[pos]
            if first_in_item:
                first_in_item = False  # checked by the sequence: "- key..." at indent-2
            elif col != indent or dash:
                break
            if key not in _KEYS and not _is_key(key):
                raise _Outside
            pos += 1
            if value:
                v = seen.get(value, _MISS)
                out[key] = _scalar(value) if v is _MISS else v
            else:
                self.pos = pos
                out[key] = self.nested(indent, depth + 1)
                pos = self.pos
        self.pos = pos
        if not out:
            raise _Outside
        return out

    def sequence(self, indent: str, depth: int) -> list[Any]:
        if depth > MAX_DEPTH:
            raise _Outside
        out: list[Any] = []
        lines = self.lines
        end = len(lines)
        while self.pos < end:
            col, dash, key, value, item = lines[self.pos]
            if col != indent or not dash:
                break
            if key:
                out.append(self.mapping(indent + "  ", depth + 1, first_in_item=True))
            else:
                self.pos += 1
                out.append(_scalar(item))
        return out

    def nested(self, indent: str, depth: int) -> Any:
        """The block value of ``key:`` at ``indent``: a sequence at the same indentation or a mapping at +2."""
        col, dash, _, _, _ = self.lines[self.pos]
        if dash and col == indent:
            return self.sequence(indent, depth)
        if not dash and col == indent + "  ":
            return self.mapping(col, depth)
        raise _Outside


_SEEN: dict[str, Any] = {}  # token -> its (immutable) value: statuses, ids and kinds repeat across files
_MISS = object()


_KEYS: set[str] = set()  # tokens known to be read as themselves: plain-string keys


def _is_key(token: str) -> bool:
    """Whether PyYAML reads the key ``token`` as that string (not a bool or null)."""
    if not token:
        return False
    value = _scalar(token)
    if value == token and type(value) is str:
        if len(_KEYS) < 10_000:
            _KEYS.add(token)
        return True
    return False


def _scalar(token: str) -> Any:
    value = _SEEN.get(token, _MISS)
    if value is not _MISS:
        return value
    if token in ("[]", "{}"):
        return [] if token == "[]" else {}
    value = _resolve(token)
    if len(_SEEN) > 50_000:
        _SEEN.clear()
    _SEEN[token] = value
    return value


def _resolve(token: str) -> Any:
    if token in _CONSTANTS:
        return _CONSTANTS[token]
    first = token[0]
    if first == "'":
        m = _QUOTED.fullmatch(token)
        if m is None:
            raise _Outside
        return m.group(1).replace("''", "'")
    if first.isdigit() or first == "-":
        if _INT.fullmatch(token):
            return int(token)
        if _FLOAT.fullmatch(token):
            return float(token)
        if first != "-" and _DIGIT_WORD.fullmatch(token):
            return token
        raise _Outside
    if _PLAIN.fullmatch(token) and token not in _RESERVED:
        return token
    raise _Outside
