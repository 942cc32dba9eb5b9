"""Contract tests: call a running provider with requests built from the contract and check
that every answer is one the contract documents (status, media type, body schema).

Inputs come from the contract's examples; where a required parameter or a body has none,
a value is generated from its schema (``sample.example_for``: deterministic, no extra
dependency, the same generator the mock answers with). Every operation with a JSON request
body also gets a negative case — a body the schema rejects — which must be answered with a
4xx. A run that calls nothing is a failure, and the report says how many operations were
covered out of how many.

This is what tells a provider it still honours what its consumers were promised. Only
the given base URL is ever called: redirects are not followed and proxies are bypassed.
"""

from __future__ import annotations

import json
import socket
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass, field
from typing import Any, Mapping
from urllib.parse import quote, urlencode, urlsplit

from gitcoord.contracts.mock import ContractModel, Operation, Parameter, _pick_media, is_json_media
from gitcoord.contracts.sample import escape_pointer_token, example_for
from gitcoord.errors import RemoteError, UsageError

# Safe calls first, deletes last, so one case does not remove what a later one reads.
_METHOD_ORDER = {"get": 0, "head": 0, "options": 0, "post": 1, "put": 2, "patch": 2, "delete": 3, "trace": 4}


@dataclass
class Mismatch:
    path: str  # JSON path into the body ($.items[0].price), or status / header.<Name> / request
    message: str


@dataclass
class CaseResult:
    operation: str
    method: str
    url: str
    status: int
    ok: bool
    mismatches: list[Mismatch] = field(default_factory=list)
    example: str | None = None  # the named request-body example used, if any
    source: str = "example"  # example | generated (inputs from the schemas) | negative (an invalid body)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class SkippedOperation:
    operation: str
    method: str
    path: str
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class ConformanceReport:
    base_url: str
    results: list[CaseResult] = field(default_factory=list)
    skipped: list[SkippedOperation] = field(default_factory=list)
    total_operations: int = 0

    @property
    def covered(self) -> int:
        """Operations called at least once."""
        return len({(r.method, r.operation) for r in self.results})

    @property
    def ok(self) -> bool:
        """Every answer conforms, and something was tested: a run that calls nothing proves nothing."""
        return bool(self.results) and all(result.ok for result in self.results)

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "base_url": self.base_url,
            "passed": sum(1 for r in self.results if r.ok),
            "failed": sum(1 for r in self.results if not r.ok),
            "operations": {"covered": self.covered, "total": self.total_operations},
            "results": [r.to_dict() for r in self.results],
            "skipped": [s.to_dict() for s in self.skipped],
        }


@dataclass
class _Case:
    op: Operation
    url: str
    headers: dict[str, str]
    body: bytes | None
    example: str | None
    source: str = "example"


def run_contract_tests(spec: dict, base_url: str, *, timeout: float = 10,
                       headers: Mapping[str, str] | None = None) -> ConformanceReport:
    """Call each operation (inputs from examples, else generated) and check the answers.

    ``headers`` are sent with every request (e.g. an ``Authorization`` for the provider).
    """
    parts = urlsplit(base_url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise UsageError(f"--base-url {base_url!r}: expected http(s)://host[:port][/base-path]")
    model = ContractModel(spec)
    report = ConformanceReport(base_url=base_url)
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}), _NoRedirect())
    operations = sorted(model.operations, key=lambda op: (_METHOD_ORDER.get(op.method, 5), op.path))
    report.total_operations = len(operations)
    for op in operations:
        cases, reason = _cases_for(model, op, base_url.rstrip("/"), dict(headers or {}))
        if reason is not None:
            report.skipped.append(SkippedOperation(op.label, op.method.upper(), op.path, reason))
            continue
        for case in cases:
            report.results.append(_run_case(model, case, opener, timeout))
    return report


def _generate(model: ContractModel, schema: Any, what: str) -> tuple[bool, Any]:
    """(found, value) generated from ``schema``; False when the generator cannot make one."""
    try:
        return True, example_for(schema if isinstance(schema, dict) else {}, model.spec)
    except UsageError:
        return False, f"cannot generate a value for {what} (its schema has an unresolvable $ref)"


# --------------------------------------------------------------------------- building requests


