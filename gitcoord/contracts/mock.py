"""An HTTP mock of an OpenAPI contract, on the standard library's http.server.

Consumers build against an approved contract before its provider exists: the mock
answers every operation from the contract's examples (or values generated from the
response schemas), and refuses requests that break the contract with the same 400 body
a real provider is expected to send, so consumer bugs show up early.

The spec model here (``ContractModel``: operations, parameters, schema checks with
in-document ``$ref``) is shared with ``conformance.py``.
"""

from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Iterable, Mapping
from urllib.parse import parse_qs, unquote, urlsplit

from gitcoord.contracts.sample import deref, escape_pointer_token, example_for
from gitcoord.errors import UsageError

HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
MAX_BODY_BYTES = 10 * 1024 * 1024
_SPEC_URI = "urn:gitcoord:contract"
# OpenAPI 3: header parameters with these names are ignored (they are described elsewhere).
_IGNORED_HEADER_PARAMS = {"accept", "content-type", "authorization"}


# =========================================================================== spec model


def spec_version(spec: Any) -> str:
    """``"2.0"``, ``"3.0"`` or ``"3.1"``; anything else is refused."""
    if not isinstance(spec, dict):
        raise UsageError("spec: expected an OpenAPI document (a mapping at the top level)")
    if isinstance(spec.get("openapi"), str):
        if spec["openapi"].startswith("3.1"):
            return "3.1"
        if spec["openapi"].startswith("3.0"):
            return "3.0"
    if str(spec.get("swagger", "")) == "2.0":
        return "2.0"
    raise UsageError(
        "spec: not an OpenAPI 2.0/3.0/3.1 document (needs 'openapi: 3.x' or 'swagger: \"2.0\"')"
    )


def base_path_of(spec: dict) -> str:
    """The path prefix every operation is served under (``servers[0].url`` or ``basePath``)."""
    if spec_version(spec) == "2.0":
        path = spec.get("basePath") or ""
    else:
        servers = spec.get("servers") or []
        url = servers[0].get("url", "") if servers and isinstance(servers[0], dict) else ""
        for name, var in ((servers[0].get("variables") or {}).items() if url else ()):
            url = url.replace("{" + name + "}", str((var or {}).get("default", "")))
        path = urlsplit(url).path if "://" in url else url.split("?", 1)[0]
    path = "/" + path.strip("/") if path.strip("/") else ""
    return path


def json_path(parts: Iterable[Any]) -> str:
    """``['items', 0, 'price']`` → ``$.items[0].price``."""
    out = "$"
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        elif re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", str(part)):
            out += f".{part}"
        else:
            out += "[" + json.dumps(str(part)) + "]"
    return out


def is_json_media(media_type: str) -> bool:
    media_type = media_type.split(";", 1)[0].strip().lower()
    return media_type == "application/json" or media_type.endswith("+json") or media_type == "*/*"


@dataclass
class Parameter:
    name: str
    location: str  # path | query | header | cookie
    required: bool
    schema: dict
    schema_pointer: str | None  # where the schema lives in the spec, for $ref-aware validation
    node: dict
    explode: bool = True
    style: str = "form"
    json_content: bool = False  # OpenAPI 3 ``content`` parameter: the value is JSON text

    def example(self) -> tuple[bool, Any]:
        """(found, value) from the parameter's or its schema's example/default/enum."""
        if "example" in self.node:
            return True, self.node["example"]
        examples = self.node.get("examples")
        if isinstance(examples, dict):
            for item in examples.values():
                if isinstance(item, dict) and "value" in item:
                    return True, item["value"]
        for key in ("example", "default"):
            if key in self.schema:
                return True, self.schema[key]
        if isinstance(self.schema.get("examples"), list) and self.schema["examples"]:
            return True, self.schema["examples"][0]
        if isinstance(self.schema.get("enum"), list) and self.schema["enum"]:
            return True, self.schema["enum"][0]
        return False, None


@dataclass
class Body:
    required: bool
    media: dict[str, tuple[dict, str | None]]  # media type → (media object, schema pointer)

    def examples(self, spec: dict) -> list[tuple[str | None, str, Any]]:
        """Every example request body: (example name, media type, value)."""
        found: list[tuple[str | None, str, Any]] = []
        for media_type, (media, _pointer) in self.media.items():
            examples = media.get("examples")
            if isinstance(examples, dict):
                for name, item in examples.items():
                    item, _ = deref(item, spec)
                    if isinstance(item, dict) and "value" in item:
                        found.append((name, media_type, item["value"]))
            if "example" in media:
                found.append((None, media_type, media["example"]))
            schema = media.get("schema")
            if not found and isinstance(schema, dict):
                target, _ = deref(schema, spec)
                if isinstance(target, dict) and "example" in target:
                    found.append((None, media_type, target["example"]))
            if found:
                break
        return found


