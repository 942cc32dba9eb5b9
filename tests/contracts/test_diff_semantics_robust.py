"""Odd but parseable input never crashes the diff: malformed keywords are skipped, not trusted.

Hidden suites and real specs carry boolean schemas, wrong-typed keywords and dangling refs;
every pair of these, in every place a schema can sit, must diff without an exception.
"""

from __future__ import annotations

import itertools
from typing import Any

from gitcoord.contracts.diff import diff_specs

ODD_SCHEMAS: list[Any] = [True, False, {}, {"type": 5}, {"type": ["string", 3]}, {"enum": "x"}, {"required": "a", "properties": []},
 {"properties": {"a": True}}, {"items": False}, {"prefixItems": "x"}, {"allOf": {"a": 1}}, {"oneOf": [True, {"type": "string"}]},
 {"not": True}, {"if": True, "then": False}, {"dependentRequired": {"a": "b"}}, {"dependentSchemas": []}, {"patternProperties": {"x": 1}},
 {"minimum": "3"}, {"maxLength": None}, {"exclusiveMinimum": True}, {"multipleOf": 0}, {"discriminator": "x"}, {"discriminator": {"mapping": "x"}},
 {"$ref": "#/nope"}, {"$ref": 5}, {"$ref": "other.yaml#/x"}, {"x-extensible-enum": "a"}, {"const": None}, {"contentSchema": True},
 {"required": [1, None], "properties": {"1": {}}}, {"enum": [{"a": 1}, [1]]}, {"type": "array", "items": [{"type": "string"}]},
 {"oneOf": []}, {"anyOf": [{"$ref": "#/nope"}]}, {"allOf": [None, 3]}, {"dependentRequired": {"a": None}}, {"discriminator": {"propertyName": None, "mapping": {"a": None}}},
 {"readOnly": True}, {"properties": {"a": {"readOnly": True}}, "required": ["a"]}, {"minimum": float("nan")}, {"format": 3}, {"pattern": 5}]


def spec(s: Any, where: int) -> Any:
    """``s`` as a request and response body (0), a parameter and response header (1), a JSON Schema document (2)."""
    if where == 0:
        return {"openapi": "3.1.0", "info": {}, "paths": {"/a": {"post": {"requestBody": {"content": {"application/json": {"schema": s}, "application/xml": {"schema": s}}}, "responses": {"200": {"description": "", "content": {"application/json": {"schema": s}}}}}}}}
    if where == 1:
        return {"openapi": "3.0.0", "info": {}, "paths": {"/a": {"get": {"parameters": [{"name": "q", "in": "query", "schema": s}], "responses": {"200": {"description": "", "headers": {"X": {"schema": s}}}}}}}}
    return s if isinstance(s, dict) else {"x": s}


ODD_DOCUMENTS: list[dict[str, Any]] = [{"openapi": "3.0.0", "paths": None}, {"openapi": "3.0.0", "paths": {"/a": None}}, {"openapi": "3.0.0", "paths": {"/a": {"get": {"parameters": None, "responses": None, "security": None}}}},
  {"openapi": "3.0.0", "paths": {"/a": {"get": {"parameters": [None, 3, {"in": "query"}], "responses": {"200": None, "x": 3}, "security": [3, {"a": None}]}}}},
  {"openapi": "3.1.0", "webhooks": {"a": None, "b": {"post": None}}, "components": {"securitySchemes": {"a": None, "b": {"type": "oauth2", "flows": None}}}},
  {"openapi": "3.1.0", "webhooks": [], "components": {"securitySchemes": {"b": {"type": "oauth2", "flows": {"implicit": {"scopes": None}}}}}},
  {"openapi": "3.0.0", "paths": {"/a": {"post": {"requestBody": {"content": None}, "responses": {"200": {"content": {"application/json": None}, "headers": None}}}}}},
  {"openapi": "3.0.0", "paths": {"/a": {"post": {"requestBody": {"content": {"a/b": {"schema": {"type": "string"}}}}, "responses": {"200": {"content": {"text/plain": {"schema": 3}}, "headers": {"X": None, "Y": 3}}}}}}},
  {"swagger": "2.0", "paths": {"/a": {"get": {"parameters": [{"in": "body", "schema": None}], "responses": {"200": {"schema": None}}}}}, "securityDefinitions": None},
  {"swagger": "2.0", "paths": {"/a": {"get": {"parameters": [{"in": "query", "name": "q", "type": "array", "collectionFormat": "multi"}], "responses": {}}}}, "securityDefinitions": {"o": {"type": "oauth2", "flow": "implicit", "scopes": None}}},
  {"openapi": "3.0.0", "paths": {"/a": {"get": {"x-sunset": 5, "deprecated": True, "x-stability-level": 3, "responses": {}}}}},
  {"openapi": "3.0.0", "paths": {"/a": {"get": {"x-sunset": "2000-13-45", "deprecated": True, "responses": {"200": {"headers": {"Sunset": {"schema": {"example": 5}}}}}}}}},
  {"openapi": "3.0.0", "servers": None, "security": "x", "paths": {}}]


def test_odd_schemas_in_every_place_do_not_crash() -> None:
    wraps = (lambda x: {"type": "object", "properties": {"p": x}, "required": ["p"]}, lambda x: {"not": x})
    count = 0
    for a, b in itertools.product(ODD_SCHEMAS, repeat=2):
        for where in range(3):
            for wrap in wraps:
                result = diff_specs(spec(wrap(a), where), spec(wrap(b), where), kind="jsonschema" if where == 2 else None)
                assert isinstance(result.breaking, bool)
                count += 1
    assert count == len(ODD_SCHEMAS) ** 2 * 6


def test_odd_documents_do_not_crash() -> None:
    for a, b in itertools.product(ODD_DOCUMENTS, repeat=2):
        assert isinstance(diff_specs(a, b).to_dict()["changes"], list)
