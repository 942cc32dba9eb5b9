"""The contract mock over real sockets on 127.0.0.1, and example generation."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest
import yaml
from openapi_schema_validator import OAS30Validator, OAS31Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4, DRAFT202012

from gitcoord.contracts.mock import ContractModel, MockServer
from gitcoord.contracts.sample import example_for
from gitcoord.errors import UsageError

FIXTURE = Path(__file__).parent / "fixtures" / "cart-api.yaml"
CART_ID = "c0ffee00-0000-4000-8000-000000000001"
CUSTOMER = "9b2f6a3e-4c1d-4f7a-9e8b-2d5c7a1f0e33"


@pytest.fixture(scope="module")
def cart_spec() -> dict:
    return yaml.load(FIXTURE.read_text(), Loader=yaml.CSafeLoader)


@pytest.fixture(scope="module")
def mock(cart_spec: dict):
    with MockServer(cart_spec) as server:
        yield server


def call(method: str, url: str, body: Any = None, headers: dict | None = None) -> tuple[int, Any, Any]:
    data = json.dumps(body).encode() if body is not None and not isinstance(body, bytes) else body
    headers = dict(headers or {})
    if data is not None:
        headers.setdefault("Content-Type", "application/json")
    request = urllib.request.Request(url, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=5) as answer:
            status, answer_headers, raw = answer.status, answer.headers, answer.read()
    except urllib.error.HTTPError as answer:
        status, answer_headers, raw = answer.code, answer.headers, answer.read()
    return status, answer_headers, (json.loads(raw) if raw else None)


def oas_validator(spec: dict, schema: dict):
    """An independent validator (openapi-schema-validator) for checking generated values."""
    v31 = spec.get("openapi", "").startswith("3.1")
    resource = Resource(contents=spec, specification=DRAFT202012 if v31 else DRAFT4)
    registry = Registry().with_resource("urn:test", resource)
    cls = OAS31Validator if v31 else OAS30Validator
    return cls({"$ref": "urn:test#" + schema["$ref"][1:]} if "$ref" in schema else schema, registry=registry)


# --------------------------------------------------------------------------- examples


def test_url_includes_the_servers_base_path(mock: MockServer) -> None:
    assert mock.url.startswith("http://127.0.0.1:")
    assert mock.url.endswith("/v1")
    assert mock.port != 0


def test_answers_the_first_named_example(mock: MockServer, cart_spec: dict) -> None:
    status, headers, body = call("GET", f"{mock.url}/carts/{CART_ID}")
    assert status == 200
    assert headers["Content-Type"] == "application/json"
    assert body == cart_spec["components"]["examples"]["CartWithItems"]["value"]


def test_prefer_example_picks_the_named_example(mock: MockServer) -> None:
    status, _, body = call("GET", f"{mock.url}/carts/{CART_ID}", headers={"Prefer": "example=empty"})
    assert status == 200
    assert body["id"].endswith("0002") and body["items"] == []


def test_prefer_code_picks_the_status_and_its_example(mock: MockServer) -> None:
    status, _, body = call("GET", f"{mock.url}/carts/{CART_ID}", headers={"Prefer": "code=404"})
    assert status == 404
    assert body == {"error": {"code": "NOT_FOUND", "message": "cart not found"}}


def test_prefer_undocumented_code_or_unknown_example_is_refused(mock: MockServer) -> None:
    status, _, body = call("GET", f"{mock.url}/carts/{CART_ID}", headers={"Prefer": "code=418"})
    assert status == 400 and "418" in body["error"]["details"]["fields"]["Prefer"]
    status, _, body = call("GET", f"{mock.url}/carts/{CART_ID}", headers={"Prefer": "example=nope"})
    assert status == 400 and "nope" in body["error"]["details"]["fields"]["Prefer"]


def test_response_headers_come_from_examples_or_schemas(mock: MockServer) -> None:
    status, headers, body = call("POST", f"{mock.url}/carts", {"customerId": CUSTOMER, "currency": "EUR"})
    assert status == 201
    assert headers["Location"] == f"/v1/carts/{CART_ID}"
    status, headers, body = call("GET", f"{mock.url}/carts?customerId={CUSTOMER}")
    assert status == 200 and int(headers["X-Total-Count"]) >= 0


@pytest.mark.parametrize(
    "path, schema_pointer",
    [
        ("/carts?customerId=" + CUSTOMER, "#/paths/~1carts/get/responses/200/content/application~1json/schema"),
        ("/categories", "#/paths/~1categories/get/responses/200/content/application~1json/schema"),
        ("/categories/shoes", "#/components/schemas/Category"),
        (f"/carts/{CART_ID}/items", "#/components/schemas/Cart"),
    ],
)
def test_generated_bodies_validate_against_their_schemas(mock: MockServer, cart_spec: dict, path: str,
                                                         schema_pointer: str) -> None:
    method = "POST" if path.endswith("/items") else "GET"
    body = {"sku": "SKU-1234", "quantity": 1} if method == "POST" else None
    status, _, answer = call(method, mock.url + path, body)
    assert status == 200
    errors = list(oas_validator(cart_spec, {"$ref": schema_pointer}).iter_errors(answer))
    assert errors == []


def test_every_component_schema_gets_a_valid_example(cart_spec: dict) -> None:
    for name in cart_spec["components"]["schemas"]:
        schema = {"$ref": f"#/components/schemas/{name}"}
        value = example_for(schema, cart_spec)
        assert list(oas_validator(cart_spec, schema).iter_errors(value)) == [], name


def test_no_content_and_head_answers_have_no_body(mock: MockServer) -> None:
    status, _, body = call("DELETE", f"{mock.url}/carts/{CART_ID}")
    assert (status, body) == (204, None)
    status, headers, body = call("HEAD", f"{mock.url}/health")
    assert (status, body) == (200, None)


# --------------------------------------------------------------------------- request validation


def assert_validation_error(status: int, body: Any) -> dict:
    assert status == 400
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "details"}
    assert body["error"]["code"] == "VALIDATION_ERROR"
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    assert set(body["error"]["details"]) == {"fields"}
    fields = body["error"]["details"]["fields"]
    assert fields and all(isinstance(k, str) and isinstance(v, str) for k, v in fields.items())
    return fields


def test_missing_required_query_parameter_is_a_400(mock: MockServer) -> None:
    status, _, body = call("GET", f"{mock.url}/carts")
    fields = assert_validation_error(status, body)
    assert list(fields) == ["customerId"]
    assert "required" in fields["customerId"]


def test_query_parameters_are_coerced_and_checked(mock: MockServer) -> None:
    ok = f"{mock.url}/carts?customerId={CUSTOMER}&limit=100&status=open&status=abandoned"
    assert call("GET", ok)[0] == 200
    status, _, body = call("GET", f"{mock.url}/carts?customerId=nope&limit=abc&status=open&status=lost")
    fields = assert_validation_error(status, body)
    assert fields["limit"] == "expected integer, got 'abc'"
    assert "uuid" in fields["customerId"]
    assert "must be one of" in fields["status[1]"]
    status, _, body = call("GET", f"{mock.url}/carts?customerId={CUSTOMER}&limit=101")
    assert "maximum" in assert_validation_error(status, body)["limit"]


def test_path_and_header_parameters_are_checked(mock: MockServer) -> None:
    status, _, body = call("PATCH", f"{mock.url}/carts/{CART_ID}/items/BAD", {"quantity": 1})
    assert "does not match" in assert_validation_error(status, body)["sku"]
    status, _, body = call("POST", f"{mock.url}/carts", {"customerId": CUSTOMER, "currency": "EUR"},
                           headers={"Idempotency-Key": "short"})
    assert "Idempotency-Key" in assert_validation_error(status, body)


def test_wrong_body_types_are_named_by_json_path(mock: MockServer) -> None:
    bad = {"customerId": 42, "currency": "YEN", "items": [{"sku": "SKU-1001", "quantity": "2"}]}
    status, _, body = call("POST", f"{mock.url}/carts", bad)
    fields = assert_validation_error(status, body)
    assert fields["$.customerId"] == "expected string, got integer"
    assert fields["$.items[0].quantity"] == "expected integer, got string"
    assert "must be one of" in fields["$.currency"]


def test_body_missing_required_property_extra_property_and_bad_json(mock: MockServer) -> None:
    status, _, body = call("POST", f"{mock.url}/carts", {"customerId": CUSTOMER})
    assert assert_validation_error(status, body) == {"$.currency": "is required"}
    status, _, body = call("PATCH", f"{mock.url}/carts/{CART_ID}/items/SKU-1001", {"quantity": 2, "colour": "red"})
    assert list(assert_validation_error(status, body)) == ["$.colour"]
    status, _, body = call("POST", f"{mock.url}/carts", b"{not json")
    assert "not valid JSON" in assert_validation_error(status, body)["$"]
    status, _, body = call("POST", f"{mock.url}/carts/{CART_ID}/items")
    assert "required" in assert_validation_error(status, body)["body"]


def test_undocumented_media_type_is_a_415(mock: MockServer) -> None:
    status, _, body = call("POST", f"{mock.url}/carts", b"customerId=1", headers={"Content-Type": "text/plain"})
    assert status == 415 and body["error"]["code"] == "UNSUPPORTED_MEDIA_TYPE"


@pytest.mark.parametrize("length", ["abc", "-5"])
def test_bad_content_length_is_answered_with_a_400(mock: MockServer, length: str) -> None:
    import socket

    with socket.create_connection(("127.0.0.1", mock.port), timeout=5) as sock:
        sock.sendall(f"POST {mock.app.model.base_path}/carts HTTP/1.1\r\nHost: x\r\nContent-Type: application/json"
                     f"\r\nContent-Length: {length}\r\n\r\n{{}}".encode())
        sock.shutdown(socket.SHUT_WR)
        answer = b""
        while chunk := sock.recv(4096):
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.split(b" ")[1] == b"400", answer[:200]
    assert json.loads(body)["error"]["code"] == "BAD_REQUEST"


# --------------------------------------------------------------------------- routing errors


def test_unknown_path_is_a_json_404(mock: MockServer) -> None:
    for url in (f"{mock.url}/wishlists", mock.url.rsplit("/v1", 1)[0] + "/carts"):
        status, headers, body = call("GET", url)
        assert status == 404
        assert headers["Content-Type"] == "application/json"
        assert body["error"]["code"] == "NOT_FOUND"


def test_wrong_method_is_a_405_with_allow(mock: MockServer) -> None:
    status, headers, body = call("PUT", f"{mock.url}/carts/{CART_ID}", {"x": 1})
    assert status == 405
    assert headers["Allow"] == "DELETE, GET, HEAD"
    assert body["error"]["code"] == "METHOD_NOT_ALLOWED"


def test_literal_paths_win_over_templates() -> None:
    spec = {"openapi": "3.0.3", "info": {"title": "t", "version": "1"}, "paths": {
        "/users/{id}": {"get": {"responses": {"200": {"description": "x", "content": {"application/json": {"example": "id"}}}}}},
        "/users/me": {"get": {"responses": {"200": {"description": "x", "content": {"application/json": {"example": "me"}}}}}},
    }}
    with MockServer(spec) as server:
        assert call("GET", server.url + "/users/me")[2] == "me"
        assert call("GET", server.url + "/users/7")[2] == "id"


# --------------------------------------------------------------------------- other versions


SPEC_31 = {
    "openapi": "3.1.0",
    "info": {"title": "Notes", "version": "1.0.0"},
    "servers": [{"url": "/api"}],
    "paths": {
        "/notes/{id}": {
            "get": {
                "parameters": [{"name": "id", "in": "path", "required": True,
                                "schema": {"type": "integer", "exclusiveMinimum": 0}, "example": 3}],
                "responses": {"200": {"description": "a note", "content": {"application/json": {
                    "schema": {"$ref": "#/components/schemas/Note"}}}}},
            }
        }
    },
    "components": {"schemas": {"Note": {
        "type": "object", "required": ["id", "text", "tag", "kind"],
        "properties": {"id": {"type": "integer", "exclusiveMinimum": 0}, "text": {"type": ["string", "null"], "minLength": 3},
                       "tag": {"const": "note"}, "kind": {"type": "string", "examples": ["memo"]},
                       "replies": {"type": "array", "items": {"$ref": "#/components/schemas/Note"}}},
    }}},
}


def test_openapi_31_smoke() -> None:
    with MockServer(SPEC_31) as server:
        assert server.url.endswith("/api")
        status, _, body = call("GET", server.url + "/notes/3")
        assert status == 200
        assert list(oas_validator(SPEC_31, {"$ref": "#/components/schemas/Note"}).iter_errors(body)) == []
        assert body["tag"] == "note" and body["kind"] == "memo"
        status, _, body = call("GET", server.url + "/notes/0")
        assert "id" in assert_validation_error(status, body)


SPEC_20 = {
    "swagger": "2.0",
    "info": {"title": "Pets", "version": "1.0.0"},
    "basePath": "/v2",
    "produces": ["application/json"],
    "paths": {
        "/pets": {
            "get": {
                "parameters": [{"name": "limit", "in": "query", "type": "integer", "maximum": 10}],
                "responses": {"200": {"description": "pets", "schema": {"type": "array", "items": {"$ref": "#/definitions/Pet"}},
                                      "examples": {"application/json": [{"id": 1, "name": "Rex"}]}}},
            },
            "post": {
                "consumes": ["application/json"],
                "parameters": [{"name": "pet", "in": "body", "required": True, "schema": {"$ref": "#/definitions/Pet"}}],
                "responses": {"201": {"description": "created", "schema": {"$ref": "#/definitions/Pet"}}},
            },
        }
    },
    "definitions": {"Pet": {"type": "object", "required": ["id", "name"], "properties": {
        "id": {"type": "integer"}, "name": {"type": "string"}, "tag": {"type": "string", "x-nullable": True}}}},
}


def test_swagger_20_smoke() -> None:
    with MockServer(SPEC_20) as server:
        assert server.url.endswith("/v2")
        status, _, body = call("GET", server.url + "/pets")
        assert (status, body) == (200, [{"id": 1, "name": "Rex"}])
        status, _, body = call("GET", server.url + "/pets?limit=11")
        assert "limit" in assert_validation_error(status, body)
        status, _, body = call("POST", server.url + "/pets", {"id": 2, "name": "Tom", "tag": None})
        assert status == 201 and set(body) >= {"id", "name"}
        status, _, body = call("POST", server.url + "/pets", {"id": "two"})
        assert assert_validation_error(status, body) == {"$.id": "expected integer, got string", "$.name": "is required"}


# --------------------------------------------------------------------------- sample.py


def test_example_for_formats_bounds_and_patterns() -> None:
    spec: dict = {}
    assert example_for({"type": "string", "format": "date-time"}, spec) == "2024-01-01T00:00:00Z"
    assert example_for({"type": "string", "format": "email"}, spec) == "user@example.com"
    assert example_for({"type": "string", "minLength": 10}, spec) == "stringxxxx"
    assert example_for({"type": "string", "pattern": "^[A-Z]{3}-\\d{2}$"}, spec) == "AAA-00"
    assert example_for({"type": "integer", "minimum": 5, "exclusiveMinimum": True, "multipleOf": 4}, spec) == 8
    assert example_for({"type": "integer", "exclusiveMinimum": 5}, spec) == 6
    assert example_for({"type": "integer", "maximum": -3}, spec) == -3
    assert example_for({"enum": [None, "b"]}, spec) == "b"
    assert example_for({"type": "string", "nullable": True}, spec) == "string"
    uuids = example_for({"type": "array", "minItems": 3, "uniqueItems": True,
                         "items": {"type": "string", "format": "uuid"}}, spec)
    assert len(set(uuids)) == 3
    validator = OAS30Validator({"type": "array", "items": {"type": "string", "format": "uuid"}},
                               format_checker=OAS30Validator.FORMAT_CHECKER)
    assert list(validator.iter_errors(uuids)) == []


def test_example_for_composition_and_discriminator() -> None:
    spec = {"components": {"schemas": {
        "Cat": {"type": "object", "required": ["kind", "lives"], "properties": {"kind": {"type": "string"}, "lives": {"type": "integer", "maximum": 9}}},
        "Dog": {"type": "object", "required": ["kind"], "properties": {"kind": {"type": "string"}}},
        "Named": {"type": "object", "required": ["name"], "properties": {"name": {"type": "string"}}},
    }}}
    pet = {"oneOf": [{"$ref": "#/components/schemas/Cat"}, {"$ref": "#/components/schemas/Dog"}],
           "discriminator": {"propertyName": "kind", "mapping": {"cat": "#/components/schemas/Cat"}}}
    assert example_for(pet, spec) == {"kind": "cat", "lives": 1}
    merged = example_for({"allOf": [{"$ref": "#/components/schemas/Named"}, {"$ref": "#/components/schemas/Cat"}]}, spec)
    assert set(merged) == {"name", "kind", "lives"}


def test_example_for_terminates_on_recursive_schemas() -> None:
    spec = {"components": {"schemas": {
        # Each node requires the next one, but the chain may end in null.
        "Chain": {"type": "object", "required": ["next"], "properties": {
            "next": {"allOf": [{"$ref": "#/components/schemas/Chain"}], "nullable": True}}},
        "A": {"type": "object", "required": ["b"], "properties": {"b": {"$ref": "#/components/schemas/B"}}},
        "B": {"type": "object", "properties": {"a": {"$ref": "#/components/schemas/A"}}},
    }}}
    chain = example_for({"$ref": "#/components/schemas/Chain"}, spec)
    depth = 0
    while isinstance(chain, dict):
        chain, depth = chain.get("next"), depth + 1
    assert 1 <= depth <= 30
    assert example_for({"$ref": "#/components/schemas/A"}, spec) == {"b": {}}


def test_cyclic_ref_without_schema_is_refused() -> None:
    spec = {"components": {"schemas": {"X": {"$ref": "#/components/schemas/Y"}, "Y": {"$ref": "#/components/schemas/X"}}}}
    with pytest.raises(UsageError, match="cycle"):
        example_for({"$ref": "#/components/schemas/X"}, spec)


# --------------------------------------------------------------------------- lifecycle


def test_not_an_openapi_document_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="OpenAPI"):
        MockServer({"paths": {}})


def test_busy_port_is_a_usage_error(mock: MockServer, cart_spec: dict) -> None:
    with pytest.raises(UsageError, match="--port"):
        MockServer(cart_spec, port=mock.port).start()


def test_model_lists_every_operation(cart_spec: dict) -> None:
    model = ContractModel(cart_spec)
    labels = {op.label for op in model.operations}
    assert labels == {"getHealth", "listCarts", "createCart", "getCart", "deleteCart", "addCartItem",
                      "updateCartItem", "listCategories", "getCategory"}


def test_serve_forever_prints_the_url_first_and_serves(tmp_path: Path) -> None:
    script = (
        "import sys, yaml\n"
        "from gitcoord.contracts.mock import serve_forever\n"
        f"spec = yaml.safe_load(open({str(FIXTURE)!r}))\n"
        "serve_forever(spec, '127.0.0.1', 0, on_ready=lambda url: print(url, flush=True))\n"
    )
    root = Path(__file__).resolve().parents[2]
    process = subprocess.Popen([sys.executable, "-c", script], cwd=root, stdout=subprocess.PIPE, text=True)
    try:
        url = process.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:") and url.endswith("/v1")
        assert call("GET", url + "/health") [0] == 200
    finally:
        process.terminate()
        process.wait(timeout=5)


def test_yaml_integer_status_keys_and_wrongly_typed_schema_examples() -> None:
    spec = yaml.safe_load(
        """
swagger: "2.0"
info: {title: t, version: "1"}
paths:
  /things:
    get:
      responses:
        200:
          description: ok
          schema:
            type: object
            required: [created]
            properties:
              created: {type: integer, example: "1739811096"}
"""
    )
    assert 200 in spec["paths"]["/things"]["get"]["responses"]
    with MockServer(spec) as server:
        status, _, body = call("GET", server.url + "/things")
        assert (status, body) == (200, {"created": 1})
        from gitcoord.contracts.conformance import run_contract_tests

        assert run_contract_tests(spec, server.url).ok
