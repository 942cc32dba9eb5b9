"""Classify the changes between two versions of a contract: breaking (error), risky (warning), info.

Both sides are read through their ``$ref``s, so moving a schema into or out of ``components``
with the same content is no change. Schemas are compared structurally, once per pair of
(old node, new node) and direction, which makes recursive schemas terminate. The direction
matters: a request schema may only get *wider* (clients keep sending what they sent), a
response schema may only get *narrower* (clients keep understanding what they receive).

Swagger 2.0 and OpenAPI 3.x are normalised into one model (operations, parameters, body,
responses, security, servers) before comparison. ``kind='jsonschema'`` diffs two JSON Schema
documents as "input" schemas: anything that can reject a previously valid instance is breaking.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Mapping

from gitcoord.contracts.diff_rules import LEVELS, REASONS, REQUEST_SUFFIXES, RESPONSE_SUFFIXES, RULES, SCHEMA_PREFIXES
from gitcoord.contracts.diff_schema import SchemaComparer, esc, fingerprint
from gitcoord.contracts.diff_security import compare_requirements, compare_schemes
from gitcoord.contracts.sunset import STABILITY, UNSTABLE, retired, stability, sunset, sunset_moved

__all__ = ["Change", "DiffResult", "LEVELS", "REASONS", "RULES", "diff_specs", "operation_key"]

HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")

# Kept for callers that read the tables by their old names (suffix -> level).
_SCHEMA_PREFIXES = SCHEMA_PREFIXES
_REQUEST_SUFFIXES = {suffix: level for suffix, (level, _) in REQUEST_SUFFIXES.items()}
_RESPONSE_SUFFIXES = {suffix: level for suffix, (level, _) in RESPONSE_SUFFIXES.items()}


@dataclass
class Change:
    id: str
    level: str
    path: str
    operation: str | None
    message: str
    consumers: list[str] = field(default_factory=list)
    operations: list[str] = field(default_factory=list)
    """Every operation affected (a change in a shared schema reaches all operations using it)."""

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "level": self.level, "path": self.path, "operation": self.operation, "message": self.message}


@dataclass
class DiffResult:
    changes: list[Change] = field(default_factory=list)

    @property
    def breaking(self) -> bool:
        return any(c.level == "error" for c in self.changes)

    def counts(self) -> dict[str, int]:
        out = {level: 0 for level in LEVELS}
        for change in self.changes:
            out[change.level] += 1
        return out

    def to_dict(self) -> dict[str, Any]:
        return {"breaking": self.breaking, "changes": [c.to_dict() for c in self.changes]}


# ----------------------------------------------------------------------------- normalised model


def _path_key(path: str) -> str:
    """``/pets/{petId}`` and ``/pets/{id}`` are the same endpoint."""
    return re.sub(r"\{[^}]*\}", "{}", path)


def operation_key(operation: str) -> str:
    """Normalised ``"GET /pets/{}"`` for ``"get /pets/{id}"`` (what consumer lists are matched on)."""
    method, _, path = operation.strip().partition(" ")
    return f"{method.upper()} {_path_key(path.strip())}"


def _media_base(mime: str) -> str:
    return str(mime).split(";", 1)[0].strip().lower()


def _media_related(a: str, b: str) -> bool:
    """Same media type up to parameters, a structured-suffix specialisation, or a wildcard."""
    a, b = _media_base(a), _media_base(b)
    if a == b:
        return True
    at, _, asub = a.partition("/")
    bt, _, bsub = b.partition("/")
    if "*" in (at, bt) or (at == bt and "*" in (asub, bsub)):
        return True
    return at == bt and (bsub.endswith("+" + asub) or asub.endswith("+" + bsub))


def _media_pairs(old: Mapping[str, Any], new: Mapping[str, Any]) -> tuple[list[tuple[str, str]], list[str], list[str]]:
    """Old->new media types matched (exactly first, then related), and the leftovers."""
    pairs = [(m, m) for m in old if m in new]
    gone = [m for m in old if m not in new]
    fresh = [m for m in new if m not in old]
    for m in list(gone):
        match = next((n for n in fresh if _media_related(m, n)), None)
        if match is not None:
            pairs.append((m, match))
            gone.remove(m)
            fresh.remove(match)
    return pairs, gone, fresh


def _more_general(after: str, before: str) -> bool:
    """``application/json`` after ``application/problem+json`` (or a wildcard after a concrete type)."""
    a, b = _media_base(after), _media_base(before)
    if a == b:
        return False
    at, _, asub = a.partition("/")
    _, _, bsub = b.partition("/")
    return "*" in (at, asub) or bsub.endswith("+" + asub)


def _jsonish(mime: str) -> bool:
    base = _media_base(mime)
    return base.endswith("json") or "*" in base


class _Side:
    """One version of the spec with ref resolution (local pointers, optional resolver for files)."""

    def __init__(self, data: dict[str, Any], resolve: Callable[[str], Any] | None = None) -> None:
        self.data = data
        self.v2 = "swagger" in data
        self._resolve = resolve

    def deref(self, node: Any) -> Any:
        for _ in range(64):
            if not (isinstance(node, dict) and isinstance(node.get("$ref"), str)):
                return node
            ref = node["$ref"]
            try:
                if ref.startswith("#"):
                    from gitcoord.contracts.refs import resolve_pointer

                    node = resolve_pointer(self.data, ref[1:])
                elif self._resolve is not None:
                    node = self._resolve(ref)
                else:
                    return {}
            except (KeyError, ValueError):
                return {}
        return {}

    def locate(self, node: Any) -> tuple[Any, str | None]:
        """Like ``deref``, plus the JSON pointer of the target when ``node`` was a local ref."""
        pointer = None
        for _ in range(64):
            if not (isinstance(node, dict) and isinstance(node.get("$ref"), str)):
                return node, pointer
            ref = node["$ref"]
            if ref.startswith("#"):
                pointer = ref[1:]
            node = self.deref({"$ref": ref})
        return {}, pointer

    def items(self, container: str) -> dict[str, tuple[str, dict[str, Any]]]:
        """Normalised key -> (raw name, path item) for ``paths`` or (3.1) ``webhooks``."""
        raw = self.data.get(container)
        out: dict[str, tuple[str, dict[str, Any]]] = {}
        for name, item in (raw.items() if isinstance(raw, dict) else ()):
            item = self.deref(item)
            if isinstance(item, dict):
                out[_path_key(str(name)) if container == "paths" else str(name)] = (str(name), item)
        return out

    def operations(self, container: str = "paths") -> dict[str, tuple[str, str, dict[str, Any], dict[str, Any], str]]:
        """key -> (display name, raw path, path item, operation, JSON pointer)."""
        out: dict[str, tuple[str, str, dict[str, Any], dict[str, Any], str]] = {}
        for key, (raw, item) in self.items(container).items():
            for method in HTTP_METHODS:
                op = item.get(method)
                if isinstance(op, dict):
                    where = raw if container == "paths" else f"webhook:{raw}"
                    out[f"{method.upper()} {key if container == 'paths' else where}"] = (
                        f"{method.upper()} {where}", raw, item, op, f"/{container}/{esc(raw)}/{method}")
        return out

    def params(self, item: dict[str, Any], op: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
        merged: dict[tuple[str, str], dict[str, Any]] = {}
        for source in (item.get("parameters") or [], op.get("parameters") or []):
            for raw in source:
                param = self.deref(raw)
                if isinstance(param, dict) and param.get("in") != "body":
                    merged[(str(param.get("in")), str(param.get("name")))] = param
        return merged

    def param_schema(self, param: dict[str, Any]) -> Any:
        if "schema" in param:
            return param["schema"]
        if "content" in param:
            for media in (param["content"] or {}).values():
                return (media or {}).get("schema", {})
        # Swagger 2.0: the parameter itself carries the schema keywords.
        return {k: v for k, v in param.items() if k not in ("name", "in", "required", "description", "allowEmptyValue", "collectionFormat", "deprecated")}

    def body(self, op: dict[str, Any]) -> dict[str, Any] | None:
        if self.v2:
            for raw in op.get("parameters") or []:
                param = self.deref(raw)
                if isinstance(param, dict) and param.get("in") == "body":
                    types = op.get("consumes") or self.data.get("consumes") or ["application/json"]
                    return {"required": bool(param.get("required")), "content": {t: param.get("schema", {}) for t in types}}
            return None  # formData fields are compared as parameters
        body = self.deref(op.get("requestBody"))
        if not isinstance(body, dict):
            return None
        return {"required": bool(body.get("required")), "content": {k: (v or {}).get("schema") for k, v in (body.get("content") or {}).items()}}

    def responses(self, op: dict[str, Any]) -> dict[str, dict[str, Any]]:
        out: dict[str, dict[str, Any]] = {}
        for code, raw in (op.get("responses") or {}).items():
            response = self.deref(raw)
            if not isinstance(response, dict):
                continue
            if self.v2:
                types = op.get("produces") or self.data.get("produces") or ["application/json"]
                content = {t: response["schema"] for t in types} if "schema" in response else {}
            else:
                content = {k: (v or {}).get("schema") for k, v in (response.get("content") or {}).items()}
            headers = {str(k): self.deref(v) for k, v in (response.get("headers") or {}).items()}
            out[str(code)] = {"content": content, "headers": {k: v for k, v in headers.items() if isinstance(v, dict)}}
        return out

    def security(self, op: dict[str, Any]) -> list[dict[str, list[str]]]:
        reqs = op["security"] if "security" in op else self.data.get("security") or []
        return [r for r in reqs if isinstance(r, dict)] if isinstance(reqs, list) else []

    def security_schemes(self) -> tuple[str, dict[str, Any]]:
        if self.v2:
            where, raw = "/securityDefinitions", self.data.get("securityDefinitions")
        else:
            where, raw = "/components/securitySchemes", (self.data.get("components") or {}).get("securitySchemes")
        return where, {str(k): self.deref(v) for k, v in (raw.items() if isinstance(raw, dict) else ())}

    def servers(self) -> list[str]:
        if self.v2:
            host = self.data.get("host")
            if not host:
                return []
            return [f"{scheme}://{host}" for scheme in (self.data.get("schemes") or ["https"])]
        return [str(s.get("url")) for s in self.data.get("servers") or [] if isinstance(s, dict)]


def _param_style(param: dict[str, Any], v2: bool) -> str:
    if v2:
        return str(param.get("collectionFormat") or "csv")
    return str(param.get("style") or ("form" if param.get("in") in ("query", "cookie") else "simple"))


def _param_explode(param: dict[str, Any], v2: bool) -> bool:
    if v2:
        return param.get("collectionFormat") == "multi"
    if isinstance(param.get("explode"), bool):
        return param["explode"]
    return _param_style(param, v2) == "form"


# ----------------------------------------------------------------------------- the differ


class _Differ(SchemaComparer):
    def __init__(self, old: _Side, new: _Side) -> None:
        self.old = old
        self.new = new
        self.changes: list[Change] = []
        self._pairs: dict[tuple[int, int, str], dict[int, Change]] = {}
        self._sink: dict[int, Change] | None = None
        self._alive: list[Any] = []  # objects whose id() keys a cached pair must not be reused
        self._param_roots: set[tuple[int, int]] = set()  # top-level schemas of non-content parameters
        self._lenient_param = False
        self._unstable: set[str] = set()  # operations marked draft/alpha in the old version
        self._text: _Differ | None = None  # compares schemas of non-JSON media types

    def emit(self, rule: str, path: str, operation: str | None, message: str) -> None:
        change = Change(rule, RULES[rule], path, operation, message)
        if operation is not None:
            change.operations.append(operation)
        self.changes.append(change)
        if self._sink is not None:
            self._sink[id(change)] = change

    # -- top level ---------------------------------------------------------------------
    def run(self) -> None:
        self.servers()
        self.container("paths")
        self.container("webhooks")
        where, old_schemes = self.old.security_schemes()
        _, new_schemes = self.new.security_schemes()
        seen = len(self.changes)
        compare_schemes(old_schemes, new_schemes, where, self.emit)
        self.scheme_users(self.changes[seen:], where)
        for change in self.changes:
            touched = set(change.operations) | ({change.operation} if change.operation else set())
            if change.level == "error" and touched and touched <= self._unstable:
                change.level = "info"
                change.message += " (x-stability-level draft/alpha: no compatibility promised)"

    def scheme_users(self, changes: list[Change], where: str) -> None:
        """A security scheme's change reaches the operations whose requirements name it (for
        consumers); a definition nobody references yet still counts, as a promise."""
        users: dict[str, list[str]] = {}
        for container in ("paths", "webhooks"):
            for name, _, _, op, _ in self.old.operations(container).values():
                for group in self.old.security(op):
                    for scheme in group:
                        users.setdefault(str(scheme), []).append(name)
        for change in changes:
            scheme = change.path[len(where) + 1:].split("/", 1)[0].replace("~1", "/").replace("~0", "~")
            change.operations.extend(sorted(set(users.get(scheme, []))))

    def container(self, container: str) -> None:
        """Paths (or webhooks) removed and added, then every operation on both sides."""
        old_items, new_items = self.old.items(container), self.new.items(container)
        old_ops, new_ops = self.old.operations(container), self.new.operations(container)
        kind = "path" if container == "paths" else "webhook"
        self._unstable |= {name for name, _, _, op, _ in old_ops.values() if stability(op) in UNSTABLE}
        for key in sorted(old_items.keys() - new_items.keys()):
            raw, item = old_items[key]
            states = [retired(item[m], item[m].get("responses")) for m in HTTP_METHODS if isinstance(item.get(m), dict)]
            where = f"/{container}/{esc(raw)}"
            if states and all(s == "retired" for s in states):
                self.emit(f"{kind}-deprecated-removed", where, None, f"deprecated {kind} {raw} was removed after its sunset")
            elif kind == "path" and "sunset-pending" in states and "live" not in states:
                self.emit("path-removed-before-sunset", where, None, f"deprecated path {raw} was removed before its sunset date")
            else:
                self.emit(f"{kind}-removed", where, None, f"{kind} {raw} was removed")
            # The operations it held: for consumers, and for draft/alpha ones promising nothing.
            self.changes[-1].operations.extend(name for name, path, _, _, _ in old_ops.values() if path == raw)
        for key in sorted(new_items.keys() - old_items.keys()):
            raw, _ = new_items[key]
            self.emit(f"{kind}-added", f"/{container}/{esc(raw)}", None, f"{kind} {raw} was added")
        for key, (name, raw, _, op, where) in old_ops.items():
            if key in new_ops or (_path_key(raw) if container == "paths" else raw) not in new_items:
                continue
            state = retired(op, op.get("responses"))
            if state == "retired":
                self.emit("operation-deprecated-removed", where, name, f"deprecated operation {name} was removed after its sunset")
            elif state == "sunset-pending":
                self.emit("operation-removed-before-sunset", where, name, f"operation {name} was removed before its sunset date {sunset(op, op.get('responses'))}")
            else:
                self.emit("operation-removed", where, name, f"operation {name} was removed")
        for key, (name, raw, _, _, where) in new_ops.items():
            if key not in old_ops and (_path_key(raw) if container == "paths" else raw) in old_items:
                self.emit("operation-added", where, name, f"operation {name} was added")
        for key in old_ops.keys() & new_ops.keys():
            self.operation(old_ops[key], new_ops[key])

    def servers(self) -> None:
        old_servers, new_servers = self.old.servers(), self.new.servers()
        removed = [s for s in old_servers if s not in new_servers]
        added = [s for s in new_servers if s not in old_servers]
        where = "/host" if self.new.v2 else "/servers"
        if removed and added:
            self.emit("server-changed", where, None, f"servers changed: {', '.join(removed)} -> {', '.join(added)}")
        elif removed and new_servers:
            self.emit("server-removed", where, None, f"server(s) removed: {', '.join(removed)}")
        elif removed:
            self.emit("server-removed", where, None, f"all servers removed ({', '.join(removed)})")
        elif added:
            self.emit("server-added", where, None, f"server(s) added: {', '.join(added)}")
        if self.old.v2 and self.new.v2 and (self.old.data.get("basePath") or "/") != (self.new.data.get("basePath") or "/"):
            self.emit("base-path-changed", "/basePath", None, f"basePath changed from {self.old.data.get('basePath')!r} to {self.new.data.get('basePath')!r}")

    def operation(self, old: tuple, new: tuple) -> None:
        _, _, old_item, old_op, _ = old
        name, _, new_item, new_op, base = new
        if old_op.get("operationId") and new_op.get("operationId") and old_op["operationId"] != new_op["operationId"]:
            self.emit("operation-id-changed", base + "/operationId", name, f"operationId changed from {old_op['operationId']!r} to {new_op['operationId']!r}")
        if new_op.get("deprecated") and not old_op.get("deprecated"):
            when = sunset(new_op, new_op.get("responses"))
            if when:
                self.emit("operation-deprecated-with-sunset", base + "/deprecated", name, f"{name} deprecated, sunset {when}")
            else:
                self.emit("operation-deprecated-without-sunset", base + "/deprecated", name, f"{name} deprecated without a sunset date (add x-sunset)")
        elif old_op.get("deprecated") and not new_op.get("deprecated"):
            self.emit("operation-undeprecated", base + "/deprecated", name, f"{name} is no longer deprecated")
        moved = sunset_moved(old_op, new_op, old_op.get("responses"), new_op.get("responses"))
        if moved:
            self.emit("operation-sunset-changed", base + "/x-sunset", name, f"{name}: {moved}")
        before, after = stability(old_op), stability(new_op)
        if before != after:
            lower = STABILITY.index(after) < STABILITY.index(before)
            self.emit("operation-stability-decreased" if lower else "operation-stability-increased", base + "/x-stability-level", name,
                      f"{name}: x-stability-level {'lowered' if lower else 'raised'} from {before} to {after}")
        self.parameters(old_item, old_op, new_item, new_op, base, name)
        self.request_body(old_op, new_op, base, name)
        self.responses(old_op, new_op, base, name)
        compare_requirements(self.old.security(old_op), self.new.security(new_op), base + "/security", name, self.emit)

    # -- parameters --------------------------------------------------------------------
    def parameters(self, old_item: dict, old_op: dict, new_item: dict, new_op: dict, base: str, op: str) -> None:
        old_params = self.old.params(old_item, old_op)
        new_params = self.new.params(new_item, new_op)
        norm = lambda k: (k[0], k[1].lower() if k[0] == "header" else k[1])  # noqa: E731
        old_by = {norm(k): v for k, v in old_params.items()}
        new_by = {norm(k): v for k, v in new_params.items()}
        for (where, pname), param in new_by.items():
            path = f"{base}/parameters/{esc(pname)}"
            label = f"{where} parameter {pname!r}"
            if (where, pname) not in old_by:
                if param.get("required") or where == "path":
                    if where == "path" and any(k[0] == "path" for k in old_by):
                        continue  # a path parameter renamed with the template: same endpoint
                    self.emit("request-parameter-added-required", path, op, f"required {label} was added")
                else:
                    self.emit("request-parameter-added-optional", path, op, f"optional {label} was added")
                continue
            old = old_by[(where, pname)]
            if param.get("required") and not old.get("required"):
                self.emit("request-parameter-became-required", path + "/required", op, f"{label} became required")
            elif old.get("required") and not param.get("required") and where != "path":
                self.emit("request-parameter-became-optional", path + "/required", op, f"{label} became optional")
            if param.get("deprecated") and not old.get("deprecated"):
                self.emit("request-parameter-deprecated", path + "/deprecated", op, f"{label} deprecated")
            moved = sunset_moved(old, param)
            if moved:
                self.emit("request-parameter-sunset-changed", path + "/x-sunset", op, f"{label}: {moved}")
            if old.get("allowEmptyValue") is True and param.get("allowEmptyValue") is not True:
                self.emit("request-parameter-allow-empty-value-removed", path + "/allowEmptyValue", op, f"{label} no longer accepts an empty value")
            elif param.get("allowEmptyValue") is True and old.get("allowEmptyValue") is not True:
                self.emit("request-parameter-allow-empty-value-added", path + "/allowEmptyValue", op, f"{label} now accepts an empty value")
            old_schema = self.old.deref(self.old.param_schema(old))
            new_schema = self.new.deref(self.new.param_schema(param))
            self._alive.append((old_schema, new_schema))  # 2.0 parameters yield fresh dicts: keep their ids unique
            if isinstance(old_schema, dict) and isinstance(new_schema, dict):
                self.default(old, param, old_schema, new_schema, path, op, label)
                self.serialisation(old, param, path, op, label)
                if "content" not in param:
                    self._param_roots.add((id(old_schema), id(new_schema)))
            self.schema(old_schema, new_schema, path + ("/schema" if "schema" in param else ""), op, "request-parameter", label)
        for (where, pname), param in old_by.items():
            if (where, pname) not in new_by:
                if where == "path" and any(k[0] == "path" for k in new_by):
                    continue
                ppath = f"{base}/parameters/{esc(pname)}"
                state = retired(param)
                if state == "retired":
                    self.emit("request-parameter-deprecated-removed", ppath, op, f"deprecated {where} parameter {pname!r} was removed after its sunset")
                elif state == "sunset-pending":
                    self.emit("request-parameter-removed-before-sunset", ppath, op, f"{where} parameter {pname!r} was removed before its sunset date")
                else:
                    self.emit("request-parameter-removed", ppath, op, f"{where} parameter {pname!r} was removed")

    def default(self, old: dict, new: dict, old_schema: dict, new_schema: dict, path: str, op: str, label: str) -> None:
        """An optional parameter's default is what clients that omit it get: set, changed or removed."""
        if new.get("required") or old.get("required") or new.get("in") == "path":
            return
        missing = object()
        before, after = old_schema.get("default", missing), new_schema.get("default", missing)
        if before == after:
            return
        what = f"set to {after!r}" if before is missing else f"removed (was {before!r})" if after is missing \
            else f"changed from {before!r} to {after!r}"
        self.emit("request-parameter-default-changed", path + "/default", op, f"{label} default {what}")

    def serialisation(self, old: dict, new: dict, path: str, op: str, label: str) -> None:
        """style/explode (collectionFormat in 2.0): the serialisation clients use must stay."""
        if "content" in old or "content" in new:
            return
        if self.old.v2 != self.new.v2:
            return  # a 2.0 -> 3.x migration: collectionFormat and style are not comparable
        old_style, new_style = _param_style(old, self.old.v2), _param_style(new, self.new.v2)
        if old_style != new_style and (not self.old.v2 or "array" in (old.get("type"), new.get("type"))):
            self.emit("request-parameter-style-changed", path + "/style", op, f"{label} style changed from {old_style!r} to {new_style!r}")
        elif not self.old.v2 and _param_explode(old, False) != _param_explode(new, False):
            self.emit("request-parameter-explode-changed", path + "/explode", op, f"{label} explode changed to {_param_explode(new, False)}")

    # -- request body ------------------------------------------------------------------
    def request_body(self, old_op: dict, new_op: dict, base: str, op: str) -> None:
        old, new = self.old.body(old_op), self.new.body(new_op)
        path = base + "/requestBody"
        if old is None and new is None:
            return
        if old is None:
            assert new is not None
            rule = "request-body-added-required" if new["required"] else "request-body-added-optional"
            self.emit(rule, path, op, f"{'required' if new['required'] else 'optional'} request body was added")
            return
        if new is None:
            self.emit("request-body-removed", path, op, "request body was removed")
            return
        if new["required"] and not old["required"]:
            self.emit("request-body-became-required", path + "/required", op, "request body became required")
        elif old["required"] and not new["required"]:
            self.emit("request-body-became-optional", path + "/required", op, "request body became optional")
        pairs, gone, fresh = _media_pairs(old["content"], new["content"])
        for mime in gone:
            self.emit("request-body-media-type-removed", f"{path}/content/{esc(mime)}", op, f"request media type {mime} was removed")
        for mime in fresh:
            self.emit("request-body-media-type-added", f"{path}/content/{esc(mime)}", op, f"request media type {mime} was added")
        for before, after in pairs:
            mpath = f"{path}/content/{esc(after)}"
            if before != after:
                self.emit("request-body-media-type-changed", mpath, op, f"request media type {before} changed to {after}")
            self.media_schema(old["content"][before], new["content"][after], after, old["content"], new["content"], mpath + "/schema", op,
                              "request-property", "request body")

    def media_schema(self, old: Any, new: Any, mime: str, old_content: Mapping[str, Any], new_content: Mapping[str, Any],
                     path: str, op: str, prefix: str, label: str) -> None:
        """JSON-like media types as they are; XML, text, forms loosely: every value is text there,
        so a type generalised to string is no break. A non-JSON media type carrying the same
        schemas as a JSON sibling is not compared twice."""
        if isinstance(old, dict) != isinstance(new, dict):
            # A schema appearing on a request, or disappearing from a response.
            if prefix == "request-property" and isinstance(new, dict):
                self.emit("request-body-schema-added", path, op, f"{label} ({mime}) now has a schema")
            elif prefix == "response-property" and isinstance(old, dict):
                self.emit("response-body-schema-removed", path, op, f"{label} ({mime}) no longer has a schema")
            return
        if _jsonish(mime):
            self.schema(old, new, path, op, prefix, label)
            return
        prints = (fingerprint(old, self.old), fingerprint(new, self.new))
        if any(_jsonish(m) and m in new_content and (fingerprint(old_content[m], self.old), fingerprint(new_content[m], self.new)) == prints
               for m in old_content):
            return
        if self._text is None:
            # One differ for every text-wire schema, so a shared schema is reported once.
            self._text = _Differ(self.old, self.new)
            self._text._text_wire = True
        seen = len(self._text.changes)
        self._text.schema(old, new, path, op, prefix, f"{label} ({_media_base(mime)})")
        self.changes.extend(self._text.changes[seen:])

    # -- responses ---------------------------------------------------------------------
    def responses(self, old_op: dict, new_op: dict, base: str, op: str) -> None:
        old, new = self.old.responses(old_op), self.new.responses(new_op)
        for code, response in old.items():
            path = f"{base}/responses/{esc(code)}"
            if code not in new:
                if code.startswith("2"):
                    self.emit("response-success-status-removed", path, op, f"success response {code} was removed")
                elif code == "default":
                    self.emit("response-default-removed", path, op, "default response was removed")
                else:
                    self.emit("response-status-removed", path, op, f"response {code} was removed")
                continue
            target = new[code]
            self.headers(response["headers"], target["headers"], code, path, op)
            if response["content"] and not target["content"]:
                self.emit("response-body-removed", path, op, f"response {code} no longer has a body")
                continue
            pairs, gone, fresh = _media_pairs(response["content"], target["content"])
            for mime in gone:
                mpath = f"{path}/content/{esc(mime)}" if not self.new.v2 else f"{path}/schema"
                self.emit("response-media-type-removed", mpath, op, f"response {code} media type {mime} was removed")
            for mime in fresh:
                if response["content"]:
                    self.emit("response-media-type-added", f"{path}/content/{esc(mime)}", op, f"response {code} media type {mime} was added")
            for before, after in pairs:
                mpath = f"{path}/content/{esc(after)}" if not self.new.v2 else f"{path}/schema"
                if before != after:
                    rule = "response-media-type-generalised" if _more_general(after, before) else "response-media-type-changed"
                    self.emit(rule, mpath, op, f"response {code} media type {before} changed to {after}")
                self.media_schema(response["content"][before], target["content"][after], after, response["content"], target["content"],
                                  mpath + ("/schema" if not self.new.v2 else ""), op, "response-property", f"response {code}")
        for code in new:
            if code not in old:
                self.emit("response-status-added", f"{base}/responses/{esc(code)}", op, f"response {code} was added")

    def headers(self, old: dict[str, dict], new: dict[str, dict], code: str, path: str, op: str) -> None:
        """Response headers (names compared case-insensitively)."""
        new_by = {name.lower(): (name, header) for name, header in new.items()}
        for name, header in old.items():
            hpath = f"{path}/headers/{esc(name)}"
            if name.lower() not in new_by:
                if header.get("required") is True:
                    self.emit("response-required-header-removed", hpath, op, f"response {code} required header {name!r} was removed")
                else:
                    self.emit("response-header-removed", hpath, op, f"response {code} header {name!r} was removed")
                continue
            _, target = new_by[name.lower()]
            if header.get("required") is True and target.get("required") is not True:
                self.emit("response-header-became-optional", hpath + "/required", op, f"response {code} header {name!r} became optional")
            if "content" not in header and "content" not in target and not self.old.v2 and not self.new.v2:
                before = (header.get("style") or "simple", header.get("explode") is True)
                after = (target.get("style") or "simple", target.get("explode") is True)
                if before != after:
                    self.emit("response-header-style-changed", hpath, op,
                              f"response {code} header {name!r} serialisation changed from style={before[0]} explode={before[1]} to style={after[0]} explode={after[1]}")
            old_schema = self.old.deref(self.old.param_schema(header))
            new_schema = self.new.deref(self.new.param_schema(target))
            self._alive.append((old_schema, new_schema))
            self.schema(old_schema, new_schema, hpath + ("/schema" if "schema" in target else ""), op, "response-property", f"response {code} header {name}")

    # -- schemas -----------------------------------------------------------------------
    def schema(self, old_raw: Any, new_raw: Any, path: str, op: str | None, prefix: str, label: str) -> None:
        """Compare two schemas used by operation ``op``; each change is recorded once per place."""
        for change in self._schema_changes(old_raw, new_raw, path, prefix, label).values():
            if change.operation is None and op is not None:
                change.operation = op
            if op is not None and op not in change.operations:
                change.operations.append(op)

    def _schema_changes(self, old_raw: Any, new_raw: Any, path: str, prefix: str, label: str) -> dict[int, Change]:
        old, _ = self.old.locate(old_raw)
        new, new_pointer = self.new.locate(new_raw)
        if not isinstance(old, dict) or not isinstance(new, dict):
            return {}
        if new_pointer is not None:
            # A shared (referenced) schema: report its changes where they are, once.
            path, label = new_pointer, new_pointer.rsplit("/", 1)[-1]
        key = (id(old), id(new), prefix)
        cached = self._pairs.get(key)
        if cached is not None:
            return cached
        found: dict[int, Change] = {}
        self._pairs[key] = found  # a recursive schema meets this (partial) list and stops
        saved, self._sink = self._sink, found
        lenient, self._lenient_param = self._lenient_param, (id(old), id(new)) in self._param_roots
        try:
            self._compare(old, new, path, prefix, label)
        finally:
            self._sink = saved
            self._lenient_param = lenient
        return found

    def _sub(self, old_raw: Any, new_raw: Any, path: str, prefix: str, label: str) -> None:
        assert self._sink is not None
        self._sink.update(self._schema_changes(old_raw, new_raw, path, prefix, label))

    def _flipped_errors(self, old: Any, new: Any, path: str, prefix: str, label: str) -> list[str]:
        """Errors of comparing ``old``/``new`` under ``prefix`` (the flipped direction), unrecorded."""
        probe = _Differ(self.old, self.new)
        probe.schema(old, new, path, None, prefix, label)
        return [c.message for c in probe.changes if c.level == "error"]

    def _keep_alive(self, node: dict) -> dict:
        self._alive.append(node)
        return node