@dataclass
class Operation:
    method: str  # lower case
    path: str  # template, e.g. /carts/{id}
    node: dict
    pointer: str
    parameters: list[Parameter]
    body: Body | None
    responses: dict[str, tuple[dict, str]]  # status key → (response object, pointer)
    produces: list[str] = field(default_factory=list)  # Swagger 2.0 only

    @property
    def label(self) -> str:
        return self.node.get("operationId") or f"{self.method.upper()} {self.path}"

    def response_key_for(self, status: int) -> str | None:
        """The documented response key that covers ``status`` (exact, ``4XX``, ``default``)."""
        if str(status) in self.responses:
            return str(status)
        wildcard = f"{str(status)[0]}XX"
        for key in self.responses:
            if key.upper() == wildcard:
                return key
        return "default" if "default" in self.responses else None


class ContractModel:
    """The operations of an OpenAPI document, with schema checks that follow its ``$ref``s."""

    def __init__(self, spec: dict):
        self.spec = spec
        self.version = spec_version(spec)
        self.base_path = base_path_of(spec)
        self.operations: list[Operation] = []
        self.paths: dict[str, dict[str, Operation]] = {}
        self._routes: list[tuple[re.Pattern[str], list[str], str]] = []
        self._validators: dict[str, Any] = {}
        self._registry: Any = None
        self._lock = threading.Lock()
        paths = spec.get("paths") or {}
        if not isinstance(paths, dict):
            raise UsageError("spec: 'paths' must be a mapping of path templates to operations")
        for template, item in paths.items():
            item_pointer = "/paths/" + escape_pointer_token(template)
            item, item_pointer = deref(item, spec, item_pointer)
            if not isinstance(item, dict):
                continue
            shared = item.get("parameters") or []
            for method in HTTP_METHODS:
                node = item.get(method)
                if isinstance(node, dict):
                    op = self._operation(template, method, node, f"{item_pointer}/{method}", shared, item_pointer)
                    self.operations.append(op)
                    self.paths.setdefault(template, {})[method] = op
            self._routes.append(_compile_template(template))
        # Most specific first: fewer parameters, then longer literal text.
        self._routes.sort(key=lambda r: (len(r[1]), -len(re.sub(r"\{[^}]*\}", "", r[2]))))

    # ----------------------------------------------------------------- building

    def _operation(self, template: str, method: str, node: dict, pointer: str, shared: list, item_pointer: str) -> Operation:
        params: dict[tuple[str, str], Parameter] = {}
        for base, items in ((f"{item_pointer}/parameters", shared), (f"{pointer}/parameters", node.get("parameters") or [])):
            for index, raw in enumerate(items):
                param, ppointer = deref(raw, self.spec, f"{base}/{index}")
                if isinstance(param, dict) and param.get("in") in ("path", "query", "header", "cookie", "body", "formData"):
                    params[(param["in"], param.get("name", ""))] = self._parameter(param, ppointer)  # type: ignore[assignment]
        body: Body | None = None
        if self.version == "2.0":
            body_param = next((p for p in params.values() if p.location == "body"), None)
            if body_param is not None:
                consumes = node.get("consumes") or self.spec.get("consumes") or ["application/json"]
                media = {mt: ({"schema": body_param.schema}, body_param.schema_pointer) for mt in consumes}
                for mt in media:
                    if "x-example" in body_param.node:
                        media[mt][0]["example"] = body_param.node["x-example"]
                body = Body(required=bool(body_param.node.get("required")), media=media)
        elif "requestBody" in node:
            rb, rb_pointer = deref(node["requestBody"], self.spec, f"{pointer}/requestBody")
            if isinstance(rb, dict):
                media = {}
                for mt, media_obj in (rb.get("content") or {}).items():
                    if isinstance(media_obj, dict):
                        sp = f"{rb_pointer}/content/{escape_pointer_token(mt)}/schema" if "schema" in media_obj else None
                        media[mt] = (media_obj, sp)
                body = Body(required=bool(rb.get("required")), media=media)
        responses: dict[str, tuple[dict, str]] = {}
        for status, raw in (node.get("responses") or {}).items():
            resp, rpointer = deref(raw, self.spec, f"{pointer}/responses/{escape_pointer_token(str(status))}")
            if isinstance(resp, dict):
                responses[str(status)] = (resp, rpointer)
        produces = list(node.get("produces") or self.spec.get("produces") or ["application/json"]) if self.version == "2.0" else []
        return Operation(
            method=method,
            path=template,
            node=node,
            pointer=pointer,
            parameters=[p for p in params.values() if p.location in ("path", "query", "header", "cookie")],
            body=body,
            responses=responses,
            produces=produces,
        )

    def _parameter(self, param: dict, pointer: str) -> Parameter:
        location = param["in"]
        style_default = "simple" if location in ("path", "header") else "form"
        if "schema" in param:
            schema, schema_pointer = param["schema"], f"{pointer}/schema"
        elif isinstance(param.get("content"), dict) and param["content"]:
            mt, media = next(iter(param["content"].items()))
            schema = (media or {}).get("schema") or {}
            schema_pointer = f"{pointer}/content/{escape_pointer_token(mt)}/schema"
        else:  # Swagger 2.0 non-body parameter: the schema keywords sit on the parameter
            keys = ("type", "format", "items", "enum", "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum",
                    "minLength", "maxLength", "pattern", "minItems", "maxItems", "uniqueItems", "multipleOf", "default")
            schema = {k: param[k] for k in keys if k in param}
            schema_pointer = None
        resolved, _ = deref(schema, self.spec) if isinstance(schema, dict) else ({}, None)
        collection = param.get("collectionFormat")
        explode = bool(param.get("explode", param.get("style", style_default) == "form")) if collection is None else collection == "multi"
        return Parameter(
            name=str(param.get("name", "")),
            location=location,
            required=bool(param.get("required")) or location == "path",
            schema=resolved if isinstance(resolved, dict) else {},
            schema_pointer=schema_pointer,
            node=param,
            explode=explode,
            style=str(param.get("style", style_default)),
            json_content="content" in param and "schema" not in param,
        )

    # ----------------------------------------------------------------- routing

    def match(self, path: str) -> tuple[str, dict[str, str]] | None:
        """The path template that serves ``path`` (already stripped of the base path)."""
        candidates = [path]
        if len(path) > 1 and path.endswith("/"):
            candidates.append(path.rstrip("/"))
        for candidate in candidates:
            for regex, names, template in self._routes:
                found = regex.fullmatch(candidate)
                if found:
                    return template, {name: unquote(found.group(f"p{i}")) for i, name in enumerate(names)}
        return None

    # ----------------------------------------------------------------- schema checks

    def schema_errors(self, instance: Any, *, pointer: str | None = None, schema: dict | None = None,
                      prefix: Iterable[Any] = ()) -> list[tuple[str, str]]:
        """Every way ``instance`` breaks the schema at ``pointer`` (or the inline ``schema``).

        Returns ``(json path, message)`` pairs; in-document ``$ref``s are followed.
        """
        validator = self._validator(pointer, schema)
        if validator is None:
            return []
        from referencing.exceptions import Unresolvable

        try:
            errors = list(validator.iter_errors(instance))
        except Unresolvable as exc:
            raise UsageError(f"spec at #{pointer}: $ref cannot be resolved ({exc.ref if hasattr(exc, 'ref') else exc})") from exc
        found: list[tuple[str, str]] = []
        for error in errors:
            location = list(prefix) + list(error.absolute_path)
            if error.validator == "required" and isinstance(error.instance, dict):
                for name in error.validator_value:
                    if name not in error.instance:
                        found.append((json_path(location + [name]), "is required"))
                continue
            if error.validator == "additionalProperties" and isinstance(error.instance, dict) and error.validator_value is False:
                known = set((error.schema or {}).get("properties") or {})
                patterns = list(((error.schema or {}).get("patternProperties") or {}).keys())
                for name in error.instance:
                    if name not in known and not any(re.search(p, name) for p in patterns):
                        found.append((json_path(location + [name]), "is not allowed (no such property in the contract)"))
                continue
            found.append((json_path(location), _describe(error)))
        found.sort(key=lambda item: item[0])
        return found

    def _validator(self, pointer: str | None, schema: dict | None) -> Any:
        import jsonschema

        cls = _validator_class(self.version)
        if pointer is None:
            if not schema:
                return None
            return cls(_openapi_to_json_schema(schema, self.version), format_checker=jsonschema.FormatChecker())
        with self._lock:
            validator = self._validators.get(pointer)
            if validator is None:
                from urllib.parse import quote

                ref = f"{_SPEC_URI}#{quote(pointer, safe='/~-._')}"
                validator = cls({"$ref": ref}, registry=self._registry_for(), format_checker=jsonschema.FormatChecker())
                self._validators[pointer] = validator
        return validator

    def _registry_for(self) -> Any:
        if self._registry is None:
            from referencing import Registry, Resource
            from referencing.jsonschema import DRAFT4, DRAFT202012

            contents = _openapi_to_json_schema(self.spec, self.version)
            resource = Resource(contents=contents, specification=DRAFT202012 if self.version == "3.1" else DRAFT4)
            self._registry = Registry().with_resource(_SPEC_URI, resource)
        return self._registry


