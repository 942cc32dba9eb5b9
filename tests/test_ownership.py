"""Ownership patterns (CODEOWNERS dialect), the ownership index, overlaps and CODEOWNERS files."""

from __future__ import annotations

import subprocess
import time

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from gitcoord.errors import UsageError
from gitcoord.ownership import (
    OwnershipIndex,
    compile_pattern,
    find_overlaps,
    overlap_witness,
    parse_codeowners,
    patterns_overlap,
    render_codeowners,
)

T, F = True, False

# (pattern, path, matches?) -- the dialect, corner by corner (see docs/ownership.md).
CONFORMANCE = [
    # A slash-free pattern matches a file or directory of that name at any depth.
    ("*.js", "app.js", T),
    ("*.js", "src/app.js", T),
    ("*.js", "src/deep/er/app.js", T),
    ("*.js", "app.jsx", F),
    ("*.js", "app.js.map", F),
    ("*.js", ".js", T),
    ("*.js", "lib.js/inner.txt", T),  # a directory named *.js: everything below it
    ("docs", "docs", T),
    ("docs", "docs/a.md", T),
    ("docs", "src/docs/a.md", T),
    ("docs", "docsite/a.md", F),
    ("docs", "mydocs", F),
    ("Makefile", "sub/dir/Makefile", T),
    # Trailing slash: everything below a directory of that name, not a file of that name.
    ("docs/", "docs/a.md", T),
    ("docs/", "src/docs/a/b.md", T),
    ("docs/", "docs", F),
    ("/build/logs/", "build/logs/x.log", T),
    ("/build/logs/", "build/logs/deep/x.log", T),
    ("/build/logs/", "build/logs", F),
    ("/build/logs/", "src/build/logs/x.log", F),
    # A leading slash anchors at the root.
    ("/docs", "docs/a.md", T),
    ("/docs", "src/docs/a.md", F),
    ("/README.md", "README.md", T),
    ("/README.md", "pkg/README.md", F),
    # A slash in the middle anchors too.
    ("src/app", "src/app", T),
    ("src/app", "src/app/main.py", T),
    ("src/app", "lib/src/app/main.py", F),
    ("src/app", "src/application.py", F),
    ("docs/*", "x/docs/a.md", F),
    # 'dir/*' is direct children only; other last segments also cover what is below.
    ("docs/*", "docs/getting-started.md", T),
    ("docs/*", "docs/build-app/troubleshooting.md", F),
    ("docs/*", "docs", F),
    ("/*", "README.md", T),
    ("/*", "src/a.py", F),
    ("*", "README", T),
    ("*", "any/deep/path.txt", T),
    ("docs/*.md", "docs/a.md", T),
    ("docs/*.md", "docs/a/b.md", F),
    ("docs/*.md", "docs/old.md/b.txt", T),
    ("docs/*/", "docs/a/b.md", T),
    ("docs/*/", "docs/a.md", F),
    # '*' stays within one segment and may be empty.
    ("src/*/main.py", "src/a/main.py", T),
    ("src/*/main.py", "src/a/b/main.py", F),
    ("src/*.py", "src/a/b.py", F),
    ("src/a*", "src/abc", T),
    ("src/a*", "src/a", T),
    ("*x*", "axb", T),
    ("a*b", "a/b", F),
    ("a**b", "axxb", T),  # '**' inside a segment is a plain '*'
    ("a**b", "ax/xb", F),
    # '?' is one character other than '/'.
    ("a?.txt", "ab.txt", T),
    ("a?.txt", "a.txt", F),
    ("a?.txt", "abc.txt", F),
    ("a?b", "a/b", F),
    ("x/?/y", "x/a/y", T),
    ("x/?/y", "x/ab/y", F),
    # '**' as a whole segment crosses directories.
    ("**/logs", "logs", T),
    ("**/logs", "deep/build/logs", T),
    ("**/logs", "deep/build/logs/x.txt", T),
    ("**/logs", "deep/mylogs", F),
    ("a/**/b", "a/b", T),
    ("a/**/b", "a/x/b", T),
    ("a/**/b", "a/x/y/z/b", T),
    ("a/**/b", "a/b/c", T),
    ("a/**/b", "a/xb", F),
    ("a/**/b", "x/a/b", F),
    ("abc/**", "abc/x", T),
    ("abc/**", "abc/x/y", T),
    ("abc/**", "abc", F),
    ("abc/**", "x/abc/y", F),
    ("**", "any/path", T),
    ("/**", "x", T),
    ("**/*.py", "a.py", T),
    ("**/*.py", "x/y/a.py", T),
    ("a/**/**/b", "a/b", T),
    ("src/**/test_*.py", "src/test_a.py", T),
    ("src/**/test_*.py", "src/x/y/test_a.py", T),
    ("src/**/test_*.py", "src/x/atest_a.py", F),
    # Case-sensitive.
    ("README.md", "readme.md", F),
    ("/Docs/", "docs/a", F),
    ("*.MD", "a.md", F),
    # Dot files are ordinary names; '*' matches a leading dot.
    (".github/", ".github/workflows/ci.yml", T),
    (".*", ".env", T),
    (".*", "src/.env", T),
    (".*", "env", F),
    ("*", ".hidden", T),
    # Escapes; brackets are literal characters.
    ("\\*.txt", "*.txt", T),
    ("\\*.txt", "a.txt", F),
    ("\\?", "?", T),
    ("\\?", "a", F),
    ("my\\ file.txt", "my file.txt", T),
    ("my file.txt", "my file.txt", T),
    ("\\#notes", "#notes", T),
    ("\\!important", "!important", T),
    ("[abc].txt", "[abc].txt", T),
    ("[abc].txt", "a.txt", F),
    ("pages/[id].tsx", "pages/[id].tsx", T),
    # Normalisation of patterns and paths.
    ("./src/", "src/a", T),
    ("./src/", "x/src/a", F),
    ("src//a", "src/a", T),
    ("/src/./a", "src/a/b", T),
    ("docs/", "./docs//a.md", T),
]