def _cases_for(model: ContractModel, op: Operation, base: str, extra_headers: dict[str, str]) -> tuple[list[_Case], str | None]:
    path = op.path
    query: list[tuple[str, str]] = []
    headers = dict(extra_headers)
    cookies: list[str] = []
    generated = False
    for param in op.parameters:
        if not param.required:
            continue
        found, value = param.example()
        if not found:
            found, value = _generate(model, param.schema, f"{param.location} parameter {param.name!r}")
            if not found:
                return [], value
            generated = True
        if param.location == "path":
            path = path.replace("{" + param.name + "}", quote(_text(value, param), safe=""))
        elif param.location == "query":
            if isinstance(value, list) and param.explode:
                query.extend((param.name, _text(item, param)) for item in value)
            else:
                query.append((param.name, _text(value, param)))
        elif param.location == "header":
            headers.setdefault(param.name, _text(value, param))
        else:
            cookies.append(f"{param.name}={_text(value, param)}")
    if cookies:
        headers["Cookie"] = "; ".join(cookies)
    accept = _documented_media(model, op)
    if accept:
        headers.setdefault("Accept", ", ".join(accept))
    url = base + path + ("?" + urlencode(query) if query else "")
    bodies: list[tuple[str | None, str | None, bytes | None, bool]] = [(None, None, None, False)]
    negative: tuple[str, bytes, str] | None = None
    if op.body is not None:
        examples = op.body.examples(model.spec)
        if examples:
            bodies = [(name, media_type, _encode_body(media_type, value), False) for name, media_type, value in examples]
        else:
            made = _generated_body(model, op)
            if made is not None:
                bodies = [(None, made[0], _encode_body(made[0], made[1]), True)]
            elif op.body.required:
                return [], "no example request body, and none can be generated (no JSON schema for it)"
        negative = _invalid_body(model, op)
    cases = []
    for name, media_type, payload, made_up in bodies:
        case_headers = dict(headers)
        if media_type is not None:
            case_headers["Content-Type"] = media_type if media_type != "*/*" else "application/json"
        source = "generated" if generated or made_up else "example"
        cases.append(_Case(op, url, case_headers, payload, name, source))
    if negative is not None:
        media_type, payload, why = negative
        cases.append(_Case(op, url, {**headers, "Content-Type": media_type}, payload, why, "negative"))
    return cases, None


def _json_body_media(op: Operation) -> tuple[str, str] | None:
    """(media type, schema pointer) of the operation's first JSON request body with a schema."""
    for media_type, (_media, pointer) in (op.body.media.items() if op.body else []):
        if pointer is not None and (is_json_media(media_type) or media_type == "*/*"):
            return ("application/json" if media_type == "*/*" else media_type), pointer
    return None


def _json_body_schema(model: ContractModel, op: Operation) -> tuple[str, str, Any] | None:
    """(media type, JSON pointer, schema) of the operation's JSON request body, or None."""
    found = _json_body_media(op)
    if found is None:
        return None
    media_type, pointer = found
    from gitcoord.contracts.refs import resolve_pointer

    try:
        return media_type, pointer, resolve_pointer(model.spec, pointer)
    except KeyError:
        return None


def _generated_body(model: ContractModel, op: Operation) -> tuple[str, Any] | None:
    """A body generated from the JSON schema, when the generator's value passes that schema."""
    found = _json_body_schema(model, op)
    if found is None:
        return None
    media_type, pointer, schema = found
    ok, value = _generate(model, schema, "the request body")
    if not ok or model.schema_errors(value, pointer=pointer):
        return None
    return media_type, value


def _invalid_body(model: ContractModel, op: Operation) -> tuple[str, bytes, str] | None:
    """(media type, body, what is wrong) for a JSON body the schema rejects; None if none is found.

    Candidates: the valid body with a required property dropped, then values of the wrong
    type; the first that the contract's own schema check rejects is used.
    """
    found = _json_body_schema(model, op)
    if found is None:
        return None
    media_type, pointer, schema = found
    ok, valid = _generate(model, schema, "the request body")
    candidates: list[tuple[Any, str]] = []
    if ok and isinstance(valid, dict):
        for name in sorted(valid):
            candidates.append(({k: v for k, v in valid.items() if k != name}, f"invalid: without {name!r}"))
    candidates += [("not an object", "invalid: a string"), (12345, "invalid: a number"), ([], "invalid: an array"),
                   ({}, "invalid: an empty object"), (None, "invalid: null")]
    for value, why in candidates:
        if model.schema_errors(value, pointer=pointer):
            return media_type, json.dumps(value).encode(), why
    return None


def _text(value: Any, param: Parameter) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ",".join(_text(item, param) for item in value)
    if isinstance(value, (dict,)) or param.json_content:
        return json.dumps(value)
    return str(value)


def _encode_body(media_type: str, value: Any) -> bytes:
    if isinstance(value, str) and not is_json_media(media_type):
        return value.encode()
    return json.dumps(value).encode()