_VALIDATOR_CLASSES: dict[str, Any] = {}


def _validator_class(version: str) -> Any:
    """Draft 2020-12 for OpenAPI 3.1, draft 4 otherwise; ``multipleOf`` checked in decimal.

    jsonschema checks ``multipleOf`` in binary floating point, so ``19.99`` is not a
    multiple of ``0.01`` there; money fields in real contracts do exactly that.
    """
    cls = _VALIDATOR_CLASSES.get(version)
    if cls is None:
        import jsonschema
        from jsonschema.validators import extend

        base = jsonschema.Draft202012Validator if version == "3.1" else jsonschema.Draft4Validator
        cls = extend(base, {"multipleOf": _decimal_multiple_of})
        _VALIDATOR_CLASSES[version] = cls
    return cls


def _decimal_multiple_of(validator: Any, divisor: Any, instance: Any, schema: dict) -> Any:
    from decimal import Decimal, InvalidOperation

    if not validator.is_type(instance, "number") or isinstance(instance, bool):
        return
    try:
        failed = Decimal(str(instance)) % Decimal(str(divisor)) != 0
    except (InvalidOperation, ValueError):
        failed = False
    if failed:
        from jsonschema.exceptions import ValidationError

        yield ValidationError(f"{instance!r} is not a multiple of {divisor!r}")


