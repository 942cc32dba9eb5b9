"""One pair per diff rule added for issue 13 (with test_diff_rules.py: every rule has a pair).

Each pair fires its rule at its level, is no change against itself, and (unless symmetric) does
not fire the rule the way back. Docs list every rule with its level and reason.
"""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

import pytest

from gitcoord.contracts.diff import REASONS, RULES, diff_specs
from gitcoord.contracts.diff_rules import REQUEST_SUFFIXES, RESPONSE_SUFFIXES, SCHEMA_PREFIXES

OK = {"200": {"description": "ok"}}
S = {"type": "string"}
PAST, FUTURE = "2000-01-01", "2999-01-01"


def oas(paths: dict | None = None, version: str = "3.0.3", **top: Any) -> dict:
    return {"openapi": version, "info": {"title": "t", "version": "1"}, "paths": paths or {}, **top}


def one(operation: dict | None = None, path: str = "/pets", method: str = "get", **top: Any) -> dict:
    return oas({path: {method: {"responses": copy.deepcopy(OK), **(operation or {})}}}, **top)


def obj(props: dict, required: list[str] | None = None, **extra: Any) -> dict:
    out: dict[str, Any] = {"type": "object", "properties": props, **extra}
    if required:
        out["required"] = required
    return out


def body(schema: dict, mime: str = "application/json") -> dict:
    return {"requestBody": {"content": {mime: {"schema": schema}}}}


def response(schema: dict, code: str = "200", mime: str = "application/json", **extra: Any) -> dict:
    return {"responses": {code: {"description": "ok", "content": {mime: {"schema": schema}}, **extra}}}


def qparam(schema: dict, **extra: Any) -> dict:
    return {"parameters": [{"name": "q", "in": "query", "schema": schema, **extra}]}


def headers(**hs: dict) -> dict:
    return {"responses": {"200": {"description": "ok", "headers": hs}}}


def secured(requirements: list[dict], schemes: dict | None = None) -> dict:
    schemes = schemes or {n: {"type": "apiKey", "in": "header", "name": n} for r in requirements for n in r}
    return one({"security": requirements}, components={"securitySchemes": schemes})


def schemes(**defs: dict) -> dict:
    return one(components={"securitySchemes": defs})


def webhooks(hooks: dict) -> dict:
    return oas(version="3.1.0", webhooks=hooks)


def hook(schema: dict | None = None, **op: Any) -> dict:
    return {"post": {"responses": copy.deepcopy(OK), **(body(schema) if schema else {}), **op}}


I = {"type": "integer"}
ARR = {"type": "array", "items": S}
OAUTH = {"type": "oauth2", "flows": {"clientCredentials": {"tokenUrl": "https://a/token", "scopes": {"read": "r"}}}}

