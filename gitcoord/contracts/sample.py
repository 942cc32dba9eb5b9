"""Deterministic example values for OpenAPI / JSON Schema schemas.

The mock answers with these when a contract has no example, so a consumer can build
against a provider that does not exist yet. Values are deterministic (same schema, same
value) so tests and snapshots stay stable, and generation stops at a fixed depth so
recursive schemas (a category tree, a linked list) terminate.
"""

from __future__ import annotations

import re
from typing import Any

from gitcoord.errors import UsageError

DEFAULT_MAX_DEPTH = 6

_FORMAT_SAMPLES: dict[str, str] = {
    "date-time": "2024-01-01T00:00:00Z",
    "date": "2024-01-01",
    "time": "00:00:00Z",
    "duration": "P1D",
    "uuid": "3fa85f64-5717-4562-b3fc-2c963f66afa6",
    "email": "user@example.com",
    "idn-email": "user@example.com",
    "uri": "https://example.com/",
    "url": "https://example.com/",
    "iri": "https://example.com/",
    "uri-reference": "/example",
    "iri-reference": "/example",
    "uri-template": "https://example.com/{id}",
    "hostname": "example.com",
    "idn-hostname": "example.com",
    "ipv4": "192.0.2.1",
    "ipv6": "2001:db8::1",
    "byte": "c3RyaW5n",
    "binary": "string",
    "password": "secret",
    "json-pointer": "/example",
    "relative-json-pointer": "0",
    "regex": "^.*$",
}


# --------------------------------------------------------------------------- refs