def _compile_template(template: str) -> tuple[re.Pattern[str], list[str], str]:
    names: list[str] = []
    regex = ""
    for part in re.split(r"(\{[^}/]+\})", template):
        if part.startswith("{") and part.endswith("}"):
            regex += f"(?P<p{len(names)}>[^/]+)"
            names.append(part[1:-1])
        else:
            regex += re.escape(part)
    return re.compile(regex), names, template


def _openapi_to_json_schema(node: Any, version: str) -> Any:
    """A JSON copy: keys as strings (YAML reads ``200:`` as an int), and for OpenAPI 3.0 /
    2.0 ``nullable`` turned into JSON Schema ``null`` types."""
    if isinstance(node, list):
        return [_openapi_to_json_schema(item, version) for item in node]
    if not isinstance(node, dict):
        return node
    out = {str(key): _openapi_to_json_schema(value, version) for key, value in node.items()}
    if version == "3.1":
        return out
    if out.get("nullable") is True or out.get("x-nullable") is True:
        if isinstance(out.get("enum"), list) and None not in out["enum"]:
            out["enum"] = out["enum"] + [None]
        if isinstance(out.get("type"), str):
            out["type"] = [out["type"], "null"]
        elif "type" not in out and "$ref" not in out:
            rest = {k: v for k, v in out.items() if k not in ("nullable", "x-nullable")}
            out = {"anyOf": [{"type": "null"}, rest]}
    return out


_JSON_TYPE_NAMES = {dict: "object", list: "array", str: "string", bool: "boolean", int: "integer", float: "number", type(None): "null"}


def _describe(error: Any) -> str:
    """A short message for a jsonschema error (no dump of the whole instance)."""
    if error.validator == "type":
        expected = error.validator_value
        expected = " or ".join(expected) if isinstance(expected, list) else expected
        return f"expected {expected}, got {_JSON_TYPE_NAMES.get(type(error.instance), 'value')}"
    if error.validator == "enum":
        return f"must be one of {json.dumps(error.validator_value)}"
    if error.validator == "format":
        return f"{json.dumps(error.instance)[:60]} is not a valid {error.validator_value}"
    if error.validator in ("oneOf", "anyOf"):
        return f"matches none of the {error.validator} alternatives"
    message = error.message
    return message if len(message) <= 200 else message[:197] + "..."


# =========================================================================== request handling


