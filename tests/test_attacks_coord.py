"""Attack suite, items 2 and 3: the coordination branch, the base branch and task branches are guarded
by the server hook (a bare remote with `hooks install --server`; one scenario over `git daemon`).

Each attack asserts refusal with a message naming the rule; the honest flows around it (claim,
status, lock, release, audited lock break, merge run --push, a maintainer's edit) still pass.
"""

from __future__ import annotations

import subprocess

import pytest
from conftest import git, run_cli
from test_attacks_net import A_OWNS, BOB_FILE, bare_files, ok, push, team, write_commit

from gitcoord import gitutil
from gitcoord.errors import GitcoordError
from gitcoord.store import Store


def coord_write(work, agent: str, fn):
    """A hand-made coordination transaction by `agent`, pushed to origin; returns the error or None."""
    store = Store(gitutil.open_repo(work), remote="origin", agent=agent, retries=4)
    try:
        store.transact(fn)
    except GitcoordError as exc:
        return exc
    return None


def remote_coord(remote) -> str:
    return git(remote.bare, "rev-parse", "refs/heads/gitcoord")


# --------------------------------------------------------------------------- coordination branch


def test_rollback_force_push_of_the_coordination_branch_is_refused(remote, monkeypatch):
    t = team(remote, monkeypatch)
    before = remote_coord(remote)
    ok(run_cli("lock", "acquire", BOB_FILE, "--reason", "editing", cwd=t.bob), "bob locks")
    git(t.alice, "fetch", "-q", "origin")
    res = push(t.alice, f"+{before}:refs/heads/gitcoord")
    assert res.returncode != 0 and "fast-forward" in res.stderr, res.stderr
    locks = ok(run_cli("--json", "lock", "list", cwd=t.alice), "lock list").json
    rows = locks["locks"] if isinstance(locks, dict) else locks
    assert [r["resource"] for r in rows] == [BOB_FILE]  # bob's lock is still there


def test_arbitrary_and_malformed_files_cannot_be_pushed(remote, monkeypatch):
    t = team(remote, monkeypatch)
    tip = remote_coord(remote)
    cases = {
        "evil.sh": (b"#!/bin/sh\nrm -rf /\n", "not a gitcoord entity path"),
        "tasks/A.yaml": (b"id: A\ntitle: \xff\xfe\nstatus: planned\n", "not UTF-8"),
        "tasks/B.yaml": (b"[" * 100_000 + b"]" * 100_000, "tasks/B.yaml"),
        "locks/x.json": (b"{}", "locks/x.json"),
        "gitcoord.yaml": (b"version: 2\n", "gitcoord.yaml"),
    }
    for path, (data, expected) in cases.items():
        err = coord_write(t.alice, "alice", lambda txn, p=path, d=data: txn.put_bytes(p, d))
        assert err is not None, path
        assert expected in str(err), (path, str(err))
        assert remote_coord(remote) == tip
    # a symlink entry, made with plumbing
    git(t.alice, "fetch", "-q", "origin")
    blob = git(t.alice, "hash-object", "-w", "--stdin", input="/etc/passwd")
    tree = git(t.alice, "mktree", input=git(t.alice, "ls-tree", "origin/gitcoord") + f"\n120000 blob {blob}\tlink.yaml\n")
    commit = git(t.alice, "commit-tree", tree, "-p", "origin/gitcoord", "-m", "x\n\nGitcoord-Agent: alice")
    res = push(t.alice, f"{commit}:refs/heads/gitcoord")
    assert res.returncode != 0 and "link.yaml" in res.stderr


def test_agent_cannot_widen_its_own_in_progress_task_but_a_maintainer_can(remote, monkeypatch):
    t = team(remote, monkeypatch)
    res = run_cli("task", "edit", "A", "--owns", "src/**", cwd=t.alice)
    assert res.code != 0 and "maintainer" in res.err, res.err
    task = ok(run_cli("--json", "task", "show", "A", cwd=t.alice), "show").json
    task = task[0] if isinstance(task, list) else task
    assert task["owns"] == [A_OWNS]
    # a planned task is still planning: anyone may edit it; the maintainer edits an in-progress one
    ok(run_cli("task", "add", "C", "--title", "task C", "--owns", "docs/", cwd=t.alice), "add C")
    ok(run_cli("task", "edit", "C", "--owns", "docs/**", cwd=t.bob), "edit planned C")
    ok(run_cli("task", "edit", "A", "--owns", "src/a/", "--owns", "src/shared/", cwd=t.lead), "maintainer edit")