@pytest.mark.parametrize("pattern, path, expected", CONFORMANCE)
def test_conformance(pattern: str, path: str, expected: bool) -> None:
    assert compile_pattern(pattern).matches(path) is expected
    # The index (trie / name / extension buckets, per-directory cache) must agree.
    index = OwnershipIndex([("/unrelated/", "@other"), (pattern, "@me"), ("*.unrelated", "@other")])
    assert (index.owners(path) == ["@me"]) is expected
    assert (index.owners_many([path])[path] == ["@me"]) is expected


def test_conformance_table_is_big_enough() -> None:
    assert len(CONFORMANCE) >= 80
    assert {expected for _, _, expected in CONFORMANCE} == {True, False}


def test_index_agrees_with_each_pattern_on_every_path() -> None:
    patterns = sorted({pattern for pattern, _, _ in CONFORMANCE})
    paths = sorted({path for _, path, _ in CONFORMANCE} | {"a/b/c", "src/app/x/y.js", "docs/x/y/z"})
    index = OwnershipIndex([(pattern, f"@o{number}") for number, pattern in enumerate(patterns)])
    compiled = [compile_pattern(pattern) for pattern in patterns]
    for path in paths:
        expected = [f"@o{number}" for number, pattern in enumerate(compiled) if pattern.matches(path)]
        assert index.owners(path) == expected, path
        assert index.is_owned(path) is bool(expected)
    assert index.owners_many(paths) == {path: index.owners(path) for path in paths}


def test_negation_is_rejected_clearly() -> None:
    with pytest.raises(UsageError, match="negation.*not supported"):
        compile_pattern("!docs/")