class _ValidationFailed(Exception):
    def __init__(self, fields: dict[str, str], status: int = 400, code: str = "VALIDATION_ERROR", message: str | None = None):
        super().__init__(message or "request does not match the contract")
        self.fields = fields
        self.status = status
        self.code = code
        self.message = message or "request does not match the contract"


def _error_body(code: str, message: str, fields: dict[str, str] | None = None) -> bytes:
    error: dict[str, Any] = {"code": code, "message": message}
    if fields is not None:
        error["details"] = {"fields": fields}
    return json.dumps({"error": error}).encode()


def _coerce(raw: str, schema: dict, spec: dict) -> tuple[Any, str | None]:
    """A parameter's text converted to the schema's type, or an error message."""
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind == "integer":
        if re.fullmatch(r"[+-]?\d+", raw.strip()):
            return int(raw), None
        return None, f"expected integer, got {raw!r}"
    if kind == "number":
        try:
            value = float(raw)
        except ValueError:
            return None, f"expected number, got {raw!r}"
        if value != value or value in (float("inf"), float("-inf")):
            return None, f"expected a finite number, got {raw!r}"
        return (int(value) if value.is_integer() and "." not in raw and "e" not in raw.lower() else value), None
    if kind == "boolean":
        if raw.lower() in ("true", "false"):
            return raw.lower() == "true", None
        return None, f"expected boolean (true or false), got {raw!r}"
    if kind == "null":
        return (None, None) if raw in ("", "null") else (None, f"expected null, got {raw!r}")
    return raw, None