def test_locks_claims_and_messages_of_others_are_refused_break_is_audited(remote, monkeypatch):
    t = team(remote, monkeypatch)
    taken = ok(run_cli("--json", "lock", "acquire", BOB_FILE, "--reason", "mine", cwd=t.bob), "bob locks")
    lock_id = taken.json.get("id") or taken.json.get("lock", {}).get("id")
    assert lock_id

    # deleting bob's lock without the audited break
    err = coord_write(t.alice, "alice", lambda txn: txn.delete(f"locks/{lock_id}.json"))
    assert err is not None and "lock break" in str(err)
    # taking over bob's task, and writing a status in bob's name
    err = coord_write(t.alice, "alice", lambda txn: txn.put("tasks/B.yaml", {**txn.load("tasks/B.yaml"),
                                                                             "status": "ready_to_merge"}))
    assert err is not None and "held by bob" in str(err)
    err = coord_write(t.alice, "alice", lambda txn: txn.put(
        "events/2026-01-01/x-bob-1.json", {"id": "1", "type": "status_update", "at": "2026-01-01T00:00:00Z",
                                          "agent": "bob"}))
    assert err is not None and "bob" in str(err)

    # the honest flows still pass: alice's own status, a lock of her own, release, the audited break
    ok(run_cli("msg", "status", "A", "--progress", "10", cwd=t.alice), "status")
    ok(run_cli("lock", "acquire", "src/a/x.py", cwd=t.alice), "alice locks")
    ok(run_cli("lock", "release", "src/a/x.py", cwd=t.alice), "alice releases")
    ok(run_cli("lock", "break", lock_id, "--reason", "bob is away", cwd=t.alice), "audited break")


def test_base_branch_moves_only_by_merge_run_or_maintainer(remote, monkeypatch):
    t = team(remote, monkeypatch)
    ok(run_cli("config", "set", "policies.server_base", "check", cwd=t.lead), "policy")
    git(t.alice, "fetch", "-q", "origin")
    git(t.alice, "switch", "-q", "-c", "sneak", "origin/main")
    write_commit(t.alice, {"anything.txt": "1\n"})
    res = push(t.alice, "HEAD:refs/heads/main")
    assert res.returncode != 0 and "server_base" in res.stderr, res.stderr

    # honest: alice's task lands through merge run --push (main and the record in one atomic push)
    git(t.alice, "switch", "-q", t.branches["A"])
    write_commit(t.alice, {"src/a/ok.py": "ok\n"})
    assert push(t.alice, t.branches["A"]).returncode == 0
    ok(run_cli("task", "done", "A", cwd=t.alice), "done A")
    git(t.lead, "fetch", "-q", "origin")
    git(t.lead, "switch", "-q", "-c", "workbench")
    merged = run_cli("--json", "merge", "run", "--push", cwd=t.lead)
    assert merged.code == 0 and merged.json["merged"] == ["A"], merged.err
    assert "src/a/ok.py" in bare_files(remote)
    # a maintainer's own commit (asserted by its trailer, unverified mode) may move main
    git(t.lead, "fetch", "-q", "origin")
    git(t.lead, "switch", "-q", "-C", "hotfix", "origin/main")
    write_commit(t.lead, {"HOTFIX.md": "x\n"}, "hotfix\n\nGitcoord-Agent: lead")
    res = push(t.lead, "HEAD:refs/heads/main")
    assert res.returncode == 0, res.stderr


def test_a_bad_file_on_the_branch_does_not_block_the_maintainers_repair(remote, monkeypatch):
    t = team(remote, monkeypatch)
    # the bad file got there before the hook existed (written on the server itself)
    server = Store(gitutil.open_repo(remote.bare), agent="lead")
    server.transact(lambda txn: txn.put_bytes("tasks/B.yaml", b"id: B\ntitle: \xff\n"))
    # bob's task branch push fails closed: the store cannot be read
    write_commit(t.bob, {"src/b/y.py": "y\n"})
    assert push(t.bob, t.branches["B"]).returncode != 0
    # the maintainer's repair (a well-formed task file) is accepted
    repaired = {"id": "B", "title": "task B", "status": "in_progress", "agent": "bob", "owns": ["src/b/"],
                "feature": "shop", "role": "dev", "branch": t.branches["B"]}
    assert coord_write(t.lead, "lead", lambda txn: txn.put("tasks/B.yaml", repaired)) is None
    res = push(t.bob, t.branches["B"])
    assert res.returncode == 0, res.stderr


