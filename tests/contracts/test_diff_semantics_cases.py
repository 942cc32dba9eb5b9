"""Issue 13, bullet by bullet: whole spec pairs and the verdict (breaking or not) they must get.

Each test pairs a change with its mirror image where the direction matters: the same edit is
breaking on one side of the exchange and not on the other.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from gitcoord.contracts.diff import diff_specs

OK = {"200": {"description": "ok"}}
S = {"type": "string"}
I = {"type": "integer"}
PAST, FUTURE = "2001-02-03", "2999-01-01"


def oas(paths: dict | None = None, version: str = "3.0.3", **top: Any) -> dict:
    return {"openapi": version, "info": {"title": "t", "version": "1"}, "paths": paths or {}, **top}


def op(operation: dict | None = None, method: str = "get", version: str = "3.0.3", **top: Any) -> dict:
    return oas({"/pets": {method: {"responses": copy.deepcopy(OK), **(operation or {})}}}, version=version, **top)


def obj(props: dict, required: list[str] | None = None, **extra: Any) -> dict:
    out: dict[str, Any] = {"type": "object", "properties": props, **extra}
    if required:
        out["required"] = required
    return out


def req(schema: dict, mime: str = "application/json", version: str = "3.0.3") -> dict:
    return op({"requestBody": {"content": {mime: {"schema": schema}}}}, method="post", version=version)


def res(schema: dict, mime: str = "application/json", version: str = "3.0.3", code: str = "200") -> dict:
    return op({"responses": {code: {"description": "ok", "content": {mime: {"schema": schema}}}}}, version=version)


def query(schema: dict, **extra: Any) -> dict:
    return op({"parameters": [{"name": "q", "in": "query", "schema": schema, **extra}]})


def ids(old: dict, new: dict, **kw: Any) -> set[str]:
    return {c.id for c in diff_specs(old, new, **kw).changes}


def breaking(old: dict, new: dict, **kw: Any) -> bool:
    return diff_specs(old, new, **kw).breaking


def levels(old: dict, new: dict) -> dict[str, str]:
    return {c.id: c.level for c in diff_specs(old, new).changes}


# ----------------------------------------------------------------------------- missed breaking changes

@pytest.mark.parametrize("old,new", [
    ({**I, "minimum": 1}, {**I, "minimum": 0}),
    ({**I, "minimum": 1}, I),
    ({**I, "exclusiveMinimum": 1}, {**I, "exclusiveMinimum": 0}),
    ({**I, "maximum": 10}, {**I, "maximum": 11}),
    ({**I, "maximum": 10}, I),
    ({**S, "minLength": 2}, {**S, "minLength": 1}),
    ({"type": "array", "items": S, "minItems": 2}, {"type": "array", "items": S, "minItems": 1}),
    ({**S, "maxLength": 5}, {**S, "maxLength": 6}),
    ({**S, "maxLength": 5}, S),
])
def test_response_constraint_loosened_breaks_consumers_and_request_loosening_does_not(old: dict, new: dict) -> None:
    assert breaking(res(obj({"v": old})), res(obj({"v": new})))
    assert not breaking(req(obj({"v": old})), req(obj({"v": new})))
    assert not breaking(res(obj({"v": new})), res(obj({"v": old})))


def header_spec(**header: Any) -> dict:
    return op({"responses": {"200": {"description": "ok", "headers": {"X-Request-Id": {"schema": S, **header}}}}})


def test_response_headers_required_to_optional_and_removed() -> None:
    assert levels(header_spec(required=True), header_spec())["response-header-became-optional"] == "error"
    assert levels(header_spec(required=True), op())["response-required-header-removed"] == "error"
    assert not breaking(header_spec(), op())  # an optional header: a warning
    assert levels(header_spec(), op())["response-header-removed"] == "warning"
    assert not breaking(header_spec(), header_spec(required=True))
    # header schemas are response schemas
    assert breaking(op({"responses": {"200": {"description": "ok", "headers": {"X-Rate": {"schema": {**I, "maximum": 10}}}}}}),
                    op({"responses": {"200": {"description": "ok", "headers": {"x-rate": {"schema": I}}}}}))


def test_const_added_changed_removed() -> None:
    plain, one, two = S, {**S, "const": "a"}, {**S, "const": "b"}
    assert breaking(req(obj({"v": plain})), req(obj({"v": one})))
    assert breaking(req(obj({"v": one})), req(obj({"v": two})))
    assert not breaking(req(obj({"v": one})), req(obj({"v": plain})))
    assert breaking(res(obj({"v": one})), res(obj({"v": plain})))
    assert breaking(res(obj({"v": one})), res(obj({"v": two})))
    assert not breaking(res(obj({"v": plain})), res(obj({"v": one})))


def hooks(**named: dict) -> dict:
    return oas(version="3.1.0", webhooks=named)


def hook(schema: dict) -> dict:
    return {"post": {"requestBody": {"content": {"application/json": {"schema": schema}}}, "responses": copy.deepcopy(OK)}}


def test_webhooks_added_removed_and_operation_rules_inside() -> None:
    base = hooks(newPet=hook(obj({"id": S})))
    assert ids(base, hooks()) == {"webhook-removed"} and breaking(base, hooks())
    assert ids(hooks(), base) == {"webhook-added"} and not breaking(hooks(), base)
    changed = diff_specs(base, hooks(newPet=hook(obj({"id": I}))))
    assert changed.breaking and changed.changes[0].path.startswith("/webhooks/newPet/post")
    assert changed.changes[0].operation == "POST webhook:newPet"
    assert breaking(base, hooks(newPet=hook(obj({"id": S, "name": S}, ["name"]))))


@pytest.mark.parametrize("added", [
    {"contains": {"const": 1}},
    {"minContains": 2, "contains": {"type": "integer"}},
    {"prefixItems": [{"type": "integer"}]},
    {"unevaluatedItems": False},
    {"not": {"maxItems": 0}},
])
def test_2020_12_array_keywords_on_a_request(added: dict) -> None:
    before = {"type": "array"}
    assert breaking(req(obj({"v": before}), version="3.1.0"), req(obj({"v": {**before, **added}}), version="3.1.0"))
    assert not breaking(req(obj({"v": {**before, **added}}), version="3.1.0"), req(obj({"v": before}), version="3.1.0"))
    assert breaking(res(obj({"v": {**before, **added}}), version="3.1.0"), res(obj({"v": before}), version="3.1.0")) \
        or "unevaluatedItems" in added


@pytest.mark.parametrize("added", [
    {"dependentRequired": {"a": ["b"]}},
    {"dependentSchemas": {"a": {"required": ["b"]}}},
    {"if": {"required": ["a"]}, "then": {"required": ["b"]}},
    {"patternProperties": {"^x-": {"type": "string"}}},
    {"propertyNames": {"pattern": "^[a-z]+$"}},
    {"unevaluatedProperties": False},
])
def test_2020_12_object_keywords_on_a_request(added: dict) -> None:
    before = {"type": "object"}
    assert breaking(req(obj({"v": before}), version="3.1.0"), req(obj({"v": {**before, **added}}), version="3.1.0"))
    assert not breaking(req(obj({"v": {**before, **added}}), version="3.1.0"), req(obj({"v": before}), version="3.1.0"))


def test_2020_12_keywords_compared_inside_sub_schemas() -> None:
    def cond(then_max: int) -> dict:
        return {"type": "object", "if": {"required": ["a"]}, "then": {"properties": {"b": {**S, "maxLength": then_max}}}}

    assert breaking(req(cond(10), version="3.1.0"), req(cond(5), version="3.1.0"))
    assert not breaking(req(cond(5), version="3.1.0"), req(cond(10), version="3.1.0"))
    # inside `not` the direction flips: not{maxLength 5} -> not{maxLength 10} excludes more
    assert breaking(req(obj({"v": {**S, "not": {"maxLength": 5}}})), req(obj({"v": {**S, "not": {"maxLength": 10}}})))
    assert not breaking(req(obj({"v": {**S, "not": {"maxLength": 10}}})), req(obj({"v": {**S, "not": {"maxLength": 5}}})))
    assert breaking(req(obj({"v": {"type": "object", "patternProperties": {"^x": {**I, "maximum": 9}}}})),
                    req(obj({"v": {"type": "object", "patternProperties": {"^x": {**I, "maximum": 3}}}})))
    assert breaking(req(obj({"v": {"type": "array", "prefixItems": [S]}})), req(obj({"v": {"type": "array", "prefixItems": [I]}})))
    content = {"type": "string", "contentMediaType": "application/json", "contentSchema": obj({"a": S})}
    assert breaking(req(obj({"v": content})), req(obj({"v": {**content, "contentSchema": obj({"a": S}, ["a"])}})))
    assert breaking(req(obj({"v": {**S, "contentEncoding": "base64"}})), req(obj({"v": {**S, "contentEncoding": "base16"}})))


def test_openapi30_boolean_exclusive_bounds() -> None:
    inclusive, exclusive = {**I, "minimum": 5}, {**I, "minimum": 5, "exclusiveMinimum": True}
    assert breaking(req(obj({"v": inclusive})), req(obj({"v": exclusive})))
    assert not breaking(req(obj({"v": exclusive})), req(obj({"v": inclusive})))
    assert breaking(res(obj({"v": exclusive})), res(obj({"v": inclusive})))
    top = {**I, "maximum": 5, "exclusiveMaximum": True}
    assert breaking(res(obj({"v": top})), res(obj({"v": {**I, "maximum": 5}})))
    # 3.0 boolean and 3.1 numeric spellings of the same bound are no change
    assert not breaking(req(obj({"v": top})), req(obj({"v": {**I, "exclusiveMaximum": 5}}), version="3.1.0"))


def test_composition_narrowed_in_request_widened_in_response() -> None:
    either = {"oneOf": [S, I]}
    assert breaking(req(obj({"v": either})), req(obj({"v": S})))
    assert not breaking(req(obj({"v": S})), req(obj({"v": either})))
    assert breaking(res(obj({"v": S})), res(obj({"v": either})))
    assert breaking(res(obj({"v": S})), res(obj({"v": {"anyOf": [S, I]}})))
    assert not breaking(res(obj({"v": either})), res(obj({"v": S})))


def test_object_wrapped_into_one_of_is_not_properties_removed() -> None:
    pet = obj({"name": S}, ["name"])
    wrapped = {"oneOf": [copy.deepcopy(pet), obj({"id": I}, ["id"])]}
    found = ids(res(pet), res(wrapped))
    assert not any("property-removed" in i for i in found), found
    assert breaking(res(pet), res(wrapped))  # a response may now be the other alternative
    assert not breaking(req(pet), req(wrapped))  # a request may now also be the other one
    alone = {"oneOf": [obj({"name": S, "tag": S}, ["name"])]}
    assert ids(res(pet), res(alone)) == {"response-property-added"}  # the lone alternative is the object, edited


def scheme_spec(**scheme: Any) -> dict:
    return op({"security": [{"auth": []}]}, components={"securitySchemes": {"auth": scheme}})


@pytest.mark.parametrize("old,new", [
    ({"type": "apiKey", "in": "header", "name": "X-Key"}, {"type": "http", "scheme": "bearer"}),
    ({"type": "apiKey", "in": "header", "name": "X-Key"}, {"type": "apiKey", "in": "query", "name": "X-Key"}),
    ({"type": "http", "scheme": "basic"}, {"type": "http", "scheme": "digest"}),
    ({"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}, {"type": "http", "scheme": "bearer", "bearerFormat": "PASETO"}),
    ({"type": "oauth2", "flows": {"authorizationCode": {"authorizationUrl": "https://a/auth", "tokenUrl": "https://a/token", "scopes": {"read": ""}}}},
     {"type": "oauth2", "flows": {"authorizationCode": {"authorizationUrl": "https://a/auth", "tokenUrl": "https://b/token", "scopes": {"read": ""}}}}),
    ({"type": "oauth2", "flows": {"implicit": {"authorizationUrl": "https://a/auth", "scopes": {"read": "", "write": ""}}}},
     {"type": "oauth2", "flows": {"implicit": {"authorizationUrl": "https://a/auth", "scopes": {"read": ""}}}}),
    ({"type": "openIdConnect", "openIdConnectUrl": "https://a/.well-known/openid-configuration"},
     {"type": "openIdConnect", "openIdConnectUrl": "https://b/.well-known/openid-configuration"}),
])
def test_security_scheme_definition_changes_break(old: dict, new: dict) -> None:
    assert breaking(scheme_spec(**old), scheme_spec(**new))
    assert not breaking(scheme_spec(**old), scheme_spec(**copy.deepcopy(old)))


def test_swagger2_security_definitions_compared() -> None:
    def spec(url: str) -> dict:
        return {"swagger": "2.0", "info": {}, "paths": {}, "securityDefinitions": {
            "o": {"type": "oauth2", "flow": "accessCode", "authorizationUrl": url, "tokenUrl": "https://a/t", "scopes": {}}}}

    assert ids(spec("https://a/auth"), spec("https://b/auth")) == {"security-scheme-flow-url-changed"}


def test_parameter_style_explode_allow_empty_value() -> None:
    arr = {"type": "array", "items": S}
    assert breaking(query(arr), query(arr, style="spaceDelimited"))
    assert breaking(query(arr), query(arr, explode=False))
    assert not breaking(query(arr), query(arr, style="form", explode=True))  # the defaults spelled out
    assert breaking(query(S), query(S, explode=False))  # the parameter object's serialisation is the contract
    assert breaking(query(S, allowEmptyValue=True), query(S))
    assert not breaking(query(S), query(S, allowEmptyValue=True))
    path = lambda **p: oas({"/p/{id}": {"get": {"parameters": [{"name": "id", "in": "path", "required": True, "schema": S, **p}], "responses": OK}}})  # noqa: E731
    assert breaking(path(), path(style="matrix"))


def test_min_max_properties() -> None:
    assert breaking(req(obj({"v": {"type": "object", "maxProperties": 5}})), req(obj({"v": {"type": "object", "maxProperties": 4}})))
    assert breaking(res(obj({"v": {"type": "object", "maxProperties": 5}})), res(obj({"v": {"type": "object"}})))
    assert not breaking(res(obj({"v": {"type": "object", "minProperties": 1}})), res(obj({"v": {"type": "object", "minProperties": 2}})))


def test_read_only_write_only_flags_changed() -> None:
    ro = obj({"id": {**S, "readOnly": True}, "name": S}, ["id", "name"])
    plain = obj({"id": S, "name": S}, ["id", "name"])
    assert breaking(req(ro), req(plain))  # clients never sent the required id
    assert breaking(req(plain), req(ro))  # clients that send it may be rejected
    wo = obj({"secret": {**S, "writeOnly": True}})
    assert breaking(res(obj({"secret": S})), res(wo))  # no longer returned
    assert breaking(res(obj({"secret": S}, ["secret"])), res(obj({"secret": {**S, "writeOnly": True}}, ["secret"])))
    assert not breaking(res(wo), res(obj({"secret": S})))


def test_discriminator_changes() -> None:
    comps = {"schemas": {"Cat": obj({"kind": S, "meows": I}), "Dog": obj({"kind": S, "barks": I}), "Hound": obj({"kind": S, "barks": I})}}

    def spec(prop: str, mapping: dict) -> dict:
        schema = {"oneOf": [{"$ref": "#/components/schemas/Cat"}, {"$ref": "#/components/schemas/Dog"}],
                  "discriminator": {"propertyName": prop, "mapping": mapping}}
        return op({"responses": {"200": {"description": "ok", "content": {"application/json": {"schema": schema}}}}}, components=copy.deepcopy(comps))

    both = {"cat": "#/components/schemas/Cat", "dog": "#/components/schemas/Dog"}
    assert breaking(spec("kind", both), spec("type", both))
    assert breaking(spec("kind", both), spec("kind", {"cat": "#/components/schemas/Cat", "dog": "#/components/schemas/Cat"}))
    assert not breaking(spec("kind", {"cat": "#/components/schemas/Cat"}), spec("kind", both))
    # a mapping target renamed with the same content is no change
    assert ids(spec("kind", both), spec("kind", {**both, "dog": "#/components/schemas/Hound"})) == set()


def test_request_body_removed_default_changed_non_2xx_removed_are_errors() -> None:
    assert levels(req(obj({})), op(method="post"))["request-body-removed"] == "error"
    assert levels(query({**I, "default": 10}), query({**I, "default": 20}))["request-parameter-default-changed"] == "error"
    with_404 = op({"responses": {"200": {"description": "ok"}, "404": {"description": "no"}}})
    assert levels(with_404, op())["response-status-removed"] == "error"


# ----------------------------------------------------------------------------- non-breaking called breaking

def deprecated_op(**extra: Any) -> dict:
    return oas({"/a": {"get": {"responses": OK}, "delete": {"deprecated": True, "responses": OK, **extra}}})


ONLY_GET = oas({"/a": {"get": {"responses": OK}}})


def test_removing_deprecated_operation_after_sunset_is_not_breaking() -> None:
    assert not breaking(deprecated_op(), ONLY_GET)  # deprecated, no sunset date
    assert not breaking(deprecated_op(**{"x-sunset": PAST}), ONLY_GET)
    assert breaking(deprecated_op(**{"x-sunset": FUTURE}), ONLY_GET)
    assert breaking(oas({"/a": {"get": {"responses": OK}, "delete": {"responses": OK}}}), ONLY_GET)
    assert breaking(deprecated_op(**{"x-sunset": "soon"}), ONLY_GET)  # an unreadable date has not passed


def test_sunset_from_documented_sunset_header() -> None:
    def spec(when: str) -> dict:
        return oas({"/a": {"get": {"responses": OK}, "delete": {"deprecated": True, "responses": {
            "200": {"description": "ok", "headers": {"Sunset": {"schema": {"type": "string", "example": when}}}}}}}})

    assert not breaking(spec("Sat, 03 Feb 2001 00:00:00 GMT"), ONLY_GET)
    assert breaking(spec("Fri, 01 Jan 2999 00:00:00 GMT"), ONLY_GET)


def test_removing_deprecated_path_and_parameter() -> None:
    whole = oas({"/old": {"get": {"deprecated": True, "x-sunset": PAST, "responses": OK}}, "/a": {"get": {"responses": OK}}})
    assert not breaking(whole, ONLY_GET)
    pending = oas({"/old": {"get": {"deprecated": True, "x-sunset": FUTURE, "responses": OK}}, "/a": {"get": {"responses": OK}}})
    assert breaking(pending, ONLY_GET)
    assert not breaking(query(S, deprecated=True), op())
    assert breaking(query(S, deprecated=True, **{"x-sunset": FUTURE}), op())
    assert breaking(query(S), op())


def sec(*groups: dict) -> dict:
    names = {n for g in groups for n in g} | {"a", "b", "c"}
    return op({"security": list(groups)}, components={"securitySchemes": {n: {"type": "apiKey", "in": "header", "name": n} for n in names}})


def test_security_requirements_are_or_of_and_groups() -> None:
    assert not breaking(sec({"a": []}), sec({"a": []}, {"b": []}))  # alternative added
    assert breaking(sec({"a": []}, {"b": []}), sec({"a": []}))  # alternative removed
    assert breaking(sec({"a": []}), sec({"a": [], "b": []}))  # scheme added to an AND group
    assert not breaking(sec({"a": [], "b": []}), sec({"a": []}))  # scheme dropped from a group
    assert not breaking(sec({"a": [], "b": []}, {"c": []}), sec({"a": []}, {"c": []}))
    assert breaking(op(), sec({"a": []}))  # anonymous -> authenticated
    assert not breaking(sec({"a": []}), op())
    assert not breaking(sec({"a": []}), sec({"a": []}, {}))  # anonymous alternative added
    assert breaking(sec({"a": []}, {}), sec({"a": []}))  # anonymous alternative removed
    assert not breaking(sec({"a": []}, {"b": []}), sec({"b": []}, {"a": []}))  # order is irrelevant


def test_pattern_semantics() -> None:
    def spec(pattern: str | None, side: Any = req) -> dict:
        return side(obj({"v": {**S, **({"pattern": pattern} if pattern else {})}}))

    assert levels(spec("^a"), spec("^b"))["request-property-pattern-changed"] == "warning"
    assert levels(spec("^a"), spec(None))["request-property-pattern-removed"] == "info"
    assert levels(spec("^a"), spec(".*"))["request-property-pattern-removed"] == "info"
    assert levels(spec(None), spec("^a"))["request-property-pattern-added"] == "warning"
    assert not any(breaking(spec(a), spec(b)) for a, b in (("^a", "^b"), ("^a", None), (None, "^a"), ("^a", ".*")))


def test_first_time_bound_on_a_request_is_a_warning_that_says_set_to() -> None:
    for key, value in (("maxLength", 10), ("minimum", 1), ("maxItems", 3)):
        schema = {"type": "array", "items": S} if key == "maxItems" else I if key == "minimum" else S
        result = diff_specs(req(obj({"v": schema})), req(obj({"v": {**schema, key: value}})))
        assert not result.breaking
        [change] = result.changes
        assert change.level == "warning" and f"set to" in change.message and str(value) in change.message
        assert "None" not in change.message and "from" not in change.message
    assert breaking(req(obj({"v": {**S, "maxLength": 10}})), req(obj({"v": {**S, "maxLength": 5}})))


def test_read_only_in_requests_and_write_only_in_responses_follow_direction() -> None:
    before = obj({"name": S})
    assert not breaking(req(before), req(obj({"name": S, "id": {**S, "readOnly": True}}, ["id"])))
    assert not breaking(req(obj({"id": {**S, "readOnly": True, "maxLength": 9}})), req(obj({"id": {**S, "readOnly": True, "maxLength": 3}})))
    assert not breaking(res(obj({"pw": {**S, "writeOnly": True}, "name": S}, ["pw"])), res(before))
    assert not breaking(res(obj({"pw": {**S, "writeOnly": True}})), res(obj({"pw": {**I, "writeOnly": True}})))
    # the same edits on the side that carries the property do break
    assert breaking(req(obj({"id": {**S, "maxLength": 9}})), req(obj({"id": {**S, "maxLength": 3}})))
    assert breaking(res(obj({"pw": S, "name": S}, ["pw"])), res(before))


def test_response_optional_property_enum_and_any_of() -> None:
    assert levels(res(obj({"a": S, "b": S})), res(obj({"a": S})))["response-optional-property-removed"] == "warning"
    assert levels(res(obj({"a": S, "b": S}, ["b"])), res(obj({"a": S})))["response-property-removed"] == "error"
    e1, e2 = {**S, "enum": ["a"]}, {**S, "enum": ["a", "b"]}
    assert levels(res(obj({"v": e1})), res(obj({"v": e2})))["response-property-enum-widened"] == "warning"
    assert not breaking(res(obj({"v": e1})), res(obj({"v": e2})))
    assert breaking(req(obj({"v": e2})), req(obj({"v": e1})))
    any1 = {"anyOf": [obj({"a": S})]}
    any2 = {"anyOf": [obj({"a": S}), obj({"b": S})]}
    assert levels(res(obj({"v": any1})), res(obj({"v": any2})))["response-property-any-of-variant-added"] == "info"


def test_type_generalisation_is_not_a_type_break() -> None:
    assert not breaking(req(obj({"v": I})), req(obj({"v": {"type": "number"}})))
    assert breaking(req(obj({"v": {"type": "number"}})), req(obj({"v": I})))
    assert not breaking(res(obj({"v": {"type": "number"}})), res(obj({"v": I})))
    assert not breaking(query({"type": "number"}), query(S))
    assert not breaking(query(I), query({"type": "array", "items": I}))
    assert not breaking(query({"type": ["string", "integer"]}), query({"type": "array", "items": S}, style="form", explode=True))
    assert breaking(req(obj({"v": {"type": "number"}})), req(obj({"v": S})))  # a JSON body is typed


def test_xml_and_other_non_json_media_types_compared_loosely() -> None:
    # on a text wire a value generalised to string is still accepted, and parsed as before
    assert not breaking(req(obj({"a": I}), "application/xml"), req(obj({"a": S}), "application/xml"))
    assert not breaking(res(obj({"a": S}), "text/plain"), res(obj({"a": I}), "text/plain"))
    assert not breaking(req(obj({"n": {"type": "number"}}), "application/x-www-form-urlencoded"),
                        req(obj({"n": S}), "application/x-www-form-urlencoded"))
    assert breaking(req(obj({"a": I}), "application/json"), req(obj({"a": S}), "application/json"))
    # everything else is compared as strictly as JSON
    assert breaking(res(obj({"a": S}, ["a"]), "application/xml"), res(obj({"a": S}), "application/xml"))
    assert breaking(req(obj({"a": {**I, "maximum": 9}}), "application/xml"), req(obj({"a": {**I, "maximum": 3}}), "application/xml"))
    # the same schemas under JSON and XML are reported once
    def both(schema: dict) -> dict:
        return op({"requestBody": {"content": {"application/json": {"schema": schema}, "application/xml": {"schema": copy.deepcopy(schema)}}}}, method="post")

    assert len(diff_specs(both(obj({"a": {**I, "maximum": 9}})), both(obj({"a": {**I, "maximum": 3}}))).changes) == 1


def test_media_type_specialised_or_given_parameters_is_a_change() -> None:
    for new_mime in ("application/problem+json", "application/json; charset=utf-8"):
        found = ids(res(obj({"a": S})), res(obj({"a": S}), new_mime))
        assert found == {"response-media-type-changed"}, found
    assert ids(req(obj({"a": S})), req(obj({"a": S}), "application/json;charset=utf-8")) == {"request-body-media-type-changed"}
    assert not breaking(req(obj({"a": S})), req(obj({"a": S}), "application/json;charset=utf-8"))
    assert breaking(res(obj({"a": S}, ["a"])), res(obj({"a": I}), "application/problem+json"))  # schemas still compared
    assert breaking(res(obj({"a": S})), res(obj({"a": S}), "text/csv"))  # not related: removed


def test_removing_default_response_is_not_success_removed() -> None:
    old = op({"responses": {"200": {"description": "ok"}, "default": {"description": "error"}}})
    assert ids(old, op()) == {"response-default-removed"}
    assert not breaking(old, op())
    only_default = op({"responses": {"default": {"description": "any"}}})
    assert "response-success-status-removed" not in ids(only_default, op({"responses": {"201": {"description": "c"}}}))


def test_required_naming_an_undefined_property_is_not_became_required() -> None:
    assert not breaking(req(obj({"a": S})), req(obj({"a": S}, ["ghost"])))
    assert ids(req(obj({"a": S})), req(obj({"a": S}, ["ghost"]))) == set()
    assert ids(obj({"a": S}), obj({"a": S}, ["ghost"]), kind="jsonschema") == set()


# ----------------------------------------------------------------------------- catalogue facts of established tools

def test_parameter_default_matters_only_for_optional_parameters() -> None:
    assert breaking(query({**I, "default": 1}), query(I))  # removed
    assert breaking(query(I), query({**I, "default": 1}))  # set
    assert not breaking(query({**I, "default": 1}, required=True), query({**I, "default": 2}, required=True))


def test_servers_are_deployment_not_interface() -> None:
    assert not breaking(op(servers=[{"url": "https://a"}, {"url": "https://b"}]), op(servers=[{"url": "https://a"}]))
    assert not breaking(op(servers=[{"url": "https://a"}]), op(servers=[{"url": "https://b"}]))


def test_stability_levels() -> None:
    def spec(level: str | None, extra: dict | None = None) -> dict:
        operation = {"responses": OK, **({"x-stability-level": level} if level else {}), **(extra or {})}
        return oas({"/a": {"get": {"responses": OK}, "post": operation}})

    assert not breaking(spec("alpha"), ONLY_GET)  # draft/alpha promise nothing
    assert not breaking(spec("draft", {"parameters": [{"name": "q", "in": "query", "schema": S}]}), spec("draft"))
    assert breaking(spec("beta"), ONLY_GET)
    assert breaking(spec(None), spec("beta"))  # stable -> beta
    assert not breaking(spec("alpha"), spec("beta"))
    assert not breaking(oas({"/x": {"get": {"x-stability-level": "draft", "responses": OK}}, "/a": {"get": {"responses": OK}}}), ONLY_GET)


def test_sunset_date_removed_or_moved_earlier_on_a_deprecated_operation() -> None:
    assert breaking(deprecated_op(**{"x-sunset": FUTURE}), deprecated_op())
    assert breaking(deprecated_op(**{"x-sunset": FUTURE}), deprecated_op(**{"x-sunset": "2990-01-01"}))
    assert breaking(deprecated_op(**{"x-sunset": FUTURE}), deprecated_op(**{"x-sunset": "someday"}))
    assert not breaking(deprecated_op(**{"x-sunset": "2990-01-01"}), deprecated_op(**{"x-sunset": FUTURE}))
    assert not breaking(deprecated_op(**{"x-sunset": FUTURE, "x-owner": "a"}), deprecated_op(**{"x-sunset": FUTURE}))


def test_deprecated_properties_may_be_removed() -> None:
    old = res(obj({"a": S, "b": {**S, "deprecated": True}}, ["a", "b"]))
    assert not breaking(old, res(obj({"a": S}, ["a"])))
    pending = res(obj({"a": S, "b": {**S, "deprecated": True, "x-sunset": FUTURE}}, ["a", "b"]))
    assert breaking(pending, res(obj({"a": S}, ["a"])))


def test_response_media_type_made_more_general_breaks() -> None:
    assert breaking(res(obj({"a": S}), "application/problem+json"), res(obj({"a": S})))
    assert not breaking(res(obj({"a": S})), res(obj({"a": S}), "application/problem+json"))
    assert not breaking(res(obj({"a": S}), "application/json; charset=utf-8"), res(obj({"a": S})))


def test_all_of_member_added_to_a_request() -> None:
    comps = {"schemas": {"Pet": obj({"name": S}), "Rabbit": obj({"ears": I}, ["ears"]), "Tagged": obj({"tag": S})}}

    def spec(*refs: str) -> dict:
        schema = {"allOf": [{"$ref": f"#/components/schemas/{r}"} for r in refs]}
        return op({"requestBody": {"content": {"application/json": {"schema": schema}}}}, method="post", components=copy.deepcopy(comps))

    assert breaking(spec("Pet"), spec("Pet", "Rabbit"))
    assert breaking(spec("Pet"), spec("Pet", "Tagged"))  # one more set of constraints
    assert not breaking(spec("Pet", "Tagged"), spec("Pet"))
    # splitting a schema into allOf members with the same content is a refactoring
    assert not breaking(req(obj({"name": S, "tag": S})), spec("Pet", "Tagged") | {})


def test_parameter_type_leniency_applies_to_the_parameter_value_only() -> None:
    def content(prop_type: str) -> dict:
        schema = obj({"n": {"type": prop_type}})
        return op({"parameters": [{"name": "f", "in": "query", "content": {"application/json": {"schema": schema}}}]})

    assert breaking(content("number"), content("string"))  # inside JSON the type is real
    assert not breaking(query({"type": "number"}), query(S))
    assert breaking(query(S), query({"type": "number"}))


def test_x_extensible_enum_value_removed_from_a_request() -> None:
    assert breaking(req(obj({"v": {**S, "x-extensible-enum": ["a", "b"]}})), req(obj({"v": {**S, "x-extensible-enum": ["a"]}})))
    assert not breaking(req(obj({"v": {**S, "x-extensible-enum": ["a"]}})), req(obj({"v": {**S, "x-extensible-enum": ["a", "b"]}})))
    assert not breaking(res(obj({"v": {**S, "x-extensible-enum": ["a"]}})), res(obj({"v": {**S, "x-extensible-enum": ["a", "b"]}})))


def test_format_generalised_on_a_request_or_specialised_on_a_response() -> None:
    def fmt(side: Any, f: str | None, t: dict = I) -> dict:
        return side(obj({"v": {**t, **({"format": f} if f else {})}}))

    assert not breaking(fmt(req, "int32"), fmt(req, "int64"))
    assert breaking(fmt(req, "int64"), fmt(req, "int32"))
    assert not breaking(fmt(req, "date", S), fmt(req, "date-time", S))
    assert breaking(fmt(req, "date", S), fmt(req, "uuid", S))
    assert not breaking(fmt(req, "uuid", S), fmt(req, None, S))  # dropped from a request
    assert breaking(fmt(req, None, S), fmt(req, "uuid", S))
    assert not breaking(fmt(res, "int64"), fmt(res, "int32"))
    assert breaking(fmt(res, "int32"), fmt(res, "int64"))
    assert breaking(fmt(res, "uuid", S), fmt(res, None, S))  # dropped from a response


def test_any_type_reads_as_a_string_on_a_text_wire() -> None:
    assert not breaking(req(obj({}), "application/xml"), req(S, "application/xml"))
    assert not breaking(res(S, "application/xml"), res(obj({}), "application/xml"))
    assert breaking(req(obj({})), req(S))


def test_all_of_member_added_to_an_existing_list_even_if_it_restates() -> None:
    comps = {"schemas": {"A": obj({"name": S}), "B": obj({"name": S})}}

    def spec(*refs: str) -> dict:
        schema = {"allOf": [{"$ref": f"#/components/schemas/{r}"} for r in refs]}
        return op({"requestBody": {"content": {"application/json": {"schema": schema}}}}, method="post", components=copy.deepcopy(comps))

    assert breaking(spec("A"), spec("A", "B"))
    annotated = {"allOf": [{"$ref": "#/components/schemas/A"}, {"description": "a pet", "example": {"name": "x"}}]}
    assert not breaking(spec("A"), op({"requestBody": {"content": {"application/json": {"schema": annotated}}}}, method="post", components=copy.deepcopy(comps)))


def test_bare_type_alternatives_still_accepted_are_not_removed() -> None:
    assert not breaking(query({"oneOf": [S, I, {"type": "boolean"}]}), query(S))  # all text on the wire
    assert breaking(req(obj({"v": {"oneOf": [S, I]}})), req(obj({"v": S})))  # JSON: 5 is no string
    assert not breaking(req(obj({"v": {"anyOf": [I, {"type": "number"}]}})), req(obj({"v": {"type": "number"}})))
    assert breaking(req(obj({"v": {"oneOf": [obj({"a": S}), obj({"b": S})]}})), req(obj({"v": {"oneOf": [obj({"a": S})]}})))


def test_security_scheme_refresh_url_offered_for_the_first_time_is_no_change() -> None:
    assert breaking(scheme_spec(type="http", scheme="bearer"), scheme_spec(type="http", scheme="bearer", bearerFormat="JWT"))
    flow = {"tokenUrl": "https://a/token", "scopes": {}}
    assert not breaking(scheme_spec(type="oauth2", flows={"clientCredentials": flow}),
                        scheme_spec(type="oauth2", flows={"clientCredentials": {**flow, "refreshUrl": "https://a/refresh"}}))
    assert breaking(scheme_spec(type="oauth2", flows={"clientCredentials": {**flow, "refreshUrl": "https://a/refresh"}}),
                    scheme_spec(type="oauth2", flows={"clientCredentials": flow}))


def test_a_removed_path_reaches_the_consumers_of_its_operations() -> None:
    old = oas({"/a": {"get": {"responses": OK}}, "/b": {"get": {"responses": OK}, "post": {"responses": OK}}})
    result = diff_specs(old, ONLY_GET, consumers={"web": ["GET /a"], "batch": ["POST /b"]})
    [change] = result.changes
    assert change.id == "path-removed" and change.consumers == ["batch"] and sorted(change.operations) == ["GET /b", "POST /b"]
    unused = diff_specs(old, ONLY_GET, consumers={"web": ["GET /a"]})
    assert unused.changes[0].level == "warning" and not unused.breaking


def test_a_shared_schema_under_a_non_json_media_type_is_reported_once() -> None:
    def spec(maximum: int) -> dict:
        form = {"requestBody": {"content": {"application/x-www-form-urlencoded": {"schema": {"$ref": "#/components/schemas/F"}}}}, "responses": OK}
        return oas({"/a": {"post": copy.deepcopy(form)}, "/b": {"post": copy.deepcopy(form)}},
                   components={"schemas": {"F": obj({"n": {**I, "maximum": maximum}})}})

    [change] = diff_specs(spec(9), spec(3)).changes
    assert change.level == "error" and sorted(change.operations) == ["POST /a", "POST /b"]


def test_many_swagger2_parameters_are_each_compared() -> None:
    """2.0 parameters carry their schema inline; each comparison must stay its own (no reused ids)."""
    def spec(maximum: int) -> dict:
        params = [{"name": f"p{i}", "in": "query", "type": "integer", "maximum": maximum if i == 57 else 100} for i in range(80)]
        return {"swagger": "2.0", "info": {}, "paths": {f"/r{j}": {"get": {"parameters": copy.deepcopy(params), "responses": {"200": {"description": "ok"}}}}
                                                          for j in range(5)}}

    found = [c for c in diff_specs(spec(100), spec(50)).changes]
    assert sorted(c.operation for c in found) == [f"GET /r{j}" for j in range(5)]
    assert all(c.id == "request-parameter-max-decreased" and "p57" in c.message for c in found)


def test_a_security_scheme_change_reaches_the_operations_using_it() -> None:
    def spec(location: str) -> dict:
        return oas({"/a": {"get": {"security": [{"key": []}], "responses": OK}}, "/b": {"get": {"responses": OK}}},
                   components={"securitySchemes": {"key": {"type": "apiKey", "in": location, "name": "k"}}})

    [change] = diff_specs(spec("header"), spec("query"), consumers={"web": ["GET /a"], "batch": ["GET /b"]}).changes
    assert change.id == "security-scheme-in-changed" and change.operations == ["GET /a"] and change.consumers == ["web"]


def test_openapi30_nullable_without_a_type_says_nothing() -> None:
    untyped = {"nullable": True, "properties": {"a": S}}
    assert not breaking(res(obj({"v": untyped})), res(obj({"v": {**untyped, "type": "object"}})))
    assert breaking(res(obj({"v": S})), res(obj({"v": {**S, "nullable": True}})))


def test_a_type_given_to_an_untyped_request_or_taken_from_a_response() -> None:
    assert breaking(req(obj({"v": {}})), req(obj({"v": S})))  # any value was accepted
    assert not breaking(req(obj({"v": S})), req(obj({"v": {}})))
    assert breaking(res(obj({"v": S})), res(obj({"v": {}})))  # any value may come back
    assert not breaking(res(obj({"v": {}})), res(obj({"v": S})))
    assert not breaking(req(obj({"v": {"enum": ["a"]}})), req(obj({"v": {"enum": ["a"], "type": "string"}})))
