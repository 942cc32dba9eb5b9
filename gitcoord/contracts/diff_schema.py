"""Structural comparison of two schemas, direction-aware (mixed into the differ in diff.py).

A request ("input") schema may only get wider and a response schema only narrower; every
keyword below says which way it moved. Sub-schemas are compared under the same direction,
except ``not``, which flips it. OpenAPI 3.0 boolean ``exclusiveMinimum``/``exclusiveMaximum``
and 2020-12 numeric ones are read into one bound, so the two spellings compare.
"""

from __future__ import annotations

from typing import Any

from gitcoord.contracts.diff_rules import SCHEMA_PREFIXES
from gitcoord.contracts.sunset import retired

JSON_TYPES = ("null", "boolean", "object", "array", "number", "string", "integer")
_FLIP = {"request-parameter": "response-property", "request-property": "response-property",
         "schema": "response-property", "response-property": "request-property"}
# (keyword, lower?, request suffix when tightened, response suffix when loosened, request suffix when first set)
_BOUNDS = (
    ("maxLength", False, "max-length-decreased", "max-length-increased", "max-length-set"),
    ("minLength", True, "min-length-increased", "min-length-decreased", "min-length-set"),
    ("maxItems", False, "max-items-decreased", "max-items-increased", "max-items-set"),
    ("minItems", True, "min-items-increased", "min-items-decreased", "min-items-set"),
    ("maxProperties", False, "max-properties-decreased", "max-properties-increased", "max-properties-set"),
    ("minProperties", True, "min-properties-increased", "min-properties-decreased", "min-properties-set"),
    ("maxContains", False, "max-contains-decreased", "max-contains-increased", "max-contains-set"),
    ("minContains", True, "min-contains-increased", "min-contains-decreased", "min-contains-set"),
)
_FORMAT_GENERALISATIONS = {("int32", "int64"), ("int32", "bigint"), ("int64", "bigint"), ("float", "double"),
                           ("date", "date-time"), ("time", "date-time")}
_ANNOTATIONS = {"description", "title", "example", "examples", "deprecated", "readOnly", "writeOnly", "externalDocs", "xml",
                "default", "$comment", "$id", "$schema", "$anchor"}
_ANY_PATTERN = {"", ".*", "^.*$", "^.*", ".*$", "(.*)", "^(.*)$", ".+", "^.+$", "[\\s\\S]*", "^[\\s\\S]*$"}


def esc(key: Any) -> str:
    return str(key).replace("~", "~0").replace("/", "~1")


