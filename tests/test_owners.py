"""`owners PATH…`, `owners import`, `owners export`, and hostile input."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import git, run_cli, run_proc, acquire_granted

from gitcoord import gitutil, locks
from gitcoord.ownership import parse_codeowners
from gitcoord.store import Store


def put_task(repo: Path, task_id: str, agent: str | None, owns: list[str], status: str = "in_progress") -> None:
    def op(txn):
        task = {"id": task_id, "title": f"task {task_id}", "owns": owns, "status": status}
        if agent:
            task["agent"] = agent
        txn.put(f"tasks/{task_id}.yaml", task)

    Store(gitutil.open_repo(repo), agent="lead").transact(op)


@pytest.fixture
def project(repo):
    assert run_cli("init", cwd=repo).code == 0
    put_task(repo, "API-1", "alice", ["src/api/", "*.proto"])
    put_task(repo, "API-2", "carol", ["src/api/v2/"])
    put_task(repo, "WEB-1", "bob", ["/src/web/*"])
    put_task(repo, "OLD-1", "dave", ["legacy/"], status="merged")
    return repo


def tip(repo: Path) -> str:
    return git(repo, "rev-parse", "gitcoord")


def test_owners_json_per_path(project):
    acquire_granted(project, "bob", "src/web/app.js", type="exclusive", ttl="1h")
    res = run_cli("--json", "owners", "src/api/v2/x.py", "src/web/app.js", "src/web/deep/x.js", "legacy/a",
                  "a/b/c.proto", cwd=project)
    assert res.code == 0, res.err
    rows = {r["path"]: r for r in res.json["paths"]}
    assert rows["src/api/v2/x.py"]["owners"] == ["API-1", "API-2"]
    assert rows["src/api/v2/x.py"]["agents"] == ["alice", "carol"]
    assert rows["src/web/app.js"]["owners"] == ["WEB-1"]
    [lock] = rows["src/web/app.js"]["locks"]
    assert lock["holders"] == ["bob"] and lock["type"] == "exclusive"
    assert rows["src/web/deep/x.js"]["owners"] == []  # dir/* is direct children only
    assert rows["legacy/a"]["owners"] == []  # merged tasks own nothing any more
    assert rows["a/b/c.proto"]["owners"] == ["API-1"]
    for row in rows.values():
        assert set(row) >= {"path", "owners", "agents", "locks"}


def test_owners_human_output_and_normalised_paths(project):
    res = run_cli("owners", "./src//api/x.py", cwd=project)
    assert res.code == 0 and res.out.startswith("src/api/x.py: tasks API-1 (agents alice)")


@pytest.mark.parametrize("bad", ["a\0b", "a\nb", "../etc/passwd", "/etc/passwd", "a/../../b", ""])
def test_owners_hostile_paths_exit_2(project, bad):
    res = run_cli("owners", "ok.txt", bad, cwd=project)
    assert res.code == 2 and "Traceback" not in res.err
    assert res.err.startswith("gitcoord: error:") and len(res.err.strip().splitlines()) == 1


def test_owners_too_many_paths_exit_2(project):
    res = run_cli("owners", *[f"f{i}" for i in range(10_001)], cwd=project)
    assert res.code == 2 and "too many" in res.err


def test_import_stores_entries_last_match_wins(project, tmp_path):
    text = "# team file\n*.md @docs\n/src/api/ @org/backend\nsrc/api/README.md @alice  # override\n"
    f = tmp_path / "CODEOWNERS"
    f.write_text(text)
    res = run_cli("--json", "owners", "import", str(f), cwd=project)
    assert res.code == 0 and res.json["entries"] == 3
    cfg = run_cli("--json", "config", "get", "policies.ownership", cwd=project).json["value"]
    assert cfg == [{"pattern": "*.md", "owners": ["@docs"]}, {"pattern": "/src/api/", "owners": ["@org/backend"]},
                   {"pattern": "src/api/README.md", "owners": ["@alice"]}]
    rows = {r["path"]: r for r in run_cli("--json", "owners", "src/api/README.md", "src/api/x.py", "x.md",
                                          cwd=project).json["paths"]}
    assert rows["src/api/README.md"]["codeowners"] == ["@alice"]
    assert rows["src/api/x.py"]["codeowners"] == ["@org/backend"]
    assert rows["x.md"]["codeowners"] == ["@docs"]
    # a second import replaces the first
    f.write_text("* @everyone\n")
    assert run_cli("--json", "owners", "import", str(f), cwd=project).json["replaced"] == 3


@pytest.mark.parametrize("content", [
    "src/ not-an-owner\n",           # bad owner
    "!src/ @a\n",                    # negation
    "../x @a\n",                     # escapes the repository
    "a\0b @a\n",                     # NUL
])
def test_import_hostile_files_exit_2_nothing_written(project, tmp_path, content):
    f = tmp_path / "CODEOWNERS"
    f.write_text(content)
    before = tip(project)
    res = run_cli("owners", "import", str(f), cwd=project)
    assert res.code == 2 and len(res.err.strip().splitlines()) == 1
    assert tip(project) == before


def test_import_huge_pattern_list_exit_2(project, tmp_path):
    f = tmp_path / "CODEOWNERS"
    f.write_text("".join(f"dir{i}/ @a\n" for i in range(10_001)))
    before = tip(project)
    res = run_cli("owners", "import", str(f), cwd=project)
    assert res.code == 2 and "10000" in res.err
    assert tip(project) == before


def test_import_missing_and_binary_files_exit_2(project, tmp_path):
    assert run_cli("owners", "import", str(tmp_path / "nope"), cwd=project).code == 2
    (tmp_path / "bin").write_bytes(b"\xff\xfe\x00")
    assert run_cli("owners", "import", str(tmp_path / "bin"), cwd=project).code == 2


def test_export_round_trips_through_the_parser(project, tmp_path):
    put_task(project, "ODD-1", "odd+name", ["odd/"])  # an agent name but no GitHub handle
    put_task(project, "NOBODY-1", None, ["nobody/"])
    f = tmp_path / "CODEOWNERS"
    f.write_text("* @org/all\n")
    assert run_cli("owners", "import", str(f), cwd=project).code == 0
    res = run_cli("owners", "export", cwd=project)
    assert res.code == 0
    entries = parse_codeowners(res.out)
    assert entries[0][:2] == ("*", ["@org/all"])  # imported first: later task lines win
    as_dict = {pattern: owners for pattern, owners, _ in entries}
    assert as_dict["src/api/"] == ["@alice"] and as_dict["src/api/v2/"] == ["@carol"]
    assert as_dict["/src/web/*"] == ["@bob"] and as_dict["odd/"] == [] and as_dict["nobody/"] == []
    assert "legacy/" not in as_dict  # merged task
    assert "odd+name" in res.out  # explained in a comment
    out = tmp_path / "OUT"
    assert run_cli("owners", "export", "-o", str(out), cwd=project).code == 0
    assert out.read_text() == res.out


def test_owners_as_a_real_process(project):
    res = run_proc("--json", "owners", "src/api/a.py", cwd=project)
    assert res.code == 0 and res.json["paths"][0]["owners"] == ["API-1"]
    res = run_proc("owners", "a\nb", cwd=project)
    assert res.code == 2 and "line break" in res.err