# --------------------------------------------------------------------------- task branches


def _pusher_mode(t, monkeypatch):
    ok(run_cli("config", "set", "identity", '{"mode": "pusher", "pusher_env": "REMOTE_USER"}', cwd=t.lead),
       "identity")
    for work in (t.alice, t.bob):
        git(work, "fetch", "-q", "origin")


def test_other_agents_task_branches_are_closed(remote, monkeypatch):
    t = team(remote, monkeypatch)
    _pusher_mode(t, monkeypatch)
    as_alice, as_bob = {"REMOTE_USER": "alice"}, {"REMOTE_USER": "bob"}
    bob_branch = t.branches["B"]
    write_commit(t.bob, {"src/b/y.py": "y\n"}, "bob's work")
    write_commit(t.bob, {"src/b/z.py": "z\n"}, "more work")
    monkeypatch.setenv("REMOTE_USER", "bob")
    assert push(t.bob, bob_branch, env=as_bob).returncode == 0
    git(t.alice, "fetch", "-q", "origin")

    # alice writes to bob's branch (even only his own paths)
    git(t.alice, "switch", "-q", "-c", "evil", f"origin/{bob_branch}")
    write_commit(t.alice, {"src/b/w.py": "w\n"})
    res = push(t.alice, f"HEAD:refs/heads/{bob_branch}", env=as_alice)
    assert res.returncode != 0 and "branch-owner" in res.stderr and "bob" in res.stderr, res.stderr
    # force-push it back to drop his commits, or delete it
    res = push(t.alice, f"+origin/{bob_branch}~2:refs/heads/{bob_branch}", env=as_alice)
    assert res.returncode != 0 and "branch-owner" in res.stderr
    res = push(t.alice, f":refs/heads/{bob_branch}", env=as_alice)
    assert res.returncode != 0 and "deleting" in res.stderr
    # a new branch name that maps to bob's task
    twin = bob_branch.rsplit("/", 2)[0] + "/alice/b"
    res = push(t.alice, f"HEAD:refs/heads/{twin}", env=as_alice)
    assert res.returncode != 0, res.stderr
    assert git(remote.bare, "rev-parse", bob_branch) == git(t.bob, "rev-parse", "HEAD")

    # bob himself may rewind his own branch
    git(t.bob, "reset", "-q", "--hard", "HEAD~1")
    res = push(t.bob, f"+{bob_branch}", env=as_bob)
    assert res.returncode == 0, res.stderr


def test_unverified_mode_refuses_commits_asserted_by_another_agent(remote, monkeypatch):
    t = team(remote, monkeypatch)
    bob_branch = t.branches["B"]
    write_commit(t.bob, {"src/b/y.py": "y\n"}, "bob's work\n\nGitcoord-Agent: bob")
    assert push(t.bob, bob_branch).returncode == 0
    git(t.alice, "fetch", "-q", "origin")
    git(t.alice, "switch", "-q", "-c", "evil", f"origin/{bob_branch}")
    write_commit(t.alice, {"src/b/w.py": "w\n"}, "mine\n\nGitcoord-Agent: alice")
    res = push(t.alice, f"HEAD:refs/heads/{bob_branch}")
    assert res.returncode != 0 and "held by bob" in res.stderr
    res = push(t.alice, f":refs/heads/{bob_branch}")
    assert res.returncode != 0 and "deleting" in res.stderr
    res = push(t.alice, f"+origin/{bob_branch}~1:refs/heads/{bob_branch}")
    assert res.returncode != 0 and "non-fast-forward" in res.stderr


