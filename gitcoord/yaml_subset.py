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
_LINE = re.compile(r"( *)(- )?(?:([A-Za-z_][A-Za-z0-9_-]{0,127}):(?: (.+))?|(.+))")
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


# A line read: (indentation, after "- "?, key or None, what follows, value). What follows a key or
# a dash is a scalar (the value), an empty list or mapping, or (key only) a block on the next lines.
_SCALAR, _EMPTY_LIST, _EMPTY_MAP, _BLOCK = range(4)
_Line = tuple[int, bool, "str | None", int, Any]
_LINES: dict[str, _Line | None] = {}  # line text -> read line: most lines repeat across files


def parse(text: str) -> Any:
    """The document's value, or NOT_SUBSET when it is not in the subset this module reads."""
    if not text.endswith("\n") or _OUTSIDE.search(text):
        return NOT_SUBSET
    seen = _LINES
    lines = [seen[raw] if raw in seen else _read_line(raw) for raw in text[:-1].split("\n")]
    if None in lines:
        return NOT_SUBSET
    try:
        value, pos = _mapping(lines, 0, 0, 0, False)  # type: ignore[arg-type]
    except (_Outside, IndexError, RecursionError):
        return NOT_SUBSET
    return value if pos == len(lines) else NOT_SUBSET


_KEYS: set[str] = set()  # keys already seen to match _LINE's key and read as themselves


def _split_line(raw: str) -> tuple[str, str | None, str | None, str | None, str | None] | None:
    """``_LINE``'s groups for ``raw`` (None if it does not match); the usual shapes without the regex."""
    body = raw.lstrip(" ")
    indent = raw[:len(raw) - len(body)]
    dash = None
    if body.startswith("- "):
        dash, body = "- ", body[2:]
    key, sep, rest = body.partition(": ")
    if sep and rest and key in _KEYS:
        return indent, dash, key, rest, None
    if body.endswith(":") and body[:-1] in _KEYS:
        return indent, dash, body[:-1], None, None
    m = _LINE.fullmatch(raw)
    return m.groups() if m is not None else None


def _read_line(raw: str) -> _Line | None:
    groups = _split_line(raw)
    line: _Line | None = None
    if groups is not None:
        indent, dash, key, value, item = groups
        try:
            if key is not None and key not in _KEYS:
                if _scalar(key) != key:
                    raise _Outside  # a key PyYAML would read as a bool or null
                if len(_KEYS) < 10_000:
                    _KEYS.add(key)
            token = value if key is not None else item
            if token is None:
                line = (len(indent), bool(dash), key, _BLOCK, None)
            elif token == "[]":
                line = (len(indent), bool(dash), key, _EMPTY_LIST, None)
            elif token == "{}":
                line = (len(indent), bool(dash), key, _EMPTY_MAP, None)
            else:
                line = (len(indent), bool(dash), key, _SCALAR, _scalar(token))
        except _Outside:
            line = None
    if len(_LINES) > 100_000:
        _LINES.clear()
    _LINES[raw] = line
    return line


def _mapping(lines: list[_Line], pos: int, indent: int, depth: int, first_in_item: bool) -> tuple[dict[str, Any], int]:
    """Keys at ``indent`` from ``pos``; with ``first_in_item`` the first sits after a ``- `` at indent-2."""
    if depth > MAX_DEPTH:
        raise _Outside
    out: dict[str, Any] = {}
    end = len(lines)
    while pos < end:
        col, dash, key, follows, value = lines[pos]
        if first_in_item:
            first_in_item = False  # checked by the sequence: "- key..." at indent-2
        elif col != indent or dash:
            break
        if key is None:
            raise _Outside
        pos += 1
        if follows == _SCALAR:
            out[key] = value
        elif follows == _EMPTY_LIST:
            out[key] = []
        elif follows == _EMPTY_MAP:
            out[key] = {}
        else:  # the block below: a sequence at the key's indentation or a mapping at +2
            col, dash = lines[pos][:2]
            if dash and col == indent:
                out[key], pos = _sequence(lines, pos, indent, depth + 1)
            elif not dash and col == indent + 2:
                out[key], pos = _mapping(lines, pos, col, depth + 1, False)
            else:
                raise _Outside
    if not out:
        raise _Outside
    return out, pos


def _sequence(lines: list[_Line], pos: int, indent: int, depth: int) -> tuple[list[Any], int]:
    if depth > MAX_DEPTH:
        raise _Outside
    out: list[Any] = []
    end = len(lines)
    while pos < end:
        col, dash, key, follows, value = lines[pos]
        if col != indent or not dash:
            break
        if key is not None:
            item, pos = _mapping(lines, pos, indent + 2, depth + 1, True)
            out.append(item)
            continue
        pos += 1
        if follows == _SCALAR:
            out.append(value)
        elif follows == _EMPTY_LIST:
            out.append([])
        elif follows == _EMPTY_MAP:
            out.append({})
        else:
            raise _Outside
    return out, pos


_SEEN: dict[str, Any] = {}  # token -> its (immutable) value
_MISS = object()


def _scalar(token: str) -> Any:
    value = _SEEN.get(token, _MISS)
    if value is not _MISS:
        return value
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