CASES: dict[str, tuple[dict, dict, str | None]] = {
    "path-removed-before-sunset": (
        oas({"/a": {"get": {"deprecated": True, "x-sunset": FUTURE, "responses": OK}}, "/b": {"get": {"responses": OK}}}),
        oas({"/b": {"get": {"responses": OK}}}), None),
    "path-deprecated-removed": (
        oas({"/a": {"get": {"deprecated": True, "x-sunset": PAST, "responses": OK}}, "/b": {"get": {"responses": OK}}}),
        oas({"/b": {"get": {"responses": OK}}}), None),
    "operation-removed-before-sunset": (
        oas({"/a": {"get": {"responses": OK}, "post": {"deprecated": True, "x-sunset": FUTURE, "responses": OK}}}),
        oas({"/a": {"get": {"responses": OK}}}), None),
    "operation-deprecated-removed": (
        oas({"/a": {"get": {"responses": OK}, "post": {"deprecated": True, "responses": OK}}}),
        oas({"/a": {"get": {"responses": OK}}}), None),
    "operation-sunset-changed": (
        oas({"/a": {"get": {"deprecated": True, "x-sunset": FUTURE, "responses": OK}}}),
        oas({"/a": {"get": {"deprecated": True, "x-sunset": "2998-01-01", "responses": OK}}}), None),
    "operation-stability-decreased": (
        oas({"/a": {"get": {"x-stability-level": "beta", "responses": OK}}}), oas({"/a": {"get": {"x-stability-level": "alpha", "responses": OK}}}), None),
    "operation-stability-increased": (
        oas({"/a": {"get": {"x-stability-level": "beta", "responses": OK}}}), oas({"/a": {"get": {"responses": OK}}}), None),
    "request-parameter-sunset-changed": (
        one({"parameters": [{"name": "q", "in": "query", "deprecated": True, "x-sunset": FUTURE, "schema": S}]}),
        one({"parameters": [{"name": "q", "in": "query", "deprecated": True, "schema": S}]}), None),
    "request-deprecated-property-removed": (
        one(body(obj({"a": S, "b": {**S, "deprecated": True}})), method="post"), one(body(obj({"a": S})), method="post"), None),
    "response-deprecated-property-removed": (
        one(response(obj({"a": S, "b": {**S, "deprecated": True, "x-sunset": PAST}}, ["b"]))), one(response(obj({"a": S}))), None),
    "response-media-type-generalised": (
        one(response(obj({"a": S}), mime="application/problem+json")), one(response(obj({"a": S}))), None),
    "webhook-removed": (webhooks({"a": hook(), "b": hook()}), webhooks({"a": hook()}), None),
    "webhook-deprecated-removed": (webhooks({"a": hook(), "b": hook(deprecated=True, **{"x-sunset": PAST})}), webhooks({"a": hook()}), None),
    "webhook-added": (webhooks({"a": hook()}), webhooks({"a": hook(), "b": hook()}), None),
    "request-parameter-removed-before-sunset": (
        one({"parameters": [{"name": "q", "in": "query", "deprecated": True, "x-sunset": FUTURE, "schema": S}]}), one(), None),
    "request-parameter-deprecated-removed": (one({"parameters": [{"name": "q", "in": "query", "deprecated": True, "schema": S}]}), one(), None),
    "request-parameter-style-changed": (one(qparam(ARR)), one(qparam(ARR, style="pipeDelimited")), None),
    "request-parameter-explode-changed": (one(qparam(ARR)), one(qparam(ARR, explode=False)), None),
    "request-parameter-allow-empty-value-removed": (one(qparam(S, allowEmptyValue=True)), one(qparam(S)), None),
    "request-parameter-allow-empty-value-added": (one(qparam(S)), one(qparam(S, allowEmptyValue=True)), None),
    "request-body-media-type-changed": (
        one(body(obj({"a": S})), method="post"), one(body(obj({"a": S}), "application/merge-patch+json"), method="post"), None),
    "request-property-became-read-only": (
        one(body(obj({"a": S})), method="post"), one(body(obj({"a": {**S, "readOnly": True}})), method="post"), None),
    "request-property-became-not-read-only": (
        one(body(obj({"a": {**S, "readOnly": True}}, ["a"])), method="post"), one(body(obj({"a": S}, ["a"])), method="post"), None),
    "request-body-schema-added": (
        one({"requestBody": {"content": {"application/json": {}}}}, method="post"), one(body(obj({"a": S})), method="post"), None),
    "response-body-schema-removed": (one(response(obj({"a": S}))), one({"responses": {"200": {"description": "ok", "content": {"application/json": {}}}}}), None),
    "response-default-removed": (
        one({"responses": {"200": {"description": "ok"}, "default": {"description": "e"}}}), one(), None),
    "response-media-type-changed": (one(response(obj({"a": S}))), one(response(obj({"a": S}), mime="application/problem+json")), None),
    "response-optional-property-removed": (one(response(obj({"a": S, "b": S}))), one(response(obj({"a": S}))), None),
    "response-property-became-write-only": (one(response(obj({"a": S}))), one(response(obj({"a": {**S, "writeOnly": True}}))), None),
    "response-property-became-not-write-only": (one(response(obj({"a": {**S, "writeOnly": True}}))), one(response(obj({"a": S}))), None),
    "response-required-header-removed": (one(headers(**{"X-Id": {"required": True, "schema": S}})), one(), None),
    "response-header-style-changed": (
        one(headers(**{"X-Id": {"schema": {"type": "array", "items": S}}})), one(headers(**{"X-Id": {"schema": {"type": "array", "items": S}, "explode": True}})), None),
    "response-header-became-optional": (
        one(headers(**{"X-Id": {"required": True, "schema": S}})), one(headers(**{"X-Id": {"schema": S}})), None),
    "security-requirement-scheme-added": (secured([{"a": []}]), secured([{"a": [], "b": []}]), None),
    "security-requirement-relaxed": (secured([{"a": [], "b": []}]), secured([{"a": []}], {"a": {"type": "apiKey", "in": "header", "name": "a"}, "b": {"type": "apiKey", "in": "header", "name": "b"}}), None),
    "security-alternative-added": (
        secured([{"a": []}], {"a": {"type": "apiKey", "in": "header", "name": "a"}, "b": {"type": "apiKey", "in": "header", "name": "b"}}),
        secured([{"a": []}, {"b": []}]), None),
    "security-scheme-added": (schemes(a={"type": "http", "scheme": "basic"}), schemes(a={"type": "http", "scheme": "basic"}, b={"type": "http", "scheme": "basic"}), None),
    "security-scheme-removed": (schemes(a={"type": "http", "scheme": "basic"}, b={"type": "http", "scheme": "basic"}), schemes(a={"type": "http", "scheme": "basic"}), None),
    "security-scheme-type-changed": (schemes(a={"type": "http", "scheme": "basic"}), schemes(a={"type": "apiKey", "in": "header", "name": "k"}), None),
    "security-scheme-in-changed": (schemes(a={"type": "apiKey", "in": "header", "name": "k"}), schemes(a={"type": "apiKey", "in": "query", "name": "k"}), None),
    "security-scheme-name-changed": (schemes(a={"type": "apiKey", "in": "header", "name": "k"}), schemes(a={"type": "apiKey", "in": "header", "name": "key"}), None),
    "security-scheme-scheme-changed": (schemes(a={"type": "http", "scheme": "basic"}), schemes(a={"type": "http", "scheme": "bearer"}), None),
    "security-scheme-bearer-format-changed": (
        schemes(a={"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}), schemes(a={"type": "http", "scheme": "bearer", "bearerFormat": "opaque"}), None),
    "security-scheme-flow-url-changed": (
        schemes(a=OAUTH), schemes(a={"type": "oauth2", "flows": {"clientCredentials": {"tokenUrl": "https://b/token", "scopes": {"read": "r"}}}}), None),
    "security-scheme-flow-removed": (
        schemes(a={"type": "oauth2", "flows": {**OAUTH["flows"], "implicit": {"authorizationUrl": "https://a/auth", "scopes": {}}}}), schemes(a=OAUTH), None),
    "security-scheme-flow-added": (
        schemes(a=OAUTH), schemes(a={"type": "oauth2", "flows": {**OAUTH["flows"], "implicit": {"authorizationUrl": "https://a/auth", "scopes": {}}}}), None),
    "security-scheme-scope-removed": (
        schemes(a=OAUTH), schemes(a={"type": "oauth2", "flows": {"clientCredentials": {"tokenUrl": "https://a/token", "scopes": {}}}}), None),
    "security-scheme-scope-added": (
        schemes(a={"type": "oauth2", "flows": {"clientCredentials": {"tokenUrl": "https://a/token", "scopes": {}}}}), schemes(a=OAUTH), None),
    "security-scheme-openid-url-changed": (
        schemes(a={"type": "openIdConnect", "openIdConnectUrl": "https://a/.well-known"}),
        schemes(a={"type": "openIdConnect", "openIdConnectUrl": "https://b/.well-known"}), None),
}

MAPPED = {"type": "object", "properties": {"kind": S}, "discriminator": {"propertyName": "kind", "mapping": {"cat": "#/components/schemas/Cat"}}}
REQUEST_PAIRS: dict[str, tuple[dict, dict]] = {
    "const-added": (S, {**S, "const": "a"}),
    "const-changed": ({**S, "const": "a"}, {**S, "const": "b"}),
    "const-removed": ({**S, "const": "a"}, S),
    "max-properties-decreased": ({"type": "object", "maxProperties": 5}, {"type": "object", "maxProperties": 3}),
    "min-properties-increased": ({"type": "object", "minProperties": 1}, {"type": "object", "minProperties": 2}),
    "max-contains-decreased": ({**ARR, "contains": S, "maxContains": 5}, {**ARR, "contains": S, "maxContains": 3}),
    "min-contains-increased": ({**ARR, "contains": S, "minContains": 1}, {**ARR, "contains": S, "minContains": 2}),
    "max-set": (I, {**I, "maximum": 10}),
    "min-set": (I, {**I, "minimum": 1}),
    "max-length-set": (S, {**S, "maxLength": 10}),
    "min-length-set": (S, {**S, "minLength": 1}),
    "max-items-set": (ARR, {**ARR, "maxItems": 10}),
    "min-items-set": (ARR, {**ARR, "minItems": 1}),
    "max-properties-set": ({"type": "object"}, {"type": "object", "maxProperties": 3}),
    "min-properties-set": ({"type": "object"}, {"type": "object", "minProperties": 1}),
    "max-contains-set": ({**ARR, "contains": S}, {**ARR, "contains": S, "maxContains": 3}),
    "min-contains-set": ({**ARR, "contains": S}, {**ARR, "contains": S, "minContains": 2}),
    "multiple-of-changed": ({**I, "multipleOf": 2}, {**I, "multipleOf": 4}),
    "multiple-of-set": (I, {**I, "multipleOf": 2}),
    "unique-items-added": (ARR, {**ARR, "uniqueItems": True}),
    "pattern-added": (S, {**S, "pattern": "^a"}),
    "pattern-removed": ({**S, "pattern": "^a"}, S),
    "contains-added": (ARR, {**ARR, "contains": {"const": "x"}}),
    "dependent-required-added": ({"type": "object"}, {"type": "object", "dependentRequired": {"a": ["b"]}}),
    "dependent-schema-added": ({"type": "object"}, {"type": "object", "dependentSchemas": {"a": {"required": ["b"]}}}),
    "conditional-added": ({"type": "object"}, {"type": "object", "if": {"required": ["a"]}, "then": {"required": ["b"]}}),
    "conditional-changed": ({"if": {"required": ["a"]}, "then": {"required": ["b"]}}, {"if": {"required": ["c"]}, "then": {"required": ["b"]}}),
    "pattern-properties-added": ({"type": "object"}, {"type": "object", "patternProperties": {"^x-": S}}),
    "prefix-items-added": ({"type": "array"}, {"type": "array", "prefixItems": [S]}),
    "property-names-added": ({"type": "object"}, {"type": "object", "propertyNames": {"maxLength": 3}}),
    "unevaluated-restricted": ({"type": "object"}, {"type": "object", "unevaluatedProperties": False}),
    "content-changed": ({**S, "contentEncoding": "base64"}, {**S, "contentEncoding": "base32"}),
    "not-narrowed": (S, {**S, "not": {"const": "x"}}),
    "all-of-added": ({"type": "object"}, {"type": "object", "allOf": [{"required": ["id"]}]}),
    "discriminator-property-changed": (MAPPED, {**MAPPED, "discriminator": {**MAPPED["discriminator"], "propertyName": "type"}}),
    "discriminator-mapping-changed": (MAPPED, {**MAPPED, "discriminator": {"propertyName": "kind"}}),
    "discriminator-mapping-added": ({**MAPPED, "discriminator": {"propertyName": "kind"}}, MAPPED),
    "discriminator-changed": ({"type": "object", "properties": {"kind": S}}, MAPPED),
}
RESPONSE_PAIRS: dict[str, tuple[dict, dict]] = {
    "any-of-variant-added": ({"anyOf": [obj({"a": S})]}, {"anyOf": [obj({"a": S}), obj({"b": S})]}),
    "const-added": (S, {**S, "const": "a"}),
    "const-changed": ({**S, "const": "a"}, {**S, "const": "b"}),
    "const-removed": ({**S, "const": "a"}, S),
    "min-decreased": ({**I, "minimum": 5}, {**I, "minimum": 1}),
    "max-increased": ({**I, "maximum": 5}, {**I, "maximum": 10}),
    "min-length-decreased": ({**S, "minLength": 5}, {**S, "minLength": 1}),
    "max-length-increased": ({**S, "maxLength": 5}, {**S, "maxLength": 10}),
    "min-items-decreased": ({**ARR, "minItems": 2}, {**ARR, "minItems": 1}),
    "max-items-increased": ({**ARR, "maxItems": 2}, ARR),
    "min-properties-decreased": ({"type": "object", "minProperties": 2}, {"type": "object", "minProperties": 1}),
    "max-properties-increased": ({"type": "object", "maxProperties": 2}, {"type": "object"}),
    "min-contains-decreased": ({**ARR, "contains": S, "minContains": 2}, {**ARR, "contains": S, "minContains": 1}),
    "max-contains-increased": ({**ARR, "contains": S, "maxContains": 2}, {**ARR, "contains": S, "maxContains": 3}),
    "multiple-of-changed": ({**I, "multipleOf": 4}, {**I, "multipleOf": 2}),
    "unique-items-removed": ({**ARR, "uniqueItems": True}, ARR),
    "pattern-changed": ({**S, "pattern": "^a"}, {**S, "pattern": "^b"}),
    "pattern-removed": ({**S, "pattern": "^a"}, S),
    "pattern-added": (S, {**S, "pattern": "^a"}),
    "contains-removed": ({**ARR, "contains": {"const": "x"}}, ARR),
    "dependent-required-removed": ({"type": "object", "dependentRequired": {"a": ["b"]}}, {"type": "object"}),
    "dependent-schema-removed": ({"type": "object", "dependentSchemas": {"a": {"required": ["b"]}}}, {"type": "object"}),
    "conditional-removed": ({"type": "object", "if": {"required": ["a"]}, "then": {"required": ["b"]}}, {"type": "object"}),
    "conditional-changed": ({"if": {"required": ["a"]}, "then": {"required": ["b"]}}, {"if": {"required": ["c"]}, "then": {"required": ["b"]}}),
    "pattern-properties-removed": ({"type": "object", "patternProperties": {"^x-": S}}, {"type": "object"}),
    "prefix-items-removed": ({"type": "array", "prefixItems": [S]}, {"type": "array"}),
    "property-names-removed": ({"type": "object", "propertyNames": {"maxLength": 3}}, {"type": "object"}),
    "content-changed": ({**S, "contentMediaType": "image/png"}, {**S, "contentMediaType": "image/jpeg"}),
    "not-widened": ({**S, "not": {"const": "x"}}, S),
    "discriminator-property-changed": (MAPPED, {**MAPPED, "discriminator": {**MAPPED["discriminator"], "propertyName": "type"}}),
    "discriminator-mapping-changed": (MAPPED, {**MAPPED, "discriminator": {"propertyName": "kind"}}),
    "discriminator-mapping-added": ({**MAPPED, "discriminator": {"propertyName": "kind"}}, MAPPED),
    "discriminator-changed": ({"type": "object", "properties": {"kind": S}}, MAPPED),
}


def place(prefix: str, schema: dict) -> tuple[dict, str | None]:
    if prefix == "request-parameter":
        return one(qparam(schema)), None
    if prefix == "request-property":
        return one(body(obj({"p": schema})), method="post"), None
    if prefix == "response-property":
        return one(response(obj({"p": schema}))), None
    return obj({"p": schema}), "jsonschema"


for _prefix, _direction in SCHEMA_PREFIXES.items():
    for _suffix, (_old, _new) in (RESPONSE_PAIRS if _direction == "response" else REQUEST_PAIRS).items():
        _o, _kind = place(_prefix, _old)
        _n, _ = place(_prefix, _new)
        CASES.setdefault(f"{_prefix}-{_suffix}", (_o, _n, _kind))

SYMMETRIC = ("changed",)


def test_every_rule_has_a_pair_a_level_and_a_reason() -> None:
    from test_diff_rules import CASES as EARLIER  # the pairs of the rules that predate issue 13

    assert set(CASES) | set(EARLIER) == set(RULES), set(RULES) ^ (set(CASES) | set(EARLIER))
    assert set(REQUEST_PAIRS) | {"type-changed", "format-changed", "enum-narrowed", "enum-widened", "max-decreased", "min-increased",
                                 "max-length-decreased", "min-length-increased", "max-items-decreased", "min-items-increased",
                                 "pattern-changed", "became-not-nullable", "variant-removed"} == set(REQUEST_SUFFIXES)
    assert set(RESPONSE_PAIRS) | {"type-changed", "format-changed", "enum-widened", "enum-narrowed", "became-nullable", "variant-added"} == set(RESPONSE_SUFFIXES)
    assert all(REASONS[rule] for rule in RULES)


@pytest.mark.parametrize("rule", sorted(CASES))
def test_rule_fires(rule: str) -> None:
    old, new, kind = CASES[rule]
    result = diff_specs(old, new, kind=kind)
    fired = {c.id: c for c in result.changes}
    assert rule in fired, [c.to_dict() for c in result.changes]
    assert fired[rule].level == RULES[rule]
    assert "None" not in fired[rule].message
    assert diff_specs(new, new, kind=kind).changes == []
    if not rule.endswith(SYMMETRIC):
        assert rule not in {c.id for c in diff_specs(new, old, kind=kind).changes}


def test_docs_list_every_rule_with_its_level() -> None:
    text = (Path(__file__).resolve().parents[2] / "docs" / "contracts.md").read_text()

    def rows(section: str) -> dict[str, str]:
        part = text.split(f"<!-- rules:{section} -->", 1)[1].split(f"<!-- /rules:{section} -->", 1)[0]
        return dict(re.findall(r"^\| `([a-z0-9-]+)` \| (error|warning|info) \|", part, re.M))

    assert rows("request") == {s: level for s, (level, _) in REQUEST_SUFFIXES.items()}
    assert rows("response") == {s: level for s, (level, _) in RESPONSE_SUFFIXES.items()}
    prefixed = {f"{p}-{s}" for p, d in SCHEMA_PREFIXES.items() for s in (RESPONSE_SUFFIXES if d == "response" else REQUEST_SUFFIXES)}
    assert rows("other") == {rule: level for rule, level in RULES.items() if rule not in prefixed}
