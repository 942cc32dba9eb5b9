"""Identity: one rule for agent names from every source, never a role, recorded by `task start`,
declared agents alone write; a store that can never be bricked by a name, and `repair`."""

from __future__ import annotations

import shlex
import subprocess
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import git, make_repo, run_cli, run_proc

HOSTILE = ["bob\nX", "../../etc", "a b", "a\tb", "x\x01y", "$(whoami)", "x" * 300, "x/y", "eve <root@evil>",
           "", "-rf", "ann\r", "ünïcode", "a:b"]


def hint_command(text: str, after: str) -> list[str]:
    """The command a message printed after ``after`` (up to the end of the line), as argv without `gitcoord`."""
    line = text.split(after, 1)[1].splitlines()[0].strip().rstrip(".;)")
    words = shlex.split(line)
    assert words[0] == "gitcoord", line
    return words[1:]


@pytest.fixture
def store_repo(repo: Path) -> Path:
    assert run_cli("--agent", "lead", "init", cwd=repo).code == 0
    return repo


@pytest.mark.parametrize("name", HOSTILE)
def test_hostile_names_are_refused_from_every_source_and_nothing_is_written(store_repo: Path, name: str) -> None:
    before = git(store_repo, "rev-parse", "gitcoord")
    if name:  # an empty --agent is "not given"; an empty env var is unset
        flag = run_cli("--agent", name, "task", "add", "T", "--title", "t", cwd=store_repo)
        assert flag.code == 2 and "--agent" in flag.err and len(flag.err.strip().splitlines()) == 1, flag.err
        after = run_cli("task", "add", "T", "--title", "t", "--json", cwd=store_repo)
        assert after.code == 0  # a bad name is refused, nothing else is broken
        git(store_repo, "update-ref", "refs/heads/gitcoord", before)
        late = run_cli("lock", "acquire", "./README.md", "--agent", name, cwd=store_repo)
        assert late.code == 2 and "--agent" in late.err
        env = run_cli("lock", "acquire", "./README.md", cwd=store_repo, env={"GITCOORD_AGENT": name})
        assert env.code == 2 and "GITCOORD_AGENT" in env.err
        if "\n" not in name and "\0" not in name:
            git(store_repo, "config", "gitcoord.agent", name)
            conf = run_cli("lock", "acquire", "./README.md", cwd=store_repo)
            assert conf.code == 2 and "git config gitcoord.agent" in conf.err, conf.err
            git(store_repo, "config", "--unset", "gitcoord.agent")
    assert git(store_repo, "rev-parse", "gitcoord") == before
    assert run_cli("--json", "state", cwd=store_repo).code == 0


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(name=st.text(min_size=1, max_size=140))
def test_any_text_as_an_agent_name_never_writes_an_unparsable_commit(store_repo: Path, name: str) -> None:
    result = run_cli("--agent", name, "msg", "status", "NOPE", "--progress", "10", cwd=store_repo)
    assert result.code in (0, 1, 2), result.err
    assert "internal error" not in result.err and "Traceback" not in result.err
    # Whatever happened, every commit on the branch parses and every command still starts.
    fsck = subprocess.run(["git", "fsck", "--no-dangling"], cwd=store_repo, capture_output=True, text=True)
    assert "missingEmail" not in fsck.stdout + fsck.stderr and "badName" not in fsck.stdout + fsck.stderr
    assert run_cli("--json", "history", "-n", "3", cwd=store_repo).code == 0


def test_whoami_says_who_and_from_where(store_repo: Path) -> None:
    assert run_cli("--json", "whoami", cwd=store_repo).json["source"] == "git user.email"
    assert run_cli("--json", "whoami", "--agent", "ann", cwd=store_repo).json == {
        "agent": "ann", "source": "--agent", "declared": None, "roles": [], "remote": None}
    assert run_cli("--json", "whoami", cwd=store_repo, env={"GITCOORD_AGENT": "bob"}).json["source"] == "GITCOORD_AGENT"
    git(store_repo, "config", "gitcoord.agent", "cat")
    data = run_cli("--json", "whoami", cwd=store_repo).json
    assert data["agent"] == "cat" and data["source"] == "git config gitcoord.agent"


def test_the_branch_name_is_never_an_identity(store_repo: Path) -> None:
    """On feature/x/agent/backend/t you are not `backend`: that role is shared by every backend agent."""
    git(store_repo, "switch", "-q", "-c", "feature/cart/agent/backend/api")
    who = run_cli("--json", "whoami", cwd=store_repo).json
    assert who["agent"] == "test@example.com" and who["source"] == "git user.email"