def test_guarded_remote_over_git_daemon(daemon_remote, monkeypatch):
    """The same boundary over git:// — a rollback and a foreign file are refused, honest work passes."""
    t = team(daemon_remote, monkeypatch)
    for work in (t.lead, t.alice, t.bob):
        git(work, "remote", "set-url", "origin", daemon_remote.url)
    before = remote_coord(daemon_remote)
    ok(run_cli("lock", "acquire", BOB_FILE, "--reason", "editing", cwd=t.bob), "bob locks over git://")
    git(t.alice, "fetch", "-q", "origin")
    res = push(t.alice, f"+{before}:refs/heads/gitcoord")
    assert res.returncode != 0 and "fast-forward" in res.stderr
    err = coord_write(t.alice, "alice", lambda txn: txn.put_bytes("evil.sh", b"x"))
    assert err is not None and "entity path" in str(err)
    write_commit(t.alice, {"src/a/ok.py": "ok\n"})
    res = push(t.alice, t.branches["A"])
    assert res.returncode == 0, res.stderr
    ok(run_cli("lock", "release", BOB_FILE, cwd=t.bob), "release over git://")


def test_client_pre_push_refuses_another_agents_task_branch_with_a_working_hint(remote, monkeypatch):
    import shlex

    t = team(remote, monkeypatch)
    bob_branch = t.branches["B"]
    ok(run_cli("hooks", "install", cwd=t.alice), "client hooks")
    git(t.alice, "switch", "-q", "-c", "help-bob", "origin/main")
    write_commit(t.alice, {"src/b/fix.py": "fix\n"})
    res = push(t.alice, f"HEAD:refs/heads/{bob_branch}", verify=True)
    assert res.returncode != 0 and "branch-owner" in res.stderr, res.stderr
    hint = next(line.split("→", 1)[1].strip() for line in res.stderr.splitlines() if "gitcoord msg request" in line)
    ok(run_cli(*shlex.split(hint)[1:], cwd=t.alice), "the hint works as printed")


def test_lock_requests_are_answered_only_by_the_owner(remote, monkeypatch):
    t = team(remote, monkeypatch)
    asked = run_cli("--json", "lock", "acquire", BOB_FILE, "--reason", "one line", cwd=t.alice)
    assert asked.code == 1, asked.err
    request = asked.json["error"]["lock"]
    # alice granting her own request (a hand-made commit) is refused
    def self_grant(txn):
        lock = txn.load(f"locks/{request}.json")
        lock["holders"] = [{"agent": "alice", "task": None, "since": txn.now, "expires_at": None}]
        lock["queue"] = []
        txn.put(f"locks/{request}.json", lock)

    err = coord_write(t.alice, "alice", self_grant)
    assert err is not None and "only bob grants" in str(err)
    # nor can she write a lock on bob's paths, or over bob's live lock, by hand
    def own_lock(resource, lock_id):
        def op(txn):
            txn.put(f"locks/{lock_id}.json", {"id": lock_id, "resource": resource, "type": "exclusive",
                                              "holders": [{"agent": "alice", "task": "A", "since": txn.now,
                                                           "expires_at": None}],
                                              "granted_at": txn.now, "expires_at": None})
        return op

    err = coord_write(t.alice, "alice", own_lock("src/b/", "handmade-1"))
    assert err is not None and "owned by task B of bob" in str(err)
    ok(run_cli("lock", "acquire", "docs/shared.md", cwd=t.bob), "bob locks an unowned file")
    err = coord_write(t.alice, "alice", own_lock("docs/", "handmade-2"))
    assert err is not None and "conflicts with lock" in str(err)
    ok(run_cli("lock", "grant", request, cwd=t.bob), "bob grants")
    git(t.alice, "fetch", "-q", "origin")
    holders = [[h["agent"] for h in r["holders"]] for r in
               (run_cli("--json", "lock", "list", cwd=t.alice).json or {}).get("locks", []) if r["id"] == request]
    assert holders == [["alice"]]


def test_gitcoord_repair_by_the_maintainer_passes_the_server_hook(remote, monkeypatch):
    t = team(remote, monkeypatch)
    server = Store(gitutil.open_repo(remote.bare), agent="lead")
    server.transact(lambda txn: txn.put_bytes("tasks/B.yaml", b"id: B\ntitle: \xff\n"))
    write_commit(t.bob, {"src/b/y.py": "y\n"})
    blocked = push(t.bob, t.branches["B"])
    assert blocked.returncode != 0 and "tasks/B.yaml" in blocked.stderr
    repaired = run_cli("repair", cwd=t.lead)
    assert repaired.code == 0, repaired.err
    res = push(t.bob, t.branches["B"])
    assert res.returncode == 0, res.stderr


