"""Loader and $ref resolution: real files in tmp dirs."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from gitcoord.contracts.loader import MAX_SPEC_BYTES, join_pointer, load_document, split_pointer
from gitcoord.contracts.refs import RefError, RefResolver
from gitcoord.errors import UsageError

FIXTURES = Path(__file__).parent / "fixtures"

BOMB = "\n".join(
    [
        'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]',
        *[f"{c}: &{c} [{', '.join(['*' + p] * 9)}]" for p, c in zip("abcdefgh", "bcdefghi")],
    ]
)


def test_yaml_alias_bomb_refused_fast(tmp_path: Path) -> None:
    path = tmp_path / "bomb.yaml"
    path.write_text(BOMB)
    start = time.perf_counter()
    with pytest.raises(UsageError, match="alias"):
        load_document(path)
    assert time.perf_counter() - start < 1.0


def test_recursive_alias_refused() -> None:
    with pytest.raises(UsageError, match="recursive alias"):
        load_document("x.yaml", text=b"a: &x [1, *x]\n")


def test_harmless_aliases_load() -> None:
    doc = load_document("x.yaml", text=b"base: &b {type: string}\nother: *b\n")
    assert doc.data["other"] == {"type": "string"}


def test_prose_with_stars_and_ampersands_is_not_an_alias() -> None:
    doc = load_document("x.yaml", text=b"description: '**bold** R&D *note*'\nx: 1\n")
    assert doc.data["x"] == 1


@pytest.mark.parametrize("text, message", [(b"- 1\n- 2\n", "list"), (b"", "empty"), (b"'just text'", "str")])
def test_non_mapping_root_refused(text: bytes, message: str) -> None:
    with pytest.raises(UsageError, match=f"top level must be a mapping.*{message}"):
        load_document("spec.yaml", text=text)


def test_huge_file_refused(tmp_path: Path) -> None:
    path = tmp_path / "big.yaml"
    with path.open("wb") as fh:
        fh.truncate(MAX_SPEC_BYTES + 1)
    with pytest.raises(UsageError, match="over the"):
        load_document(path)


def test_invalid_yaml_names_line() -> None:
    with pytest.raises(UsageError, match="invalid YAML at line 2"):
        load_document("bad.yaml", text=b"a: 1\nb: : c\n")


def test_invalid_json_refused() -> None:
    with pytest.raises(UsageError, match="invalid JSON"):
        load_document("bad.json", text=b'{"a": }')


def test_line_of_pointer() -> None:
    doc = load_document(FIXTURES / "oas30-valid.yaml")
    assert doc.line_of("/paths/~1pets~1{id}/get") == 5
    assert doc.line_of("/components/schemas/Pet/required") == 20
    assert doc.line_of("/paths/~1pets~1{id}/get/nonexistent") == 5


def test_pointer_round_trip() -> None:
    parts = ["paths", "/pets/{id}", "a~b"]
    assert split_pointer(join_pointer(parts)) == parts


def test_file_ref_resolves_within_root() -> None:
    doc = load_document(FIXTURES / "fileref.yaml")
    resolver = RefResolver(doc)
    node, where = resolver.resolve("sub/pet.yaml#/Pet")
    assert node["type"] == "object" and where.path.endswith("pet.yaml")


def test_file_ref_escaping_root_refused(tmp_path: Path) -> None:
    (tmp_path / "secret.yaml").write_text("x: 1\n")
    spec_dir = tmp_path / "repo"
    spec_dir.mkdir()
    spec = spec_dir / "api.yaml"
    spec.write_text("openapi: 3.0.3\n")
    resolver = RefResolver(load_document(spec))
    with pytest.raises(RefError, match="outside"):
        resolver.resolve("../secret.yaml#/x")


def test_remote_ref_refused() -> None:
    resolver = RefResolver(load_document("api.yaml", text=b"a: 1\n"))
    with pytest.raises(RefError, match="remote .*refused"):
        resolver.resolve("https://example.com/schemas.yaml#/Pet")


def test_ref_loop_detected() -> None:
    doc = load_document("api.yaml", text=b"a: {$ref: '#/b'}\nb: {$ref: '#/a'}\n")
    with pytest.raises(RefError, match="loop"):
        RefResolver(doc).deref(doc.data["a"])


def test_alias_bomb_behind_tags_refused_fast() -> None:
    """A tag before the anchor (``!!seq &a``) must not hide the bomb from the expansion check."""
    lines = ['a: !!seq &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]',
             *[f"{c}: !!seq &{c} [{', '.join(['*' + p] * 9)}]" for p, c in zip("abcdefgh", "bcdefghi")]]
    start = time.perf_counter()
    with pytest.raises(UsageError, match="alias"):
        load_document("bomb.yaml", text="\n".join(lines).encode())
    assert time.perf_counter() - start < 1.0


def test_file_ref_to_sibling_directory_of_the_repository_resolves(tmp_path: Path) -> None:
    import pygit2

    pygit2.init_repository(str(tmp_path))
    (tmp_path / "api").mkdir()
    (tmp_path / "schemas").mkdir()
    (tmp_path / "schemas" / "common.yaml").write_text("Cart: {type: object}\n")
    spec = tmp_path / "api" / "cart.yaml"
    spec.write_text("openapi: 3.0.3\n")
    resolver = RefResolver(load_document(spec))
    node, _ = resolver.resolve("../schemas/common.yaml#/Cart")
    assert node == {"type": "object"}
    (tmp_path.parent / f"{tmp_path.name}-outside.yaml").write_text("x: 1\n")
    with pytest.raises(RefError, match="outside"):
        resolver.resolve(f"../../{tmp_path.name}-outside.yaml#/x")