def test_task_start_records_the_claiming_agent_for_this_checkout(store_repo: Path) -> None:
    """The README's per-agent block, typed literally: later commands act as the agent who claimed."""
    assert run_cli("task", "add", "DESIGN", "--title", "d", "--owns", "/api/", "--feature", "cart",
                   "--role", "backend", cwd=store_repo).code == 0
    started = run_cli("--agent", "ann", "task", "start", "DESIGN", cwd=store_repo)
    assert started.code == 0 and "now acts as ann" in started.out
    assert git(store_repo, "config", "gitcoord.agent") == "ann"
    git(store_repo, "switch", "-q", "feature/cart/agent/backend/design")
    (store_repo / "api").mkdir()
    (store_repo / "api" / "x.yaml").write_text("x: 1\n")
    git(store_repo, "add", "-A")
    git(store_repo, "commit", "-q", "-m", "work")
    done = run_cli("--json", "task", "done", "DESIGN", cwd=store_repo)
    assert done.code == 0, done.err
    assert done.json["status"] == "ready_to_merge" and done.json["agent"] == "ann"


def test_task_start_in_a_linked_worktree_records_it_for_that_worktree_only(store_repo: Path, tmp_path: Path) -> None:
    for tid in ("A", "B"):
        assert run_cli("task", "add", tid, "--title", tid, cwd=store_repo).code == 0
    wt = tmp_path / "wt b"
    git(store_repo, "worktree", "add", "-q", str(wt), "-b", "side")
    assert run_cli("--agent", "ann", "task", "start", "A", cwd=store_repo).code == 0
    assert run_cli("--agent", "bob", "task", "start", "B", cwd=wt).code == 0
    assert run_cli("--json", "whoami", cwd=store_repo).json["agent"] == "ann"
    data = run_cli("--json", "whoami", cwd=wt).json
    assert data == {**data, "agent": "bob", "source": "git config --worktree gitcoord.agent"}
    assert git(wt, "status", "--porcelain") == ""  # the worktree itself is untouched


def test_declared_agents_alone_write_and_the_hint_fixes_it(store_repo: Path) -> None:
    assert run_cli("--agent", "lead", "config", "set", "agents", "[{name: lead}, {name: ann}]",
                   cwd=store_repo).code == 0
    before = git(store_repo, "rev-parse", "gitcoord")
    refused = run_cli("task", "add", "T", "--title", "t", cwd=store_repo)  # as test@example.com
    assert refused.code == 2 and "not declared" in refused.err
    assert git(store_repo, "rev-parse", "gitcoord") == before
    assert run_cli("next", cwd=store_repo).code == 2  # not offered tasks either
    fix = hint_command(refused.err, "declare it: ")
    assert run_cli(*fix, cwd=store_repo).code == 0
    assert run_cli("task", "add", "T", "--title", "t", cwd=store_repo).code == 0
    assert "test@example.com" in run_cli("config", "get", "agents", cwd=store_repo).out


def test_config_add_agent_keeps_the_others(store_repo: Path) -> None:
    run_cli("--agent", "lead", "config", "set", "agents", "[{name: lead, roles: [maintainer]}]", cwd=store_repo)
    assert run_cli("--agent", "lead", "config", "add-agent", "ann", "--role", "backend", cwd=store_repo).code == 0
    assert run_cli("--agent", "lead", "config", "add-agent", "ann", "--role", "qa", cwd=store_repo).code == 0
    agents = run_cli("--json", "config", "get", "agents", cwd=store_repo).json["value"]
    assert agents == [{"name": "lead", "roles": ["maintainer"]}, {"name": "ann", "roles": ["backend", "qa"]}]
    bad = run_cli("--agent", "lead", "config", "add-agent", "a b", cwd=store_repo)
    assert bad.code == 2 and "agent name" in bad.err


# --------------------------------------------------------------------------- an unreadable tip, repaired


def _bad_commit_on_top(repo: Path) -> str:
    tip = git(repo, "rev-parse", "gitcoord")
    tree = git(repo, "rev-parse", "gitcoord^{tree}")
    raw = f"tree {tree}\nparent {tip}\nauthor bob\nX <x@y> 1700000000 +0000\ncommitter bob\nX <x@y> 1700000000 +0000\n\nx\n"
    bad = git(repo, "hash-object", "-t", "commit", "--literally", "-w", "--stdin", input=raw)
    git(repo, "update-ref", "refs/heads/gitcoord", bad)
    return bad