def test_pattern_regex_and_equality() -> None:
    assert compile_pattern("docs/*").regex == "docs/[^/]*"
    assert compile_pattern("./src") == compile_pattern("/src")
    assert compile_pattern("src") != compile_pattern("/src")
    assert compile_pattern("a/").text == "a/"


# --- CODEOWNERS semantics: last match wins -------------------------------------------------
CODEOWNERS = """\
# Global owner, overridden below.
*       @global-owner
*.js    @js-owner   # owns every JavaScript file
/build/logs/ @doctocat
docs/*  docs@example.com
apps/   @octocat
/scripts/ @doctocat @octocat
/apps/github
"""


@pytest.mark.parametrize(
    "path, owners",
    [
        ("main.py", ["@global-owner"]),
        ("src/app.js", ["@js-owner"]),
        ("build/logs/app.js", ["@doctocat"]),
        ("docs/intro.md", ["docs@example.com"]),
        ("docs/deep/intro.md", ["@global-owner"]),
        ("apps/web/x.js", ["@octocat"]),
        ("pkg/apps/x.py", ["@octocat"]),
        ("apps/github/x.py", []),
        ("scripts/run.sh", ["@doctocat", "@octocat"]),
    ],
)
def test_codeowners_last_match_wins(path: str, owners: list[str]) -> None:
    entries = [(pattern, names) for pattern, names, _ in parse_codeowners(CODEOWNERS)]
    index = OwnershipIndex(entries, last_match_wins=True)
    assert index.owners(path) == owners
    assert index.is_owned(path) is bool(owners)


def test_without_last_match_wins_every_matching_line_owns() -> None:
    entries = [(pattern, names) for pattern, names, _ in parse_codeowners(CODEOWNERS)]
    index = OwnershipIndex(entries)
    assert index.owners("build/logs/app.js") == ["@global-owner", "@js-owner", "@doctocat"]
    assert index.owners("apps/github/x.py") == ["@global-owner", "@octocat"]
    assert index.matching_entries("apps/github/x.py") == [
        ("*", ["@global-owner"]),
        ("apps/", ["@octocat"]),
        ("/apps/github", []),
    ]


def test_single_owner_entries_for_one_pattern_form_one_line() -> None:
    index = OwnershipIndex([("*", "T1"), ("x/", "T2"), ("x/", "T3"), ("x/", "T2")], last_match_wins=True)
    assert index.owners("x/y") == ["T2", "T3"]
    assert index.owners("y") == ["T1"]
    assert len(index) == 2
    tasks = OwnershipIndex([("src/", "T1"), ("*.py", "T2"), ("src/a.py", "T1")])
    assert tasks.owners("src/a.py") == ["T1", "T2"]


def test_index_rejects_hostile_paths_and_patterns() -> None:
    index = OwnershipIndex([("src/", "T1")])
    for bad in ["../etc/passwd", "/etc/passwd", "src/\x00x", "src/a\nb", "src/../../x", "C:\\x"]:
        with pytest.raises(UsageError):
            index.owners(bad)
        with pytest.raises(UsageError):
            index.owners_many(["src/ok", bad])
    for bad in ["../x", "a/\x00", "a\nb", "!x", "/"]:
        with pytest.raises(UsageError):
            OwnershipIndex([("src/", "T1"), (bad, "T2")])
    with pytest.raises(UsageError, match="pair"):
        OwnershipIndex([("src/",)])  # type: ignore[list-item]