# ----------------------------------------------------------------------------- entry point


def diff_specs(
    old: dict[str, Any],
    new: dict[str, Any],
    *,
    consumers: Mapping[str, Iterable[str]] | None = None,
    kind: str | None = None,
    old_resolve: Callable[[str], Any] | None = None,
    new_resolve: Callable[[str], Any] | None = None,
) -> DiffResult:
    """Classified changes from ``old`` to ``new`` (parsed documents).

    ``consumers`` maps consumer name -> operations it uses (``"GET /pets/{id}"``); an empty
    list means it uses everything. With consumers given, a breaking change in an operation
    nobody uses becomes a warning and says so; otherwise the change names its consumers.
    ``old_resolve``/``new_resolve`` resolve non-local refs (e.g. ``RefResolver.resolve``).
    """
    is_schema = kind == "jsonschema" or (kind is None and "openapi" not in old and "swagger" not in old and "openapi" not in new and "swagger" not in new)
    differ = _Differ(_Side(old, old_resolve), _Side(new, new_resolve))
    if is_schema:
        differ.schema(old, new, "", None, "schema", "schema")
    else:
        differ.run()
    result = DiffResult(differ.changes)
    if consumers is not None:
        _apply_consumers(result, consumers)
    return result


def _apply_consumers(result: DiffResult, consumers: Mapping[str, Iterable[str]]) -> None:
    uses = {name: {operation_key(o) for o in ops} for name, ops in ((n, list(o)) for n, o in consumers.items())}
    for change in result.changes:
        if change.level != "error":
            continue
        reached = {operation_key(o) for o in (getattr(change, "operations", None) or [])}
        if change.operation is not None:
            reached.add(operation_key(change.operation))
        if not reached:
            users = sorted(uses)  # servers, base path...: every consumer is affected
        else:
            users = sorted(name for name, ops in uses.items() if not ops or ops & reached)
        if users:
            change.consumers = users
            change.message += f" (used by {', '.join(users)})"
        else:
            change.level = "warning"
            change.message += " (downgraded: no registered consumer uses this operation)"
