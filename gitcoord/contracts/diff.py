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

from gitcoord.contracts.loader import join_pointer

HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
LEVELS = ("error", "warning", "info")

# ----------------------------------------------------------------------------- rule table
# Schema-level rules exist once per place a schema can sit; the suffix says what changed.
_SCHEMA_PREFIXES = {
    "request-parameter": "request",
    "request-property": "request",
    "response-property": "response",
    "schema": "input",
}
_REQUEST_SUFFIXES = {
    "type-changed": "error",
    "format-changed": "error",
    "enum-narrowed": "error",
    "enum-widened": "info",
    "max-decreased": "error",
    "min-increased": "error",
    "max-length-decreased": "error",
    "min-length-increased": "error",
    "max-items-decreased": "error",
    "min-items-increased": "error",
    "pattern-changed": "error",
    "became-not-nullable": "error",
    "variant-removed": "error",
}
_RESPONSE_SUFFIXES = {
    "type-changed": "error",
    "format-changed": "error",
    "enum-widened": "error",
    "enum-narrowed": "info",
    "became-nullable": "error",
    "variant-added": "error",
}

RULES: dict[str, str] = {
    # paths and operations
    "path-removed": "error",
    "path-added": "info",
    "operation-removed": "error",
    "operation-added": "info",
    "operation-id-changed": "warning",
    "operation-deprecated-without-sunset": "warning",
    "operation-deprecated-with-sunset": "info",
    "operation-undeprecated": "info",
    # request parameters
    "request-parameter-added-required": "error",
    "request-parameter-added-optional": "info",
    "request-parameter-became-required": "error",
    "request-parameter-became-optional": "info",
    "request-parameter-removed": "error",
    "request-parameter-default-changed": "warning",
    "request-parameter-deprecated": "info",
    # request bodies
    "request-body-added-required": "error",
    "request-body-added-optional": "info",
    "request-body-became-required": "error",
    "request-body-became-optional": "info",
    "request-body-removed": "warning",
    "request-body-media-type-removed": "error",
    "request-body-media-type-added": "info",
    "request-property-added-required": "error",
    "request-property-added-optional": "info",
    "request-property-became-required": "error",
    "request-property-became-optional": "info",
    "request-property-removed": "warning",
    "request-additional-properties-became-false": "error",
    # responses
    "response-success-status-removed": "error",
    "response-status-removed": "warning",
    "response-status-added": "info",
    "response-media-type-removed": "error",
    "response-media-type-added": "info",
    "response-body-removed": "error",
    "response-property-removed": "error",
    "response-property-added": "info",
    "response-required-property-became-optional": "error",
    "response-property-became-required": "info",
    "response-header-removed": "warning",
    # security and servers
    "security-requirement-added": "error",
    "security-requirement-removed": "info",
    "security-scope-added": "error",
    "security-scope-removed": "info",
    "server-removed": "error",
    "server-changed": "warning",
    "server-added": "info",
    "base-path-changed": "error",
    # JSON Schema documents
    "schema-required-added": "error",
    "schema-required-removed": "info",
    "schema-property-removed": "error",
    "schema-property-added": "info",
    "schema-additional-properties-became-false": "error",
}
for _prefix, _direction in _SCHEMA_PREFIXES.items():
    for _suffix, _level in (_RESPONSE_SUFFIXES if _direction == "response" else _REQUEST_SUFFIXES).items():
        RULES.setdefault(f"{_prefix}-{_suffix}", _level)


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


def _esc(key: Any) -> str:
    return str(key).replace("~", "~0").replace("/", "~1")


def _path_key(path: str) -> str:
    """``/pets/{petId}`` and ``/pets/{id}`` are the same endpoint."""
    return re.sub(r"\{[^}]*\}", "{}", path)


