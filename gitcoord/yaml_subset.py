"""Read (and write) the plain block-YAML that gitcoord's own writer emits, without PyYAML.

A cold read of 10,000 task files spends almost all its time in PyYAML's pure-Python constructor.
The files gitcoord writes (``store.dump_bytes``: block style, one scalar per line) use a small,
regular part of YAML, which this module reads ~10x faster. It is strict on purpose: it accepts a
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

``dump`` writes the same subset, byte for byte what PyYAML's dumper writes (``store.dump_bytes``'s
settings), or returns None for anything it is not sure of (then PyYAML writes it): a write of 50
task files need not import PyYAML either.
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
# ``#``, ``:``, backquote or backslash inside a word; single spaces between words. Brackets and
# braces inside a word are plain text in block context (``branch_template: feature/{feature}/...``,
# which PyYAML writes plain).
_WORD = r"[^\x00-\x20#:\\`\x7f-\x9f]"
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
    if not text.endswith("\n"):
        return NOT_SUBSET
    seen = _LINES.get  # (a line is read once, and refused there if it holds a character outside)
    lines = [seen(raw) or _read_line(raw) for raw in text[:-1].split("\n")]
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
    if not (raw.isascii() and raw.isprintable()) and _OUTSIDE.search(raw):  # printable ASCII: nothing outside
        _LINES[raw] = None
        return None
    dash = raw.startswith("- ")
    key, sep, token = (raw[2:] if dash else raw).partition(": ")
    if sep and token and key in _KEYS and token not in ("[]", "{}"):  # the usual unseen line: "[- ]key: value"
        try:
            line: _Line | None = (0, dash, key, _SCALAR, _scalar(token))
        except _Outside:
            line = None
        _LINES[raw] = line
        return line
    groups = _split_line(raw)
    line = None
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
            if follows == _SCALAR:  # the usual item: "- k: v" then "  k: v" lines, read right here
                item = {key: value}
                pos += 1
                inner = indent + 2
                while pos < end:
                    col, dash, key, follows, value = lines[pos]
                    if col != inner or dash or key is None or follows != _SCALAR:
                        break
                    item[key] = value
                    pos += 1
                if pos < end and lines[pos][0] == inner and not lines[pos][1]:
                    rest, pos = _mapping(lines, pos, inner, depth + 1, False)  # the item goes on: nested values
                    item.update(rest)  # (a repeated key keeps its first place and takes the last value)
            else:
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


# --------------------------------------------------------------------------- writing

MAX_LINE = 80  # PyYAML folds long strings at spaces past column 100; lines this short never fold


def dump(doc: Any) -> str | None:
    """``doc`` (a non-empty mapping) as PyYAML's block-style dumper writes it, or None when unsure."""
    if type(doc) is not dict or not doc:
        return None
    lines: list[str] = []
    try:
        _dump_mapping(doc, "", lines, 0, None)
    except _Outside:
        return None
    return "\n".join(lines) + "\n"


def _dump_mapping(doc: dict[str, Any], indent: str, lines: list[str], depth: int, first: str | None) -> None:
    """Keys at ``indent``; with ``first``, the first line starts with it (``- `` of a sequence item)."""
    if depth > MAX_DEPTH:
        raise _Outside
    for key, value in doc.items():
        if type(key) is not str or key not in _KEYS and not _dump_key_ok(key):
            raise _Outside
        head = f"{first}{key}:" if first is not None else f"{indent}{key}:"
        first = None
        _dump_value(value, head, indent, lines, depth, in_mapping=True)


def _dump_sequence(items: list[Any], indent: str, lines: list[str], depth: int) -> None:
    if depth > MAX_DEPTH:
        raise _Outside
    for item in items:
        if type(item) is dict and item:
            _dump_mapping(item, indent + "  ", lines, depth + 1, f"{indent}- ")
        elif type(item) is list and item:
            raise _Outside  # a sequence in a sequence ("- - x"): left to PyYAML
        else:
            _dump_value(item, f"{indent}-", indent, lines, depth, in_mapping=False)


def _dump_value(value: Any, head: str, indent: str, lines: list[str], depth: int, *, in_mapping: bool) -> None:
    kind = type(value)
    if kind is dict or kind is list:
        if not value:
            _line(lines, f"{head} {'{}' if kind is dict else '[]'}")
        elif kind is dict:
            _line(lines, head)
            _dump_mapping(value, indent + "  ", lines, depth + 1, None)
        else:
            _line(lines, head)
            _dump_sequence(value, indent if in_mapping else indent + "  ", lines, depth + 1)
        return
    _line(lines, f"{head} {_dump_scalar(value)}")


def _line(lines: list[str], text: str) -> None:
    if len(text) > MAX_LINE:
        raise _Outside
    lines.append(text)


def _dump_key_ok(key: str) -> bool:
    if not _LINE_KEY.fullmatch(key) or len(key) > 64:
        return False
    try:
        return _scalar(key) == key
    except _Outside:
        return False


_LINE_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")


def _dump_scalar(value: Any) -> str:
    kind = type(value)
    if value is None:
        return "null"
    if kind is bool:
        return "true" if value else "false"
    if kind is int:
        return str(value)
    if kind is float:
        if value != value or value in (float("inf"), float("-inf")):
            raise _Outside
        text = repr(value).lower()
        if "." not in text and "e" in text:
            text = text.replace("e", ".0e", 1)
        return text
    if kind is not str:
        raise _Outside
    if not value:
        return "''"
    if _OUTSIDE.search(value) or "\n" in value or (not value.isascii() and max(value) > "\uffff"):
        raise _Outside  # special to libyaml's emitter (beyond the BMP too): it writes those double-quoted
    try:
        read = _resolve(value)
    except _Outside:
        read = _MISS
    if type(read) is str and read == value:
        return value  # plain: PyYAML reads it back as itself and sees no indicator in it
    if read is not _MISS or value in _RESERVED or _TIMESTAMP.fullmatch(value) or _NOT_PLAIN.search(value):
        return "'" + value.replace("'", "''") + "'"  # surely not plain for PyYAML either
    raise _Outside  # PyYAML might write it plain ("1e5", ".x", "a  b"): let it


# Strings PyYAML never writes plain: an indicator first, a space first or last, ": " or " #" inside,
# a trailing ":", "- " / "? " first.
_NOT_PLAIN = re.compile(r"^[#,\[\]{}&*!|>'\"%@` ]|^[-?:](?: |$)| $|: | #|:$")
# Timestamps PyYAML's dumper quotes (a subset of what its resolver calls a timestamp).
_TIMESTAMP = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}"
                        r"(?:T[0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]+)?(?:Z|[-+][0-9]{2}:[0-9]{2})?)?")