def test_commit_msg_hook_names_the_agent_so_the_server_can_refuse_it(remote, monkeypatch):
    t = team(remote, monkeypatch)
    bob_branch = t.branches["B"]
    ok(run_cli("hooks", "install", cwd=t.alice), "client hooks")
    git(t.alice, "switch", "-q", "-c", bob_branch, "origin/main")
    write_commit(t.alice, {"src/b/w.py": "w\n"}, "help bob", verify=True)
    assert "Gitcoord-Agent: alice" in git(t.alice, "log", "-1", "--format=%B")
    res = push(t.alice, bob_branch)
    assert res.returncode != 0 and "is by alice" in res.stderr and "held by bob" in res.stderr, res.stderr


def test_malformed_commit_and_non_utf8_names_cannot_reach_the_coordination_branch(remote, monkeypatch):
    t = team(remote, monkeypatch)
    git(t.alice, "fetch", "-q", "origin")
    tip = git(t.alice, "rev-parse", "origin/gitcoord")
    tree = git(t.alice, "rev-parse", "origin/gitcoord^{tree}")
    raw = (f"tree {tree}\nparent {tip}\nauthor alice <alice@x> not-a-date\ncommitter <<>> 1 +0000\n\n"
           f"x\n\nGitcoord-Agent: alice\n")
    bad = subprocess.run(["git", "hash-object", "-t", "commit", "-w", "--literally", "--stdin"], cwd=t.alice,
                         input=raw, capture_output=True, text=True, check=True).stdout.strip()
    res = push(t.alice, f"{bad}:refs/heads/gitcoord")
    assert res.returncode != 0, res.stderr
    # a file name that is not UTF-8
    blob = git(t.alice, "hash-object", "-w", "--stdin", input="{}")
    listing = subprocess.run(["git", "ls-tree", "-z", "origin/gitcoord"], cwd=t.alice, capture_output=True,
                             check=True).stdout
    entry = b"100644 blob " + blob.encode() + b"\t\xff.json\x00"
    tree = subprocess.run(["git", "mktree", "-z", "--missing"], cwd=t.alice, input=listing + entry,
                          capture_output=True, check=True).stdout.decode().strip()
    odd = git(t.alice, "commit-tree", tree, "-p", tip, "-m", "x\n\nGitcoord-Agent: alice")
    res = push(t.alice, f"{odd}:refs/heads/gitcoord")
    assert res.returncode != 0, res.stderr
    assert git(remote.bare, "rev-parse", "refs/heads/gitcoord") == tip
    ok(run_cli("msg", "status", "A", "--progress", "1", cwd=t.alice), "the branch still works for everyone")


def test_contracts_register_and_approve_through_the_guard_snapshots_never_change(remote, monkeypatch):
    import shutil

    from conftest import CART_SPEC

    t = team(remote, monkeypatch)
    (t.alice / "src/a").mkdir(parents=True, exist_ok=True)
    shutil.copy(CART_SPEC, t.alice / "src/a/cart.yaml")
    ok(run_cli("contract", "add", "cart-api", "--spec", "src/a/cart.yaml", cwd=t.alice), "contract add")
    ok(run_cli("contract", "approve", "cart-api", cwd=t.alice), "contract approve")
    git(t.alice, "fetch", "-q", "origin")
    snapshots = [p for p in git(t.alice, "ls-tree", "-r", "--name-only", "origin/gitcoord").split()
                 if p.startswith("contracts/cart-api/")]
    assert len(snapshots) == 1
    err = coord_write(t.alice, "alice", lambda txn: txn.put_bytes(snapshots[0], b"openapi: 3.0.3\n"))
    assert err is not None and "never change" in str(err)