def operation_key(operation: str) -> str:
    """Normalised ``"GET /pets/{}"`` for ``"get /pets/{id}"`` (what consumer lists are matched on)."""
    method, _, path = operation.strip().partition(" ")
    return f"{method.upper()} {_path_key(path.strip())}"


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

    def operations(self) -> dict[str, tuple[str, str, dict[str, Any], dict[str, Any]]]:
        """key -> (display name, raw path, path item, operation)."""
        out: dict[str, tuple[str, str, dict[str, Any], dict[str, Any]]] = {}
        for path, item in (self.data.get("paths") or {}).items():
            item = self.deref(item)
            if not isinstance(item, dict):
                continue
            for method in HTTP_METHODS:
                op = item.get(method)
                if isinstance(op, dict):
                    out[f"{method.upper()} {_path_key(str(path))}"] = (f"{method.upper()} {path}", str(path), item, op)
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
        return {k: v for k, v in param.items() if k not in ("name", "in", "required", "description", "allowEmptyValue", "collectionFormat")}

    def body(self, op: dict[str, Any]) -> dict[str, Any] | None:
        if self.v2:
            for raw in op.get("parameters") or []:
                param = self.deref(raw)
                if isinstance(param, dict) and param.get("in") == "body":
                    types = op.get("consumes") or self.data.get("consumes") or ["application/json"]
                    return {"required": bool(param.get("required")), "content": {t: param.get("schema", {}) for t in types}}
            form = [p for p in (self.deref(r) for r in op.get("parameters") or []) if isinstance(p, dict) and p.get("in") == "formData"]
            if form:
                return None  # formData fields are compared as parameters
            return None
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
            out[str(code)] = {"content": content, "headers": response.get("headers") or {}}
        return out

    def security(self, op: dict[str, Any]) -> list[dict[str, list[str]]]:
        reqs = op["security"] if "security" in op else self.data.get("security") or []
        return [r for r in reqs if isinstance(r, dict)]

    def servers(self) -> list[str]:
        if self.v2:
            host = self.data.get("host")
            if not host:
                return []
            return [f"{scheme}://{host}" for scheme in (self.data.get("schemes") or ["https"])]
        return [str(s.get("url")) for s in self.data.get("servers") or [] if isinstance(s, dict)]


# ----------------------------------------------------------------------------- the differ


