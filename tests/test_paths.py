"""Repository paths and patterns: normalisation and hostile input."""

from __future__ import annotations

import subprocess

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gitcoord.errors import UsageError
from gitcoord.paths import (
    MAX_PATH_BYTES,
    are_clean_repo_paths,
    normalize_repo_path,
    validate_pattern,
    validate_patterns,
)


@pytest.mark.parametrize(
    "raw, clean",
    [
        ("a", "a"),
        ("a/b/c.py", "a/b/c.py"),
        ("./a/b", "a/b"),
        ("././a", "a"),
        ("a//b", "a/b"),
        ("a/./b", "a/b"),
        ("a/b/", "a/b"),
        ("a/.", "a"),
        (".github/workflows/ci.yml", ".github/workflows/ci.yml"),
        ("a/..b/c", "a/..b/c"),
        ("...", "..."),
        ("my file.txt", "my file.txt"),
        ("pages/[id].tsx", "pages/[id].tsx"),
        ("ünïcødé/ファイル.txt", "ünïcødé/ファイル.txt"),
        ("C:", "C:"),  # a legal POSIX file name, not a drive
        ("x" * MAX_PATH_BYTES, "x" * MAX_PATH_BYTES),
    ],
    ids=lambda value: value if len(value) < 40 else "long",
)
def test_normalize_repo_path(raw: str, clean: str) -> None:
    assert normalize_repo_path(raw) == clean
    if are_clean_repo_paths([raw]):  # the batch check may be conservative, never wrong
        assert raw == clean
    assert are_clean_repo_paths([clean]) or clean == "x" * MAX_PATH_BYTES


@pytest.mark.parametrize(
    "raw, fragment",
    [
        ("", "is empty"),
        ("   ", "is empty"),
        (".", "names no file"),
        ("./", "names no file"),
        ("/etc/passwd", "is absolute"),
        ("//server/share", "is absolute"),
        ("C:\\Windows\\x", "is absolute"),
        ("C:/Windows/x", "is absolute"),
        ("./C:/Windows", "is absolute"),
        ("../x", "'..' segment"),
        ("a/../../x", "'..' segment"),
        ("a/..", "'..' segment"),
        ("a\\b", "backslash"),
        ("a\x00b", "NUL byte"),
        ("a\nb", "line break"),
        ("a\rb", "line break"),
        ("x" * (MAX_PATH_BYTES + 1), "longer than 4096 bytes"),
        ("é" * (MAX_PATH_BYTES // 2 + 1), "longer than 4096 bytes"),
    ],
    ids=lambda value: repr(value) if len(value) < 40 else "long",
)
def test_normalize_rejects_hostile_paths(raw: str, fragment: str) -> None:
    with pytest.raises(UsageError) as caught:
        normalize_repo_path(raw, what="resource")
    message = str(caught.value)
    assert fragment in message
    assert message.startswith("resource")
    assert "\n" not in message and len(message) < 250
    assert are_clean_repo_paths(["ok", raw]) is False


def test_normalize_rejects_non_strings() -> None:
    with pytest.raises(UsageError, match="must be a string"):
        normalize_repo_path(b"a/b")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "raw, clean",
    [
        ("src", "src"),
        ("src/", "src/"),
        ("/src", "/src"),
        ("./src", "/src"),  # keeps its anchoring
        ("src//lib", "src/lib"),
        ("a/./b/", "a/b/"),
        ("a/.", "/a/"),
        ("//a", "/a"),
        ("a//", "a/"),
        ("**/x", "**/x"),
        ("*.py", "*.py"),
        ("\\#notes", "\\#notes"),
        ("\\!x", "\\!x"),
        ("a\\ b", "a\\ b"),
        ("name\\ ", "name\\ "),
        ("a/.b/..c", "a/.b/..c"),
    ],
)
def test_validate_pattern(raw: str, clean: str) -> None:
    assert validate_pattern(raw) == clean
    assert validate_pattern(clean) == clean  # idempotent


@pytest.mark.parametrize(
    "raw, fragment",
    [
        ("", "is empty"),
        ("/", "names no file"),
        ("./", "names no file"),
        ("!src/", "negation"),
        ("..", "'..' segment"),
        ("src/../x", "'..' segment"),
        ("src/\\.\\./x", "'..' segment"),
        ("a\x00", "NUL byte"),
        ("a\nb", "line break"),
        ("a\\", "trailing '\\'"),
        ("a\\\\b", "'\\\\'"),
        ("a\\/b", "'\\/'"),
        ("C:\\x", "Windows absolute"),
        (" src", "whitespace"),
        ("src ", "whitespace"),
        ("*" * (MAX_PATH_BYTES + 1), "longer than 4096 bytes"),
    ],
    ids=lambda value: repr(value) if len(value) < 40 else "long",
)
def test_validate_pattern_rejects(raw: str, fragment: str) -> None:
    with pytest.raises(UsageError) as caught:
        validate_pattern(raw)
    assert fragment in str(caught.value)
    assert "\n" not in str(caught.value)


def test_validate_patterns_refuses_huge_lists_quickly() -> None:
    assert validate_patterns(["a/", "./b"]) == ["a/", "/b"]
    with pytest.raises(UsageError, match="too many patterns: more than 10000"):
        validate_patterns(f"dir{n}/" for n in range(100_000))
    with pytest.raises(UsageError, match="too many resources: more than 3"):
        validate_patterns(["a", "b", "c", "d"], what="resource", limit=3)


def test_batch_check_agrees_with_per_path_check() -> None:
    paths = ["a/b", "c.txt", ".x/y"]
    assert are_clean_repo_paths(paths)
    assert are_clean_repo_paths([])
    for bad in ["", " ", "a/", "/a", "a//b", "./a", "a/./b", "a/..", "..", "a\nb", "a\\b", "C:/x", "a\x00"]:
        assert not are_clean_repo_paths([*paths, bad]), bad
    assert not are_clean_repo_paths(["a", 3])  # type: ignore[list-item]


segment_text = st.sampled_from(["a", "b", ".", "..", "", ".a", "a.", "x y", "C:", "\\", "\n", " "])


@settings(max_examples=300, deadline=None)
@given(st.lists(segment_text, min_size=1, max_size=5).map("/".join), st.booleans())
def test_batch_check_never_passes_a_path_that_normalisation_changes(path: str, lead: bool) -> None:
    path = ("/" + path) if lead else path
    try:
        clean = normalize_repo_path(path)
    except UsageError:
        clean = None
    if are_clean_repo_paths([path]):
        assert clean == path
    if clean is not None:
        assert normalize_repo_path(clean) == clean
        assert are_clean_repo_paths([clean])


def test_paths_from_a_real_git_repository_are_clean(tmp_path) -> None:
    names = ["my file.txt", "pages/[id].tsx", "ünï/ファイル.md", ".github/ci.yml", "a/..b", "tab\there"]
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    for name in names:
        target = tmp_path / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text("x\n")
    subprocess.run(["git", "-C", str(tmp_path), "add", "."], check=True)
    listed = subprocess.run(
        ["git", "-C", str(tmp_path), "ls-files", "-z"], check=True, capture_output=True
    ).stdout.decode().split("\0")[:-1]
    assert sorted(listed) == sorted(names)
    assert are_clean_repo_paths(listed)
    assert [normalize_repo_path(path) for path in listed] == listed