def _num(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _bound(schema: dict, lower: bool) -> tuple[float, bool] | None:
    """The effective (value, exclusive) lower or upper bound, from either spelling."""
    plain, excl = ("minimum", "exclusiveMinimum") if lower else ("maximum", "exclusiveMaximum")
    best: tuple[float, bool] | None = None
    if _num(schema.get(plain)):
        best = (schema[plain], schema.get(excl) is True)
    if _num(schema.get(excl)):
        cand = (schema[excl], True)
        if best is None or _tighter(cand, best, lower):
            best = cand
    return best


def _tighter(a: tuple[float, bool], b: tuple[float, bool], lower: bool) -> bool:
    """Whether bound ``a`` excludes something bound ``b`` allows."""
    if a[0] != b[0]:
        return a[0] > b[0] if lower else a[0] < b[0]
    return a[1] and not b[1]


def _show(bound: tuple[float, bool] | None, lower: bool) -> str:
    if bound is None:
        return "none"
    return f"{'>' if lower else '<'}{'' if bound[1] else '='} {bound[0]}"


def types_of(schema: dict) -> set[str]:
    raw = schema.get("type")
    types = {raw} if isinstance(raw, str) else {t for t in raw if isinstance(t, str)} if isinstance(raw, list) else set()
    if (schema.get("nullable") is True or schema.get("x-nullable") is True) and types:
        types.add("null")  # 3.0 nullable qualifies a type; alone it says nothing
    if isinstance(schema.get("enum"), list) and None in schema["enum"] and types:
        types.add("null")
    return types


def _fmt(types: set[str]) -> str:
    return "|".join(sorted(types))


def flatten(schema: dict, side: Any) -> dict:
    """Merge ``allOf`` members into one view (properties, required, type) for comparison."""
    if not isinstance(schema.get("allOf"), list):
        return schema
    merged: dict[str, Any] = {k: v for k, v in schema.items() if k != "allOf"}
    props: dict[str, Any] = dict(merged.get("properties") or {})
    required = list(merged.get("required") or [])
    stack = list(schema["allOf"])
    seen: set[int] = set()
    while stack:
        part = side.deref(stack.pop(0))
        if not isinstance(part, dict) or id(part) in seen:
            continue
        seen.add(id(part))
        stack.extend(part.get("allOf") or [])
        for name, prop in (part.get("properties") or {}).items():
            props.setdefault(name, prop)
        required.extend(r for r in part.get("required") or [] if r not in required)
        for key, value in part.items():
            if key not in ("properties", "required", "allOf"):
                merged.setdefault(key, value)
    if props:
        merged["properties"] = props
    if required:
        merged["required"] = required
    return merged


def variant_identity(schema: Any, side: Any) -> str:
    """How to recognise the same oneOf/anyOf alternative in both versions: its ref, else its shape."""
    if isinstance(schema, dict) and isinstance(schema.get("$ref"), str):
        return "ref:" + schema["$ref"].rsplit("/", 1)[-1]
    node = side.deref(schema)
    if isinstance(node, dict):
        if node.get("title"):
            return "title:" + str(node["title"])
        return "shape:" + fingerprint(node, side, 4)
    return "value:" + repr(node)


def fingerprint(schema: Any, side: Any, depth: int = 0) -> str:
    """A ref-independent, order-stable text of a schema (bounded depth, so cycles stop)."""
    schema = side.deref(schema)
    if depth > 6:
        return "…"
    if isinstance(schema, dict):
        if "propertyName" in schema and isinstance(schema.get("mapping"), dict):
            # a discriminator: its mapping names schemas, which may be renamed without change
            return "{discriminator:" + repr(schema["propertyName"]) + ":" + ",".join(sorted(map(str, schema["mapping"]))) + "}"
        return "{" + ",".join(f"{k}:{fingerprint(v, side, depth + 1)}" for k, v in sorted(schema.items(), key=lambda kv: str(kv[0])) if k not in ("description", "title", "example", "examples")) + "}"
    if isinstance(schema, list):
        return "[" + ",".join(fingerprint(v, side, depth + 1) for v in schema) + "]"
    return repr(schema)


def effective_types(schema: Any, side: Any, depth: int = 0) -> set[str]:
    """Types a schema admits, through oneOf/anyOf; empty means "any" (or unknown)."""
    schema = side.deref(schema)
    if not isinstance(schema, dict) or depth > 8:
        return set()
    schema = flatten(schema, side)
    own = types_of(schema)
    if own:
        return own
    for keyword in ("oneOf", "anyOf"):
        members = schema.get(keyword)
        if isinstance(members, list) and members:
            out: set[str] = set()
            for member in members:
                sub = effective_types(member, side, depth + 1)
                if not sub:
                    return set()
                out |= sub
            if schema.get("nullable") is True:
                out.add("null")
            return out
    if "const" in schema:
        return {_json_type(schema["const"])}
    return set()


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"


def _covered(lost: set[str], gained_into: set[str], parameter: bool) -> bool:
    """Whether the types ``lost`` are still accepted by ``gained_into`` (a generalisation)."""
    rest = set(lost)
    if "number" in gained_into:
        rest.discard("integer")
    if parameter and "string" in gained_into:
        return True  # on a text wire (parameters, XML, forms) any value reads as a string
    if parameter and "array" in gained_into:
        rest -= {"string", "number", "integer", "boolean"}  # ?q=a is a one-item form/exploded array
    return not rest


def _any_schema(schema: dict) -> bool:
    """An untyped schema that still fixes its values (const or enum): giving it the values' type adds nothing."""
    return "type" not in schema and ("const" in schema or isinstance(schema.get("enum"), list))


def _bare_type(schema: Any, side: Any) -> bool:
    """An alternative that is nothing but a type (``{type: integer}``): its values are the type's."""
    node = side.deref(schema)
    return isinstance(node, dict) and bool(types_of(node)) and set(node) <= {"type", "nullable", "description", "title", "format"}


def _generic_pattern(pattern: Any) -> bool:
    return not isinstance(pattern, str) or pattern.strip() in _ANY_PATTERN


def _already_holds(member: dict, old: dict, side: Any) -> bool:
    """Whether every constraint of an allOf ``member`` already held in ``old`` (a refactoring)."""
    member = flatten(member, side)
    for key, value in member.items():
        if key in _ANNOTATIONS or str(key).startswith("x-"):
            continue
        if key == "properties":
            if not set(value or {}) <= set(old.get("properties") or {}):
                return False
        elif key == "required":
            if not set(value or []) <= set(old.get("required") or []):
                return False
        elif key == "type":
            if types_of(member) - {"null"} != types_of(old) - {"null"}:
                return False
        elif old.get(key) != value:
            return False
    return True


class SchemaComparer:
    """The schema half of the differ; needs ``old``/``new`` sides, ``emit`` and ``_sub``."""

    old: Any
    new: Any
    _lenient_param: bool
    _text_wire = False  # schemas of a non-JSON media type: every value is text on the wire

    def _compare(self, old: dict, new: dict, path: str, prefix: str, label: str) -> None:
        direction = SCHEMA_PREFIXES[prefix]
        narrowing = direction in ("request", "input")
        if narrowing and isinstance(new.get("allOf"), list):
            self._all_of_added(old, new, path, prefix, label)
        old = flatten(old, self.old)
        new = flatten(new, self.new)
        self._type(old, new, path, prefix, label, narrowing)
        composed_old = any(isinstance(old.get(k), list) for k in ("oneOf", "anyOf"))
        composed_new = any(isinstance(new.get(k), list) for k in ("oneOf", "anyOf"))
        if composed_old != composed_new:
            # A schema wrapped into (or unwrapped from) oneOf/anyOf: the plain side is compared
            # with its matching alternative, not with the keyword-less wrapper.
            self._variants(old, new, path, prefix, label, narrowing)
            return
        self._format(old, new, path, prefix, label, narrowing)
        self._enum(old, new, path, prefix, label, narrowing)
        self._const(old, new, path, prefix, label, narrowing)
        self._constraints(old, new, path, prefix, label, narrowing)
        self._discriminator(old, new, path, prefix, label)
        self._variants(old, new, path, prefix, label, narrowing)
        self._properties(old, new, path, prefix, label, direction)
        self._applicators(old, new, path, prefix, label, narrowing)

    def _format(self, old: dict, new: dict, path: str, prefix: str, label: str, narrowing: bool) -> None:
        """Another format is another contract, except a generalisation on a request (int32 ->
        int64, float -> double, date -> date-time) or a specialisation on a response; dropping a
        format from a request, or adding one to a response, cannot hurt either."""
        old_fmt, new_fmt = old.get("format"), new.get("format")
        if old_fmt == new_fmt or not (types_of(old) == types_of(new) or not types_of(old)):
            return
        wider = (old_fmt, new_fmt) in _FORMAT_GENERALISATIONS if narrowing else (new_fmt, old_fmt) in _FORMAT_GENERALISATIONS
        if ((narrowing and new_fmt) or (not narrowing and old_fmt)) and not wider:
            what = f"format set to {new_fmt!r}" if old_fmt is None else f"format {old_fmt!r} removed" if new_fmt is None \
                else f"format changed from {old_fmt!r} to {new_fmt!r}"
            self.emit(f"{prefix}-format-changed", path + "/format", None, f"{label}: {what}")

    def _all_of_added(self, old: dict, new: dict, path: str, prefix: str, label: str) -> None:
        """A new allOf member on a request: one more set of constraints every request must meet."""
        old_members = old.get("allOf") if isinstance(old.get("allOf"), list) else []
        known = {variant_identity(m, self.old) for m in old_members}
        old_flat = flatten(old, self.old)
        for j, member in enumerate(new["allOf"]):
            node = self.new.deref(member)
            if not isinstance(node, dict) or variant_identity(member, self.new) in known:
                continue
            # Splitting a schema into allOf members is a refactoring when they restate what held;
            # a member added to an existing allOf list is a new conjunct unless it only annotates.
            if _already_holds(node, old_flat if not old_members else {}, self.new):
                continue
            name = member["$ref"] if isinstance(member, dict) and isinstance(member.get("$ref"), str) else f"#{j}"
            self.emit(f"{prefix}-all-of-added", f"{path}/allOf/{j}", None, f"{label}: allOf member {name} added")

    # -- type, enum, const --------------------------------------------------------------
    def _type(self, old: dict, new: dict, path: str, prefix: str, label: str, narrowing: bool) -> None:
        old_types, new_types = effective_types(old, self.old), effective_types(new, self.new)
        if old_types and new_types and (old_types - {"null"}) != (new_types - {"null"}):
            lost = (old_types - new_types) - {"null"}
            gained = (new_types - old_types) - {"null"}
            if narrowing:
                harmful = bool(lost) and not _covered(lost, new_types, self._text_wire or (prefix == "request-parameter" and self._lenient_param))
            else:
                harmful = bool(gained) and not _covered(gained, old_types, self._text_wire)
            if harmful:
                self.emit(f"{prefix}-type-changed", path + "/type", None, f"{label}: type changed from {_fmt(old_types)} to {_fmt(new_types)}")
        elif narrowing and not old_types and new_types and not _any_schema(old):
            # An untyped request schema took any value; a type now rejects the others.
            self.emit(f"{prefix}-type-changed", path + "/type", None, f"{label}: type set to {_fmt(new_types)} (any type was accepted)")
        elif not narrowing and old_types and not new_types and not _any_schema(new):
            self.emit(f"{prefix}-type-changed", path + "/type", None, f"{label}: type {_fmt(old_types)} removed (any type may be returned)")
        if narrowing and "null" in old_types and "null" not in new_types and new_types:
            self.emit(f"{prefix}-became-not-nullable", path, None, f"{label}: null is no longer accepted")
        if not narrowing and "null" in new_types and "null" not in old_types and old_types:
            self.emit(f"{prefix}-became-nullable", path, None, f"{label}: may now be null")

    def _enum(self, old: dict, new: dict, path: str, prefix: str, label: str, narrowing: bool) -> None:
        ext_old, ext_new = old.get("x-extensible-enum"), new.get("x-extensible-enum")
        if narrowing and isinstance(ext_old, list) and isinstance(ext_new, list) and "enum" not in old and "enum" not in new:
            # An extensible enum may grow (clients must cope), but a value clients send must stay.
            removed = [v for v in ext_old if v not in ext_new]
            if removed:
                self.emit(f"{prefix}-enum-narrowed", path + "/x-extensible-enum", None, f"{label}: extensible enum value(s) removed: {removed}")
        old_values = old.get("enum") if isinstance(old.get("enum"), list) else None
        new_values = new.get("enum") if isinstance(new.get("enum"), list) else None
        if old_values is None and new_values is None:
            return
        if old_values is None:
            if narrowing:
                self.emit(f"{prefix}-enum-narrowed", path + "/enum", None, f"{label}: now restricted to {new_values}")
            return
        if new_values is None:
            if not narrowing:
                self.emit(f"{prefix}-enum-widened", path + "/enum", None, f"{label}: no longer restricted to {old_values}")
            return
        removed = [v for v in old_values if v not in new_values]
        added = [v for v in new_values if v not in old_values]
        if removed:
            self.emit(f"{prefix}-enum-narrowed", path + "/enum", None, f"{label}: enum value(s) removed: {removed}")
        if added:
            self.emit(f"{prefix}-enum-widened", path + "/enum", None, f"{label}: enum value(s) added: {added}")

    def _const(self, old: dict, new: dict, path: str, prefix: str, label: str, narrowing: bool) -> None:
        if "const" not in old and "const" not in new:
            return
        where = path + "/const"
        if "const" in old and "const" in new:
            if old["const"] != new["const"]:
                self.emit(f"{prefix}-const-changed", where, None, f"{label}: const changed from {old['const']!r} to {new['const']!r}")
        elif "const" in new:
            self.emit(f"{prefix}-const-added", where, None, f"{label}: now always {new['const']!r}")
        else:
            self.emit(f"{prefix}-const-removed", where, None, f"{label}: no longer always {old['const']!r}")

    # -- value constraints --------------------------------------------------------------
    def _constraints(self, old: dict, new: dict, path: str, prefix: str, label: str, narrowing: bool) -> None:
        for lower in (False, True):
            ob, nb = _bound(old, lower), _bound(new, lower)
            key = "minimum" if lower else "maximum"
            if narrowing and nb is not None:
                if ob is None:
                    self.emit(f"{prefix}-{'min' if lower else 'max'}-set", f"{path}/{key}", None,
                              f"{label}: {key} set to {nb[0]}{' (exclusive)' if nb[1] else ''}")
                elif _tighter(nb, ob, lower):
                    self.emit(f"{prefix}-{'min-increased' if lower else 'max-decreased'}", f"{path}/{key}", None, f"{label}: {key} tightened from {_show(ob, lower)} to {_show(nb, lower)}")
            elif not narrowing and ob is not None and (nb is None or _tighter(ob, nb, lower)):
                what = "removed" if nb is None else f"loosened to {_show(nb, lower)}"
                self.emit(f"{prefix}-{'min-decreased' if lower else 'max-increased'}", f"{path}/{key}", None, f"{label}: {key} {what} (was {_show(ob, lower)})")
        for key, lower, tightened, loosened, first in _BOUNDS:
            o, n = old.get(key), new.get(key)
            o = o if _num(o) else None
            n = n if _num(n) else None
            if narrowing and n is not None:
                if o is None:
                    self.emit(f"{prefix}-{first}", f"{path}/{key}", None, f"{label}: {key} set to {n}")
                elif (n > o) if lower else (n < o):
                    self.emit(f"{prefix}-{tightened}", f"{path}/{key}", None, f"{label}: {key} tightened from {o} to {n}")
            elif not narrowing and o is not None and (n is None or ((n < o) if lower else (n > o))):
                what = "removed" if n is None else f"loosened to {n}"
                self.emit(f"{prefix}-{loosened}", f"{path}/{key}", None, f"{label}: {key} {what} (was {o})")
        om, nm = old.get("multipleOf"), new.get("multipleOf")
        if _num(nm) and not _num(om) and narrowing:
            self.emit(f"{prefix}-multiple-of-set", f"{path}/multipleOf", None, f"{label}: multipleOf set to {nm}")
        elif _num(om) and _num(nm) and om != nm and nm:
            # Every multiple of om is a multiple of nm iff om/nm is whole.
            ratio = om / nm if narrowing else nm / om
            if abs(ratio - round(ratio)) > 1e-9:
                self.emit(f"{prefix}-multiple-of-changed", f"{path}/multipleOf", None, f"{label}: multipleOf changed from {om} to {nm}")
        elif _num(om) and not _num(nm) and not narrowing:
            self.emit(f"{prefix}-multiple-of-changed", f"{path}/multipleOf", None, f"{label}: multipleOf {om} removed")
        if narrowing and new.get("uniqueItems") is True and old.get("uniqueItems") is not True:
            self.emit(f"{prefix}-unique-items-added", f"{path}/uniqueItems", None, f"{label}: items must now be unique")
        if not narrowing and old.get("uniqueItems") is True and new.get("uniqueItems") is not True:
            self.emit(f"{prefix}-unique-items-removed", f"{path}/uniqueItems", None, f"{label}: items need no longer be unique")
        self._pattern(old.get("pattern"), new.get("pattern"), path, prefix, label, narrowing)

    def _pattern(self, old: Any, new: Any, path: str, prefix: str, label: str, narrowing: bool) -> None:
        if old == new:
            return
        where = path + "/pattern"
        old_any, new_any = _generic_pattern(old), _generic_pattern(new)
        if old_any and new_any:
            return
        if new_any:
            self.emit(f"{prefix}-pattern-removed", where, None, f"{label}: pattern {old!r} removed" + ("" if new is None else f" (now {new!r})"))
        elif old_any:
            self.emit(f"{prefix}-pattern-added", where, None, f"{label}: pattern set to {new!r}")
        else:
            self.emit(f"{prefix}-pattern-changed", where, None, f"{label}: pattern changed from {old!r} to {new!r}")

    def _discriminator(self, old: dict, new: dict, path: str, prefix: str, label: str) -> None:
        od, nd = old.get("discriminator"), new.get("discriminator")
        if not isinstance(od, dict) and not isinstance(nd, dict):
            return
        where = path + "/discriminator"
        if not isinstance(od, dict) or not isinstance(nd, dict):
            self.emit(f"{prefix}-discriminator-changed", where, None, f"{label}: discriminator {'added' if isinstance(nd, dict) else 'removed'}")
            return
        if od.get("propertyName") != nd.get("propertyName"):
            self.emit(f"{prefix}-discriminator-property-changed", where + "/propertyName", None,
                      f"{label}: discriminator property changed from {od.get('propertyName')!r} to {nd.get('propertyName')!r}")
        om = od.get("mapping") if isinstance(od.get("mapping"), dict) else {}
        nm = nd.get("mapping") if isinstance(nd.get("mapping"), dict) else {}

        def same_target(before: Any, after: Any) -> bool:
            """The same schema: same name, or (renamed) the same content."""
            if str(before).rsplit("/", 1)[-1] == str(after).rsplit("/", 1)[-1]:
                return True
            if not (str(before).startswith("#") and str(after).startswith("#")):
                return False
            return fingerprint({"$ref": before}, self.old) == fingerprint({"$ref": after}, self.new)

        for key, target in om.items():
            if key not in nm or not same_target(target, nm[key]):
                self.emit(f"{prefix}-discriminator-mapping-changed", f"{where}/mapping/{esc(key)}", None,
                          f"{label}: discriminator value {key!r} " + ("removed" if key not in nm else f"now maps to {nm[key]!r}"))
        for key in nm:
            if key not in om:
                self.emit(f"{prefix}-discriminator-mapping-added", f"{where}/mapping/{esc(key)}", None, f"{label}: discriminator value {key!r} added")

    # -- composition --------------------------------------------------------------------
    def _variants(self, old: dict, new: dict, path: str, prefix: str, label: str, narrowing: bool) -> None:
        for keyword in ("oneOf", "anyOf"):
            old_list, new_list = old.get(keyword), new.get(keyword)
            if not isinstance(old_list, list) and not isinstance(new_list, list):
                continue
            other = "anyOf" if keyword == "oneOf" else "oneOf"
            if not isinstance(old_list, list):
                if isinstance(old.get(other), list):
                    continue  # oneOf <-> anyOf swap: compared under the other keyword
                old_list = [self._keep_alive(old)]
            if not isinstance(new_list, list):
                if isinstance(new.get(other), list):
                    new_list = new[other]  # oneOf -> anyOf (or back): the alternatives still count
                else:
                    new_list = [self._keep_alive(new)]
            old_prints = [variant_identity(v, self.old) for v in old_list]
            new_prints = [variant_identity(v, self.new) for v in new_list]
            matched_new: set[int] = set()
            unmatched_old: list[int] = []
            for i, p in enumerate(old_prints):
                j = next((j for j, q in enumerate(new_prints) if q == p and j not in matched_new), None)
                if j is None:
                    unmatched_old.append(i)
                    continue
                matched_new.add(j)
                self._sub(old_list[i], new_list[j], f"{path}/{keyword}/{j}", prefix, label)
            unmatched_new = [j for j in range(len(new_list)) if j not in matched_new]
            # Pair leftovers of the same type (or a lone leftover each side): the same alternative, edited.
            for i in list(unmatched_old):
                old_t = effective_types(old_list[i], self.old)
                same = [j for j in unmatched_new if effective_types(new_list[j], self.new) == old_t]
                if len(unmatched_old) == 1 and len(unmatched_new) == 1:
                    same = list(unmatched_new)
                if len(same) == 1:
                    j = same[0]
                    unmatched_old.remove(i)
                    unmatched_new.remove(j)
                    self._sub(old_list[i], new_list[j], f"{path}/{keyword}/{j}", prefix, label)
            if narrowing and unmatched_old:
                # A bare-type alternative whose values the new schema still takes (integer under
                # number; anything as a string on a text wire) was not really removed.
                lenient = self._text_wire or (prefix == "request-parameter" and self._lenient_param)
                accepts = effective_types(new, self.new)
                unmatched_old = [i for i in unmatched_old if not (_bare_type(old_list[i], self.old) and accepts
                                                                  and _covered(effective_types(old_list[i], self.old), accepts, lenient))]
            if narrowing and unmatched_old:
                self.emit(f"{prefix}-variant-removed", f"{path}/{keyword}", None, f"{label}: {len(unmatched_old)} {keyword} alternative(s) removed")
            if not narrowing and unmatched_new:
                kw = keyword if isinstance(new.get(keyword), list) else other
                rule = "any-of-variant-added" if kw == "anyOf" else "variant-added"
                self.emit(f"{prefix}-{rule}", f"{path}/{kw}", None, f"{label}: {len(unmatched_new)} {kw} alternative(s) added")

    # -- objects ------------------------------------------------------------------------
    def _properties(self, old: dict, new: dict, path: str, prefix: str, label: str, direction: str) -> None:
        old_props = old.get("properties") if isinstance(old.get("properties"), dict) else {}
        new_props = new.get("properties") if isinstance(new.get("properties"), dict) else {}
        old_req = {r for r in old.get("required") or [] if isinstance(r, str)}
        new_req = {r for r in new.get("required") or [] if isinstance(r, str)}
        doc_level = prefix == "schema"
        request = direction == "request"
        response = direction == "response"

        def flag(props: dict, side: Any, name: str, key: str) -> bool:
            node = side.deref(props.get(name))
            return isinstance(node, dict) and node.get(key) is True

        def hidden(name: str, props: dict, side: Any) -> bool:
            """A property the direction never carries: readOnly in requests, writeOnly in responses."""
            return (request and flag(props, side, name, "readOnly")) or (response and flag(props, side, name, "writeOnly"))

        for name in old_props:
            ppath = f"{path}/properties/{esc(name)}"
            if name not in new_props:
                if hidden(name, old_props, self.old):
                    continue
                if not doc_level and retired(self.old.deref(old_props[name])) == "retired":
                    self.emit(f"{direction}-deprecated-property-removed", ppath, None, f"{label}: deprecated property {name!r} was removed")
                    continue
                if response:
                    rule = "response-property-removed" if name in old_req else "response-optional-property-removed"
                    self.emit(rule, ppath, None, f"{label}: {'required' if name in old_req else 'optional'} property {name!r} was removed")
                elif doc_level:
                    extra = " and additional properties are not allowed" if new.get("additionalProperties") is False else ""
                    self.emit("schema-property-removed", ppath, None, f"property {name!r} was removed{extra}")
                else:
                    self.emit("request-property-removed", ppath, None, f"{label}: property {name!r} was removed")
                continue
            old_hidden, new_hidden = hidden(name, old_props, self.old), hidden(name, new_props, self.new)
            if request and not old_hidden and new_hidden:
                self.emit("request-property-became-read-only", ppath + "/readOnly", None, f"{label}: property {name!r} became read-only")
                continue
            if request and old_hidden and not new_hidden:
                if name in new_req:
                    self.emit("request-property-became-not-read-only", ppath + "/readOnly", None, f"{label}: required property {name!r} is no longer read-only")
                continue
            if response and not old_hidden and new_hidden:
                self.emit("response-property-became-write-only", ppath + "/writeOnly", None, f"{label}: property {name!r} became write-only")
                continue
            if response and old_hidden and not new_hidden:
                self.emit("response-property-became-not-write-only", ppath + "/writeOnly", None, f"{label}: property {name!r} is no longer write-only")
                continue
            if old_hidden and new_hidden:
                continue
            self._sub(old_props[name], new_props[name], ppath, prefix, f"{label}.{name}" if not doc_level else name)
        for name in new_props:
            if name in old_props:
                continue
            ppath = f"{path}/properties/{esc(name)}"
            if response:
                if not hidden(name, new_props, self.new):
                    self.emit("response-property-added", ppath, None, f"{label}: property {name!r} was added")
            elif doc_level:
                self.emit("schema-property-added", ppath, None, f"property {name!r} was added")
            elif name in new_req and not hidden(name, new_props, self.new):
                self.emit("request-property-added-required", ppath, None, f"{label}: required property {name!r} was added")
            else:
                self.emit("request-property-added-optional", ppath, None, f"{label}: optional property {name!r} was added")
        for name in sorted(new_req - old_req):
            if name not in new_props:
                continue  # names no defined property: nothing a client knew became required
            if name not in old_props:
                if doc_level:
                    self.emit("schema-required-added", f"{path}/required", None, f"property {name!r} became required")
                continue  # reported as an added property above
            if hidden(name, new_props, self.new) or hidden(name, old_props, self.old):
                continue
            if response:
                self.emit("response-property-became-required", f"{path}/required", None, f"{label}: property {name!r} is now always present")
            elif doc_level:
                self.emit("schema-required-added", f"{path}/required", None, f"property {name!r} became required")
            else:
                self.emit("request-property-became-required", f"{path}/required", None, f"{label}: property {name!r} became required")
        for name in sorted(old_req - new_req):
            if name not in old_props or hidden(name, old_props, self.old):
                continue
            if response:
                if name in new_props and not hidden(name, new_props, self.new):
                    self.emit("response-required-property-became-optional", f"{path}/required", None, f"{label}: property {name!r} may now be absent")
            elif doc_level:
                self.emit("schema-required-removed", f"{path}/required", None, f"property {name!r} is no longer required")
            elif name in new_props:
                self.emit("request-property-became-optional", f"{path}/required", None, f"{label}: property {name!r} became optional")
        if direction in ("request", "input") and new.get("additionalProperties") is False and old.get("additionalProperties") is not False:
            rule = "schema-additional-properties-became-false" if doc_level else "request-additional-properties-became-false"
            self.emit(rule, f"{path}/additionalProperties", None, f"{label}: additional properties are no longer allowed")

    # -- sub-schemas: items, 2020-12 applicators ------------------------------------------
    def _applicators(self, old: dict, new: dict, path: str, prefix: str, label: str, narrowing: bool) -> None:
        def both(key: str, sub_label: str) -> None:
            if isinstance(old.get(key), dict) and isinstance(new.get(key), dict):
                self._sub(old[key], new[key], f"{path}/{key}", prefix, sub_label)

        def added_removed(key: str, suffix_added: str, suffix_removed: str, what: str) -> bool:
            """Added on a request / removed on a response; True when both sides have it."""
            has_old, has_new = key in old and old[key] is not True, key in new and new[key] is not True
            if narrowing and has_new and not has_old:
                self.emit(f"{prefix}-{suffix_added}", f"{path}/{key}", None, f"{label}: {what} added")
            if not narrowing and has_old and not has_new:
                self.emit(f"{prefix}-{suffix_removed}", f"{path}/{key}", None, f"{label}: {what} removed")
            return has_old and has_new

        both("items", label + "[]")
        both("additionalProperties", label + "{}")
        if added_removed("contains", "contains-added", "contains-removed", "contains"):
            both("contains", label + " contains")
        if added_removed("propertyNames", "property-names-added", "property-names-removed", "propertyNames"):
            both("propertyNames", label + " names")
        both("contentSchema", label + " content")
        for key in ("contentMediaType", "contentEncoding"):
            if old.get(key) != new.get(key):
                self.emit(f"{prefix}-content-changed", f"{path}/{key}", None, f"{label}: {key} changed from {old.get(key)!r} to {new.get(key)!r}")
        self._keyed("dependentRequired", old, new, path, prefix, label, narrowing)
        self._keyed("dependentSchemas", old, new, path, prefix, label, narrowing)
        self._keyed("patternProperties", old, new, path, prefix, label, narrowing)
        old_prefix, new_prefix = old.get("prefixItems"), new.get("prefixItems")
        if isinstance(old_prefix, list) or isinstance(new_prefix, list):
            old_prefix = old_prefix if isinstance(old_prefix, list) else []
            new_prefix = new_prefix if isinstance(new_prefix, list) else []
            for i in range(min(len(old_prefix), len(new_prefix))):
                self._sub(old_prefix[i], new_prefix[i], f"{path}/prefixItems/{i}", prefix, f"{label}[{i}]")
            if narrowing and len(new_prefix) > len(old_prefix):
                self.emit(f"{prefix}-prefix-items-added", f"{path}/prefixItems", None, f"{label}: {len(new_prefix) - len(old_prefix)} prefixItems position(s) constrained")
            if not narrowing and len(old_prefix) > len(new_prefix):
                self.emit(f"{prefix}-prefix-items-removed", f"{path}/prefixItems", None, f"{label}: {len(old_prefix) - len(new_prefix)} prefixItems position(s) no longer constrained")
        for key in ("unevaluatedProperties", "unevaluatedItems"):
            o, n = old.get(key, True), new.get(key, True)
            if narrowing and o is True and n is not True and n != {}:
                self.emit(f"{prefix}-unevaluated-restricted", f"{path}/{key}", None, f"{label}: {key} now {'forbidden' if n is False else 'constrained'}")
            elif isinstance(o, dict) and isinstance(n, dict):
                both(key, label)
        self._conditional(old, new, path, prefix, label, narrowing)
        self._not(old, new, path, prefix, label, narrowing)

    def _keyed(self, key: str, old: dict, new: dict, path: str, prefix: str, label: str, narrowing: bool) -> None:
        om = old.get(key) if isinstance(old.get(key), dict) else {}
        nm = new.get(key) if isinstance(new.get(key), dict) else {}
        if not om and not nm:
            return
        suffix = {"dependentRequired": "dependent-required", "dependentSchemas": "dependent-schema", "patternProperties": "pattern-properties"}[key]
        for name in nm:
            where = f"{path}/{key}/{esc(name)}"
            if name not in om:
                if narrowing:
                    self.emit(f"{prefix}-{suffix}-added", where, None, f"{label}: {key} {name!r} added")
            elif key == "dependentRequired":
                extra = [r for r in nm[name] or [] if r not in (om[name] or [])]
                fewer = [r for r in om[name] or [] if r not in (nm[name] or [])]
                if narrowing and extra:
                    self.emit(f"{prefix}-{suffix}-added", where, None, f"{label}: {name!r} now also requires {extra}")
                if not narrowing and fewer:
                    self.emit(f"{prefix}-{suffix}-removed", where, None, f"{label}: {name!r} no longer requires {fewer}")
            else:
                self._sub(om[name], nm[name], where, prefix, f"{label} {key}[{name}]")
        if not narrowing:
            for name in om:
                if name not in nm:
                    self.emit(f"{prefix}-{suffix}-removed", f"{path}/{key}/{esc(name)}", None, f"{label}: {key} {name!r} removed")

    def _conditional(self, old: dict, new: dict, path: str, prefix: str, label: str, narrowing: bool) -> None:
        if "if" not in old and "if" not in new:
            return
        if "if" in old and "if" in new:
            if fingerprint(old["if"], self.old) != fingerprint(new["if"], self.new):
                self.emit(f"{prefix}-conditional-changed", f"{path}/if", None, f"{label}: the if condition changed")
                return
            for key in ("then", "else"):
                if key in old and key in new:
                    self._sub(old[key], new[key], f"{path}/{key}", prefix, f"{label} ({key})")
                elif key in new and narrowing:
                    self.emit(f"{prefix}-conditional-added", f"{path}/{key}", None, f"{label}: {key} branch added")
                elif key in old and not narrowing:
                    self.emit(f"{prefix}-conditional-removed", f"{path}/{key}", None, f"{label}: {key} branch removed")
            return
        if "if" in new and narrowing:
            self.emit(f"{prefix}-conditional-added", f"{path}/if", None, f"{label}: if/then/else added")
        if "if" in old and not narrowing:
            self.emit(f"{prefix}-conditional-removed", f"{path}/if", None, f"{label}: if/then/else removed")

    def _not(self, old: dict, new: dict, path: str, prefix: str, label: str, narrowing: bool) -> None:
        if "not" not in old and "not" not in new:
            return
        rule = f"{prefix}-not-narrowed" if narrowing else f"{prefix}-not-widened"
        if "not" in old and "not" in new:
            # Inside `not` the direction flips: a wider not-schema excludes more.
            errors = self._flipped_errors(old["not"], new["not"], f"{path}/not", _FLIP[prefix], label)
            if errors:
                self.emit(rule, f"{path}/not", None, f"{label}: the not-schema changed ({errors[0]})")
        elif "not" in new and narrowing:
            self.emit(rule, f"{path}/not", None, f"{label}: not-schema added")
        elif "not" in old and not narrowing:
            self.emit(rule, f"{path}/not", None, f"{label}: not-schema removed")

    def _flipped_errors(self, old: Any, new: Any, path: str, prefix: str, label: str) -> list[str]:
        raise NotImplementedError  # the differ provides it

    def _keep_alive(self, node: dict) -> dict:
        raise NotImplementedError  # the differ provides it

