"""Resource locks against real repositories: types, upgrade, expiry, renew, break, release, queue, denials."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import git, run_cli
from gitcoord import locks
from gitcoord.errors import Conflict, NotFound, UsageError
from gitcoord.gitutil import open_repo
from gitcoord.init import init_store
from gitcoord.ownership import compile_pattern
from gitcoord.store import Store

T0 = "2030-01-01T00:00:00Z"


@pytest.fixture
def initialised(repo: Path) -> Path:
    init_store(Store(open_repo(repo), agent="lead"))
    return repo


def add_tasks(repo: Path, *task_ids: str) -> None:
    """The tasks locks name with --task (a lock for an unknown task is refused)."""
    def op(txn):
        for task_id in task_ids:
            txn.put(f"tasks/{task_id}.yaml", {"id": task_id, "title": f"title {task_id}", "status": "planned",
                                              "owns": [], "depends_on": []})

    Store(open_repo(repo), agent="lead").transact(op)


def store_of(repo: Path, agent: str) -> Store:
    return Store(open_repo(repo), agent=agent)


def tip(repo: Path) -> str:
    return git(repo, "rev-parse", "refs/heads/gitcoord")


def lock_files(repo: Path) -> list[str]:
    out = git(repo, "ls-tree", "--name-only", "refs/heads/gitcoord", "locks/")
    return out.splitlines() if out else []


def events(repo: Path, kind: str) -> list[dict]:
    snap = store_of(repo, "reader").snapshot()
    found = []
    for path in snap.walk("events"):
        event = snap.load(path)
        if event["type"] == kind:
            found.append(event)
    return found


# --------------------------------------------------------------------------- compatibility

# (held, requested) -> granted?  for two different agents on the same resource
MATRIX = {
    ("exclusive", "exclusive"): False, ("exclusive", "shared"): False,
    ("exclusive", "intent"): True, ("exclusive", "none"): True,
    ("shared", "exclusive"): False, ("shared", "shared"): True,
    ("shared", "intent"): True, ("shared", "none"): True,
    ("intent", "exclusive"): True, ("intent", "shared"): True,
    ("intent", "intent"): True, ("intent", "none"): True,
    ("none", "exclusive"): True, ("none", "shared"): True,
    ("none", "intent"): True, ("none", "none"): True,
}


@pytest.mark.parametrize("held,requested", sorted(MATRIX))
def test_type_compatibility(initialised, held, requested):
    locks.acquire(store_of(initialised, "alice"), "src/api/", type=held)
    before = tip(initialised)
    bob = store_of(initialised, "bob")
    if MATRIX[(held, requested)]:
        granted = locks.acquire(bob, "src/api/", type=requested)
        assert any(h["agent"] == "bob" for h in granted["holders"])
    else:
        with pytest.raises(Conflict):
            locks.acquire(bob, "src/api/", type=requested)
        assert tip(initialised) == before  # a denial writes nothing


@pytest.mark.parametrize("held,requested,conflicts", [
    ("src/", "src/api/x.py", True),
    ("src/api/*.py", "src/api/x.py", True),
    ("*.py", "./lib/deep/x.py", True),
    ("./docs/", "./src/", False),
    ("src/api/*.py", "src/api/sub/x.py", False),  # '*' does not cross '/'
    ("src/**/test_*.py", "src/a/b/test_x.py", True),
    ("src/a.py", "src/b.py", False),
])
def test_resources_conflict_when_some_path_matches_both(initialised, held, requested, conflicts):
    locks.acquire(store_of(initialised, "alice"), held)
    bob = store_of(initialised, "bob")
    if conflicts:
        with pytest.raises(Conflict):
            locks.acquire(bob, requested)
    else:
        locks.acquire(bob, requested)


def test_own_locks_do_not_block_self_and_shared_holders_join_one_file(initialised):
    alice, bob = store_of(initialised, "alice"), store_of(initialised, "bob")
    first = locks.acquire(alice, "./src/", type="exclusive")
    inner = locks.acquire(alice, "src/a.py", type="exclusive")  # overlapping, same agent: fine
    assert inner["id"] != first["id"]
    shared_b = locks.acquire(bob, "./docs/", type="shared")
    shared_a = locks.acquire(alice, "./docs/", type="shared")
    assert shared_a["id"] == shared_b["id"]
    assert [h["agent"] for h in shared_a["holders"]] == ["bob", "alice"]
    assert len(lock_files(initialised)) == 3


def test_locks_blocking_and_intents_on(initialised):
    alice, bob = store_of(initialised, "alice"), store_of(initialised, "bob")
    ex = locks.acquire(alice, "src/core/", type="exclusive")
    solo = locks.acquire(alice, "./cfg/", type="shared")
    both = locks.acquire(alice, "./docs/", type="shared")
    locks.acquire(bob, "./docs/", type="shared")
    intent = locks.acquire(alice, "./web/", type="intent")
    locks.acquire(alice, "./notes/", type="none")
    paths = ["src/core/a.py", "cfg/x.yaml", "docs/i.md", "web/app.ts", "notes/n.md", "free.txt"]
    snap = alice.snapshot()
    blocked_bob = {(p, lock["id"]) for p, lock in locks.locks_blocking(snap, "bob", paths)}
    assert blocked_bob == {("src/core/a.py", ex["id"]), ("cfg/x.yaml", solo["id"]), ("docs/i.md", both["id"])}
    blocked_alice = {(p, lock["id"]) for p, lock in locks.locks_blocking(snap, "alice", paths)}
    assert blocked_alice == {("docs/i.md", both["id"])}  # shared with someone else: nobody modifies
    assert [(p, lock["id"]) for p, lock in locks.intents_on(snap, "bob", paths)] == [("web/app.ts", intent["id"])]
    assert locks.intents_on(snap, "alice", paths) == []
    on = {(p, lock["type"]) for p, lock in locks.locks_on(snap, paths)}
    assert on == {("src/core/a.py", "exclusive"), ("cfg/x.yaml", "shared"), ("docs/i.md", "shared"),
                  ("web/app.ts", "intent"), ("notes/n.md", "none")}


def test_intent_warns_the_next_taker(initialised):
    locks.acquire(store_of(initialised, "alice"), "./web/", type="intent", reason="redesign")
    result = run_cli("--agent", "bob", "lock", "acquire", "./web/app.ts", cwd=initialised)
    assert result.code == 0, result.err
    assert "warning: alice intend(s) to change '/web/'" in result.err and "redesign" in result.err
    result = run_cli("--agent", "bob", "--json", "lock", "release", "./web/app.ts", cwd=initialised)
    assert result.code == 0 and result.json["lock"]["resource"] == "web/app.ts"


def test_root_anchored_resource_round_trips_through_the_cli(initialised):
    """'./src/' is stored as '/src/' (anchored); acquiring must not trip over it, and release
    accepts the resource exactly as `lock list` shows it."""
    locks.acquire(store_of(initialised, "alice"), "./src/", type="intent")
    got = run_cli("--agent", "bob", "--json", "lock", "acquire", "./src/", cwd=initialised)
    assert got.code == 0, got.err
    assert got.json["lock"]["resource"] == "/src/" and [i["resource"] for i in got.json["intents"]] == ["/src/"]
    assert run_cli("--agent", "bob", "lock", "release", "/src/", cwd=initialised).code == 0
    assert run_cli("--agent", "bob", "lock", "acquire", "/src/", cwd=initialised).code == 2  # typed: absolute


# --------------------------------------------------------------------------- upgrade


def test_sole_shared_holder_upgrades_in_place(initialised):
    alice, bob = store_of(initialised, "alice"), store_of(initialised, "bob")
    shared = locks.acquire(alice, "src/db/", type="shared")
    upgraded = locks.acquire(alice, "src/db/", type="exclusive")
    assert upgraded["id"] == shared["id"] and upgraded["type"] == "exclusive"
    assert lock_files(initialised) == [f"locks/{shared['id']}.json"]
    with pytest.raises(Conflict):
        locks.acquire(bob, "src/db/", type="shared")
    assert [e["data"].get("from") for e in events(initialised, "lock.granted")][-1] == "shared"


def test_upgrade_denied_while_another_agent_shares(initialised):
    alice, bob = store_of(initialised, "alice"), store_of(initialised, "bob")
    locks.acquire(alice, "src/db/", type="shared")
    locks.acquire(bob, "src/db/", type="shared")
    with pytest.raises(Conflict, match="held shared by bob"):
        locks.acquire(alice, "src/db/", type="exclusive")
    locks.release(bob, "src/db/")
    assert locks.acquire(alice, "src/db/", type="exclusive")["type"] == "exclusive"


# --------------------------------------------------------------------------- expiry and renew


def test_expired_locks_are_ignored_then_cleaned_by_the_next_write(initialised, monkeypatch):
    monkeypatch.setenv("GITCOORD_NOW", T0)
    alice, bob = store_of(initialised, "alice"), store_of(initialised, "bob")
    held = locks.acquire(alice, "src/", ttl="1h")
    assert held["expires_at"] == "2030-01-01T01:00:00Z"
    with pytest.raises(Conflict, match="until 2030-01-01T01:00:00Z"):
        locks.acquire(bob, "src/x.py")
    monkeypatch.setenv("GITCOORD_NOW", "2030-01-01T01:00:01Z")
    snap = bob.snapshot()
    assert locks.active_locks(snap) == [] and len(locks.all_locks(snap)) == 1  # ignored, not yet deleted
    assert locks.locks_blocking(snap, "bob", ["src/x.py"]) == []
    got = locks.acquire(bob, "src/x.py")
    assert lock_files(initialised) == [f"locks/{got['id']}.json"]  # the expired file went with this write
    expired = events(initialised, "lock.expired")
    assert [(e["data"]["lock"], e["data"]["holder"]) for e in expired] == [(held["id"], "alice")]


def test_default_ttl_comes_from_policy(initialised, monkeypatch):
    monkeypatch.setenv("GITCOORD_NOW", T0)
    assert run_cli("config", "set", "policies.lock_ttl", "45m", cwd=initialised).code == 0
    held = locks.acquire(store_of(initialised, "alice"), "src/")
    assert held["expires_at"] == "2030-01-01T00:45:00Z"


def test_renew_extends_only_the_holder(initialised, monkeypatch):
    monkeypatch.setenv("GITCOORD_NOW", T0)
    alice, bob = store_of(initialised, "alice"), store_of(initialised, "bob")
    held = locks.acquire(alice, "src/", ttl="1h")
    monkeypatch.setenv("GITCOORD_NOW", "2030-01-01T00:30:00Z")
    renewed = locks.renew(alice, held["id"], ttl="2h")
    assert renewed["expires_at"] == "2030-01-01T02:30:00Z"
    assert renewed["holders"][0]["expires_at"] == "2030-01-01T02:30:00Z"
    with pytest.raises(Conflict, match="held by alice, not by bob"):
        locks.renew(bob, held["id"])
    with pytest.raises(NotFound):
        locks.renew(alice, "no-such-lock")
    monkeypatch.setenv("GITCOORD_NOW", "2030-01-01T02:00:00Z")  # past the original 1h
    with pytest.raises(Conflict):
        locks.acquire(bob, "src/y.py")
    result = run_cli("--agent", "alice", "--json", "lock", "renew", held["id"], "--ttl", "90m", cwd=initialised)
    assert result.code == 0 and result.json["expires_at"] == "2030-01-01T03:30:00Z"


def test_shared_holders_expire_independently(initialised, monkeypatch):
    monkeypatch.setenv("GITCOORD_NOW", T0)
    alice, bob, carol = (store_of(initialised, n) for n in ("alice", "bob", "carol"))
    locks.acquire(alice, "./docs/", type="shared", ttl="1h")
    locks.acquire(bob, "./docs/", type="shared", ttl="3h")
    monkeypatch.setenv("GITCOORD_NOW", "2030-01-01T02:00:00Z")
    [active] = locks.active_locks(alice.snapshot())
    assert [h["agent"] for h in active["holders"]] == ["bob"]
    with pytest.raises(Conflict, match="held shared by bob"):
        locks.acquire(carol, "./docs/", type="exclusive")


# --------------------------------------------------------------------------- release and break


def test_release_by_id_and_by_resource(initialised):
    alice, bob = store_of(initialised, "alice"), store_of(initialised, "bob")
    first = locks.acquire(alice, "src/a.py")
    second = locks.acquire(alice, "src/b.py")
    with pytest.raises(Conflict, match="not by bob"):
        locks.release(bob, first["id"])
    with pytest.raises(Conflict, match="locked by alice, not by bob"):
        locks.release(bob, "src/b.py")
    with pytest.raises(NotFound):
        locks.release(bob, "src/c.py")
    assert locks.release(alice, first["id"])["id"] == first["id"]
    assert locks.release(alice, "./src//b.py")["id"] == second["id"]  # the resource, normalised
    assert lock_files(initialised) == []
    assert len(events(initialised, "lock.released")) == 2
    locks.acquire(bob, "src/")


def test_release_via_cli_reports_not_found_and_conflict(initialised):
    held = run_cli("--agent", "alice", "lock", "acquire", "src/", cwd=initialised)
    lock_id = held.out.strip()
    assert held.code == 0 and lock_files(initialised) == [f"locks/{lock_id}.json"]
    assert run_cli("--agent", "bob", "lock", "release", lock_id, cwd=initialised).code == 1
    assert run_cli("--agent", "bob", "lock", "release", "nothing/", cwd=initialised).code == 2
    done = run_cli("--agent", "alice", "lock", "release", "src/", cwd=initialised)
    assert done.code == 0 and lock_id in done.out


def test_break_records_previous_holder_and_reason(initialised):
    add_tasks(initialised, "T1")
    alice, bob = store_of(initialised, "alice"), store_of(initialised, "bob")
    held = locks.acquire(alice, "src/", task="T1")
    with pytest.raises(UsageError):
        locks.break_lock(bob, held["id"], "  ")
    result = run_cli("--agent", "bob", "--json", "lock", "break", held["id"], "--reason", "alice is offline",
                     cwd=initialised)
    assert result.code == 0, result.err
    assert result.json["previous_holders"] == ["alice"]
    assert lock_files(initialised) == []
    [broken] = events(initialised, "lock.broken")
    assert broken["agent"] == "bob" and broken["to"] == "alice" and broken["task"] == "T1"
    assert broken["data"]["previous_holders"] == ["alice"] and broken["data"]["reason"] == "alice is offline"
    assert run_cli("--agent", "bob", "lock", "break", held["id"], "--reason", "again", cwd=initialised).code == 2


def test_release_task_locks_inside_a_transaction(initialised):
    add_tasks(initialised, "T1", "T2", "T9")
    alice, bob = store_of(initialised, "alice"), store_of(initialised, "bob")
    mine = locks.acquire(alice, "./src/", task="T1")
    locks.acquire(alice, "./docs/", type="shared", task="T1")
    shared = locks.acquire(bob, "./docs/", type="shared", task="T2")
    other = locks.acquire(alice, "./lib/", task="T9")
    result = alice.transact(lambda txn: locks.release_task_locks(txn, "T1"))
    assert sorted(result.value) == sorted([mine["id"], shared["id"]])
    remaining = {lock["id"]: [h["agent"] for h in lock["holders"]] for lock in locks.active_locks(alice.snapshot())}
    assert remaining == {shared["id"]: ["bob"], other["id"]: ["alice"]}


# --------------------------------------------------------------------------- queue


def test_newcomer_is_denied_while_a_waiter_is_queued_first(initialised):
    """A free resource with a queue goes to the first waiter, not to whoever asks next."""
    alice, bob, dave = (store_of(initialised, n) for n in ("alice", "bob", "dave"))
    held = locks.acquire(alice, "src/")

    def enqueue(txn):  # what a waiting `acquire --wait` writes, without blocking this test
        lock = txn.load(f"locks/{held['id']}.json")
        lock["queue"] = [{"agent": "bob", "type": "exclusive", "task": None, "resource": "src/x.py",
                          "requested_at": txn.now, "until": "2999-01-01T00:00:00Z"}]
        txn.put(f"locks/{held['id']}.json", lock)

    alice.transact(enqueue)
    locks.release(alice, "src/")
    assert lock_files(initialised) == [f"locks/{held['id']}.json"]  # kept for its queue
    listed = run_cli("--json", "lock", "list", cwd=initialised).json["locks"]
    assert [(row["id"], row["state"]) for row in listed] == [(held["id"], "waiting")]
    with pytest.raises(Conflict, match="bob is queued first") as denied:
        locks.acquire(dave, "src/")
    assert denied.value.data["queued_before_you"]["agent"] == "bob"
    assert locks.acquire(dave, "./docs/")  # no overlap: not held up by the queue
    granted = locks.acquire(bob, "src/x.py")  # first in line: granted, queue entry consumed
    assert granted["holders"][0]["agent"] == "bob"
    assert f"locks/{held['id']}.json" not in lock_files(initialised)


def _spawn_waiter(repo: Path, agent: str, resource: str, wait: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "gitcoord", "-C", str(repo), "--agent", agent, "lock", "acquire",
                             resource, "--wait", wait], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _wait_until(condition, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(0.05)


def _queued_agents(repo: Path) -> list[str]:
    snap = store_of(repo, "reader").snapshot()
    return [e["agent"] for lock in locks.all_locks(snap) for e in lock.get("queue") or []]


def test_fifo_queue_serves_two_waiting_processes_in_order(initialised):
    alice, bob, dave = (store_of(initialised, n) for n in ("alice", "bob", "dave"))
    locks.acquire(alice, "src/")
    first = _spawn_waiter(initialised, "bob", "src/", "30s")
    _wait_until(lambda: _queued_agents(initialised) == ["bob"])
    second = _spawn_waiter(initialised, "carol", "src/", "30s")
    _wait_until(lambda: _queued_agents(initialised) == ["bob", "carol"])
    try:
        assert [e["data"]["position"] for e in events(initialised, "lock.denied")] == [1, 2]
        locks.release(alice, "src/")
        out, err = first.communicate(timeout=20)
        assert first.returncode == 0, err
        assert second.poll() is None  # carol keeps waiting behind bob
        [held] = locks.active_locks(bob.snapshot())
        assert held["id"] == out.strip() and held["holders"][0]["agent"] == "bob"
        assert _queued_agents(initialised) == ["carol"]
        with pytest.raises(Conflict):
            locks.acquire(dave, "src/")
        locks.release(bob, "src/")
        out, err = second.communicate(timeout=20)
        assert second.returncode == 0, err
        [held] = locks.active_locks(bob.snapshot())
        assert held["holders"][0]["agent"] == "carol" and _queued_agents(initialised) == []
    finally:
        for proc in (first, second):
            if proc.poll() is None:
                proc.kill()
                proc.wait()


def test_wait_gives_up_and_leaves_the_queue(initialised):
    alice, bob = store_of(initialised, "alice"), store_of(initialised, "bob")
    locks.acquire(alice, "src/")
    started = time.monotonic()
    with pytest.raises(Conflict, match="after waiting") as denied:
        locks.acquire(bob, "src/", wait="1s", poll=0.1)
    assert 0.9 <= time.monotonic() - started < 5
    assert denied.value.data["holders"][0]["agent"] == "alice"
    assert _queued_agents(initialised) == []
    assert len(events(initialised, "lock.denied")) == 1  # one write when queued; polls wrote nothing


# --------------------------------------------------------------------------- denial message


def _put_tasks(repo: Path) -> None:
    store = store_of(repo, "lead")

    def op(txn):
        config = txn.load("gitcoord.yaml")
        config["agents"] = [{"name": "bob", "roles": ["backend"]}, {"name": "alice"}, {"name": "carol"}]
        txn.put("gitcoord.yaml", config)
        specs = [
            ("T1", "alice", "backend", "in_progress", ["src/api/"]),
            ("T2", "bob", "backend", "ready", ["src/billing/"]),
            ("T3", None, None, "ready", ["lib/util/"]),
            ("T4", "carol", "backend", "ready", ["lib/c/"]),
            ("T5", None, "frontend", "ready", ["web/"]),
            ("T6", None, "backend", "ready", ["src/api/v2/"]),  # the same lock would stop it
            ("T7", "bob", "backend", "in_progress", ["src/other/"]),
        ]
        for task_id, agent, role, status, owns in specs:
            txn.put(f"tasks/{task_id}.yaml", {"id": task_id, "title": f"title {task_id}", "agent": agent,
                                              "role": role, "status": status, "owns": owns, "depends_on": []})

    store.transact(op)


def test_denial_says_who_since_until_and_ready_alternatives(initialised, monkeypatch):
    monkeypatch.setenv("GITCOORD_NOW", T0)
    _put_tasks(initialised)
    locks.acquire(store_of(initialised, "alice"), "src/api/", task="T1", ttl="3h")
    before = tip(initialised)
    result = run_cli("--agent", "bob", "lock", "acquire", "src/api/routes.py", "--task", "T7", cwd=initialised)
    assert result.code == 1
    message = result.err
    assert "alice" in message and "task T1" in message
    assert "since 2030-01-01T00:00:00Z" in message and "until 2030-01-01T03:00:00Z" in message
    assert "T2 (title T2)" in message and "T3 (title T3)" in message
    for excluded in ("T4", "T5", "T6"):
        assert excluded not in message
    assert "--wait" in message and "\n" not in message.strip()
    as_json = run_cli("--agent", "bob", "--json", "lock", "acquire", "src/api/routes.py", cwd=initialised)
    error = as_json.json["error"]
    assert as_json.code == 1 and error["exit_code"] == 1
    assert [a["id"] for a in error["alternatives"]] == ["T2", "T3"]
    assert error["holders"] == [{"agent": "alice", "task": "T1", "since": T0, "until": "2030-01-01T03:00:00Z"}]
    assert tip(initialised) == before


# --------------------------------------------------------------------------- hostile input and CLI


@pytest.mark.parametrize("resource", [
    "../etc/passwd", "src/../../x", "/etc/passwd", "//x", "C:\\x", "a\x00b", "a\nb", "x\r", "", "   ",
    "!src/", pytest.param("a" * 5000, id="huge"), "src\\\\x",
])
def test_hostile_resources_exit_2_and_write_nothing(initialised, resource):
    before = tip(initialised)
    result = run_cli("--agent", "alice", "lock", "acquire", resource, cwd=initialised)
    assert result.code == 2, (result.out, result.err)
    assert "Traceback" not in result.err and result.err.count("\n") == 1
    assert tip(initialised) == before
    with pytest.raises(UsageError):
        locks.acquire(store_of(initialised, "alice"), resource)


@pytest.mark.parametrize("args", [
    ["--ttl", "0"], ["--ttl", "soon"], ["--wait", "-1"], ["--task", "../T1"], ["--reason", "a\x00b"],
    ["--type", "mutex"],
])
def test_bad_options_exit_2(initialised, args):
    before = tip(initialised)
    assert run_cli("--agent", "alice", "lock", "acquire", "src/", *args, cwd=initialised).code == 2
    assert tip(initialised) == before


def test_cli_acquire_list_json_and_table(initialised):
    add_tasks(initialised, "T1")
    got = run_cli("--agent", "alice", "--json", "lock", "acquire", "src/", "--reason", "rewrite", "--task", "T1",
                  "--ttl", "30m", cwd=initialised)
    assert got.code == 0 and got.json["lock"]["reason"] == "rewrite"
    lock_id = got.json["id"]
    listed = run_cli("lock", "list", "--json", cwd=initialised)
    assert [row["id"] for row in listed.json["locks"]] == [lock_id]
    table = run_cli("lock", "list", cwd=initialised)
    assert lock_id in table.out and "alice" in table.out and "exclusive" in table.out
    again = run_cli("--agent", "alice", "lock", "acquire", "src/", cwd=initialised)
    assert again.code == 0 and again.out.strip() == lock_id  # re-acquiring refreshes, same lock
    denied = run_cli("--agent", "bob", "lock", "acquire", "src/a", cwd=initialised)
    assert denied.code == 1 and "alice" in denied.err and denied.out == ""


def test_locks_blocking_is_fast_and_exact_for_1000_locks_by_500_paths():
    """The hook path: one index over 1,000 lock resources, checked against the naive loop."""

    class View:  # a plain in-memory view: only load_dir is needed
        def __init__(self, files):
            self.files = files

        def load_dir(self, directory, suffix=None):
            return self.files

    far = "2999-01-01T00:00:00Z"
    files = {}
    for n in range(1000):
        resource = [f"services/m{n:04d}/", f"libs/m{n:04d}/*.py", f"docs/m{n:04d}.md", f"**/gen{n}/*.ts"][n % 4]
        kind = ["exclusive", "shared", "intent", "none"][n % 3 if n % 7 else 1]
        files[f"locks/l{n}.json"] = {"id": f"l{n}", "resource": resource, "type": kind, "granted_at": far,
                                     "expires_at": far, "holders": [{"agent": f"a{n % 5}", "expires_at": far}]}
    paths = [f"services/m{n * 2:04d}/x.py" for n in range(200)] + [f"libs/m{n:04d}/y.py" for n in range(200)] + \
            [f"a/gen{n}/c.ts" for n in range(100)]
    view = View(files)
    started = time.perf_counter()
    found = locks.locks_blocking(view, "a0", paths)
    elapsed = time.perf_counter() - started
    naive = {(p, lock["id"]) for p in paths for lock in files.values()
             if lock["type"] in ("exclusive", "shared") and any(h["agent"] != "a0" for h in lock["holders"])
             and compile_pattern(lock["resource"]).matches(p)}
    assert {(p, lock["id"]) for p, lock in found} == naive and naive
    assert elapsed < 1.0, f"locks_blocking took {elapsed:.3f}s"


def test_a_cancelled_task_releases_its_locks(initialised):
    """The tasks module calls release_task_locks inside its own transaction."""
    pytest.importorskip("gitcoord.tasks")
    env = {"GITCOORD_AGENT": "alice"}
    assert run_cli("task", "add", "T1", "--title", "one", "--owns", "src/", cwd=initialised, env=env).code == 0
    assert run_cli("task", "start", "T1", cwd=initialised, env=env).code == 0
    mine = run_cli("lock", "acquire", "./src/", "--task", "T1", cwd=initialised, env=env).out.strip()
    other = run_cli("lock", "acquire", "./docs/", cwd=initialised, env=env).out.strip()
    assert run_cli("task", "cancel", "T1", cwd=initialised, env=env).code == 0
    assert [lock["id"] for lock in locks.all_locks(store_of(initialised, "x").snapshot())] == [other]
    assert [e["data"]["lock"] for e in events(initialised, "lock.released")] == [mine]


def test_no_lock_before_init(repo):
    result = run_cli("--agent", "alice", "lock", "acquire", "src/", cwd=repo)
    assert result.code == 2 and "gitcoord init" in result.err
    assert git(repo, "for-each-ref", "refs/heads/gitcoord") == ""
