"""Validate OpenAPI 2.0/3.0/3.1 and JSON Schema documents, reporting every error with its place.

Backends (``backend=``):

* ``"fast"`` (default): the OpenAPI metaschema shipped by openapi-spec-validator, compiled once
  with jsonschema-rs, plus the same semantic checks openapi-spec-validator makes (unique
  operationIds, tags and parameters, path templates vs path parameters, ``required`` names in
  ``allOf``, defaults), done on plain dicts. openapi-spec-validator spends most of its time
  walking the document through ``jsonschema_path``; walking dicts is several times faster
  (see ``bench/contracts.py``). Falls back to ``"reference"`` when jsonschema-rs is missing.
* ``"reference"``: openapi-spec-validator's own validator, iterated to collect all errors.

Both also check every ``$ref`` resolves (remote refs refused) and that ``example``/``examples``
values match their schemas. Nothing heavy is imported at module import time, and
``validate_cached`` answers from a per-blob JSON cache without importing any validator.
"""

from __future__ import annotations

import hashlib
import json
import os
from typing import TYPE_CHECKING, Any, Iterator

from gitcoord.errors import UsageError

if TYPE_CHECKING:  # the cache-hit path must stay import-light: no dataclasses/pathlib/yaml
    from pathlib import Path

    from gitcoord.contracts.loader import Document


def join_pointer(parts: list[Any]) -> str:
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in parts)


def load_document(path: Any, *, text: bytes | None = None) -> "Document":
    from gitcoord.contracts.loader import load_document as load

    return load(path, text=text)

KINDS = ("openapi-2.0", "openapi-3.0", "openapi-3.1", "openapi-3.2", "jsonschema")
# The dialects openapi-spec-validator knows (jsonschema's drafts plus the OAS base dialects); a
# trailing "#" is ignored, as jsonschema does.
KNOWN_DIALECTS = frozenset({
    "http://json-schema.org/draft-03/schema", "http://json-schema.org/draft-04/schema",
    "http://json-schema.org/draft-06/schema", "http://json-schema.org/draft-07/schema",
    "https://json-schema.org/draft/2019-09/schema", "https://json-schema.org/draft/2020-12/schema",
    "https://spec.openapis.org/oas/3.1/dialect/base", "https://spec.openapis.org/oas/3.2/dialect/2025-09-17",
})
_DEFAULT_DIALECT = {"openapi-3.1": "https://spec.openapis.org/oas/3.1/dialect/base",
                    "openapi-3.2": "https://spec.openapis.org/oas/3.2/dialect/2025-09-17"}
CACHE_FORMAT = 2  # 2: markerless documents are no longer valid JSON Schema by default; all errors reported
HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


class SpecError:
    """One problem: ``message``, JSON ``pointer`` of the faulty value, 1-based YAML ``line``."""

    __slots__ = ("message", "pointer", "line")

    def __init__(self, message: str, pointer: str = "", line: int | None = None) -> None:
        self.message = message
        self.pointer = pointer
        self.line = line

    def __repr__(self) -> str:
        return f"SpecError({self.message!r}, {self.pointer!r}, {self.line!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, SpecError) and self.to_dict() == other.to_dict()

    def to_dict(self) -> dict[str, Any]:
        return {"message": self.message, "pointer": self.pointer, "line": self.line}