def test_huge_pattern_lists_stay_fast() -> None:
    entries = []
    for number in range(100_000):
        shape = number % 4
        if shape == 0:
            entries.append((f"mod{number}/", f"T{number}"))
        elif shape == 1:
            entries.append((f"/tests/mod{number}/test_*.py", f"T{number}"))
        elif shape == 2:
            entries.append((f"docs/mod{number}.md", f"T{number}"))
        else:
            entries.append((f"*.ext{number % 500}", f"T{number}"))
    started = time.perf_counter()
    index = OwnershipIndex(entries)
    paths = [f"mod{n}/x/y.py" for n in range(0, 4000, 4)] + [f"tests/mod{n}/test_a.py" for n in range(1, 4000, 4)]
    owners = index.owners_many(paths)
    elapsed = time.perf_counter() - started
    assert owners["mod0/x/y.py"] == ["T0"]
    assert owners["tests/mod1/test_a.py"] == ["T1"]
    assert index.owners("a/b.ext3") == [f"T{n}" for n in range(3, 100_000, 4) if n % 500 == 3]
    assert elapsed < 30, f"100k patterns took {elapsed:.1f}s"


# --- overlaps ------------------------------------------------------------------------------
OVERLAPS = [
    ("src/*.py", "src/a*", T),
    ("src/*.py", "src/*.js", F),
    ("docs/", "docs/a/b.md", T),
    ("docs/*", "docs/a/b.md", F),
    # 'src/x.py' also names everything below a directory called x.py, and so does '**/test_*'.
    ("**/test_*", "src/x.py", T),
    ("tests/test_*", "src/x.py", F),
    ("*.py", "src/", T),
    ("/src/a", "src/a/b.py", T),
    ("src/**", "src/x/y", T),
    ("a/**/b", "a/x/**", T),
    ("*.md", "docs/*", T),
    ("*", "/anything", T),
    ("a?c", "abc", T),
    ("src/*/x", "src/y/*", T),
    ("x/**/y", "x/y", T),
    ("**/logs/", "build/**", T),
    ("src/a*b", "src/*c*", T),
    ("*.tar.gz", "*.gz", T),
    ("docs", "docs/", T),
    ("*.py", "*.js", T),  # a directory named x.js holding y.py
    ("/src/", "/lib/", F),
    ("src/a", "src/b", F),
    ("a/?/b", "a/xy/b", F),
    ("src/*", "src/a/b", F),
    ("/*", "src/a.py", F),
    ("a/b/*", "a/b/c/d", F),
    ("x/**/y.py", "z/**", F),
    ("/?", "/ab", F),
    ("a/?.", "a/.?", F),  # only 'a/..' matches both, and that is not a valid path
    ("a/.?", "a/?", F),
    ("src/*.py", "src/*.pyc", F),
    ("/a*", "/b*", F),
    ("src/**/x.py", "lib/**/x.py", F),
    ("docs/*.md", "docs/*.txt", F),
    ("src/*/a", "src/*/b", F),
    ("src/*/a", "src/*/*", T),
]


@pytest.mark.parametrize("first, second, expected", OVERLAPS)
def test_patterns_overlap(first: str, second: str, expected: bool) -> None:
    assert patterns_overlap(first, second) is expected
    assert patterns_overlap(second, first) is expected
    witness = overlap_witness(first, second)
    assert (witness is not None) is expected
    if witness is not None:
        assert compile_pattern(first).matches(witness) and compile_pattern(second).matches(witness)


def test_overlap_table_is_big_enough() -> None:
    assert len(OVERLAPS) >= 25
    assert sum(1 for *_, expected in OVERLAPS if expected) >= 10
    assert sum(1 for *_, expected in OVERLAPS if not expected) >= 10


