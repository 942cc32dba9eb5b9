"""Validation of real spec files, both backends, with pointers, lines and the blob cache."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from gitcoord.contracts.loader import load_document
from gitcoord.contracts.validate import ValidationCache, blob_id, validate_cached, validate_spec

FIXTURES = Path(__file__).parent / "fixtures"
REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    "name, kind",
    [
        ("oas30-valid.yaml", "openapi-3.0"),
        ("oas31-valid.yaml", "openapi-3.1"),
        ("swagger2-valid.json", "openapi-2.0"),
        ("schema-valid.json", "jsonschema"),
        ("fileref.yaml", "openapi-3.0"),
    ],
)
@pytest.mark.parametrize("backend", ["fast", "reference"])
def test_valid_documents(name: str, kind: str, backend: str) -> None:
    # A JSON Schema is validated as one only when declared (see test_markerless_document_is_not_json_schema).
    result = validate_spec(FIXTURES / name, backend=backend, kind="jsonschema" if kind == "jsonschema" else None)
    assert result.kind == kind
    assert result.valid, [e.to_dict() for e in result.errors]


@pytest.mark.parametrize("name", ["oas30-invalid.yaml", "oas31-invalid.yaml", "swagger2-invalid.yaml", "schema-invalid.yaml"])
@pytest.mark.parametrize("backend", ["fast", "reference"])
def test_invalid_documents(name: str, backend: str) -> None:
    result = validate_spec(FIXTURES / name, backend=backend, kind="jsonschema" if name.startswith("schema") else None)
    assert not result.valid
    assert all(e.line is not None for e in result.errors), "YAML errors carry lines"


def test_all_errors_reported_with_pointer_and_line() -> None:
    result = validate_spec(FIXTURES / "oas30-invalid.yaml")
    by_pointer = {e.pointer: e for e in result.errors}
    assert "/paths/~1other/post/responses" in by_pointer
    assert by_pointer["/paths/~1other/post/responses"].line == 20


def test_semantic_errors_duplicate_operation_id_and_path_params() -> None:
    text = (FIXTURES / "oas30-invalid.yaml").read_bytes().replace(b"    post:\n      responses: 7\n", b"")
    result = validate_spec(load_document("x.yaml", text=text))
    messages = " | ".join(e.message for e in result.errors)
    assert "Operation ID 'getPet'" in messages
    assert "Path parameter 'id'" in messages
    example = [e for e in result.errors if e.pointer.endswith("/example")]
    assert example and "42" in example[0].message and example[0].line == 13


def test_swagger2_unresolved_path_parameter_line() -> None:
    result = validate_spec(FIXTURES / "swagger2-invalid.yaml")
    assert [e.pointer for e in result.errors] == ["/paths/~1pets~1{id}/get"]
    assert result.errors[0].line == 5


def test_jsonschema_kind_forced_and_examples_checked() -> None:
    doc = load_document("s.json", text=b'{"type": "object", "properties": {"id": {"type": "integer"}}, "examples": [{"id": "x"}]}')
    result = validate_spec(doc, kind="jsonschema")
    assert not result.valid and result.errors[0].pointer == "/examples/0"


def test_openapi_kind_on_plain_schema_is_invalid() -> None:
    doc = load_document("s.json", text=b'{"type": "object"}')
    assert not validate_spec(doc, kind="openapi").valid


def test_unresolvable_and_remote_refs_reported() -> None:
    text = (FIXTURES / "fileref.yaml").read_bytes().replace(b"sub/pet.yaml#/Pet", b"https://example.com/pet.yaml")
    result = validate_spec(load_document(FIXTURES / "remote.yaml", text=text))
    assert not result.valid and "refused" in result.errors[0].message
    assert result.errors[0].pointer.endswith("/schema/$ref")


def test_cyclic_schema_validates() -> None:
    doc = load_document("c.yaml", text=b"""openapi: 3.0.3
info: {title: t, version: '1'}
paths: {}
components:
  schemas:
    Node: {type: object, properties: {next: {$ref: '#/components/schemas/Node'}}, default: {next: {next: {}}}}
""")
    assert validate_spec(doc).valid


def test_blob_id_matches_git(tmp_path: Path) -> None:
    path = tmp_path / "x.yaml"
    path.write_bytes(b"a: 1\n")
    out = subprocess.run(["git", "hash-object", str(path)], capture_output=True, text=True, check=True).stdout.strip()
    assert blob_id(path.read_bytes()) == out


def test_cache_hit_imports_no_validator(tmp_path: Path) -> None:
    spec = tmp_path / "api.yaml"
    spec.write_bytes((FIXTURES / "oas30-invalid.yaml").read_bytes())
    cache = tmp_path / "cache"
    first = validate_cached(spec, cache)
    assert not first.valid and list(cache.iterdir())
    code = (
        "import sys; from gitcoord.contracts.validate import validate_cached;"
        f"r = validate_cached({str(spec)!r}, {str(cache)!r});"
        "heavy = [m for m in sys.modules if m.split('.')[0] in ('jsonschema', 'jsonschema_rs', 'openapi_spec_validator', 'yaml')];"
        "print(r.valid, len(r.errors), heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True).stdout.split(" ", 2)
    assert out[0] == "False" and int(out[1]) == len(first.errors) and out[2].strip() == "[]"


def test_cache_ignores_corrupt_entries(tmp_path: Path) -> None:
    cache = ValidationCache(tmp_path)
    (tmp_path / "validate-abc.json").write_text("{not json")
    assert cache.get("abc") is None


def test_changed_content_misses_cache(tmp_path: Path) -> None:
    spec = tmp_path / "api.yaml"
    spec.write_bytes((FIXTURES / "oas30-valid.yaml").read_bytes())
    assert validate_cached(spec, tmp_path / "c").valid
    spec.write_bytes((FIXTURES / "oas30-invalid.yaml").read_bytes())
    assert not validate_cached(spec, tmp_path / "c").valid