def _documented_media(model: ContractModel, op: Operation) -> list[str]:
    if model.version == "2.0":
        return list(op.produces)
    seen: list[str] = []
    for response, _pointer in op.responses.values():
        for media_type in response.get("content") or {}:
            if media_type not in seen:
                seen.append(media_type)
    return seen


# --------------------------------------------------------------------------- checking answers


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """Never follow a redirect: only the given base URL may be called."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def _run_case(model: ContractModel, case: _Case, opener: urllib.request.OpenerDirector, timeout: float) -> CaseResult:
    op = case.op
    request = urllib.request.Request(case.url, data=case.body, method=op.method.upper(), headers=case.headers)
    try:
        with opener.open(request, timeout=timeout) as answer:
            status, answer_headers, body = answer.status, answer.headers, answer.read()
    except urllib.error.HTTPError as answer:
        status, answer_headers, body = answer.code, answer.headers, answer.read()
    except urllib.error.URLError as exc:
        if isinstance(exc.reason, (socket.timeout, TimeoutError)):
            return _failed(case, 0, [Mismatch("request", f"no answer within {timeout:g} s")])
        raise RemoteError(f"--base-url {case.url}: cannot connect ({exc.reason}); is the provider running?") from exc
    except (socket.timeout, TimeoutError):
        return _failed(case, 0, [Mismatch("request", f"no answer within {timeout:g} s")])
    if case.source == "negative":
        mismatches = _check_rejection(model, op, status, answer_headers, body, case.example or "invalid body")
    else:
        mismatches = _check_answer(model, op, status, answer_headers, body)
    return CaseResult(op.label, op.method.upper(), case.url, status, not mismatches, mismatches, case.example,
                      case.source)


def _failed(case: _Case, status: int, mismatches: list[Mismatch]) -> CaseResult:
    return CaseResult(case.op.label, case.op.method.upper(), case.url, status, False, mismatches, case.example,
                      case.source)


def _check_rejection(model: ContractModel, op: Operation, status: int, headers: Any, body: bytes,
                     why: str) -> list[Mismatch]:
    """An invalid body must be refused with a 4xx; a documented 4xx answer must match its schema."""
    if not 400 <= status < 500:
        return [Mismatch("status", f"a request body the contract rejects ({why.removeprefix('invalid: ')}) was "
                                   f"answered {status}; expected a 4xx")]
    if op.response_key_for(status) is None:
        return []  # the contract says nothing about this error: any 4xx refusal will do
    return _check_answer(model, op, status, headers, body)


def _check_answer(model: ContractModel, op: Operation, status: int, headers: Any, body: bytes) -> list[Mismatch]:
    key = op.response_key_for(status)
    if key is None:
        documented = ", ".join(op.responses) or "none"
        return [Mismatch("status", f"status {status} is not documented for {op.label}; documented: {documented}")]
    response, pointer = op.responses[key]
    mismatches: list[Mismatch] = []
    if model.version != "2.0":
        for name, header in (response.get("headers") or {}).items():
            if isinstance(header, dict) and header.get("required") and headers.get(name) is None:
                mismatches.append(Mismatch(f"header.{name}", "required response header is missing"))
    content_type = (headers.get("Content-Type") or "").split(";", 1)[0].strip().lower()
    if model.version == "2.0":
        if "schema" not in response:
            return mismatches
        media_type = _pick_media({mt: None for mt in op.produces}, content_type) if content_type else None
        schema_pointer: str | None = f"{pointer}/schema"
        documented = list(op.produces)
    else:
        content = response.get("content") or {}
        if not content:
            return mismatches
        media_type = _pick_media(content, content_type) if content_type else None
        schema_pointer = (f"{pointer}/content/{escape_pointer_token(media_type)}/schema"
                          if media_type is not None and isinstance(content[media_type], dict) and "schema" in content[media_type]
                          else None)
        documented = list(content)
    if media_type is None:
        mismatches.append(Mismatch("header.Content-Type",
                                   f"{content_type or 'no Content-Type'} is not documented for status {key} of "
                                   f"{op.label}; documented: {', '.join(documented)}"))
        return mismatches
    if schema_pointer is None or not (is_json_media(media_type) or is_json_media(content_type)):
        return mismatches
    try:
        document = json.loads(body)
    except ValueError as exc:
        mismatches.append(Mismatch("$", f"body is not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno})"))
        return mismatches
    for where, message in model.schema_errors(document, pointer=schema_pointer):
        mismatches.append(Mismatch(where, message))
    return mismatches
