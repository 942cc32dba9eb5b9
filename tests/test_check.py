"""`gitcoord check`: modes, rules, formats and the extension points."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from conftest import git, run_cli, acquire_granted

from gitcoord import check as engine
from gitcoord import gitutil, locks
from gitcoord.store import Store

BRANCH_A = "feature/shop/agent/backend/api-1"


def put_task(repo: Path, task_id: str, agent: str, owns: list[str], status: str = "in_progress") -> None:
    def op(txn):
        txn.put(f"tasks/{task_id}.yaml", {"id": task_id, "title": f"task {task_id}", "feature": "shop",
                                          "role": "backend", "agent": agent, "owns": owns, "status": status})

    Store(gitutil.open_repo(repo), agent="lead").transact(op)


@pytest.fixture
def project(repo, monkeypatch):
    assert run_cli("init", cwd=repo).code == 0
    put_task(repo, "API-1", "alice", ["src/api/", "*.proto"])
    put_task(repo, "WEB-1", "bob", ["src/web/"])
    monkeypatch.setenv("GITCOORD_AGENT", "alice")
    git(repo, "checkout", "-q", "-b", BRANCH_A)
    return repo


def write(repo: Path, files: dict[str, str], stage: bool = True) -> None:
    for name, content in files.items():
        target = repo / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(content)
        if stage:
            git(repo, "add", name)


def commit_all(repo: Path, files: dict[str, str], message: str = "c") -> str:
    write(repo, files)
    git(repo, "commit", "-q", "--no-verify", "-m", message)
    return git(repo, "rev-parse", "HEAD")


def test_staged_clean_and_violations_json(project):
    write(project, {"src/api/a.py": "1\n", "api.proto": "x\n"})
    res = run_cli("check", "--staged", "--json", cwd=project)
    assert res.code == 0, res.err
    assert res.json["ok"] is True and res.json["task"] == "API-1" and res.json["violations"] == []

    write(project, {"src/web/b.js": "1\n", "misc.txt": "1\n"})
    res = run_cli("--json", "check", cwd=project)
    assert res.code == 1
    doc = res.json
    assert doc["ok"] is False and doc["task"] == "API-1"
    by_path = {v["path"]: v for v in doc["violations"]}
    web = by_path["src/web/b.js"]
    assert web["rule"] == "outside-ownership" and web["level"] == "error" and web["owner"] == "WEB-1"
    assert "bob" in web["hint"] and "gitcoord lock acquire ./src/web/b.js --reason WHY" in web["hint"]
    assert set(web) >= {"path", "rule", "level", "message", "owner", "hint"}
    assert by_path["misc.txt"]["rule"] == "unowned" and by_path["misc.txt"]["level"] == "warning"


def test_unowned_allow_and_deny(project):
    write(project, {"misc.txt": "1\n"})
    assert run_cli("config", "set", "policies.unowned", "allow", cwd=project).code == 0
    res = run_cli("--json", "check", cwd=project)
    assert res.code == 0 and res.json["violations"] == []
    assert run_cli("config", "set", "policies.unowned", "deny", cwd=project).code == 0
    res = run_cli("--json", "check", cwd=project)
    assert res.code == 1 and res.json["violations"][0]["rule"] == "unowned"


def test_range_per_commit_and_merge_commits(project):
    start = git(project, "rev-parse", "HEAD")
    commit_all(project, {"src/api/1.py": "1\n"})
    bad = commit_all(project, {"src/web/2.js": "1\n"})
    commit_all(project, {"src/api/3.py": "1\n"})
    res = run_cli("--json", "check", "--range", f"{start}..HEAD", cwd=project)
    assert res.code == 1
    assert res.json["commits_checked"] == 3 and res.json["paths_checked"] == 3
    [violation] = res.json["violations"]
    assert violation["path"] == "src/web/2.js" and violation["commit"] == bad

    # a merge of main into a clean task branch brings others' paths: not the branch's own edits
    git(project, "reset", "-q", "--hard", start)
    commit_all(project, {"src/api/4.py": "1\n"})
    git(project, "checkout", "-q", "main")
    commit_all(project, {"src/web/main-only.js": "1\n"})
    git(project, "checkout", "-q", BRANCH_A)
    git(project, "merge", "-q", "--no-edit", "--no-verify", "main")
    res = run_cli("--json", "check", "--range", "main..HEAD", cwd=project)
    assert res.code == 0, res.json
    assert res.json["commits_checked"] == 2 and res.json["paths_checked"] == 1


def test_base_mode_uses_merge_base(project):
    commit_all(project, {"src/api/x.py": "1\n"})
    git(project, "checkout", "-q", "main")
    commit_all(project, {"src/web/on-main.js": "1\n"})  # main moved on; not part of the branch's change
    git(project, "checkout", "-q", BRANCH_A)
    res = run_cli("--json", "check", "--base", "main", cwd=project)
    assert res.code == 0 and res.json["paths_checked"] == 1
    commit_all(project, {"src/web/y.js": "1\n"})
    res = run_cli("--json", "check", "--base", "main", "--head", BRANCH_A, cwd=project)
    assert res.code == 1 and [v["path"] for v in res.json["violations"]] == ["src/web/y.js"]


def test_explicit_task_and_unknown_task(project):
    write(project, {"src/web/b.js": "1\n"})
    res = run_cli("--json", "check", "--task", "WEB-1", cwd=project)
    assert res.code == 0 and res.json["task"] == "WEB-1"
    res = run_cli("check", "--task", "NOPE-9", cwd=project)
    assert res.code == 2 and "NOPE-9" in res.err


def test_in_progress_task_when_branch_names_none(project):
    git(project, "checkout", "-q", "-b", "scratch")
    write(project, {"src/api/ok.py": "1\n"})
    res = run_cli("--json", "check", cwd=project)
    assert res.code == 0 and res.json["task"] == "API-1" and "in_progress" in res.json["task_source"]
    rules = {v["rule"]: v for v in res.json["violations"]}
    assert rules["branch-name"]["level"] == "warning"  # staged mode: a warning only


def test_branch_name_rule_in_range_mode(project):
    start = git(project, "rev-parse", "HEAD")
    git(project, "checkout", "-q", "-b", "feature/shop/agent/backend/ghost-7")
    commit_all(project, {"src/api/z.py": "1\n"})
    res = run_cli("--json", "check", "--range", f"{start}..HEAD", cwd=project)
    assert res.code == 1
    [finding] = [v for v in res.json["violations"] if v["rule"] == "branch-name"]
    assert "ghost-7" in finding["message"] and finding["level"] == "error"


def test_locked_and_intent(project):
    repo = gitutil.open_repo(project)
    acquire_granted(repo, "bob", "src/api/locked.py", type="exclusive", ttl="1h")
    locks.acquire(Store(repo, agent="carol"), "src/api/planned/", type="intent", ttl="1h", reason="rename module")
    write(project, {"src/api/locked.py": "1\n", "src/api/planned/m.py": "1\n"})
    res = run_cli("--json", "check", cwd=project)
    assert res.code == 1
    by_rule = {v["rule"]: v for v in res.json["violations"]}
    assert by_rule["locked"]["path"] == "src/api/locked.py" and by_rule["locked"]["owner"] == "bob"
    assert "until" in by_rule["locked"]["message"]
    assert by_rule["intent"]["level"] == "warning" and "rename module" in by_rule["intent"]["message"]


def test_imported_codeowners_entries_count_as_owners(project, tmp_path):
    codeowners = tmp_path / "CODEOWNERS"
    codeowners.write_text("docs/ @docs-team\n/tools/ @alice\n")
    assert run_cli("owners", "import", str(codeowners), cwd=project).code == 0
    write(project, {"docs/guide.md": "1\n", "tools/run.sh": "1\n"})
    res = run_cli("--json", "check", cwd=project)
    assert res.code == 1
    [violation] = res.json["violations"]
    assert violation["path"] == "docs/guide.md" and violation["owner"] == "@docs-team"


def test_github_format_well_formed(project):
    write(project, {"src/web/b.js": "1\n", "misc,odd:name.txt": "1\n"})
    res = run_cli("check", "--format", "github", cwd=project)
    assert res.code == 1
    lines = res.out.strip().splitlines()
    assert len(lines) == 2
    for line in lines:
        assert line.startswith(("::error file=", "::warning file="))
        head, sep, message = line[2:].partition("::")
        assert sep and message and "\n" not in message
        props = dict(p.split("=", 1) for p in head.split(" ", 1)[1].split(","))
        assert set(props) == {"file", "title"}
    assert any("misc%2Codd%3Aname.txt" in line for line in lines)


def test_junit_format_well_formed(project):
    write(project, {"src/web/b.js": "1\n", "misc.txt": "<&>\n"})
    res = run_cli("check", "--format", "junit", cwd=project)
    assert res.code == 1
    root = ET.fromstring(res.out)
    suite = root.find("testsuite")
    assert root.tag == "testsuites" and suite.get("failures") == "1" and suite.get("tests") == "2"
    failures = suite.findall("testcase/failure")
    assert len(failures) == 1 and "src/web/b.js" in failures[0].get("message")


def test_extra_checks_extension_point(project, monkeypatch):
    seen = {}

    def no_todo(view, paths, ctx):
        seen["paths"], seen["task"] = list(paths), ctx.task_ids
        return [engine.Finding(p, "todo", "error", f"{p}: TODO file", hint="remove it") for p in paths if "TODO" in p]

    monkeypatch.setattr(engine, "extra_checks", [no_todo])
    write(project, {"src/api/TODO.md": "1\n"})
    res = run_cli("--json", "check", cwd=project)
    assert res.code == 1 and res.json["violations"][0]["rule"] == "todo"
    assert seen == {"paths": ["src/api/TODO.md"], "task": ["API-1"]}


def test_contract_hook_called_only_for_matching_spec_paths(project, monkeypatch):
    import gitcoord.contracts as contracts_pkg

    calls = []

    def check_changed(view, paths, ctx, read=None):
        calls.append(list(paths))
        return [{"path": p, "rule": "contract-breaking", "level": "error", "message": "breaking"} for p in paths]

    monkeypatch.setattr(contracts_pkg, "check_changed", check_changed, raising=False)
    assert run_cli("config", "set", "contracts.globs", "[src/api/specs/*.yaml]", cwd=project).code == 0
    write(project, {"src/api/other.yaml": "a: 1\n"})
    assert run_cli("check", cwd=project).code == 0 and calls == []
    write(project, {"src/api/specs/cart.yaml": "openapi: 3.1.0\n"})
    res = run_cli("--json", "check", cwd=project)
    assert calls == [["src/api/specs/cart.yaml"]]
    assert res.code == 1 and res.json["violations"][0]["rule"] == "contract-breaking"


def test_usage_errors_exit_2(project):
    assert run_cli("check", "--range", "nothing", cwd=project).code == 2
    assert run_cli("check", "--range", "nope..HEAD", cwd=project).code == 2
    assert run_cli("check", "--head", "HEAD", cwd=project).code == 2
    assert run_cli("check", "--staged", "--base", "main", cwd=project).code == 2


def test_check_is_read_only(project):
    from conftest import snapshot_worktree

    write(project, {"src/web/b.js": "1\n"})
    before = snapshot_worktree(project)
    tip = git(project, "rev-parse", "gitcoord")
    run_cli("check", cwd=project)
    assert snapshot_worktree(project) == before and git(project, "rev-parse", "gitcoord") == tip


def test_shared_lock_held_with_others_blocks_its_holders_too(project):
    """shared: holders read, nobody modifies — not even a holder while someone else shares it."""
    repo = gitutil.open_repo(project)
    acquire_granted(repo, "alice", "src/api/db/", type="shared", ttl="1h")
    acquire_granted(repo, "bob", "src/api/db/", type="shared", ttl="1h")
    write(project, {"src/api/db/schema.sql": "1\n"})
    res = run_cli("--json", "check", cwd=project)
    assert res.code == 1, res.out
    locked = [v for v in res.json["violations"] if v["rule"] == "locked"]
    assert locked and locked[0]["path"] == "src/api/db/schema.sql" and "bob" in locked[0]["message"]
    # the sole shared holder is not blocked (it may upgrade and write)
    locks.release(Store(repo, agent="bob"), "src/api/db/")
    res = run_cli("--json", "check", cwd=project)
    assert res.code == 0 and res.json["violations"] == [], res.out