def escape_pointer_token(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")


def resolve_ref(ref: str, spec: dict) -> Any:
    """The node an in-document ``$ref`` (``#/components/...``) points at."""
    if not isinstance(ref, str) or not ref.startswith("#"):
        raise UsageError(
            f"$ref {ref!r}: only in-document references (#/...) are supported here; "
            "bundle the spec into one file first"
        )
    from urllib.parse import unquote

    node: Any = spec
    pointer = unquote(ref[1:])
    if pointer in ("", "/"):
        return spec
    for raw in pointer.lstrip("/").split("/"):
        token = raw.replace("~1", "/").replace("~0", "~")
        if isinstance(node, dict) and token in node:
            node = node[token]
        elif isinstance(node, dict) and token.isdigit() and int(token) in node:  # YAML `200:` keys
            node = node[int(token)]
        elif isinstance(node, list) and token.isdigit() and int(token) < len(node):
            node = node[int(token)]
        else:
            raise UsageError(f"$ref {ref!r}: nothing at that location in the spec")
    return node


def deref(node: Any, spec: dict, pointer: str = "") -> tuple[Any, str]:
    """Follow a chain of ``$ref`` to the real node; returns it and its JSON pointer.

    A chain that comes back to itself is refused instead of looping.
    """
    seen: set[str] = set()
    while isinstance(node, dict) and isinstance(node.get("$ref"), str):
        ref = node["$ref"]
        if ref in seen:
            raise UsageError(f"$ref {ref!r}: reference cycle with no schema in between")
        seen.add(ref)
        pointer = ref[1:] if ref.startswith("#") else pointer
        node = resolve_ref(ref, spec)
    return node, pointer


# --------------------------------------------------------------------------- examples


def example_for(schema: dict, spec: dict, *, max_depth: int = DEFAULT_MAX_DEPTH) -> Any:
    """A deterministic value valid against ``schema`` (refs resolved in ``spec``)."""
    return _Generator(spec, max_depth).value(schema, 0, ())


class _Generator:
    def __init__(self, spec: dict, max_depth: int):
        self.spec = spec
        self.max_depth = max_depth

    def value(self, schema: Any, depth: int, refs: tuple[str, ...]) -> Any:
        if schema is True or schema is None:
            return "string"
        if schema is False or not isinstance(schema, dict):
            return None
        if "$ref" in schema:
            ref = schema["$ref"]
            if ref in refs and depth > self.max_depth:
                return self.minimal(resolve_ref(ref, self.spec))
            target, _ = deref(schema, self.spec)
            return self.value(target, depth, refs + (ref,))
        if depth > self.max_depth * 2:  # hard stop for pathological required-only recursion
            return self.minimal(schema)
        if "const" in schema:
            return schema["const"]
        if isinstance(schema.get("enum"), list) and schema["enum"]:
            non_null = [v for v in schema["enum"] if v is not None]
            return non_null[0] if non_null else None
        # A schema's own example or default wins, unless it plainly has the wrong type
        # (real specs carry e.g. `type: integer` with `example: "1739811096"`).
        candidates = [schema["example"]] if "example" in schema else []
        if isinstance(schema.get("examples"), list):
            candidates += schema["examples"][:1]
        if "default" in schema:
            candidates.append(schema["default"])
        for candidate in candidates:
            if _fits_type(candidate, schema):
                return candidate
        if "allOf" in schema:
            return self.value(self.merge_all_of(schema, refs), depth, refs)
        for key in ("oneOf", "anyOf"):
            options = schema.get(key)
            if isinstance(options, list) and options:
                return self.one_of(schema, options, depth, refs)
        kind = self.type_of(schema)
        if kind == "object":
            return self.object(schema, depth, refs)
        if kind == "array":
            return self.array(schema, depth, refs)
        if kind == "string":
            return self.string(schema)
        if kind == "integer":
            return self.number(schema, integer=True)
        if kind == "number":
            return self.number(schema, integer=False)
        if kind == "boolean":
            return True
        if kind == "null":
            return None
        return "string"

    # ----------------------------------------------------------------- helpers

    @staticmethod
    def type_of(schema: dict) -> str | None:
        kind = schema.get("type")
        if isinstance(kind, list):
            non_null = [k for k in kind if k != "null"]
            return non_null[0] if non_null else "null"
        if isinstance(kind, str):
            return kind
        if "properties" in schema or "additionalProperties" in schema or "required" in schema:
            return "object"
        if "items" in schema or "prefixItems" in schema:
            return "array"
        if any(k in schema for k in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf")):
            return "number"
        if any(k in schema for k in ("minLength", "maxLength", "pattern", "format")):
            return "string"
        return None

    def minimal(self, schema: Any) -> Any:
        """The smallest value of the schema's type, for when recursion must stop."""
        if isinstance(schema, dict) and "$ref" in schema:
            try:
                schema, _ = deref(schema, self.spec)
            except UsageError:
                return None
        if not isinstance(schema, dict):
            return None
        if schema.get("nullable") or schema.get("x-nullable"):
            return None
        kind = schema.get("type")
        if isinstance(kind, list) and "null" in kind:
            return None
        kind = self.type_of(schema)
        return {"object": {}, "array": [], "string": "", "integer": 0, "number": 0, "boolean": False}.get(
            kind or "", None
        )

    def merge_all_of(self, schema: dict, refs: tuple[str, ...]) -> dict:
        """Fold ``allOf`` members into one schema (properties and required united)."""
        merged: dict[str, Any] = {k: v for k, v in schema.items() if k != "allOf"}
        properties: dict[str, Any] = dict(merged.get("properties") or {})
        required: list[str] = list(merged.get("required") or [])
        pending = list(schema["allOf"])
        seen: set[str] = set(refs)
        while pending:
            part = pending.pop(0)
            if isinstance(part, dict) and "$ref" in part:
                if part["$ref"] in seen:
                    continue
                seen.add(part["$ref"])
                part, _ = deref(part, self.spec)
            if not isinstance(part, dict):
                continue
            pending.extend(part.get("allOf") or [])
            properties.update(part.get("properties") or {})
            for name in part.get("required") or []:
                if name not in required:
                    required.append(name)
            for key, value in part.items():
                if key not in ("allOf", "properties", "required") and key not in merged:
                    merged[key] = value
        if properties:
            merged["properties"] = properties
        if required:
            merged["required"] = required
        return merged

    def one_of(self, schema: dict, options: list, depth: int, refs: tuple[str, ...]) -> Any:
        choice = options[0]
        # Prefer an option that does not lead straight back into a schema we are inside.
        for option in options:
            if not (isinstance(option, dict) and option.get("$ref") in refs):
                choice = option
                break
        base = {k: v for k, v in schema.items() if k not in ("oneOf", "anyOf", "discriminator")}
        value = self.value(choice, depth, refs)
        if base.get("properties") and isinstance(value, dict):
            extra = self.object(base, depth, refs)
            value = {**extra, **value}
        discriminator = schema.get("discriminator")
        if isinstance(discriminator, dict) and isinstance(value, dict):
            prop = discriminator.get("propertyName")
            ref = choice.get("$ref") if isinstance(choice, dict) else None
            if prop and ref:
                mapping = discriminator.get("mapping") or {}
                label = next((k for k, v in mapping.items() if v == ref), ref.rsplit("/", 1)[-1])
                value[prop] = label
        return value

    def object(self, schema: dict, depth: int, refs: tuple[str, ...]) -> dict:
        properties = schema.get("properties") or {}
        required = [r for r in (schema.get("required") or []) if isinstance(r, str)]
        result: dict[str, Any] = {}
        for name, prop in properties.items():
            if isinstance(prop, dict) and (prop.get("readOnly") and prop.get("writeOnly")):
                continue
            is_required = name in required
            recursive = isinstance(prop, dict) and self.leads_back(prop, refs)
            if not is_required and (recursive or depth >= self.max_depth):
                continue
            result[name] = self.value(prop, depth + 1, refs)
        for name in required:
            if name not in result:
                extra = schema.get("additionalProperties")
                result[name] = self.value(extra if isinstance(extra, dict) else {}, depth + 1, refs)
        minimum = schema.get("minProperties") or 0
        extra_schema = schema.get("additionalProperties", True)
        index = 1
        while len(result) < minimum and extra_schema is not False:
            result[f"property{index}"] = self.value(extra_schema if isinstance(extra_schema, dict) else {}, depth + 1, refs)
            index += 1
        return result

    def leads_back(self, prop: dict, refs: tuple[str, ...]) -> bool:
        """Whether a property (directly or as array items) refers to a schema we are inside."""
        if prop.get("$ref") in refs:
            return True
        items = prop.get("items")
        return isinstance(items, dict) and items.get("$ref") in refs

    def array(self, schema: dict, depth: int, refs: tuple[str, ...]) -> list:
        minimum = int(schema.get("minItems") or 0)
        maximum = schema.get("maxItems")
        items = schema.get("items", {})
        prefix = schema.get("prefixItems") if isinstance(schema.get("prefixItems"), list) else []
        if isinstance(items, list):  # draft 4 tuple form
            prefix, items = items, schema.get("additionalItems", {})
        count = max(minimum, len(prefix), 1)
        if maximum is not None:
            count = min(count, int(maximum))
        if depth >= self.max_depth or (isinstance(items, dict) and self.leads_back({"items": items}, refs)):
            count = max(minimum, len(prefix))
        result: list[Any] = []
        for index in range(count):
            item_schema = prefix[index] if index < len(prefix) else items
            value = self.value(item_schema, depth + 1, refs)
            if schema.get("uniqueItems") and index > 0:
                value = _variant(value, index)
            result.append(value)
        return result

    @staticmethod
    def string(schema: dict) -> str:
        text: str | None = None
        if isinstance(schema.get("pattern"), str):
            text = _from_pattern(schema["pattern"])
        if text is None and isinstance(schema.get("format"), str):
            text = _FORMAT_SAMPLES.get(schema["format"])
        fixed = text is not None
        if text is None:
            text = "string"
        minimum = int(schema.get("minLength") or 0)
        maximum = schema.get("maxLength")
        if len(text) < minimum and not fixed:
            text = text + "x" * (minimum - len(text))
        if maximum is not None and len(text) > int(maximum) and not fixed:
            text = text[: int(maximum)]
        return text

    @staticmethod
    def number(schema: dict, *, integer: bool) -> int | float:
        step = schema.get("multipleOf")
        low, high = schema.get("minimum"), schema.get("maximum")
        low_exclusive = high_exclusive = False
        # OpenAPI 3.0 / draft 4: boolean flags; 3.1 / draft 6+: numeric bounds.
        if schema.get("exclusiveMinimum") is True:
            low_exclusive = True
        elif isinstance(schema.get("exclusiveMinimum"), (int, float)) and not isinstance(schema.get("exclusiveMinimum"), bool):
            low, low_exclusive = schema["exclusiveMinimum"], True
        if schema.get("exclusiveMaximum") is True:
            high_exclusive = True
        elif isinstance(schema.get("exclusiveMaximum"), (int, float)) and not isinstance(schema.get("exclusiveMaximum"), bool):
            high, high_exclusive = schema["exclusiveMaximum"], True

        def ok(v: float) -> bool:
            if low is not None and (v < low or (low_exclusive and v == low)):
                return False
            if high is not None and (v > high or (high_exclusive and v == high)):
                return False
            return True

        unit = step if isinstance(step, (int, float)) and step > 0 else 1
        if low is not None:
            value = low
        elif high is not None and high < 1:
            value = high
        else:
            value = 1 if not isinstance(step, (int, float)) else unit
        if isinstance(step, (int, float)) and step > 0:
            import math

            value = math.ceil(value / step) * step
            if not ok(value):
                value = value + step if low is not None else value - step
        else:
            if not ok(value):
                delta = 1 if integer else (
                    ((high - low) / 2) if (low is not None and high is not None) else 1
                )
                value = value + delta if low is not None else value - delta
        if integer:
            return int(value)
        return value


_TYPE_CHECKS: dict[str, Any] = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
}


def _fits_type(value: Any, schema: dict) -> bool:
    """Whether ``value`` has (one of) the schema's declared JSON types; no type → yes."""
    kind = schema.get("type")
    kinds = kind if isinstance(kind, list) else [kind] if isinstance(kind, str) else []
    if value is None and (schema.get("nullable") or schema.get("x-nullable")):
        return True
    if not kinds:
        return True
    return any(_TYPE_CHECKS.get(k, lambda v: True)(value) for k in kinds)


def _variant(value: Any, index: int) -> Any:
    """A distinct sibling of ``value`` for arrays with uniqueItems."""
    if isinstance(value, bool):
        return not value if index == 1 else value
    if isinstance(value, int):
        return value + index
    if isinstance(value, float):
        return value + index
    if isinstance(value, str):
        # Bump the last digit (else letter) so formatted strings (uuid, date) stay valid.
        for kind in (str.isdigit, str.isalpha):
            positions = [i for i, ch in enumerate(value) if kind(ch)]
            if positions and index < 10:
                at = positions[-1]
                ch = value[at]
                if ch.isdigit():
                    bumped = str((int(ch) + index) % 10)
                else:
                    base = "a" if ch.islower() else "A"
                    bumped = chr(ord(base) + (ord(ch) - ord(base) + index) % 26)
                return value[:at] + bumped + value[at + 1 :]
        return f"{value}{index}"
    if isinstance(value, dict):
        return {**value, "_index": index}
    return value


def _from_pattern(pattern: str) -> str | None:
    """A string matching a regular expression, built from its parse tree (None if unsure)."""
    try:
        import re._parser as parser  # type: ignore[import-not-found]
        import re._constants as const  # type: ignore[import-not-found]
    except ImportError:  # pragma: no cover - Python < 3.11
        import sre_constants as const  # type: ignore[no-redef]
        import sre_parse as parser  # type: ignore[no-redef]
    try:
        tree = parser.parse(pattern)
        text = _emit(tree, const)
    except Exception:
        return None
    try:
        return text if re.search(pattern, text) else None
    except re.error:
        return None


def _emit(items: Any, const: Any) -> str:
    out: list[str] = []
    for op, arg in items:
        if op is const.LITERAL:
            out.append(chr(arg))
        elif op is const.NOT_LITERAL:
            out.append("a" if arg != ord("a") else "b")
        elif op is const.ANY:
            out.append("a")
        elif op is const.IN:
            out.append(_emit_set(arg, const))
        elif op is const.BRANCH:
            out.append(_emit(arg[1][0], const))
        elif op is const.SUBPATTERN:
            out.append(_emit(arg[-1], const))
        elif op in (const.MAX_REPEAT, const.MIN_REPEAT) or op is getattr(const, "POSSESSIVE_REPEAT", None):
            low, _high, inner = arg
            out.append(_emit(inner, const) * low)
        elif op is getattr(const, "ATOMIC_GROUP", None):
            out.append(_emit(arg, const))
        # AT (anchors), ASSERT, ASSERT_NOT, GROUPREF: contribute nothing
    return "".join(out)


def _emit_set(members: list, const: Any) -> str:
    negate = any(op is const.NEGATE for op, _ in members)
    if negate:
        banned = _emit_set([m for m in members if m[0] is not const.NEGATE], const)
        for candidate in "a0_-Z ":
            if candidate not in banned:
                return candidate
        return "~"
    for op, arg in members:
        if op is const.LITERAL:
            return chr(arg)
        if op is const.RANGE:
            return chr(arg[0])
        if op is const.CATEGORY:
            name = str(arg)
            if "DIGIT" in name and "NOT" not in name:
                return "0"
            if "SPACE" in name and "NOT" not in name:
                return " "
            return "a"
    return "a"