def test_find_overlaps() -> None:
    groups = {
        "T1": ["src/api/", "docs/api.md"],
        "T2": ["src/api/handlers/*.py", "src/web/"],
        "T3": ["*.md"],
        "T4": ["src/web/", "src/api/"],
    }
    # Ordered by owner, then by the pattern's position in that owner's list.
    assert find_overlaps(groups) == [
        ("T1", "T2", "src/api/", "src/api/handlers/*.py"),
        ("T1", "T3", "src/api/", "*.md"),
        ("T1", "T4", "src/api/", "src/api/"),
        ("T1", "T3", "docs/api.md", "*.md"),
        ("T2", "T3", "src/api/handlers/*.py", "*.md"),
        ("T2", "T4", "src/api/handlers/*.py", "src/api/"),
        ("T2", "T3", "src/web/", "*.md"),
        ("T2", "T4", "src/web/", "src/web/"),
        ("T3", "T4", "*.md", "src/web/"),
        ("T3", "T4", "*.md", "src/api/"),
    ]
    assert find_overlaps({"T1": ["/a/", "/a/b"], "T2": "/b/"}) == []  # an owner never pairs with itself
    assert find_overlaps({"T1": ["a/"], "T2": "b/"}) == [("T1", "T2", "a/", "b/")]  # both hold b/a/x


def test_find_overlaps_matches_pairwise_check() -> None:
    patterns = [pattern for pattern, _, _ in OVERLAPS] + [pattern for _, pattern, _ in OVERLAPS]
    groups = {f"O{number}": [pattern] for number, pattern in enumerate(patterns)}
    expected = [
        (f"O{i}", f"O{j}", patterns[i], patterns[j])
        for i in range(len(patterns))
        for j in range(i + 1, len(patterns))
        if patterns_overlap(patterns[i], patterns[j])
    ]
    assert find_overlaps(groups) == expected


def test_find_overlaps_at_scale() -> None:
    groups = {f"T{n}": [f"svc/m{n}/", f"tests/m{n}/**/test_*.py", f"docs/m{n}.md", f"/proto/m{n}/*.proto"] for n in range(2000)}
    groups["T0"].append("svc/m7/api/*.py")
    started = time.perf_counter()
    found = find_overlaps(groups)
    assert time.perf_counter() - started < 10
    assert found == [("T0", "T7", "svc/m7/api/*.py", "svc/m7/")]


segment = st.sampled_from(["a", "b", "ab", ".a", "a.b", "*", "?", "**", "a*", "*b", "?.", ".?", "\\*", "a?"])


@st.composite
def small_patterns(draw) -> str:
    parts = draw(st.lists(segment, min_size=1, max_size=3))
    text = "/".join(parts)
    if draw(st.booleans()):
        text = "/" + text
    if draw(st.booleans()):
        text += "/"
    return text


small_paths = st.lists(st.sampled_from(["a", "b", "ab", "ba", ".a", "a.b", "*", "?", "..a", "x"]), min_size=1, max_size=4).map(
    "/".join
)


@settings(max_examples=400, deadline=None)
@given(small_patterns(), small_patterns(), small_paths)
def test_property_common_path_implies_overlap(first: str, second: str, path: str) -> None:
    try:
        a, b = compile_pattern(first), compile_pattern(second)
    except UsageError:
        assume(False)
    if a.matches(path) and b.matches(path):
        assert patterns_overlap(a, b), (first, second, path)
    # The shortcuts must agree with the automaton, and a witness must really match both.
    witness = overlap_witness(a, b)
    assert patterns_overlap(a, b) is (witness is not None)
    if witness is not None:
        assert a.matches(witness) and b.matches(witness)


# --- CODEOWNERS files ----------------------------------------------------------------------
def test_parse_codeowners() -> None:
    text = (
        "\ufeff# comment\r\n\r\n"
        "*.js @org/web-team @alice  # trailing comment\r\n"
        "my\\ docs/ bob@example.com\n"
        "   /build/   @ci-bot\n"
        "/unowned/path\n"
        "\\#hash @alice\n"
    )
    assert parse_codeowners(text) == [
        ("*.js", ["@org/web-team", "@alice"], 3),
        ("my\\ docs/", ["bob@example.com"], 4),
        ("/build/", ["@ci-bot"], 5),
        ("/unowned/path", [], 6),
        ("\\#hash", ["@alice"], 7),
    ]
    index = OwnershipIndex([(p, o) for p, o, _ in parse_codeowners(text)], last_match_wins=True)
    assert index.owners("x/my docs/readme") == ["bob@example.com"]
    assert index.owners("#hash") == ["@alice"]