class MockApp:
    """The mock's request → response logic, independent of the socket layer."""

    def __init__(self, spec: dict):
        self.model = ContractModel(spec)
        self.spec = spec

    def handle(self, method: str, target: str, headers: Mapping[str, str], body: bytes) -> tuple[int, list[tuple[str, str]], bytes]:
        method = method.lower()
        parts = urlsplit(target)
        path = parts.path or "/"
        base = self.model.base_path
        if base:
            if path != base and not path.startswith(base + "/"):
                return self._not_found(method, path)
            path = path[len(base):] or "/"
        found = self.model.match(path)
        if found is None:
            return self._not_found(method, parts.path)
        template, path_values = found
        operations = self.model.paths.get(template, {})
        op = operations.get(method)
        head_only = False
        if op is None and method == "head" and "get" in operations:
            op, head_only = operations["get"], True
        if op is None:
            allowed = sorted({m.upper() for m in operations} | ({"HEAD"} if "get" in operations else set()))
            message = f"{method.upper()} is not allowed on {template}; allowed: {', '.join(allowed)}"
            return 405, [("Allow", ", ".join(allowed)), ("Content-Type", "application/json")], _error_body("METHOD_NOT_ALLOWED", message)
        lower_headers = {k.lower(): v for k, v in headers.items()}
        try:
            self._validate_request(op, path_values, parse_qs(parts.query, keep_blank_values=True), lower_headers, body)
            status, out_headers, payload = self._respond(op, lower_headers)
        except _ValidationFailed as failed:
            return failed.status, [("Content-Type", "application/json")], _error_body(failed.code, failed.message, failed.fields)
        return status, out_headers, (b"" if head_only else payload)

    def _not_found(self, method: str, path: str) -> tuple[int, list[tuple[str, str]], bytes]:
        base = f" (operations are served under {self.model.base_path})" if self.model.base_path else ""
        message = f"no operation in the contract matches {method.upper()} {path}{base}"
        return 404, [("Content-Type", "application/json")], _error_body("NOT_FOUND", message)

    # ----------------------------------------------------------------- validation

    def _validate_request(self, op: Operation, path_values: dict[str, str], query: dict[str, list[str]],
                          headers: dict[str, str], body: bytes) -> None:
        fields: dict[str, str] = {}
        cookies = _parse_cookies(headers.get("cookie", ""))
        for param in op.parameters:
            if param.location == "header" and param.name.lower() in _IGNORED_HEADER_PARAMS and self.model.version != "2.0":
                continue
            raw_values: list[str] | None
            if param.location == "path":
                raw_values = [path_values[param.name]] if param.name in path_values else None
            elif param.location == "query":
                raw_values = query.get(param.name)
            elif param.location == "header":
                raw_values = [headers[param.name.lower()]] if param.name.lower() in headers else None
            else:
                raw_values = [cookies[param.name]] if param.name in cookies else None
            if raw_values is None:
                if param.required:
                    fields[param.name] = f"required {param.location} parameter is missing"
                continue
            if param.schema.get("type") == "object" and not param.json_content:
                continue  # objects in query strings (deepObject) are not checked
            value, problem = self._parameter_value(param, raw_values)
            if problem:
                fields[param.name] = problem
                continue
            for where, message in self.model.schema_errors(value, pointer=param.schema_pointer,
                                                           schema=None if param.schema_pointer else param.schema):
                fields[param.name + where[1:]] = message
        if op.body is not None:
            self._validate_body(op.body, headers, body, fields)
        if fields:
            count = len(fields)
            raise _ValidationFailed(fields, message=f"request does not match the contract for {op.label}: "
                                                    f"{count} problem{'s' if count > 1 else ''}")

    def _parameter_value(self, param: Parameter, raw_values: list[str]) -> tuple[Any, str | None]:
        if param.json_content:
            try:
                return json.loads(raw_values[0]), None
            except ValueError:
                return None, "expected JSON text"
        schema = param.schema
        kind = schema.get("type")
        if kind == "array" or (isinstance(kind, list) and "array" in kind):
            items, _ = deref(schema.get("items") or {}, self.spec)
            if param.explode and param.location in ("query", "cookie"):
                texts = raw_values
            else:
                separator = {"spaceDelimited": " ", "pipeDelimited": "|"}.get(param.style, ",")
                collection = param.node.get("collectionFormat")
                separator = {"ssv": " ", "tsv": "\t", "pipes": "|"}.get(collection or "", separator)
                texts = raw_values[0].split(separator) if raw_values[0] != "" else []
            values = []
            for index, text in enumerate(texts):
                value, problem = _coerce(text, items if isinstance(items, dict) else {}, self.spec)
                if problem:
                    return None, f"item {index}: {problem}"
                values.append(value)
            return values, None
        return _coerce(raw_values[0], schema, self.spec)

    def _validate_body(self, spec_body: Body, headers: dict[str, str], body: bytes, fields: dict[str, str]) -> None:
        if not body:
            if spec_body.required:
                fields["body"] = "a request body is required"
            return
        content_type = headers.get("content-type", "").split(";", 1)[0].strip().lower()
        media_type = _pick_media(spec_body.media, content_type) if content_type else next(iter(spec_body.media), None)
        if media_type is None:
            if spec_body.media:
                documented = ", ".join(spec_body.media)
                raise _ValidationFailed({"Content-Type": f"{content_type or 'none'} is not accepted; use {documented}"},
                                        status=415, code="UNSUPPORTED_MEDIA_TYPE",
                                        message=f"request body media type {content_type or 'none'} is not in the contract")
            return
        if not (is_json_media(media_type) or is_json_media(content_type)):
            return  # only JSON bodies are checked against their schema
        try:
            document = json.loads(body)
        except ValueError as exc:
            fields["$"] = f"body is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
            return
        _media, pointer = spec_body.media[media_type]
        if pointer is None:
            return
        for where, message in self.model.schema_errors(document, pointer=pointer):
            fields[where] = message

    # ----------------------------------------------------------------- responses

    def _respond(self, op: Operation, headers: dict[str, str]) -> tuple[int, list[tuple[str, str]], bytes]:
        prefer = _parse_prefer(headers.get("prefer", ""))
        wanted_code, wanted_example = prefer.get("code"), prefer.get("example")
        keys = list(op.responses)
        if wanted_code is not None:
            if not wanted_code.isdigit():
                raise _ValidationFailed({"Prefer": f"code={wanted_code} is not a status code"},
                                        message="Prefer header cannot be satisfied")
            key = op.response_key_for(int(wanted_code))
            if key is None:
                raise _ValidationFailed({"Prefer": f"code={wanted_code} is not documented for {op.label}; "
                                                   f"documented: {', '.join(keys) or 'none'}"},
                                        message="Prefer header cannot be satisfied")
            order = [key]
            status = int(wanted_code)
        else:
            order = sorted(keys, key=_status_rank)
            status = None
        if not order:
            return 204 if status is None else status, [], b""
        accept = headers.get("accept", "")
        if wanted_example is not None:
            for key in order:
                response, _ = op.responses[key]
                hit = self._named_example(op, response, wanted_example, accept)
                if hit is not None:
                    media_type, value = hit
                    return self._encode(status or _status_for_key(key), response, media_type, value)
            raise _ValidationFailed({"Prefer": f"example={wanted_example} is not an example of "
                                               f"{'status ' + str(wanted_code) if wanted_code else 'any response'} of {op.label}"},
                                    message="Prefer header cannot be satisfied")
        key = order[0]
        response, pointer = op.responses[key]
        media_type, value = self._default_body(op, response, accept)
        return self._encode(status or _status_for_key(key), response, media_type, value)

    def _media_of(self, op: Operation, response: dict) -> dict[str, dict]:
        if self.model.version == "2.0":
            if "schema" not in response and not response.get("examples"):
                return {}
            types = list(op.produces) or ["application/json"]
            for mt in (response.get("examples") or {}):
                if mt not in types:
                    types.append(mt)
            return {mt: {"schema": response.get("schema"), "_examples2": response.get("examples") or {}} for mt in types}
        return {mt: m for mt, m in (response.get("content") or {}).items() if isinstance(m, dict)}

    def _named_example(self, op: Operation, response: dict, name: str, accept: str) -> tuple[str, Any] | None:
        media = self._media_of(op, response)
        for media_type in _negotiate(media, accept):
            examples = media[media_type].get("examples")
            if isinstance(examples, dict) and name in examples:
                item, _ = deref(examples[name], self.spec)
                if isinstance(item, dict) and "value" in item:
                    return media_type, item["value"]
        return None

    def _default_body(self, op: Operation, response: dict, accept: str) -> tuple[str | None, Any]:
        media = self._media_of(op, response)
        choices = _negotiate(media, accept)
        if not choices:
            return None, None
        media_type = choices[0]
        entry = media[media_type]
        if "_examples2" in entry and media_type in entry["_examples2"]:
            return media_type, entry["_examples2"][media_type]
        examples = entry.get("examples")
        if isinstance(examples, dict):
            for item in examples.values():
                item, _ = deref(item, self.spec)
                if isinstance(item, dict) and "value" in item:
                    return media_type, item["value"]
        if "example" in entry:
            return media_type, entry["example"]
        schema = entry.get("schema")
        if isinstance(schema, dict):
            return media_type, example_for(schema, self.spec)
        return media_type, None

    def _encode(self, status: int, response: dict, media_type: str | None, value: Any) -> tuple[int, list[tuple[str, str]], bytes]:
        headers: list[tuple[str, str]] = []
        for name, header in (response.get("headers") or {}).items():
            header, _ = deref(header, self.spec)
            if not isinstance(header, dict) or name.lower() == "content-type":
                continue
            if "example" in header:
                sample = header["example"]
            else:
                schema = header.get("schema") if "schema" in header else {k: v for k, v in header.items() if k != "description"}
                sample = example_for(schema or {"type": "string"}, self.spec)
            if isinstance(sample, bool):
                sample = str(sample).lower()
            if isinstance(sample, (str, int, float)):
                headers.append((name, str(sample)))
        if media_type is None or status in (204, 304) or (value is None and not is_json_media(media_type)):
            return status, headers, b""
        content_type = media_type if media_type != "*/*" else "application/json"
        if is_json_media(content_type) or not isinstance(value, (str, bytes)):
            payload = json.dumps(value).encode()
        else:
            payload = value.encode() if isinstance(value, str) else value
        headers.append(("Content-Type", content_type))
        return status, headers, payload