def test_a_malformed_commit_at_the_tip_is_one_line_and_repair_rolls_forward(remote) -> None:
    a, b = remote.clone("a"), remote.clone("b")
    assert run_cli("--agent", "ann", "init", "--remote", "origin", cwd=a).code == 0
    assert run_cli("--agent", "ann", "task", "add", "T", "--title", "t", cwd=a).code == 0
    bad = _bad_commit_on_top(a)
    git(a, "push", "-q", "origin", "gitcoord")
    # every command of every agent still starts and says what is wrong, in one line
    for args in (["state"], ["task", "list"], ["history"]):
        result = run_cli(*args, cwd=b, env={"GITCOORD_OFFLINE": "0"})
        assert result.code == 2 and "unreadable" in result.err and "gitcoord repair" in result.err, result.err
        assert len([line for line in result.err.splitlines() if "unreadable" in line]) == 1
    fix = hint_command(run_cli("state", cwd=b).err, "run `").copy()
    assert fix == ["repair`"] or fix[0].startswith("repair")
    repaired = run_cli("--agent", "bob", "--json", "repair", cwd=b)
    assert repaired.code == 0, repaired.err
    assert repaired.json["commit_problem"] and repaired.json["commit"]
    # a fast-forward: the damaged commit stays in history, the remote took it without force
    assert git(remote.bare, "rev-parse", "gitcoord^") == bad
    assert [t["id"] for t in run_cli("--json", "task", "list", cwd=a).json] == ["T"]
    assert run_cli("--agent", "ann", "task", "add", "U", "--title", "u", cwd=a).code == 0
    assert "[repair]" in run_cli("history", cwd=b).out
    assert run_cli("--json", "repair", cwd=b).json["needed"] is False


def test_repair_restores_a_bad_file_to_its_last_readable_version(store_repo: Path) -> None:
    assert run_cli("task", "add", "T", "--title", "good title", cwd=store_repo).code == 0
    assert run_cli("task", "add", "U", "--title", "other", cwd=store_repo).code == 0
    work = store_repo.parent / "coord"
    git(store_repo, "worktree", "add", "-q", str(work), "gitcoord")
    (work / "tasks" / "T.yaml").write_bytes(b"id: T\ntitle: \xff\xfe broken\n")
    (work / "tasks" / "EVIL.yaml").write_text("{{{{")
    git(work, "add", "-A")
    git(work, "commit", "-q", "-m", "vandalism")
    git(store_repo, "worktree", "remove", "--force", str(work))
    broken = run_cli("task", "list", cwd=store_repo)
    assert broken.code == 2 and "gitcoord repair" in broken.err
    dry = run_cli("--json", "repair", "--dry-run", cwd=store_repo).json
    assert {(f["path"], f["action"]) for f in dry["files"]} == {("tasks/T.yaml", "restored"),
                                                                 ("tasks/EVIL.yaml", "removed")}
    assert run_cli("repair", cwd=store_repo).code == 0
    tasks = run_cli("--json", "task", "list", cwd=store_repo).json
    assert [(t["id"], t["title"]) for t in tasks] == [("T", "good title"), ("U", "other")]


# --------------------------------------------------------------------------- joining a team


def test_a_fresh_clone_joins_the_remote_store_and_says_so_once(remote) -> None:
    lead = remote.clone("lead")
    assert run_cli("--agent", "lead", "init", "--remote", "origin", cwd=lead).code == 0
    newcomer = remote.clone("newcomer")
    first = run_cli("--agent", "ann", "task", "add", "T", "--title", "t", cwd=newcomer)
    assert first.code == 0, first.err
    assert "using the coordination branch on remote 'origin'" in first.err
    assert git(newcomer, "config", "gitcoord.remote") == "origin"
    assert git(remote.bare, "rev-parse", "gitcoord") == git(newcomer, "rev-parse", "gitcoord")  # it was pushed
    second = run_cli("--agent", "ann", "task", "list", cwd=newcomer)
    assert "using the coordination branch" not in second.err