def test_a_contract_is_approved_and_changed_only_by_its_owner_approvals_are_history(remote, monkeypatch):
    import shlex
    import shutil

    from conftest import CART_SPEC

    t = team(remote, monkeypatch)
    (t.alice / "src/a").mkdir(parents=True, exist_ok=True)
    shutil.copy(CART_SPEC, t.alice / "src/a/cart.yaml")
    git(t.alice, "add", "src/a/cart.yaml")
    git(t.alice, "commit", "-q", "-m", "cart spec")
    ok(run_cli("contract", "add", "cart-api", "--spec", "src/a/cart.yaml", cwd=t.alice), "contract add")
    ok(run_cli("contract", "approve", "cart-api", cwd=t.alice), "contract approve")
    record = "contracts/cart-api.yaml"

    # bob approves alice's contract in his own name: refused, with a hint that works as printed
    def approve_as_bob(txn):
        doc = txn.load(record)
        doc["approved"].append({**doc["approved"][-1], "version": "1.1.0", "approved_by": "bob"})
        txn.put(record, doc)
    err = coord_write(t.bob, "bob", approve_as_bob)
    assert err is not None and "decided by alice" in str(err), err
    hint = str(err).split("ask: ", 1)[1].split(" (commit ")[0]
    assert hint.startswith("gitcoord msg request --to alice")
    ok(run_cli(*shlex.split(hint)[1:], cwd=t.bob), "the printed hint")
    # nor may he move its spec, or record an approval in alice's name
    err = coord_write(t.bob, "bob", lambda txn: txn.put(record, {**txn.load(record), "spec": "src/b/other.yaml"}))
    assert err is not None and "decided by alice" in str(err) and "spec" in str(err), err

    def forge(txn):
        doc = txn.load(record)
        doc["approved"].append({**doc["approved"][-1], "version": "9.0.0", "approved_by": "alice"})
        txn.put(record, doc)
    err = coord_write(t.bob, "bob", forge)
    assert err is not None and "recorded as 'alice'" in str(err), err
    # approvals are history, even for the owner: rewriting 1.0.0 is refused
    err = coord_write(t.alice, "alice", lambda txn: txn.put(record, {**txn.load(record), "approved": [
        {**txn.load(record)["approved"][0], "blob": "0" * 40}]}))
    assert err is not None and "history" in str(err), err
    # bob may not deprecate it either; the owner's own next approval and a maintainer's change pass
    refused = run_cli("contract", "deprecate", "cart-api", cwd=t.bob)
    assert refused.code == 3 and "decided by alice" in refused.err, refused.err
    (t.alice / "src/a/cart.yaml").write_text((t.alice / "src/a/cart.yaml").read_text().replace(
        "title:", "description: v1.1\n  title:", 1))
    git(t.alice, "commit", "-qam", "spec v1.1")
    ok(run_cli("contract", "approve", "cart-api", "--version", "9.9.0", "--allow-breaking", cwd=t.alice),
       "the owner approves her next version")
    ok(run_cli("contract", "deprecate", "cart-api", cwd=t.lead), "the maintainer deprecates it")


def test_a_merge_cannot_smuggle_a_rollback_past_the_guard(remote, monkeypatch):
    """A merge whose first parent is an orphan 'clean' state (without bob's lock), second parent the tip."""
    t = team(remote, monkeypatch)
    ok(run_cli("lock", "acquire", BOB_FILE, "--reason", "editing", cwd=t.bob), "bob locks")
    git(t.alice, "fetch", "-q", "origin")
    tip = git(t.alice, "rev-parse", "origin/gitcoord")
    listing = git(t.alice, "ls-tree", "origin/gitcoord")
    clean = git(t.alice, "mktree", input="\n".join(l for l in listing.splitlines() if not l.endswith("\tlocks")) + "\n")
    orphan = git(t.alice, "commit-tree", clean, "-m", "clean\n\nGitcoord-Agent: alice")
    merge = git(t.alice, "commit-tree", clean, "-p", orphan, "-p", tip, "-m", "merge\n\nGitcoord-Agent: alice")
    res = push(t.alice, f"{merge}:refs/heads/gitcoord")
    assert res.returncode != 0 and "first parents" in res.stderr, res.stderr
    assert git(remote.bare, "rev-parse", "refs/heads/gitcoord") == tip