class _Differ:
    def __init__(self, old: _Side, new: _Side) -> None:
        self.old = old
        self.new = new
        self.changes: list[Change] = []
        self._pairs: dict[tuple[int, int, str], dict[int, Change]] = {}
        self._sink: dict[int, Change] | None = None

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
        old_ops = self.old.operations()
        new_ops = self.new.operations()
        old_paths = {_path_key(p) for p in (self.old.data.get("paths") or {})}
        new_paths = {_path_key(p): p for p in (self.new.data.get("paths") or {})}
        old_raw = {_path_key(p): p for p in (self.old.data.get("paths") or {})}
        for key in sorted(old_paths - set(new_paths)):
            raw = old_raw[key]
            self.emit("path-removed", f"/paths/{_esc(raw)}", None, f"path {raw} was removed")
        for key in sorted(set(new_paths) - old_paths):
            raw = new_paths[key]
            self.emit("path-added", f"/paths/{_esc(raw)}", None, f"path {raw} was added")
        for key, (name, raw, _, _) in old_ops.items():
            if key not in new_ops and _path_key(raw) in new_paths:
                self.emit("operation-removed", f"/paths/{_esc(raw)}/{name.split()[0].lower()}", name, f"operation {name} was removed")
        for key, (name, raw, _, _) in new_ops.items():
            if key not in old_ops and _path_key(raw) in old_paths:
                self.emit("operation-added", f"/paths/{_esc(raw)}/{name.split()[0].lower()}", name, f"operation {name} was added")
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
        _, _, old_item, old_op = old
        name, raw, new_item, new_op = new
        base = f"/paths/{_esc(raw)}/{name.split()[0].lower()}"
        if old_op.get("operationId") and new_op.get("operationId") and old_op["operationId"] != new_op["operationId"]:
            self.emit("operation-id-changed", base + "/operationId", name, f"operationId changed from {old_op['operationId']!r} to {new_op['operationId']!r}")
        if new_op.get("deprecated") and not old_op.get("deprecated"):
            sunset = new_op.get("x-sunset") or new_op.get("x-sunset-date") or new_op.get("x-deprecation-date")
            if sunset:
                self.emit("operation-deprecated-with-sunset", base + "/deprecated", name, f"{name} deprecated, sunset {sunset}")
            else:
                self.emit("operation-deprecated-without-sunset", base + "/deprecated", name, f"{name} deprecated without a sunset date (add x-sunset)")
        elif old_op.get("deprecated") and not new_op.get("deprecated"):
            self.emit("operation-undeprecated", base + "/deprecated", name, f"{name} is no longer deprecated")
        self.parameters(old_item, old_op, new_item, new_op, base, name)
        self.request_body(old_op, new_op, base, name)
        self.responses(old_op, new_op, base, name)
        self.security(old_op, new_op, base, name)

    # -- parameters --------------------------------------------------------------------
    def parameters(self, old_item: dict, old_op: dict, new_item: dict, new_op: dict, base: str, op: str) -> None:
        old_params = self.old.params(old_item, old_op)
        new_params = self.new.params(new_item, new_op)
        norm = lambda k: (k[0], k[1].lower() if k[0] == "header" else k[1])  # noqa: E731
        old_by = {norm(k): v for k, v in old_params.items()}
        new_by = {norm(k): v for k, v in new_params.items()}
        for (where, pname), param in new_by.items():
            path = f"{base}/parameters/{_esc(pname)}"
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
            old_schema = self.old.deref(self.old.param_schema(old))
            new_schema = self.new.deref(self.new.param_schema(param))
            if isinstance(old_schema, dict) and isinstance(new_schema, dict):
                if "default" in old_schema and "default" in new_schema and old_schema["default"] != new_schema["default"]:
                    self.emit("request-parameter-default-changed", path + "/default", op, f"{label} default changed from {old_schema['default']!r} to {new_schema['default']!r}")
            self.schema(old_schema, new_schema, path + ("/schema" if "schema" in param else ""), op, "request-parameter", label)
        for (where, pname), param in old_by.items():
            if (where, pname) not in new_by:
                if where == "path" and any(k[0] == "path" for k in new_by):
                    continue
                self.emit("request-parameter-removed", f"{base}/parameters/{_esc(pname)}", op, f"{where} parameter {pname!r} was removed")

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
        for mime in old["content"]:
            if mime not in new["content"]:
                self.emit("request-body-media-type-removed", f"{path}/content/{_esc(mime)}", op, f"request media type {mime} was removed")
        for mime, schema in new["content"].items():
            if mime not in old["content"]:
                self.emit("request-body-media-type-added", f"{path}/content/{_esc(mime)}", op, f"request media type {mime} was added")
            else:
                self.schema(old["content"][mime], schema, f"{path}/content/{_esc(mime)}/schema", op, "request-property", "request body")

    # -- responses ---------------------------------------------------------------------
    def responses(self, old_op: dict, new_op: dict, base: str, op: str) -> None:
        old, new = self.old.responses(old_op), self.new.responses(new_op)
        for code, response in old.items():
            path = f"{base}/responses/{_esc(code)}"
            if code not in new:
                if code.startswith("2") or code == "default" and not any(c.startswith("2") for c in old):
                    self.emit("response-success-status-removed", path, op, f"success response {code} was removed")
                else:
                    self.emit("response-status-removed", path, op, f"response {code} was removed")
                continue
            target = new[code]
            for header in response["headers"]:
                if header not in target["headers"]:
                    self.emit("response-header-removed", f"{path}/headers/{_esc(header)}", op, f"response {code} header {header!r} was removed")
            if response["content"] and not target["content"]:
                self.emit("response-body-removed", path, op, f"response {code} no longer has a body")
                continue
            for mime, schema in response["content"].items():
                mpath = f"{path}/content/{_esc(mime)}" if not self.new.v2 else f"{path}/schema"
                if mime not in target["content"]:
                    self.emit("response-media-type-removed", mpath, op, f"response {code} media type {mime} was removed")
                else:
                    self.schema(schema, target["content"][mime], mpath + ("/schema" if not self.new.v2 else ""), op, "response-property", f"response {code}")
            for mime in target["content"]:
                if mime not in response["content"] and response["content"]:
                    self.emit("response-media-type-added", f"{path}/content/{_esc(mime)}", op, f"response {code} media type {mime} was added")
        for code in new:
            if code not in old:
                self.emit("response-status-added", f"{base}/responses/{_esc(code)}", op, f"response {code} was added")

    # -- security ----------------------------------------------------------------------
    def security(self, old_op: dict, new_op: dict, base: str, op: str) -> None:
        old, new = self.old.security(old_op), self.new.security(new_op)
        old_sets = {frozenset(r): r for r in old}
        new_sets = {frozenset(r): r for r in new}
        path = base + "/security"
        if not old and new:
            self.emit("security-requirement-added", path, op, f"{op} now requires {' or '.join('+'.join(sorted(r)) or 'nothing' for r in new)}")
            return
        for key, req in new_sets.items():
            if key in old_sets:
                for scheme, scopes in req.items():
                    extra = sorted(set(scopes or []) - set(old_sets[key].get(scheme) or []))
                    if extra:
                        self.emit("security-scope-added", f"{path}/{_esc(scheme)}", op, f"{scheme} now needs scope(s) {', '.join(extra)}")
                    fewer = sorted(set(old_sets[key].get(scheme) or []) - set(scopes or []))
                    if fewer:
                        self.emit("security-scope-removed", f"{path}/{_esc(scheme)}", op, f"{scheme} no longer needs scope(s) {', '.join(fewer)}")
            elif old and not any(key >= k for k in old_sets) and key:
                self.emit("security-requirement-added", path, op, f"{op} accepts a new security requirement {'+'.join(sorted(key))}")
        removed = [k for k in old_sets if k not in new_sets]
        if removed and new_sets and not any(k in old_sets for k in new_sets):
            # Every way of authenticating changed: clients using the old ones are locked out.
            self.emit("security-requirement-added", path, op, f"{op} security changed to {' or '.join('+'.join(sorted(k)) for k in new_sets)}")
        elif removed:
            for key in removed:
                self.emit("security-requirement-removed", path, op, f"{op} no longer offers {'+'.join(sorted(key)) or 'anonymous access'}")

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
        try:
            self._compare(old, new, path, prefix, label)
        finally:
            self._sink = saved
        return found

    def _sub(self, old_raw: Any, new_raw: Any, path: str, prefix: str, label: str) -> None:
        assert self._sink is not None
        self._sink.update(self._schema_changes(old_raw, new_raw, path, prefix, label))

    def _compare(self, old: dict, new: dict, path: str, prefix: str, label: str) -> None:
        op = None
        old = _flatten(old, self.old)
        new = _flatten(new, self.new)
        direction = _SCHEMA_PREFIXES[prefix]
        narrowing = direction in ("request", "input")

        def rule(suffix: str) -> str:
            return f"{prefix}-{suffix}"

        old_types, new_types = _types(old), _types(new)
        if old_types and new_types and (old_types - {"null"}) != (new_types - {"null"}):
            lost = (old_types - new_types) - {"null"}
            gained = (new_types - old_types) - {"null"}
            harmful = (lost and not (lost == {"integer"} and "number" in new_types)) if narrowing else bool(gained and not (gained == {"integer"} and "number" in old_types))
            if harmful:
                self.emit(rule("type-changed"), path + "/type", op, f"{label}: type changed from {_fmt(old_types)} to {_fmt(new_types)}")
        if narrowing and "null" in old_types and "null" not in new_types and new_types:
            self.emit(rule("became-not-nullable"), path, op, f"{label}: null is no longer accepted")
        if not narrowing and "null" in new_types and "null" not in old_types and old_types:
            self.emit(rule("became-nullable"), path, op, f"{label}: may now be null")
        if old.get("format") != new.get("format") and (old.get("format") or new.get("format")) and (narrowing or new.get("format")):
            if old_types == new_types or not old_types:
                self.emit(rule("format-changed"), path + "/format", op, f"{label}: format changed from {old.get('format')!r} to {new.get('format')!r}")
        self.enum(old, new, path, op, prefix, label, narrowing)
        if narrowing:
            self.constraints(old, new, path, op, prefix, label)
        self.variants(old, new, path, op, prefix, label, narrowing)
        self.properties(old, new, path, op, prefix, label, direction)
        if "items" in old and "items" in new:
            self._sub(old["items"], new["items"], path + "/items", prefix, label + "[]")
        old_ap, new_ap = old.get("additionalProperties"), new.get("additionalProperties")
        if isinstance(old_ap, dict) and isinstance(new_ap, dict):
            self._sub(old_ap, new_ap, path + "/additionalProperties", prefix, label + "{}")

    def enum(self, old: dict, new: dict, path: str, op: str | None, prefix: str, label: str, narrowing: bool) -> None:
        if not isinstance(old.get("enum"), list) and not isinstance(new.get("enum"), list):
            return
        old_values = old.get("enum") if isinstance(old.get("enum"), list) else None
        new_values = new.get("enum") if isinstance(new.get("enum"), list) else None
        if old_values is None:
            if narrowing:
                self.emit(f"{prefix}-enum-narrowed", path + "/enum", op, f"{label}: now restricted to {new_values}")
            else:
                self.emit(f"{prefix}-enum-narrowed", path + "/enum", op, f"{label}: now restricted to {new_values}")
            return
        if new_values is None:
            self.emit(f"{prefix}-enum-widened", path + "/enum", op, f"{label}: no longer restricted to {old_values}")
            return
        removed = [v for v in old_values if v not in new_values]
        added = [v for v in new_values if v not in old_values]
        if removed:
            self.emit(f"{prefix}-enum-narrowed", path + "/enum", op, f"{label}: enum value(s) removed: {removed}")
        if added:
            self.emit(f"{prefix}-enum-widened", path + "/enum", op, f"{label}: enum value(s) added: {added}")

    def constraints(self, old: dict, new: dict, path: str, op: str | None, prefix: str, label: str) -> None:
        def tighter(key: str, smaller_is_tighter: bool) -> bool:
            if key not in new:
                return False
            if key not in old:
                return True
            try:
                return new[key] < old[key] if smaller_is_tighter else new[key] > old[key]
            except TypeError:
                return False

        for key, suffix, smaller in (
            ("maximum", "max-decreased", True),
            ("exclusiveMaximum", "max-decreased", True),
            ("minimum", "min-increased", False),
            ("exclusiveMinimum", "min-increased", False),
            ("maxLength", "max-length-decreased", True),
            ("minLength", "min-length-increased", False),
            ("maxItems", "max-items-decreased", True),
            ("minItems", "min-items-increased", False),
        ):
            if isinstance(new.get(key), bool) or isinstance(old.get(key), bool):
                continue  # draft-4 boolean exclusive* flags
            if tighter(key, smaller):
                self.emit(f"{prefix}-{suffix}", f"{path}/{key}", op, f"{label}: {key} tightened from {old.get(key)!r} to {new.get(key)!r}")
        if new.get("pattern") and old.get("pattern") != new.get("pattern"):
            self.emit(f"{prefix}-pattern-changed", path + "/pattern", op, f"{label}: pattern changed from {old.get('pattern')!r} to {new['pattern']!r}")

    def variants(self, old: dict, new: dict, path: str, op: str | None, prefix: str, label: str, narrowing: bool) -> None:
        for keyword in ("oneOf", "anyOf"):
            old_list, new_list = old.get(keyword), new.get(keyword)
            if not isinstance(old_list, list) or not isinstance(new_list, list):
                continue
            old_prints = [_variant_identity(v, self.old) for v in old_list]
            new_prints = [_variant_identity(v, self.new) for v in new_list]
            for i, p in enumerate(old_prints):
                if p in new_prints:  # same component (or same shape): compare structurally
                    j = new_prints.index(p)
                    self._sub(old_list[i], new_list[j], f"{path}/{keyword}/{j}", prefix, label)
            unmatched_old = [i for i, p in enumerate(old_prints) if p not in new_prints]
            unmatched_new = [i for i, p in enumerate(new_prints) if p not in old_prints]
            # A lone leftover on each side is the same alternative, edited.
            if len(unmatched_old) == 1 and len(unmatched_new) == 1:
                i, j = unmatched_old[0], unmatched_new[0]
                self._sub(old_list[i], new_list[j], f"{path}/{keyword}/{j}", prefix, label)
            if narrowing and len(unmatched_old) > len(unmatched_new):
                self.emit(f"{prefix}-variant-removed", f"{path}/{keyword}", op, f"{label}: {len(unmatched_old) - len(unmatched_new)} {keyword} alternative(s) removed")
            if not narrowing and len(unmatched_new) > len(unmatched_old):
                self.emit(f"{prefix}-variant-added", f"{path}/{keyword}", op, f"{label}: {len(unmatched_new) - len(unmatched_old)} {keyword} alternative(s) added")

    def properties(self, old: dict, new: dict, path: str, op: str | None, prefix: str, label: str, direction: str) -> None:
        old_props = old.get("properties") or {}
        new_props = new.get("properties") or {}
        old_req = set(old.get("required") or [])
        new_req = set(new.get("required") or [])
        doc_level = prefix == "schema"
        for name in old_props:
            ppath = f"{path}/properties/{_esc(name)}"
            if name not in new_props:
                if direction == "response":
                    self.emit("response-property-removed", ppath, op, f"{label}: property {name!r} was removed")
                elif doc_level:
                    if new.get("additionalProperties") is False:
                        self.emit("schema-property-removed", ppath, op, f"property {name!r} was removed and additional properties are not allowed")
                    else:
                        self.emit("schema-property-removed", ppath, op, f"property {name!r} was removed")
                else:
                    self.emit("request-property-removed", ppath, op, f"{label}: property {name!r} was removed")
            else:
                self._sub(old_props[name], new_props[name], ppath, prefix, f"{label}.{name}" if not doc_level else name)
        for name in new_props:
            if name in old_props:
                continue
            ppath = f"{path}/properties/{_esc(name)}"
            if direction == "response":
                self.emit("response-property-added", ppath, op, f"{label}: property {name!r} was added")
            elif doc_level:
                self.emit("schema-property-added", ppath, op, f"property {name!r} was added")
            elif name in new_req:
                self.emit("request-property-added-required", ppath, op, f"{label}: required property {name!r} was added")
            else:
                self.emit("request-property-added-optional", ppath, op, f"{label}: optional property {name!r} was added")
        for name in sorted(new_req - old_req):
            if name not in old_props and (name in new_props):
                if doc_level:
                    self.emit("schema-required-added", f"{path}/required", op, f"property {name!r} became required")
                continue  # reported as an added property above
            if direction == "response":
                self.emit("response-property-became-required", f"{path}/required", op, f"{label}: property {name!r} is now always present")
            elif doc_level:
                self.emit("schema-required-added", f"{path}/required", op, f"property {name!r} became required")
            else:
                self.emit("request-property-became-required", f"{path}/required", op, f"{label}: property {name!r} became required")
        for name in sorted(old_req - new_req):
            if direction == "response":
                if name in new_props or name not in old_props:
                    self.emit("response-required-property-became-optional", f"{path}/required", op, f"{label}: property {name!r} may now be absent")
            elif doc_level:
                self.emit("schema-required-removed", f"{path}/required", op, f"property {name!r} is no longer required")
            else:
                self.emit("request-property-became-optional", f"{path}/required", op, f"{label}: property {name!r} became optional")
        if direction in ("request", "input") and new.get("additionalProperties") is False and old.get("additionalProperties") is not False:
            rule = "schema-additional-properties-became-false" if doc_level else "request-additional-properties-became-false"
            self.emit(rule, f"{path}/additionalProperties", op, f"{label}: additional properties are no longer allowed")