def _status_rank(key: str) -> tuple[int, int]:
    """Order for picking the default response: 2xx first (lowest), then ``2XX``, default, rest."""
    upper = key.upper()
    if upper.isdigit() and upper.startswith("2"):
        return (0, int(upper))
    if upper == "2XX":
        return (1, 0)
    if upper == "DEFAULT":
        return (2, 0)
    return (3, int(upper.replace("X", "0")) if upper.replace("X", "0").isdigit() else 999)


def _status_for_key(key: str) -> int:
    upper = key.upper()
    if upper.isdigit():
        return int(upper)
    if upper.endswith("XX") and upper[0].isdigit():
        return int(upper[0]) * 100
    return 200


def _pick_media(media: Mapping[str, Any], content_type: str) -> str | None:
    if content_type in media:
        return content_type
    lowered = {mt.lower(): mt for mt in media}
    if content_type in lowered:
        return lowered[content_type]
    major = content_type.split("/", 1)[0]
    for mt in media:
        if mt == "*/*" or mt.lower() == f"{major}/*":
            return mt
    return None


def _negotiate(media: Mapping[str, Any], accept: str) -> list[str]:
    """Media types to answer with, best first, honouring the Accept header where possible."""
    available = list(media)
    if not available:
        return []
    ranges = [part.split(";", 1)[0].strip().lower() for part in accept.split(",") if part.strip()]
    chosen: list[str] = []
    for accepted in ranges:
        if accepted == "*/*":
            continue
        for mt in available:
            low = mt.lower()
            if low == accepted or (accepted.endswith("/*") and low.startswith(accepted[:-1])):
                if mt not in chosen:
                    chosen.append(mt)
    rest = sorted((mt for mt in available if mt not in chosen), key=lambda mt: 0 if is_json_media(mt) else 1)
    return chosen + rest