def test_a_hand_written_merge_record_cannot_land_foreign_files_on_main(remote, monkeypatch):
    t = team(remote, monkeypatch)
    ok(run_cli("config", "set", "policies.server_base", "check", cwd=t.lead), "policy")
    git(t.alice, "fetch", "-q", "origin")
    before = git(t.alice, "rev-parse", "origin/main")
    git(t.alice, "switch", "-q", "-c", "sneak", "origin/main")
    write_commit(t.alice, {BOB_FILE: "alice's version\n"})
    after = git(t.alice, "rev-parse", "HEAD")
    store = Store(gitutil.open_repo(t.alice), remote="origin", agent="alice")
    tip = store.fetch()
    from gitcoord.store import Snapshot, Txn

    txn = Txn(Snapshot(store.repo, tip, store.cache), "alice")
    txn.put("merges/20260101T000000-aaaaaa.json", {
        "run": "20260101T000000-aaaaaa", "into": "refs/heads/main", "before": before, "after": after,
        "mode": "skip", "merged": ["A"], "skipped": [], "tested": False, "agent": "alice",
        "started_at": txn.now, "order": ["A"]})
    txn.describe("merge.run", "a landing")
    coord = store._commit(txn, [tip])
    res = subprocess.run(["git", "push", "--atomic", "--no-verify", "origin", f"{after}:refs/heads/main",
                          f"{coord}:refs/heads/gitcoord"], cwd=t.alice, capture_output=True, text=True)
    assert res.returncode != 0 and BOB_FILE in res.stderr and "does not merge" in res.stderr, res.stderr
    assert git(remote.bare, "rev-parse", "main") == before


def test_without_maintainers_agents_still_cannot_act_on_each_others_locks_and_claims(remote, monkeypatch):
    t = team(remote, monkeypatch, maintainers=())
    taken = ok(run_cli("--json", "lock", "acquire", BOB_FILE, "--reason", "mine", cwd=t.bob), "bob locks")
    lock_id = taken.json.get("id")
    err = coord_write(t.alice, "alice", lambda txn: txn.delete(f"locks/{lock_id}.json"))
    assert err is not None and "lock break" in str(err)
    err = coord_write(t.alice, "alice", lambda txn: txn.put("tasks/B.yaml", {**txn.load("tasks/B.yaml"),
                                                                             "status": "cancelled"}))
    assert err is not None and "held by bob" in str(err)
    # maintainer-only changes stay open while nobody is named (a project bootstrapping itself)
    ok(run_cli("config", "set", "policies.unowned", "deny", cwd=t.alice), "bootstrap config change")


def test_a_task_cannot_record_another_tasks_branch(remote, monkeypatch):
    t = team(remote, monkeypatch)
    ok(run_cli("task", "add", "C", "--title", "decoy", "--owns", "docs/", cwd=t.alice), "add C")
    err = coord_write(t.alice, "alice", lambda txn: txn.put("tasks/C.yaml", {**txn.load("tasks/C.yaml"),
                                                                             "branch": t.branches["B"]}))
    assert err is not None and "does not name task C" in str(err)
    err = coord_write(t.alice, "alice", lambda txn: txn.put("tasks/A.yaml", {**txn.load("tasks/A.yaml"),
                                                                             "branch": t.branches["B"]}))
    assert err is not None and "does not name task A" in str(err)
    ok(run_cli("--json", "branch", "create", "C", cwd=t.alice), "an honest branch for C")


def test_an_agent_marks_only_its_own_inbox_read(remote, monkeypatch):
    """`inbox ack` passes the guarded remote for the inbox's agent; nobody else may mark it read."""
    t = team(remote, monkeypatch)
    ok(run_cli("msg", "request", "--to", "alice", "--regarding", "A", "--request", "a hook in src/a",
               cwd=t.bob), "bob asks alice")
    tip = remote_coord(remote)
    forged = coord_write(t.bob, "bob", lambda txn: txn.put("inbox/alice.json", {"agent": "alice", "acked": ["x"]}))
    assert forged is not None and "only alice marks alice's inbox items read" in str(forged)
    assert remote_coord(remote) == tip
    acked = run_cli("inbox", "ack", "--all", cwd=t.alice)
    assert acked.code == 0, acked.err
    assert remote_coord(remote) != tip and "inbox/alice.json" in git(remote.bare, "ls-tree", "-r", "--name-only",
                                                                         "refs/heads/gitcoord")
