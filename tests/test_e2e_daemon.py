"""Three clones coordinating through a real `git daemon` on 127.0.0.1: tasks added and claimed from
different clones, a lock race between real processes, the server hook refusing a `--no-verify`
push of a foreign path, a batch merge pushed atomically, and every clone converging after `sync`."""

from __future__ import annotations

import subprocess
import threading
from pathlib import Path

from conftest import git, run_cli, run_proc

AGENTS = ("alice", "bob", "carol")
SHARED = "src/shared/settings.py"


def _clone(daemon_remote, name: str) -> Path:
    work = daemon_remote.clone(name)
    git(work, "config", "gitcoord.agent", name)
    git(work, "config", "gitcoord.remote", "origin")
    return work


def _ok(result, what: str):
    assert result.code == 0, f"{what}: exit {result.code}: {result.err.strip()[-800:]}"
    return result


def _commit(work: Path, files: dict[str, str], *extra: str) -> subprocess.CompletedProcess:
    for rel, text in files.items():
        (work / rel).parent.mkdir(parents=True, exist_ok=True)
        (work / rel).write_text(text)
    git(work, "add", "--", *files)
    return subprocess.run(["git", "commit", "-q", "-m", f"add {', '.join(files)}", *extra], cwd=work,
                          capture_output=True, text=True)


def _race(clones: dict[str, Path], *args: str) -> dict[str, object]:
    """Run the same gitcoord command from every clone at once, as real processes."""
    barrier = threading.Barrier(len(clones))
    results: dict[str, object] = {}

    def one(name: str, work: Path) -> None:
        barrier.wait(timeout=30)
        results[name] = run_proc("--json", *args, cwd=work)

    threads = [threading.Thread(target=one, args=item) for item in clones.items()]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return results