def _types(schema: dict) -> set[str]:
    raw = schema.get("type")
    types = {raw} if isinstance(raw, str) else {t for t in raw if isinstance(t, str)} if isinstance(raw, list) else set()
    if schema.get("nullable") is True or schema.get("x-nullable") is True:
        types.add("null")
    if isinstance(schema.get("enum"), list) and None in schema["enum"] and types:
        types.add("null")
    return types


def _fmt(types: set[str]) -> str:
    return "|".join(sorted(types))


def _flatten(schema: dict, side: _Side) -> dict:
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


def _variant_identity(schema: Any, side: _Side) -> str:
    """How to recognise the same oneOf/anyOf alternative in both versions: its ref, else its shape."""
    if isinstance(schema, dict) and isinstance(schema.get("$ref"), str):
        return "ref:" + schema["$ref"].rsplit("/", 1)[-1]
    node = side.deref(schema)
    if isinstance(node, dict):
        if node.get("title"):
            return "title:" + str(node["title"])
        return "shape:" + _fingerprint(node, side, 4)
    return "value:" + repr(node)


def _fingerprint(schema: Any, side: _Side, depth: int = 0) -> str:
    """A ref-independent, order-stable text of a schema (bounded depth, so cycles stop)."""
    schema = side.deref(schema)
    if depth > 6:
        return "…"
    if isinstance(schema, dict):
        return "{" + ",".join(f"{k}:{_fingerprint(v, side, depth + 1)}" for k, v in sorted(schema.items(), key=lambda kv: str(kv[0])) if k not in ("description", "title", "example", "examples")) + "}"
    if isinstance(schema, list):
        return "[" + ",".join(_fingerprint(v, side, depth + 1) for v in schema) + "]"
    return repr(schema)


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
