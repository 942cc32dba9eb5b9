"""JSON Schemas of gitcoord's own files (the top-level ``contracts/`` folder).

The schemas ship inside the wheel as ``gitcoord/_schemas``; in a source checkout they are
read from ``contracts/`` beside the package. ``jsonschema`` is imported only when a file
actually has to be validated (the entity cache in ``store`` skips known-good blobs), which
keeps the hook path lean.
"""

from __future__ import annotations

import functools
import json
import re
from pathlib import Path
from typing import Any

from gitcoord.errors import InvalidFile

_PKG = Path(__file__).resolve().parent

# Which schema governs which path on the coordination branch.
_KIND_BY_PATH = [
    (re.compile(r"^gitcoord\.yaml$"), "config"),
    (re.compile(r"^tasks/[^/]+\.yaml$"), "task"),
    (re.compile(r"^contracts/[^/]+\.yaml$"), "contract"),
    (re.compile(r"^locks/[^/]+\.json$"), "lock"),
    (re.compile(r"^events/.+\.json$"), "event"),
    (re.compile(r"^merges/[^/]+\.json$"), "merge"),
    (re.compile(r"^inbox/[^/]+\.json$"), "inbox"),
]


def schema_dir() -> Path:
    for candidate in (_PKG / "_schemas", _PKG.parent / "contracts"):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError("gitcoord's schema folder is missing from the installation")


def kind_for_path(path: str) -> str | None:
    for pattern, kind in _KIND_BY_PATH:
        if pattern.match(path):
            return kind
    return None


@functools.cache
def load_schema(kind: str) -> dict[str, Any]:
    return json.loads((schema_dir() / f"{kind}.schema.json").read_text())


@functools.cache
def _validator(kind: str):
    import jsonschema  # lazy: heavy import, only when something must be validated

    schema = load_schema(kind)
    cls = jsonschema.validators.validator_for(schema)
    return cls(schema, format_checker=None)


def json_pointer(parts) -> str:
    return "/" + "/".join(str(p).replace("~", "~0").replace("/", "~1") for p in parts) if parts else "/"


@functools.cache
def _fast_validator(kind: str):
    """jsonschema-rs (optional ``fast`` extra) answers valid/invalid ~10x faster; None without it."""
    try:
        import jsonschema_rs
    except ImportError:
        return None
    try:
        return jsonschema_rs.validator_for(load_schema(kind))
    except Exception:  # noqa: BLE001 — any incompatibility: use the reference implementation
        return None


def validate(kind: str, obj: Any, *, path: str) -> None:
    """Raise InvalidFile naming ``path`` and the JSON pointer of the first fault (deepest first)."""
    fast = _fast_validator(kind)
    if fast is not None and fast.is_valid(obj):
        return
    validator = _validator(kind)
    errors = list(validator.iter_errors(obj))
    if not errors:
        return
    import jsonschema

    best = jsonschema.exceptions.best_match(errors)
    pointer = json_pointer(best.absolute_path)
    message = best.message
    if len(message) > 200:
        message = message[:197] + "..."
    raise InvalidFile(path, message, pointer=pointer)