def _parse_prefer(value: str) -> dict[str, str]:
    return {k.lower(): v for k, v in re.findall(r"(\w+)\s*=\s*\"?([^,;\"\s]+)\"?", value)}


def _parse_cookies(value: str) -> dict[str, str]:
    cookies: dict[str, str] = {}
    for part in value.split(";"):
        if "=" in part:
            name, _, text = part.strip().partition("=")
            cookies[name] = text
    return cookies


# =========================================================================== server


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that hangs up early is not worth a traceback on stderr."""
        return


class _Server6(_Server):
    import socket as _socket

    address_family = _socket.AF_INET6


def _handler_for(app: MockApp) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        server_version = "gitcoord-mock"

        def _serve(self) -> None:
            raw_length = (self.headers.get("Content-Length") or "0").strip()
            length = int(raw_length) if raw_length.isdigit() else -1
            if length < 0:
                status, headers, payload = 400, [("Content-Type", "application/json")], _error_body(
                    "BAD_REQUEST", f"Content-Length {raw_length[:40]!r} is not a byte count")
                self.close_connection = True  # the body's end is unknown: do not read another request
            elif length > MAX_BODY_BYTES:
                status, headers, payload = 413, [("Content-Type", "application/json")], _error_body(
                    "PAYLOAD_TOO_LARGE", f"request body over {MAX_BODY_BYTES} bytes")
            else:
                body = self.rfile.read(length) if length else b""
                try:
                    status, headers, payload = app.handle(self.command, self.path, dict(self.headers.items()), body)
                except Exception as exc:  # a mock must answer, whatever the spec holds
                    status, headers, payload = 500, [("Content-Type", "application/json")], _error_body(
                        "MOCK_ERROR", f"the mock could not build a response: {exc}")
            self.send_response(status)
            for name, value in headers:
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            if self.command != "HEAD" and payload:
                self.wfile.write(payload)

        do_GET = do_PUT = do_POST = do_DELETE = do_OPTIONS = do_HEAD = do_PATCH = do_TRACE = _serve

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - library code stays quiet
            return

    return Handler


class MockServer:
    """The contract mock on a background thread: ``with MockServer(spec) as mock: mock.url``."""

    def __init__(self, spec: dict, host: str = "127.0.0.1", port: int = 0):
        self.app = MockApp(spec)
        self.host = host
        self.port = port
        self._httpd: _Server | None = None
        self._thread: threading.Thread | None = None

    def bind(self) -> _Server:
        """Open the listening socket (port 0 picks a free one)."""
        if self._httpd is None:
            cls = _Server6 if ":" in self.host else _Server
            try:
                self._httpd = cls((self.host, self.port), _handler_for(self.app))
            except OSError as exc:
                raise UsageError(f"--host {self.host} --port {self.port}: cannot listen there ({exc.strerror or exc}); "
                                 "pick another port or use --port 0") from exc
            self.port = self._httpd.server_address[1]
        return self._httpd

    @property
    def url(self) -> str:
        """Base URL of the API (server root plus the contract's base path)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}{self.app.model.base_path}"

    def start(self) -> str:
        httpd = self.bind()
        if self._thread is None:
            self._thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                            name="gitcoord-mock", daemon=True)
            self._thread.start()
        return self.url

    def stop(self) -> None:
        if self._httpd is not None:
            if self._thread is not None:
                self._httpd.shutdown()
                self._thread.join(timeout=5)
            self._httpd.server_close()
        self._httpd = None
        self._thread = None

    def __enter__(self) -> "MockServer":
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def serve_forever(spec: dict, host: str = "127.0.0.1", port: int = 0,
                  on_ready: Callable[[str], None] | None = None) -> None:
    """Serve the mock in the foreground until interrupted; ``on_ready(url)`` once listening."""
    server = MockServer(spec, host, port)
    httpd = server.bind()
    try:
        if on_ready is not None:
            on_ready(server.url)
        httpd.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    finally:
        httpd.server_close()
