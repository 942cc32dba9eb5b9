"""Validation rules beyond the metaschema: declared kinds, dialects, non-string refs, OpenAPI 3.2,
structural and semantic errors reported together, parse-error lines, and files outside a repo."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import git, run_cli

from gitcoord.contracts.loader import load_document
from gitcoord.contracts.validate import validate_spec

REPO = Path(__file__).resolve().parents[2]


def check(text: str, **kw):
    return validate_spec(load_document("spec.yaml", text=text.encode()), **kw)


def messages(result) -> list[str]:
    return [f"{e.pointer} {e.message}" for e in result.errors]


def test_markerless_document_is_not_json_schema_unless_declared() -> None:
    text = '{"type": "object", "properties": {"id": {"type": "string"}}}'
    implicit = check(text)
    assert not implicit.valid and "no 'openapi' or 'swagger' key" in implicit.errors[0].message
    assert "--kind jsonschema" in implicit.errors[0].message
    assert not check(text, kind="openapi").valid  # a contract declared openapi fails
    assert check(text, kind="jsonschema").valid
    assert check(text, kind="detect").kind == "jsonschema"  # what contracts.globs files get


def test_misspelt_version_key_is_caught() -> None:
    assert not check("opneapi: 3.0.3\ninfo: {title: t, version: '1'}\npaths: {}\n").valid


OAS31 = "openapi: 3.1.0\ninfo: {title: t, version: '1'}\npaths: {}\n"


def test_unknown_json_schema_dialect_root_and_per_schema() -> None:
    known = check(OAS31 + "jsonSchemaDialect: https://json-schema.org/draft/2019-09/schema\n"
                  "components: {schemas: {A: {type: object}}}\n")
    assert known.valid, messages(known)
    root = check(OAS31 + "jsonSchemaDialect: https://example.com/custom\ncomponents: {schemas: {A: {type: object}}}\n")
    assert [(e.pointer, e.line) for e in root.errors] == [("/jsonSchemaDialect", 4)]
    assert "Unknown JSON Schema dialect" in root.errors[0].message
    own = check(OAS31 + "components: {schemas: {A: {$schema: 'https://example.com/x', type: object}}}\n")
    assert [e.pointer for e in own.errors] == ["/components/schemas/A/$schema"]
    oas_base = check(OAS31 + "components: {schemas: {A: {$schema: 'https://spec.openapis.org/oas/3.1/dialect/base',"
                             " type: object, discriminator: {propertyName: k}}}}\n")
    assert oas_base.valid, messages(oas_base)


@pytest.mark.parametrize("version", ["3.0.3", "3.1.0"])
def test_non_string_ref_is_an_error(version: str) -> None:
    result = check(f"openapi: {version}\ninfo: {{title: t, version: '1'}}\npaths: {{}}\n"
                   "components:\n  schemas:\n    A:\n      $ref: 42\n")
    assert not result.valid
    bad_ref = [e for e in result.errors if e.pointer == "/components/schemas/A/$ref"]
    assert bad_ref and "must be a string" in bad_ref[0].message and bad_ref[0].line == 7


def test_openapi_32_query_additional_operations_and_tag_hierarchy() -> None:
    text = """openapi: 3.2.0
info: {title: t, version: '1'}
tags:
  - {name: a, parent: b}
  - {name: b, parent: a}
  - {name: c, parent: nowhere}
paths:
  /items/{id}:
    query:
      responses: {'200': {description: ok}}
    additionalOperations:
      CUSTOM:
        responses: {'200': {description: ok}}
"""
    found = messages(check(text))
    assert any("'query' operation" in m and "'id'" in m for m in found)
    assert any(m.startswith("/paths/~1items~1{id}/additionalOperations/CUSTOM ") for m in found)
    assert any("Tag 'c' references unknown parent tag 'nowhere'" in m for m in found)
    assert sum("Circular tag hierarchy detected" in m for m in found) == 1
    # OpenAPI 3.1 has no query operation: not walked as one.
    assert not any("'query' operation" in m for m in messages(check(text.replace("3.2.0", "3.1.0"))))


def test_structural_and_semantic_errors_reported_together_with_pointer_and_line() -> None:
    text = """openapi: 3.0.3
info: {title: t, version: '1'}
paths:
  /pets/{id}:
    get:
      operationId: getPet
      responses: 7
    post:
      operationId: getPet
      responses: {'200': {description: ok}}
components:
  schemas:
    Count: {type: integer, default: many}
"""
    result = check(text)
    by_pointer = {e.pointer: e for e in result.errors}
    assert by_pointer["/paths/~1pets~1{id}/get/responses"].line == 7  # structural
    assert "not unique" in by_pointer["/paths/~1pets~1{id}/post/operationId"].message  # semantic
    assert by_pointer["/paths/~1pets~1{id}/post/operationId"].line == 9
    assert "was not resolved" in by_pointer["/paths/~1pets~1{id}/get"].message
    assert by_pointer["/components/schemas/Count/default"].line == 13
    assert all(e.line is not None for e in result.errors)


def test_yaml_parse_error_carries_line_in_json(repo: Path) -> None:
    (repo / "broken.yaml").write_text("openapi: 3.0.3\ninfo: {title: t, version: '1'\npaths: {}\n")
    res = run_cli("--json", "contract", "validate", "broken.yaml", cwd=repo)
    assert res.code == 1
    error = res.json["results"][0]["errors"][0]
    assert error["line"] == 3 and error["column"] == 1 and "invalid YAML" in error["message"]


def test_validate_files_outside_a_git_repository(tmp_path: Path) -> None:
    outside = tmp_path / "loose"
    outside.mkdir()
    (outside / "ok.yaml").write_text("openapi: 3.0.3\ninfo: {title: t, version: '1'}\npaths: {}\n")
    (outside / "schema.json").write_text('{"type": "object"}')
    env = {**os.environ, "GIT_CEILING_DIRECTORIES": str(tmp_path), "PYTHONPATH": str(REPO)}

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "gitcoord", *args], cwd=outside, env=env,
                              capture_output=True, text=True)

    assert git(outside, "rev-parse", "--is-inside-work-tree", check=False) == ""
    ok = run("--json", "contract", "validate", "ok.yaml")
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout)["results"][0]["kind"] == "openapi-3.0"
    assert run("contract", "validate", "schema.json").returncode == 1
    assert run("contract", "validate", "schema.json", "--kind", "jsonschema").returncode == 0
    none = run("contract", "validate")
    assert none.returncode == 2 and "name the spec files" in none.stderr and "Traceback" not in none.stderr


def test_a_contract_declared_openapi_fails_when_its_spec_loses_the_version_key(repo: Path) -> None:
    from conftest import commit_cart_spec

    commit_cart_spec(repo)
    assert run_cli("contract", "add", "cart", "--spec", "api/cart.yaml", cwd=repo).code == 0
    spec = repo / "api" / "cart.yaml"
    spec.write_text(spec.read_text().replace("openapi: 3.0.3\n", "opneapi: 3.0.3\n", 1))
    res = run_cli("--json", "contract", "validate", "cart", cwd=repo)
    assert res.code == 1
    assert "no 'openapi' or 'swagger' key" in res.json["results"][0]["errors"][0]["message"]
    approve = run_cli("contract", "approve", "cart", cwd=repo)
    assert approve.code == 1 and "invalid" in approve.err