@pytest.mark.parametrize(
    "text, fragment",
    [
        ("*.js @a\n!docs/ @b\n", "TEAM:2: pattern '!docs/': negation"),
        ("\n\n../x @a\n", "TEAM:3: pattern '../x' has a '..' segment"),
        ("*.js alice\n", "TEAM:1: owner 'alice' is not @user"),
        ("*.js @a\n[Section] @b\n", "TEAM:2: '[Section]' looks like a GitLab section"),
        ("a/\\\\b @a\n", "TEAM:1: pattern"),
        ("ok @a\nbad\x00 @b\n", "TEAM:2: contains a NUL byte"),
    ],
)
def test_parse_codeowners_errors_name_source_and_line(text: str, fragment: str) -> None:
    with pytest.raises(UsageError) as caught:
        parse_codeowners(text, source="TEAM")
    assert fragment in str(caught.value)
    assert "\n" not in str(caught.value)


def test_parse_codeowners_refuses_oversized_files() -> None:
    with pytest.raises(UsageError, match="larger than 1000 bytes"):
        parse_codeowners("*.js @a\n" * 200, max_bytes=1000)


def test_render_and_parse_round_trip() -> None:
    entries = [
        ("*", ["@global"]),
        ("src/api/", ["@org/api", "api@example.com"]),
        ("my\\ docs/*.md", ["@docs"]),
        ("\\#notes", ["@alice"]),
        ("/unowned", []),
    ]
    text = render_codeowners(entries, header="Generated by gitcoord\n\nDo not edit.")
    assert text.startswith("# Generated by gitcoord\n#\n# Do not edit.\n\n")
    assert [(pattern, owners) for pattern, owners, _ in parse_codeowners(text)] == entries
    assert render_codeowners([("a b/", ["@x"]), ("#x", "@y")]) == "a\\ b/ @x\n\\#x @y\n"
    assert render_codeowners([("./src//a", ["@x"]), ("./b", ["@x"])]) == "src/a @x\n/b @x\n"


def test_render_rejects_bad_entries() -> None:
    with pytest.raises(UsageError, match="owner 'T1' for pattern 'src/'"):
        render_codeowners([("src/", ["T1"])])
    with pytest.raises(UsageError, match="negation"):
        render_codeowners([("!src/", ["@a"])])


def test_codeowners_from_a_real_repository(tmp_path) -> None:
    """A CODEOWNERS committed in a repository, applied to that repository's own file list."""
    repo = tmp_path / "repo"
    files = {
        ".github/CODEOWNERS": "* @lead\n/src/ @backend\n*.md @docs\n/src/ui/ @frontend\n",
        "README.md": "x",
        "src/main.py": "x",
        "src/ui/button.tsx": "x",
        "src/ui/README.md": "x",
        "tools/x.sh": "x",
    }
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    for name, content in files.items():
        (repo / name).parent.mkdir(parents=True, exist_ok=True)
        (repo / name).write_text(content)
    subprocess.run(["git", "-C", str(repo), "add", "."], check=True)
    git_show = ["git", "-C", str(repo), "show", ":.github/CODEOWNERS"]
    text = subprocess.run(git_show, check=True, capture_output=True, text=True).stdout
    listed = subprocess.run(["git", "-C", str(repo), "ls-files"], check=True, capture_output=True, text=True).stdout.split()
    index = OwnershipIndex([(p, o) for p, o, _ in parse_codeowners(text)], last_match_wins=True)
    assert index.owners_many(listed) == {
        ".github/CODEOWNERS": ["@lead"],
        "README.md": ["@docs"],
        "src/main.py": ["@backend"],
        "src/ui/README.md": ["@frontend"],
        "src/ui/button.tsx": ["@frontend"],
        "tools/x.sh": ["@lead"],
    }
