"""One fixture pair per diff rule (both directions where meaningful), plus ref/allOf/cycle/consumer cases."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from gitcoord.contracts.diff import _REQUEST_SUFFIXES, _RESPONSE_SUFFIXES, _SCHEMA_PREFIXES, RULES, diff_specs

OK = {"200": {"description": "ok"}}


def oas(paths: dict | None = None, **top: Any) -> dict:
    return {"openapi": "3.0.3", "info": {"title": "t", "version": "1"}, "paths": paths or {}, **top}


def one(operation: dict | None = None, path: str = "/pets", method: str = "get", **top: Any) -> dict:
    return oas({path: {method: {"responses": copy.deepcopy(OK), **(operation or {})}}}, **top)


def param(name: str = "q", required: bool = False, **schema: Any) -> dict:
    return {"name": name, "in": "query", "required": required, "schema": {"type": "integer", **schema}}


def body(schema: dict, required: bool = False, mimes: tuple[str, ...] = ("application/json",)) -> dict:
    return {"requestBody": {"required": required, "content": {m: {"schema": schema} for m in mimes}}}


def response(schema: dict | None, code: str = "200", mimes: tuple[str, ...] = ("application/json",), **extra: Any) -> dict:
    content = {"content": {m: {"schema": schema} for m in mimes}} if schema is not None else {}
    return {"responses": {code: {"description": "ok", **content, **extra}}}


def obj(props: dict, required: list[str] | None = None, **extra: Any) -> dict:
    out = {"type": "object", "properties": props, **extra}
    if required:
        out["required"] = required
    return out


S = {"type": "string"}

# rule id -> (old, new, kind)
CASES: dict[str, tuple[dict, dict, str | None]] = {
    "path-removed": (oas({"/a": {"get": {"responses": OK}}, "/b": {"get": {"responses": OK}}}), oas({"/a": {"get": {"responses": OK}}}), None),
    "path-added": (oas({"/a": {"get": {"responses": OK}}}), oas({"/a": {"get": {"responses": OK}}, "/b": {"get": {"responses": OK}}}), None),
    "operation-removed": (oas({"/a": {"get": {"responses": OK}, "post": {"responses": OK}}}), oas({"/a": {"get": {"responses": OK}}}), None),
    "operation-added": (oas({"/a": {"get": {"responses": OK}}}), oas({"/a": {"get": {"responses": OK}, "post": {"responses": OK}}}), None),
    "operation-id-changed": (one({"operationId": "listPets"}), one({"operationId": "getPets"}), None),
    "operation-deprecated-without-sunset": (one(), one({"deprecated": True}), None),
    "operation-deprecated-with-sunset": (one(), one({"deprecated": True, "x-sunset": "2030-01-01"}), None),
    "operation-undeprecated": (one({"deprecated": True}), one(), None),
    "request-parameter-added-required": (one(), one({"parameters": [param(required=True)]}), None),
    "request-parameter-added-optional": (one(), one({"parameters": [param()]}), None),
    "request-parameter-became-required": (one({"parameters": [param()]}), one({"parameters": [param(required=True)]}), None),
    "request-parameter-became-optional": (one({"parameters": [param(required=True)]}), one({"parameters": [param()]}), None),
    "request-parameter-removed": (one({"parameters": [param()]}), one(), None),
    "request-parameter-default-changed": (one({"parameters": [param(default=1)]}), one({"parameters": [param(default=2)]}), None),
    "request-parameter-deprecated": (one({"parameters": [param()]}), one({"parameters": [{**param(), "deprecated": True}]}), None),
    "request-body-added-required": (one(method="post"), one(body(obj({}), required=True), method="post"), None),
    "request-body-added-optional": (one(method="post"), one(body(obj({})), method="post"), None),
    "request-body-became-required": (one(body(obj({})), method="post"), one(body(obj({}), required=True), method="post"), None),
    "request-body-became-optional": (one(body(obj({}), required=True), method="post"), one(body(obj({})), method="post"), None),
    "request-body-removed": (one(body(obj({})), method="post"), one(method="post"), None),
    "request-body-media-type-removed": (one(body(obj({}), mimes=("application/json", "application/xml")), method="post"), one(body(obj({})), method="post"), None),
    "request-body-media-type-added": (one(body(obj({})), method="post"), one(body(obj({}), mimes=("application/json", "application/xml")), method="post"), None),
    "request-property-added-required": (one(body(obj({})), method="post"), one(body(obj({"a": S}, ["a"])), method="post"), None),
    "request-property-added-optional": (one(body(obj({})), method="post"), one(body(obj({"a": S})), method="post"), None),
    "request-property-became-required": (one(body(obj({"a": S})), method="post"), one(body(obj({"a": S}, ["a"])), method="post"), None),
    "request-property-became-optional": (one(body(obj({"a": S}, ["a"])), method="post"), one(body(obj({"a": S})), method="post"), None),
    "request-property-removed": (one(body(obj({"a": S, "b": S})), method="post"), one(body(obj({"a": S})), method="post"), None),
    "request-additional-properties-became-false": (one(body(obj({"a": S})), method="post"), one(body(obj({"a": S}, additionalProperties=False)), method="post"), None),
    "response-success-status-removed": (one({"responses": {"200": {"description": "ok"}, "404": {"description": "no"}}}), one({"responses": {"404": {"description": "no"}}}), None),
    "response-status-removed": (one({"responses": {"200": {"description": "ok"}, "404": {"description": "no"}}}), one(), None),
    "response-status-added": (one(), one({"responses": {"200": {"description": "ok"}, "404": {"description": "no"}}}), None),
    "response-media-type-removed": (one(response(obj({}), mimes=("application/json", "application/xml"))), one(response(obj({}))), None),
    "response-media-type-added": (one(response(obj({}))), one(response(obj({}), mimes=("application/json", "application/xml"))), None),
    "response-body-removed": (one(response(obj({}))), one(response(None)), None),
    "response-property-removed": (one(response(obj({"a": S, "b": S}, ["b"]))), one(response(obj({"a": S}))), None),
    "response-property-added": (one(response(obj({"a": S}))), one(response(obj({"a": S, "b": S}))), None),
    "response-required-property-became-optional": (one(response(obj({"a": S}, ["a"]))), one(response(obj({"a": S}))), None),
    "response-property-became-required": (one(response(obj({"a": S}))), one(response(obj({"a": S}, ["a"]))), None),
    "response-header-removed": (one(response(obj({}), headers={"X-Rate": {"schema": S}})), one(response(obj({}))), None),
    "security-requirement-added": (one(), one({"security": [{"api_key": []}]}), None),
    "security-requirement-removed": (one({"security": [{"a": []}, {"b": []}]}), one({"security": [{"a": []}]}), None),
    "security-scope-added": (one({"security": [{"oauth": ["read"]}]}), one({"security": [{"oauth": ["read", "write"]}]}), None),
    "security-scope-removed": (one({"security": [{"oauth": ["read", "write"]}]}), one({"security": [{"oauth": ["read"]}]}), None),
    "server-removed": (one(servers=[{"url": "https://a"}, {"url": "https://b"}]), one(servers=[{"url": "https://a"}]), None),
    "server-changed": (one(servers=[{"url": "https://a"}]), one(servers=[{"url": "https://b"}]), None),
    "server-added": (one(servers=[{"url": "https://a"}]), one(servers=[{"url": "https://a"}, {"url": "https://b"}]), None),
    "base-path-changed": (
        {"swagger": "2.0", "info": {}, "basePath": "/v1", "paths": {}},
        {"swagger": "2.0", "info": {}, "basePath": "/v2", "paths": {}},
        None,
    ),
    "schema-required-added": (obj({"a": S}), obj({"a": S}, ["a"]), "jsonschema"),
    "schema-required-removed": (obj({"a": S}, ["a"]), obj({"a": S}), "jsonschema"),
    "schema-property-removed": (obj({"a": S, "b": S}), obj({"a": S}), "jsonschema"),
    "schema-property-added": (obj({"a": S}), obj({"a": S, "b": S}), "jsonschema"),
    "schema-additional-properties-became-false": (obj({"a": S}), obj({"a": S}, additionalProperties=False), "jsonschema"),
}

# Schema-level rules: the same old/new schema pair placed where each prefix lives.
REQUEST_PAIRS = {
    "type-changed": ({"type": "string"}, {"type": "integer"}),
    "format-changed": ({"type": "string", "format": "date"}, {"type": "string", "format": "uuid"}),
    "enum-narrowed": ({"type": "string", "enum": ["a", "b"]}, {"type": "string", "enum": ["a"]}),
    "enum-widened": ({"type": "string", "enum": ["a"]}, {"type": "string", "enum": ["a", "b"]}),
    "max-decreased": ({"type": "integer", "maximum": 10}, {"type": "integer", "maximum": 5}),
    "min-increased": ({"type": "integer", "minimum": 1}, {"type": "integer", "minimum": 2}),
    "max-length-decreased": ({"type": "string", "maxLength": 10}, {"type": "string", "maxLength": 5}),
    "min-length-increased": ({"type": "string", "minLength": 1}, {"type": "string", "minLength": 2}),
    "max-items-decreased": ({"type": "array", "items": S, "maxItems": 5}, {"type": "array", "items": S, "maxItems": 3}),
    "min-items-increased": ({"type": "array", "items": S, "minItems": 1}, {"type": "array", "items": S, "minItems": 2}),
    "pattern-changed": ({"type": "string", "pattern": "^a"}, {"type": "string", "pattern": "^b"}),
    "became-not-nullable": ({"type": "string", "nullable": True}, {"type": "string"}),
    "variant-removed": ({"oneOf": [{"type": "integer"}, {"type": "boolean"}]}, {"oneOf": [{"type": "integer"}]}),
}
RESPONSE_PAIRS = {
    "type-changed": ({"type": "string"}, {"type": "integer"}),
    "format-changed": ({"type": "string", "format": "date"}, {"type": "string", "format": "uuid"}),
    "enum-widened": ({"type": "string", "enum": ["a"]}, {"type": "string", "enum": ["a", "b"]}),
    "enum-narrowed": ({"type": "string", "enum": ["a", "b"]}, {"type": "string", "enum": ["a"]}),
    "became-nullable": ({"type": "string"}, {"type": "string", "nullable": True}),
    "variant-added": ({"oneOf": [S]}, {"oneOf": [S, {"type": "integer"}]}),
}


def place(prefix: str, schema: dict) -> tuple[dict, str | None]:
    if prefix == "request-parameter":
        return one({"parameters": [{"name": "q", "in": "query", "schema": schema}]}), None
    if prefix == "request-property":
        return one(body(obj({"p": schema})), method="post"), None
    if prefix == "response-property":
        return one(response(obj({"p": schema}))), None
    return obj({"p": schema}), "jsonschema"


for _prefix, _direction in _SCHEMA_PREFIXES.items():
    _pairs = RESPONSE_PAIRS if _direction == "response" else REQUEST_PAIRS
    for _suffix, (_old, _new) in _pairs.items():
        _o, _kind = place(_prefix, _old)
        _n, _ = place(_prefix, _new)
        CASES[f"{_prefix}-{_suffix}"] = (_o, _n, _kind)

SYMMETRIC = ("base-path-changed", "type-changed", "format-changed", "pattern-changed", "server-changed", "operation-id-changed", "default-changed")


def test_rule_table_is_complete() -> None:
    # Rules added for issue 13 have their pairs in test_diff_semantics_rules.py, which checks the union.
    assert len(RULES) >= 45
    assert set(CASES) <= set(RULES), set(CASES) - set(RULES)
    assert set(RULES.values()) <= {"error", "warning", "info"}


@pytest.mark.parametrize("rule", sorted(CASES))
def test_rule_fires(rule: str) -> None:
    old, new, kind = CASES[rule]
    result = diff_specs(old, new, kind=kind)
    fired = {c.id: c for c in result.changes}
    assert rule in fired, [c.to_dict() for c in result.changes]
    assert fired[rule].level == RULES[rule]
    assert result.breaking == any(c.level == "error" for c in result.changes)
    # Unchanged is no change, and the way back does not fire a one-directional rule.
    assert diff_specs(new, new, kind=kind).changes == []
    if not rule.endswith(SYMMETRIC):
        assert rule not in {c.id for c in diff_specs(new, old, kind=kind).changes}


def test_to_dict_has_exactly_the_cli_keys() -> None:
    old, new, kind = CASES["operation-removed"]
    out = diff_specs(old, new, kind=kind).to_dict()
    assert out["breaking"] is True
    assert set(out) == {"breaking", "changes"}
    assert set(out["changes"][0]) == {"id", "level", "path", "operation", "message"}
    assert out["changes"][0]["operation"] == "POST /a" and out["changes"][0]["path"] == "/paths/~1a/post"


def test_moving_schema_into_components_is_no_change() -> None:
    pet = obj({"name": S, "tags": {"type": "array", "items": S}}, ["name"])
    inline = one(response(copy.deepcopy(pet)))
    moved = one(response({"$ref": "#/components/schemas/Pet"}), components={"schemas": {"Pet": copy.deepcopy(pet)}})
    assert diff_specs(inline, moved).changes == []
    assert diff_specs(moved, inline).changes == []


def test_change_in_shared_component_reported_once_with_all_operations() -> None:
    def spec(props: dict) -> dict:
        ref = response({"$ref": "#/components/schemas/Pet"})
        return oas({"/a": {"get": ref}, "/b": {"get": copy.deepcopy(ref)}}, components={"schemas": {"Pet": obj(props)}})

    result = diff_specs(spec({"a": S, "b": S}), spec({"a": S}))
    assert [c.id for c in result.changes] == ["response-optional-property-removed"]
    change = result.changes[0]
    assert change.path == "/components/schemas/Pet/properties/b"
    assert sorted(change.operations) == ["GET /a", "GET /b"]


def test_all_of_is_flattened() -> None:
    split = {"allOf": [obj({"a": S}, ["a"]), obj({"b": S})]}
    merged = obj({"a": S, "b": S}, ["a"])
    assert diff_specs(one(response(split)), one(response(merged))).changes == []
    dropped = {"allOf": [obj({"a": S}, ["a"])]}
    assert [c.id for c in diff_specs(one(response(split)), one(response(dropped))).changes] == ["response-optional-property-removed"]


def test_any_of_matched_by_ref_name() -> None:
    comps = {"schemas": {"Cat": obj({"meow": S}), "Dog": obj({"bark": S})}}
    old = one(response({"anyOf": [{"$ref": "#/components/schemas/Cat"}, {"$ref": "#/components/schemas/Dog"}]}), components=comps)
    new_comps = copy.deepcopy(comps)
    new_comps["schemas"]["Dog"]["properties"]["size"] = {"type": "integer"}
    new = one(response({"anyOf": [{"$ref": "#/components/schemas/Dog"}, {"$ref": "#/components/schemas/Cat"}]}), components=new_comps)
    assert [c.id for c in diff_specs(old, new).changes] == ["response-property-added"]


def test_recursive_schemas_terminate() -> None:
    def spec(extra: dict) -> dict:
        node = obj({"next": {"$ref": "#/components/schemas/Node"}, **extra})
        return one(response({"$ref": "#/components/schemas/Node"}), components={"schemas": {"Node": node}})

    result = diff_specs(spec({"v": S}), spec({}))
    assert [c.id for c in result.changes] == ["response-optional-property-removed"]
    assert diff_specs(spec({}), spec({})).changes == []


def test_swagger2_body_and_parameters() -> None:
    def spec(limit_max: int, body_props: dict) -> dict:
        return {
            "swagger": "2.0",
            "info": {},
            "paths": {"/pets": {"post": {
                "parameters": [
                    {"name": "limit", "in": "query", "type": "integer", "maximum": limit_max},
                    {"name": "pet", "in": "body", "required": True, "schema": obj(body_props)},
                ],
                "responses": {"200": {"description": "ok", "schema": obj({"id": S})}},
            }}},
        }

    ids = {c.id for c in diff_specs(spec(100, {"a": S}), spec(50, {"a": S, "b": S} | {})).changes}
    assert ids == {"request-parameter-max-decreased", "request-property-added-optional"}


def test_path_parameter_rename_is_no_change() -> None:
    def spec(name: str) -> dict:
        return oas({f"/pets/{{{name}}}": {"get": {"parameters": [{"name": name, "in": "path", "required": True, "schema": S}], "responses": OK}}})

    assert diff_specs(spec("id"), spec("petId")).changes == []


def test_consumer_aware_downgrade_and_naming() -> None:
    old = oas({"/a": {"get": {"responses": OK}, "post": {"responses": OK}}, "/b": {"delete": {"responses": OK}}})
    new = oas({"/a": {"get": {"responses": OK}}, "/b": {}})
    plain = diff_specs(old, new)
    assert {c.level for c in plain.changes} == {"error"}

    result = diff_specs(old, new, consumers={"web": ["get /a", "DELETE /b"], "batch": ["GET /a"]})
    by_op = {c.operation: c for c in result.changes}
    assert by_op["POST /a"].level == "warning" and "no registered consumer" in by_op["POST /a"].message
    assert by_op["DELETE /b"].level == "error" and by_op["DELETE /b"].consumers == ["web"]
    assert "web" in by_op["DELETE /b"].message

    everything = diff_specs(old, new, consumers={"mobile": []})
    assert all(c.level == "error" and c.consumers == ["mobile"] for c in everything.changes)
    assert diff_specs(old, new, consumers={}).breaking is False