def test_three_clones_coordinate_over_git_daemon(daemon_remote):
    clones = {name: _clone(daemon_remote, name) for name in AGENTS}
    alice, bob, carol = clones["alice"], clones["bob"], clones["carol"]

    # The coordination branch is created in one clone and shared through the daemon.
    _ok(run_cli("init", "--remote", "origin", cwd=alice), "init")
    assert git(daemon_remote.bare, "rev-parse", "--verify", "refs/heads/gitcoord")

    # Tasks added from three different clones land in one shared plan.
    _ok(run_cli("task", "add", "API", "--title", "cart API", "--feature", "shop", "--role", "backend",
                "--agent", "alice", "--owns", "src/api/**", "--estimate", "3h", cwd=alice), "add API")
    _ok(run_cli("task", "add", "UI", "--title", "cart page", "--feature", "shop", "--role", "frontend",
                "--agent", "bob", "--owns", "src/ui/**", "--estimate", "2h", cwd=bob), "add UI")
    _ok(run_cli("task", "add", "DOCS", "--title", "cart docs", "--feature", "shop", "--role", "writer",
                "--owns", "docs/**", "--depends-on", "API:info", "--estimate", "1h", cwd=carol), "add DOCS")
    listed = _ok(run_cli("--json", "task", "list", cwd=carol), "list")
    assert sorted(t["id"] for t in listed.json) == ["API", "DOCS", "UI"]

    # Claims from different clones; DOCS (info dependency) can start once API has started.
    assert run_cli("task", "start", "DOCS", cwd=carol).code == 2  # not ready: API has not started
    branches = {}
    for name, task in (("alice", "API"), ("bob", "UI"), ("carol", "DOCS")):
        started = _ok(run_cli("--json", "task", "start", task, cwd=clones[name]), f"start {task}")
        assert started.json["agent"] == name
        branches[task] = started.json["branch"]
        git(clones[name], "switch", "-q", branches[task])
    taken = run_cli("--json", "task", "start", "UI", cwd=carol)
    assert taken.code == 1 and "bob" in taken.json["error"]["message"]

    # A lock race between three real processes: exactly one wins, the others are told who holds it.
    results = _race(clones, "lock", "acquire", SHARED, "--reason", "race")
    codes = {name: r.code for name, r in results.items()}
    assert sorted(codes.values()) == [0, 1, 1], {n: (r.code, r.err[-300:]) for n, r in results.items()}
    (winner,) = [name for name, code in codes.items() if code == 0]
    for name, result in results.items():
        if name != winner:
            error = result.json["error"]
            assert [h["agent"] for h in error["holders"]] == [winner]
            assert f"by {winner}" in error["message"]
    locks = _ok(run_cli("--json", "lock", "list", cwd=alice), "lock list").json
    rows = locks["locks"] if isinstance(locks, dict) else locks
    assert [[h["agent"] for h in row["holders"]] for row in rows if row["resource"] == SHARED] == [[winner]]
    _ok(run_cli("lock", "release", SHARED, cwd=clones[winner]), "release")

    # The server hook on the bare remote cannot be skipped with --no-verify.
    _ok(run_cli("hooks", "install", "--server", cwd=daemon_remote.bare), "server hooks")
    assert _commit(bob, {"src/api/hack.py": "x = 1\n"}, "--no-verify").returncode == 0
    pushed = subprocess.run(["git", "push", "--no-verify", "origin", branches["UI"]], cwd=bob, capture_output=True,
                            text=True)
    assert pushed.returncode != 0
    assert "src/api/hack.py" in pushed.stderr and "API" in pushed.stderr and "outside-ownership" in pushed.stderr
    assert git(daemon_remote.bare, "branch", "--list", branches["UI"]) == ""
    git(bob, "reset", "-q", "--hard", "HEAD~1")

    # Honest work: client hooks installed, own files committed, branches pushed, tasks done.
    work = {"API": (alice, {"src/api/cart.py": "CART = {}\n"}),
            "UI": (bob, {"src/ui/cart.js": "export const cart = {};\n"}),
            "DOCS": (carol, {"docs/cart.md": "# Cart\n"})}
    for task, (clone, files) in work.items():
        _ok(run_cli("hooks", "install", cwd=clone), "hooks install")
        made = _commit(clone, files)
        assert made.returncode == 0, made.stderr
        push = subprocess.run(["git", "push", "-q", "origin", branches[task]], cwd=clone, capture_output=True,
                              text=True)
        assert push.returncode == 0, push.stderr
        _ok(run_cli("task", "done", task, cwd=clone), f"done {task}")

    # One batch merge from carol's clone, pushed atomically with the coordination branch.
    git(carol, "fetch", "-q", "origin")
    merged = run_cli("--json", "merge", "run", "--push", cwd=carol)
    assert merged.code == 0, merged.err
    order = merged.json["merged"]
    assert sorted(order) == ["API", "DOCS", "UI"] and order.index("API") < order.index("DOCS")
    remote_files = set(git(daemon_remote.bare, "ls-tree", "-r", "--name-only", "main").split())
    assert {"src/api/cart.py", "src/ui/cart.js", "docs/cart.md"} <= remote_files
    assert "src/api/hack.py" not in remote_files

    # Every clone converges on the same coordination tip and the same view of the plan.
    tip = git(daemon_remote.bare, "rev-parse", "refs/heads/gitcoord")
    for name, clone in clones.items():
        _ok(run_cli("sync", cwd=clone), f"sync {name}")
        assert git(clone, "rev-parse", "refs/heads/gitcoord") == tip, name
        offline = run_cli("--json", "task", "list", cwd=clone, env={"GITCOORD_OFFLINE": "1"})
        assert {t["id"]: t["status"] for t in offline.json} == {"API": "merged", "UI": "merged", "DOCS": "merged"}
        git(clone, "fetch", "-q", "origin")
        assert git(clone, "rev-parse", "origin/main") == git(daemon_remote.bare, "rev-parse", "main")