class ValidationResult:
    """``valid``, ``kind`` (see KINDS), ``errors``, the spec ``path`` and the ``backend`` used."""

    def __init__(self, valid: bool, kind: str, errors: list[SpecError] | None = None, path: str = "", backend: str = "fast") -> None:
        self.valid = valid
        self.kind = kind
        self.errors = errors if errors is not None else []
        self.path = path
        self.backend = backend

    def __repr__(self) -> str:
        return f"ValidationResult(valid={self.valid}, kind={self.kind!r}, errors={len(self.errors)}, path={self.path!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ValidationResult) and self.to_dict() == other.to_dict()

    def to_dict(self) -> dict[str, Any]:
        return {
            "valid": self.valid,
            "kind": self.kind,
            "path": self.path,
            "backend": self.backend,
            "errors": [e.to_dict() for e in self.errors],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "ValidationResult":
        return cls(
            valid=bool(data["valid"]),
            kind=data["kind"],
            path=data.get("path", ""),
            backend=data.get("backend", "fast"),
            errors=[SpecError(e["message"], e.get("pointer", ""), e.get("line")) for e in data.get("errors", [])],
        )


def detect_kind(data: Any) -> str:
    """``openapi-2.0|openapi-3.0|openapi-3.1|openapi-3.2|jsonschema`` from the document's own markers."""
    if isinstance(data, dict):
        swagger = data.get("swagger")
        if swagger is not None:
            if str(swagger).startswith("2."):
                return "openapi-2.0"
            raise UsageError(f"unsupported swagger version {swagger!r}; only 2.0 is supported")
        openapi = data.get("openapi")
        if openapi is not None:
            version = str(openapi)
            for prefix in ("3.0", "3.1", "3.2"):
                if version.startswith(prefix):
                    return f"openapi-{prefix}"
            raise UsageError(f"unsupported openapi version {openapi!r}; expected 3.0.x, 3.1.x or 3.2.x")
    return "jsonschema"


def blob_id(data: bytes) -> str:
    """The git blob id of ``data`` (what ``git hash-object`` prints)."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def validate_spec(
    doc_or_path: "Document | str | Path",
    *,
    kind: str | None = None,
    root: "str | Path | None" = None,
    backend: str = "fast",
    allow_remote_refs: bool = False,
) -> ValidationResult:
    """Validate a spec; every error carries a JSON pointer and, for YAML sources, a line.

    ``kind`` overrides detection (``jsonschema`` forces a JSON Schema check, ``openapi`` any
    OpenAPI version); with None a document lacking an ``openapi``/``swagger`` key is invalid, as
    JSON Schema must be declared; ``detect`` takes such a document as JSON Schema (for files
    that ``contracts.globs`` declares to be specs). ``root`` bounds relative file refs (default:
    the git work tree holding the spec, else its directory). ``allow_remote_refs`` lets
    http(s) refs be fetched (``contracts.allow_remote_refs``; hooks never pass it).
    """
    from gitcoord.contracts.loader import Document

    doc = doc_or_path if isinstance(doc_or_path, Document) else load_document(doc_or_path)
    detected = detect_kind(doc.data)
    if kind is None and detected == "jsonschema":
        # A typo'd or missing version key must not turn an API spec into "valid JSON Schema".
        return _result(doc, "openapi", backend, [SpecError(
            "not an OpenAPI document: no 'openapi' or 'swagger' key (a JSON Schema must be declared as one: "
            "--kind jsonschema)", "")])
    if kind == "openapi":
        kind = detected if detected != "jsonschema" else "openapi-3.0"
    elif kind in (None, "detect"):
        kind = detected
    if kind not in KINDS:
        raise UsageError(f"unknown contract kind {kind!r}; expected one of {', '.join(KINDS)}")
    if kind.startswith("openapi") and detected == "jsonschema":
        return _result(doc, kind, backend, [SpecError("not an OpenAPI document: no 'openapi' or 'swagger' key", "")])

    from gitcoord.contracts.refs import RefError, RefResolver, iter_refs

    resolver = RefResolver(doc, root=root, allow_remote=allow_remote_refs)
    errors: list[SpecError] = []
    for where, ref in iter_refs(doc.data):
        try:
            resolver.resolve(ref, doc, at=where)
        except RefError as exc:
            errors.append(SpecError(exc.message.split(": ", 1)[-1], where + "/$ref"))

    if kind == "jsonschema":
        errors.extend(_validate_json_schema(doc.data))
        used = "jsonschema"
    else:
        if backend == "fast" and not _has_rs():
            backend = "reference"
        if backend == "fast":
            errors.extend(_OpenAPIChecker(doc.data, kind).errors())
        elif backend == "reference":
            errors.extend(_reference_errors(doc, kind))
        else:
            raise UsageError(f"unknown validation backend {backend!r}; expected 'fast' or 'reference'")
        used = backend
        if not any(e.pointer.endswith("/$ref") for e in errors):
            errors.extend(_ExampleChecker(_stringify_keys(doc.data), kind).errors())
    return _result(doc, kind, used, errors)


def _result(doc: "Document", kind: str, backend: str, errors: list[SpecError]) -> ValidationResult:
    seen: set[tuple[str, str]] = set()
    unique: list[SpecError] = []
    for err in errors:
        key = (err.pointer, err.message)
        if key in seen:
            continue
        seen.add(key)
        if err.line is None and doc.is_yaml:
            err.line = doc.line_of(err.pointer)
        unique.append(err)
    return ValidationResult(valid=not unique, kind=kind, errors=unique, path=doc.path, backend=backend)


# --------------------------------------------------------------------------- caching


class ValidationCache:
    """Results keyed by git blob id, one small JSON file each, under a caller-chosen directory."""

    def __init__(self, cache_dir: "str | Path") -> None:
        self.dir = os.fspath(cache_dir)

    def _file(self, key: str) -> str:
        return os.path.join(self.dir, f"validate-{key}.json")

    def get(self, key: str) -> ValidationResult | None:
        try:
            with open(self._file(key), "rb") as fh:
                data = json.loads(fh.read())
        except (OSError, ValueError):
            return None
        if not isinstance(data, dict) or data.get("format") != CACHE_FORMAT:
            return None
        try:
            return ValidationResult.from_dict(data["result"])
        except (KeyError, TypeError):
            return None

    def put(self, key: str, result: ValidationResult) -> None:
        os.makedirs(self.dir, exist_ok=True)
        target = self._file(key)
        tmp = f"{target}.{os.getpid()}.tmp"
        with open(tmp, "w") as fh:
            fh.write(json.dumps({"format": CACHE_FORMAT, "result": result.to_dict()}))
        os.replace(tmp, target)  # atomic: concurrent hooks never read half a file


def validate_cached(
    path: "str | Path",
    cache_dir: "str | Path",
    *,
    kind: str | None = None,
    text: bytes | None = None,
    allow_remote_refs: bool = False,
) -> ValidationResult:
    """``validate_spec`` memoised by blob id (plus kind); a hit imports no validator at all.

    Specs with file refs are not cached: their validity depends on other files too.
    """
    if text is None:
        with open(path, "rb") as fh:
            data = fh.read()
    else:
        data = text
    key = blob_id(data) + ("" if kind is None else "-" + kind.replace("/", "_"))
    cache = ValidationCache(cache_dir)
    hit = cache.get(key)
    if hit is not None:
        hit.path = str(path)
        return hit
    doc = load_document(path, text=data)
    result = validate_spec(doc, kind=kind, allow_remote_refs=allow_remote_refs)
    from gitcoord.contracts.refs import iter_refs

    if not any(not ref.startswith("#") for _, ref in iter_refs(doc.data)):
        cache.put(key, result)
    return result


# --------------------------------------------------------------------------- backends


def _has_rs() -> bool:
    try:
        import jsonschema_rs  # noqa: F401
    except ImportError:
        return False
    return True


_META_FILES = {
    "openapi-2.0": "v2.0",
    "openapi-3.0": "v3.0",
    "openapi-3.1": "v3.1",
    "openapi-3.2": "v3.2",
}
_meta_validators: dict[str, Any] = {}


def _openapi_metaschema(kind: str) -> dict[str, Any]:
    """The metaschema openapi-spec-validator ships, read without importing that package."""
    import importlib.util
    from pathlib import Path

    spec = importlib.util.find_spec("openapi_spec_validator")
    if spec is None or not spec.submodule_search_locations:
        raise UsageError("openapi-spec-validator is not installed; pip install openapi-spec-validator")
    base = Path(list(spec.submodule_search_locations)[0])
    return json.loads((base / "resources" / "schemas" / _META_FILES[kind] / "schema.json").read_bytes())


def _meta_validator(kind: str) -> Any:
    validator = _meta_validators.get(kind)
    if validator is None:
        import jsonschema_rs

        validator = jsonschema_rs.validator_for(_openapi_metaschema(kind))
        _meta_validators[kind] = validator
    return validator


def _rs_message(err: Any) -> str:
    message = str(getattr(err, "message", err))
    return message if len(message) <= 300 else message[:297] + "..."


def _esc(key: Any) -> str:
    return str(key).replace("~", "~0").replace("/", "~1")


class _OpenAPIChecker:
    """The checks of openapi-spec-validator, on plain dicts (see module docstring).

    Unlike openapi-spec-validator, which stops at the first error, structural (metaschema) and
    semantic errors are reported together; the semantic walk skips values of the wrong type
    (the metaschema errors already name them) instead of tripping over them.
    """

    def __init__(self, data: dict[str, Any], kind: str) -> None:
        self.data = data
        self.kind = kind
        self.out: list[SpecError] = []
        self.operation_ids: set[Any] = set()
        self.visited_schemas: set[int] = set()
        self.methods = HTTP_METHODS + (("query",) if kind == "openapi-3.2" else ())
        self.dialect: str | None = None

    def errors(self) -> list[SpecError]:
        try:
            found = list(_meta_validator(self.kind).iter_errors(self.data))
        except ValueError:  # YAML gave non-string keys (``200:``); JSON Schema sees strings
            self.data = _stringify_keys(self.data)
            found = list(_meta_validator(self.kind).iter_errors(self.data))
        for err in found:
            self.out.append(SpecError(_rs_message(err), join_pointer(list(err.instance_path))))
        self._root_dialect()
        self._tags()
        paths = self.data.get("paths")
        if isinstance(paths, dict):
            for url, item in paths.items():
                self._path(str(url), item, f"/paths/{_esc(url)}")
        if self.kind == "openapi-2.0":
            schemas = self.data.get("definitions")
            base = "/definitions"
        else:
            components = self.data.get("components")
            schemas = components.get("schemas") if isinstance(components, dict) else None
            base = "/components/schemas"
        if isinstance(schemas, dict):
            for name, schema in schemas.items():
                self._schema(schema, f"{base}/{_esc(name)}", top=True)
        return self.out

    def _bad_ref(self, node: Any, where: str) -> bool:
        """A ``$ref`` that is not a string: reported, and the node is not followed."""
        if isinstance(node, dict) and "$ref" in node and not isinstance(node["$ref"], str):
            self.out.append(SpecError(f"$ref must be a string, found {type(node['$ref']).__name__} "
                                      f"{node['$ref']!r}", where + "/$ref"))
            return True
        return False

    def _deref(self, node: Any) -> Any:
        seen = 0
        while isinstance(node, dict) and isinstance(node.get("$ref"), str) and node["$ref"].startswith("#"):
            seen += 1
            if seen > 64:
                return {}
            from gitcoord.contracts.refs import resolve_pointer

            try:
                node = resolve_pointer(self.data, node["$ref"][1:])
            except KeyError:
                return {}
        return node

    def _root_dialect(self) -> None:
        if self.kind not in _DEFAULT_DIALECT:
            return
        self.dialect = _DEFAULT_DIALECT[self.kind]
        if "jsonSchemaDialect" in self.data:
            value = self.data["jsonSchemaDialect"]
            if isinstance(value, str) and value.rstrip("#") in KNOWN_DIALECTS:
                self.dialect = value
            else:
                self.out.append(SpecError(f"Unknown JSON Schema dialect: {value!r}", "/jsonSchemaDialect"))
                self.dialect = None  # every schema would repeat the error

    def _tags(self) -> None:
        tags = self.data.get("tags")
        if not isinstance(tags, list):
            return
        seen: set[Any] = set()
        parents: dict[str, tuple[Any, int]] = {}
        for index, tag in enumerate(tags):
            name = tag.get("name") if isinstance(tag, dict) else None
            if name in seen:
                self.out.append(SpecError(f"Duplicate tag name '{name}'", f"/tags/{index}/name"))
            seen.add(name)
            if self.kind == "openapi-3.2" and isinstance(name, str) and isinstance(tag, dict):
                parents[name] = (tag.get("parent"), index)
        for name, (parent, index) in parents.items():
            if parent is not None and parent not in seen:
                self.out.append(SpecError(f"Tag '{name}' references unknown parent tag '{parent}'",
                                          f"/tags/{index}/parent"))
        reported: set[frozenset[str]] = set()
        for start in parents:
            trail: list[str] = []
            name: Any = start
            while isinstance(name, str) and name in parents and name not in trail:
                trail.append(name)
                name = parents[name][0]
            if isinstance(name, str) and name in trail:
                cycle = trail[trail.index(name):]
                if frozenset(cycle) not in reported:
                    reported.add(frozenset(cycle))
                    self.out.append(SpecError("Circular tag hierarchy detected: " + " -> ".join([*cycle, name]),
                                              f"/tags/{parents[name][1]}/parent"))

    def _parameters(self, params: Any, where: str) -> list[str]:
        """Checks a parameter list; returns the names of its path parameters."""
        if not isinstance(params, list):
            return []
        seen: set[tuple[Any, Any]] = set()
        path_names: list[str] = []
        for index, raw in enumerate(params):
            at = f"{where}/{index}"
            if self._bad_ref(raw, at):
                continue
            param = self._deref(raw)
            if not isinstance(param, dict):
                continue
            if "schema" in param:
                self._schema(param["schema"], at + "/schema", top=True)
            if self.kind == "openapi-2.0" and "default" in param:
                self._value(param, param["default"], at + "/default", "default")
            key = (param.get("name"), param.get("in"))
            if key in seen:
                self.out.append(SpecError(f"Duplicate parameter '{param.get('name')}'", at))
            seen.add(key)
            if param.get("in") == "path":
                path_names.append(str(param.get("name")))
        return path_names

    def _path(self, url: str, item: Any, where: str) -> None:
        if self._bad_ref(item, where):
            return
        item = self._deref(item)
        if not isinstance(item, dict):
            return
        shared = self._parameters(item.get("parameters"), where + "/parameters") if "parameters" in item else []
        import string

        try:
            url_params = {name for _, name, _, _ in string.Formatter().parse(url) if name}
        except ValueError:
            url_params = set()
        operations = [(method, operation, f"{where}/{method}") for method, operation in item.items()
                      if method in self.methods]
        extra = item.get("additionalOperations") if self.kind == "openapi-3.2" else None
        if isinstance(extra, dict):
            operations += [(str(method), operation, f"{where}/additionalOperations/{_esc(method)}")
                           for method, operation in extra.items()]
        for method, operation, at in operations:
            if not isinstance(operation, dict):
                continue
            op_id = operation.get("operationId")
            if op_id is not None:
                if op_id in self.operation_ids:
                    self.out.append(SpecError(f"Operation ID '{op_id}' for '{method}' in '{url}' is not unique", at + "/operationId"))
                self.operation_ids.add(op_id)
            responses = operation.get("responses")
            if isinstance(responses, dict):
                for code, response in responses.items():
                    if not self._bad_ref(response, f"{at}/responses/{_esc(code)}"):
                        self._response(self._deref(response), f"{at}/responses/{_esc(code)}")
            names = set(shared)
            if "parameters" in operation:
                names.update(self._parameters(operation["parameters"], at + "/parameters"))
            if not self._bad_ref(operation.get("requestBody"), at + "/requestBody"):
                body = self._deref(operation.get("requestBody"))
                if isinstance(body, dict):
                    self._content(body.get("content"), at + "/requestBody/content")
            for name in sorted(url_params - names):
                self.out.append(SpecError(f"Path parameter '{name}' for '{method}' operation in '{url}' was not resolved", at))
            for name in sorted(names - url_params):
                self.out.append(SpecError(f"Path parameter '{name}' for '{method}' operation in '{url}' was not resolved", at))

    def _response(self, response: Any, where: str) -> None:
        if not isinstance(response, dict):
            return
        if self.kind == "openapi-2.0":
            if "schema" in response:
                self._schema(response["schema"], where + "/schema", top=True)
        else:
            self._content(response.get("content"), where + "/content")

    def _content(self, content: Any, where: str) -> None:
        if isinstance(content, dict):
            for mime, media in content.items():
                if isinstance(media, dict) and "schema" in media:
                    self._schema(media["schema"], f"{where}/{_esc(mime)}/schema", top=True)

    def _schema(self, raw: Any, where: str, top: bool = False) -> None:
        if self._bad_ref(raw, where):
            return
        schema = self._deref(raw)
        if not isinstance(schema, dict) or id(schema) in self.visited_schemas:
            return
        self.visited_schemas.add(id(schema))
        if self.kind in ("openapi-3.1", "openapi-3.2"):
            self._dialect_check(schema, where)
        nested: set[str] = set()
        for keyword in ("allOf", "anyOf", "oneOf"):
            subs = schema.get(keyword)
            for index, sub in enumerate(subs if isinstance(subs, list) else []):
                self._schema(sub, f"{where}/{keyword}/{index}")
                if keyword == "allOf":
                    nested |= self._collect_properties(sub, set())
        for keyword in ("not", "items", "additionalProperties"):
            if isinstance(schema.get(keyword), dict):
                self._schema(schema[keyword], f"{where}/{keyword}")
        properties = schema.get("properties")
        for name, sub in (properties.items() if isinstance(properties, dict) else []):
            self._schema(sub, f"{where}/properties/{_esc(name)}")
        required = schema.get("required")
        if top and "allOf" in schema and isinstance(required, list):
            extra = {r for r in required if isinstance(r, str)} - set(properties if isinstance(properties, dict) else ()) - nested
            if extra:
                self.out.append(SpecError(f"Required list has not defined properties: {sorted(extra)}", where + "/required"))
        if "default" in schema:
            default = schema["default"]
            if default is not None or schema.get("nullable") is not True:
                self._value(schema, default, where + "/default", "default")

    def _collect_properties(self, raw: Any, seen: set[int]) -> set[str]:
        schema = self._deref(raw)
        if not isinstance(schema, dict) or id(schema) in seen:
            return set()
        seen.add(id(schema))
        props = set(schema["properties"]) if isinstance(schema.get("properties"), dict) else set()
        for keyword in ("allOf", "anyOf", "oneOf"):
            subs = schema.get(keyword)
            for sub in subs if isinstance(subs, list) else []:
                props |= self._collect_properties(sub, seen)
        for keyword in ("items", "not"):
            if keyword in schema:
                props |= self._collect_properties(schema[keyword], seen)
        return props

    def _dialect_check(self, schema: dict[str, Any], where: str) -> None:
        """The schema against the metaschema of its dialect (its ``$schema``, else the document's)."""
        import jsonschema_rs

        dialect = schema.get("$schema", self.dialect)
        if "$schema" in schema and not (isinstance(dialect, str) and dialect.rstrip("#") in KNOWN_DIALECTS):
            self.out.append(SpecError(f"Unknown JSON Schema dialect: {dialect!r}", where + "/$schema"))
            return
        if dialect is None:
            return  # the document's unknown jsonSchemaDialect is reported once, at the root
        probe = {k: v for k, v in schema.items() if not (k == "$ref" and isinstance(v, str))}
        base = dialect.rstrip("#")
        if base == "http://json-schema.org/draft-03/schema":
            from jsonschema import Draft3Validator

            for err in Draft3Validator(Draft3Validator.META_SCHEMA).iter_errors(probe):
                self.out.append(SpecError(f"invalid schema: {err.message}", where))
            return
        # The OAS base dialects are JSON Schema 2020-12 plus annotation keywords.
        probe["$schema"] = base + "#" if "json-schema.org/draft-0" in base else (
            base if base.startswith("https://json-schema.org/") else "https://json-schema.org/draft/2020-12/schema")
        try:
            jsonschema_rs.meta.validate(probe)
        except jsonschema_rs.ValidationError as exc:
            self.out.append(SpecError(f"invalid schema: {_rs_message(exc)}", where))
        except Exception as exc:  # a dialect jsonschema-rs does not know
            self.out.append(SpecError(f"invalid schema: {exc}", where))

    def _value(self, schema: dict[str, Any], value: Any, where: str, what: str) -> None:
        for message in _ValueValidator.for_doc(self.data, self.kind).errors(schema, value):
            self.out.append(SpecError(f"{what} does not match its schema: {message}", where))


class _ValueValidator:
    """Checks values (defaults, examples) against schemas of a spec with jsonschema-rs.

    OpenAPI 2.0/3.0 schemas are not quite JSON Schema (``nullable``, ``x-nullable``), so the
    schema is translated first; refs into the document are inlined lazily via a registry.
    """

    _cache: dict[tuple[int, str], "_ValueValidator"] = {}

    def __init__(self, data: dict[str, Any], kind: str) -> None:
        self.data = data
        self.kind = kind
        self._registry: Any = None
        self._compiled: dict[int, Any] = {}

    @classmethod
    def for_doc(cls, data: dict[str, Any], kind: str) -> "_ValueValidator":
        key = (id(data), kind)
        found = cls._cache.get(key)
        if found is None or found.data is not data:
            cls._cache.clear()
            found = cls._cache[key] = cls(data, kind)
        return found

    def errors(self, schema: dict[str, Any], value: Any) -> list[str]:
        validator = self._compiled.get(id(schema))
        if validator is None:
            validator = self._compile(schema)
            self._compiled[id(schema)] = validator
        if validator is None:
            return []
        out = []
        for err in validator.iter_errors(value):
            at = join_pointer(list(err.instance_path))
            out.append(_rs_message(err) + (f" (at {at})" if at else ""))
            if len(out) >= 5:
                break
        return out

    def _compile(self, schema: dict[str, Any]) -> Any:
        import jsonschema_rs

        legacy = self.kind in ("openapi-2.0", "openapi-3.0")
        if self._registry is None:
            doc = _to_json_schema(self.data) if legacy else self.data
            self._registry = jsonschema_rs.Registry([("urn:gitcoord:spec", doc)])
        body = _to_json_schema(schema) if legacy else dict(schema)
        body = _rebase_refs(body)
        body["$schema"] = "http://json-schema.org/draft-04/schema#" if legacy else "https://json-schema.org/draft/2020-12/schema"
        try:
            return jsonschema_rs.validator_for(body, registry=self._registry)
        except Exception:
            return None  # the schema itself is broken: reported by the schema checks


def _stringify_keys(node: Any) -> Any:
    if isinstance(node, dict):
        return {str(k): _stringify_keys(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_stringify_keys(v) for v in node]
    return node


def _to_json_schema(node: Any) -> Any:
    """OpenAPI 2.0/3.0 schema dialect -> JSON Schema draft 4 (nullable becomes a null type)."""
    if isinstance(node, list):
        return [_to_json_schema(v) for v in node]
    if not isinstance(node, dict):
        return node
    out = {k: _to_json_schema(v) for k, v in node.items()}
    if out.get("nullable") is True or out.get("x-nullable") is True:
        kind = out.get("type")
        if isinstance(kind, str):
            out["type"] = [kind, "null"]
            if isinstance(out.get("enum"), list) and None not in out["enum"]:
                out["enum"] = out["enum"] + [None]
        elif kind is None:
            rest = {k: v for k, v in out.items() if k not in ("nullable", "x-nullable")}
            return {"anyOf": [{"type": "null"}, rest]}
    return out


def _rebase_refs(node: Any) -> Any:
    """Point local refs (``#/...``) at the registered spec document."""
    if isinstance(node, list):
        return [_rebase_refs(v) for v in node]
    if not isinstance(node, dict):
        return node
    out = {k: _rebase_refs(v) for k, v in node.items()}
    ref = out.get("$ref")
    if isinstance(ref, str) and ref.startswith("#"):
        out["$ref"] = "urn:gitcoord:spec" + ref
    return out


class _ExampleChecker:
    """``example``/``examples`` values against the schema they illustrate."""

    def __init__(self, data: dict[str, Any], kind: str) -> None:
        self.data = data
        self.kind = kind
        self.out: list[SpecError] = []
        self.values = _ValueValidator.for_doc(data, kind)

    def errors(self) -> list[SpecError]:
        if not _has_rs():
            return []
        stack: list[tuple[Any, str, str]] = [(self.data, "", "")]
        while stack:
            node, where, parent_key = stack.pop()
            if isinstance(node, dict):
                self._check(node, where, parent_key)
                for key, value in node.items():
                    if isinstance(value, (dict, list)) and key not in ("example", "examples", "default", "enum", "const"):
                        stack.append((value, f"{where}/{_esc(key)}", str(key)))
            elif isinstance(node, list):
                for index, value in enumerate(node):
                    if isinstance(value, (dict, list)):
                        stack.append((value, f"{where}/{index}", parent_key))
        return self.out

    def _deref(self, node: Any) -> Any:
        from gitcoord.contracts.refs import resolve_pointer

        for _ in range(64):
            if not (isinstance(node, dict) and isinstance(node.get("$ref"), str) and node["$ref"].startswith("#")):
                return node
            try:
                node = resolve_pointer(self.data, node["$ref"][1:])
            except KeyError:
                return None
        return None

    def _check(self, node: dict[str, Any], where: str, parent_key: str) -> None:
        # A schema object carrying its own example(s).
        looks_like_schema = parent_key in ("schema", "schemas", "properties", "items", "definitions", "additionalProperties") or "type" in node
        if "example" in node and looks_like_schema and "schema" not in node:
            self._one(node, node["example"], where + "/example")
        if "examples" in node and isinstance(node["examples"], list) and looks_like_schema:
            for index, value in enumerate(node["examples"]):
                self._one(node, value, f"{where}/examples/{index}")
        # A media type or parameter: example(s) illustrate its ``schema``.
        schema = self._deref(node.get("schema")) if isinstance(node.get("schema"), dict) else None
        if schema is not None and isinstance(schema, dict):
            if "example" in node:
                self._one(schema, node["example"], where + "/example")
            examples = node.get("examples")
            if isinstance(examples, dict) and self.kind != "openapi-2.0":
                for name, example in examples.items():
                    example = self._deref(example)
                    if isinstance(example, dict) and "value" in example:
                        self._one(schema, example["value"], f"{where}/examples/{_esc(name)}/value")
            elif isinstance(examples, dict) and self.kind == "openapi-2.0" and parent_key != "responses":
                for mime, value in examples.items():
                    if "json" in str(mime):
                        self._one(schema, value, f"{where}/examples/{_esc(mime)}")

    def _one(self, schema: Any, value: Any, where: str) -> None:
        if not isinstance(schema, dict):
            return
        for message in self.values.errors(schema, value):
            self.out.append(SpecError(f"example does not match its schema: {message}", where))


def _validate_json_schema(data: Any) -> Iterator[SpecError]:
    from jsonschema.validators import validator_for

    cls = validator_for(data)
    meta = cls(cls.META_SCHEMA)
    found = False
    for err in meta.iter_errors(data):
        found = True
        yield SpecError(f"invalid JSON Schema: {err.message}", join_pointer(list(err.absolute_path)))
    if found:
        return
    checker = cls(data)
    for key in ("examples", "default"):
        values = data.get(key) if isinstance(data, dict) else None
        if key == "default" and isinstance(data, dict) and "default" in data:
            values = [values]
        if isinstance(values, list):
            for index, value in enumerate(values):
                for err in checker.iter_errors(value):
                    at = join_pointer(list(err.absolute_path))
                    pointer = f"/{key}/{index}" if key == "examples" else "/default"
                    yield SpecError(f"{key[:-1] if key == 'examples' else key} does not match the schema: {err.message}" + (f" (at {at})" if at else ""), pointer)


def _reference_errors(doc: "Document", kind: str) -> Iterator[SpecError]:
    """openapi-spec-validator's own validator, iterated so every error is reported."""
    from openapi_spec_validator import (
        OpenAPIV2SpecValidator,
        OpenAPIV30SpecValidator,
        OpenAPIV31SpecValidator,
        OpenAPIV32SpecValidator,
    )

    classes = {
        "openapi-2.0": OpenAPIV2SpecValidator,
        "openapi-3.0": OpenAPIV30SpecValidator,
        "openapi-3.1": OpenAPIV31SpecValidator,
        "openapi-3.2": OpenAPIV32SpecValidator,
    }
    from pathlib import Path

    base_uri = Path(doc.path).resolve().as_uri() if doc.path and Path(doc.path).exists() else ""
    validator = classes[kind](_stringify_keys(doc.data), base_uri=base_uri)
    try:
        for err in validator.iter_errors():
            path = list(getattr(err, "absolute_path", None) or getattr(err, "path", None) or [])
            yield SpecError(str(getattr(err, "message", err)), join_pointer(path))
    except Exception as exc:  # unresolvable refs surface as exceptions from jsonschema_path
        yield SpecError(f"{type(exc).__name__}: {exc}", "")