def test_init_in_a_clone_that_never_fetched_joins_instead_of_forking(remote) -> None:
    old = remote.clone("old")  # cloned before the team set gitcoord up
    lead = remote.clone("lead")
    assert run_cli("--agent", "lead", "init", "--remote", "origin", cwd=lead).code == 0
    assert run_cli("--agent", "lead", "task", "add", "T", "--title", "t", cwd=lead).code == 0
    result = run_cli("--agent", "ann", "init", cwd=old)
    assert result.code == 0 and "joining it" in result.err
    assert git(old, "rev-parse", "gitcoord") == git(remote.bare, "rev-parse", "gitcoord")
    assert [t["id"] for t in run_cli("--json", "task", "list", cwd=old).json] == ["T"]


def test_several_remotes_with_the_branch_is_a_usage_error_listing_them(remote, tmp_path: Path) -> None:
    lead = remote.clone("lead")
    assert run_cli("--agent", "lead", "init", "--remote", "origin", cwd=lead).code == 0
    fork = tmp_path / "fork.git"
    git(tmp_path, "clone", "-q", "--bare", str(remote.bare), str(fork))
    newcomer = remote.clone("newcomer")
    git(newcomer, "remote", "add", "fork", str(fork))
    git(newcomer, "fetch", "-q", "fork")
    result = run_cli("task", "list", cwd=newcomer)
    assert result.code == 2 and "fork" in result.err and "origin" in result.err
    fix = shlex.split(result.err.split("choose one: ")[1].strip())
    assert fix[:3] == ["git", "config", "gitcoord.remote"]
    git(newcomer, *fix[1:])
    assert run_cli("task", "list", cwd=newcomer).code == 0


# --------------------------------------------------------------------------- offline


def test_offline_writes_stay_local_and_sync_replays_them_reporting_lost_races(remote) -> None:
    ann, bob = remote.clone("ann"), remote.clone("bob")
    assert run_cli("--agent", "lead", "init", "--remote", "origin", cwd=ann).code == 0
    for tid in ("A", "B"):
        assert run_cli("--agent", "lead", "task", "add", tid, "--title", tid, cwd=ann).code == 0
    assert run_cli("--agent", "bob", "task", "list", cwd=bob).code == 0  # bob joins
    remote_tip = git(remote.bare, "rev-parse", "gitcoord")
    off = {"GITCOORD_OFFLINE": "1"}
    # bob goes offline: both claims commit locally, nothing reaches the remote
    assert run_cli("--agent", "bob", "task", "start", "A", cwd=bob, env=off).code == 0
    assert run_cli("--agent", "bob", "--offline", "msg", "status", "A", "--progress", "10", cwd=bob).code == 0
    assert run_cli("--agent", "bob", "task", "start", "B", cwd=bob, env=off).code == 0
    assert git(remote.bare, "rev-parse", "gitcoord") == remote_tip
    # meanwhile ann claims B online
    assert run_cli("--agent", "ann", "task", "start", "B", cwd=ann).code == 0
    assert run_cli("sync", cwd=bob, env=off).code == 2  # sync needs the network
    synced = run_cli("--json", "--agent", "bob", "sync", cwd=bob)
    assert synced.code == 1, synced.err
    data = synced.json
    assert [op["task"] for op in data["replayed"]] == ["A", "A"]
    assert [(op["task"], op["op"]) for op in data["lost"]] == [("B", "task.in_progress")]
    assert "now in_progress by ann" in data["lost"][0]["reason"]
    tasks = {t["id"]: t for t in run_cli("--json", "task", "list", cwd=ann).json}
    assert tasks["A"]["agent"] == "bob" and tasks["B"]["agent"] == "ann"


def test_remote_errors_keep_gits_first_meaningful_line(repo: Path, tmp_path: Path) -> None:
    git(repo, "remote", "add", "origin", str(tmp_path / "nowhere.git"))
    result = run_cli("--agent", "ann", "--remote", "origin", "init", cwd=repo)
    assert result.code == 3
    assert "does not appear to be a git repository" in result.err and "and the repository exists" not in result.err


def test_run_as_a_process_a_hostile_env_name_is_one_line(store_repo: Path) -> None:
    result = run_proc("task", "list", cwd=store_repo, env={"GITCOORD_AGENT": "bob\nX"})
    assert result.code == 0  # reading needs no identity
    result = run_proc("task", "add", "Z", "--title", "z", cwd=store_repo, env={"GITCOORD_AGENT": "bob\nX"})
    assert result.code == 2 and len(result.err.strip().splitlines()) == 1 and "GITCOORD_AGENT" in result.err
