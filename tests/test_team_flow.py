"""Issue 11's scenario, end to end: three agents in three clones of one bare remote (and once over a
real `git daemon`), following the README literally.

- the lead sets the team up; a newcomer's fresh clone joins by itself;
- ann types the README's per-agent block literally in a clone with only `user.email` set;
- bob's clone never fetched: his `task start` cuts from the remote's base, not his stale main;
- cat tries to get past bob's ownership with a lock: it becomes a request in bob's inbox;
- dan works offline and syncs later; his claim that lost a race is reported, not merged;
- an integrator's fresh clone lands everything with `merge run --push`;
every step works or stops with one clear line, every hint printed runs as printed, and nothing
unlanded is ever marked merged.
"""

from __future__ import annotations

import re
import shlex
import subprocess
from pathlib import Path

import pytest

from conftest import SMALL_CART_SPEC as SPEC, git, run_cli

PLAN = """\
feature: cart
tasks:
  - {id: DESIGN, title: Cart API contract, role: backend, estimate: 2h, owns: [/api/], provides: [cart-api]}
  - {id: API, title: Cart service, role: backend, estimate: 3h, owns: [/src/api/],
     depends_on: [{task: DESIGN, kind: contract}], consumes: [cart-api]}
  - {id: UI, title: Cart page, role: frontend, estimate: 3h, owns: [/src/ui/],
     depends_on: [{task: DESIGN, kind: contract}], consumes: [cart-api]}
  - {id: DOCS, title: Docs, role: frontend, estimate: 1h, owns: [/docs/]}
"""



def ok(result, what: str):
    assert result.code == 0, f"{what}: exit {result.code}: {result.err.strip()[-1200:]}"
    return result


def one_line_error(result, code: int, what: str) -> str:
    assert result.code == code, f"{what}: expected exit {code}, got {result.code}: {result.err}"
    errors = [line for line in result.err.splitlines() if line.startswith("gitcoord: error")]
    assert len(errors) == 1 and "Traceback" not in result.err, result.err
    return errors[0]


def run_hint(command: str, cwd: Path):
    args = shlex.split(command)
    assert args[0] == "gitcoord", command
    return run_cli(*args[1:], cwd=cwd)


def write_commit(work: Path, rel: str, text: str, message: str) -> None:
    (work / rel).parent.mkdir(parents=True, exist_ok=True)
    (work / rel).write_text(text)
    git(work, "add", rel)
    git(work, "commit", "-qm", message)


def email_only_clone(remote, name: str) -> Path:
    """A clone whose only identity is the git user's e-mail (no gitcoord.agent, no env)."""
    work = remote.clone(name)
    git(work, "config", "user.email", f"{name}@example.com")
    return work


@pytest.fixture(params=["file", "daemon"])
def remote_kind(request):
    return request.getfixturevalue("remote" if request.param == "file" else "daemon_remote")


def test_three_agents_three_clones_one_remote(remote_kind, tmp_path: Path) -> None:
    remote = remote_kind
    bob = remote.clone("bob")  # cloned before the team set up: never fetches on its own

    # -- the lead sets the team up, as the README's "Five minutes" block says
    lead = remote.clone("lead")
    git(lead, "config", "gitcoord.agent", "lead")
    ok(run_cli("init", "--base", "main", "--remote", "origin", cwd=lead), "init")
    ok(run_cli("config", "set", "agents", "[{name: lead, roles: [maintainer]}, {name: ann, roles: [backend]}, "
               "{name: bob, roles: [backend]}, {name: cat, roles: [frontend]}, {name: dan, roles: [frontend]}]",
               cwd=lead), "agents")
    (tmp_path / "plan.yaml").write_text(PLAN)
    ok(run_cli("task", "import", str(tmp_path / "plan.yaml"), cwd=lead), "import")

    # -- ann: a fresh clone with only user.email set joins, then types the README block literally
    ann = email_only_clone(remote, "ann")
    joined = ok(run_cli("task", "list", cwd=ann), "ann lists")
    assert "using the coordination branch on remote 'origin'" in joined.err
    undeclared = run_cli("next", cwd=ann)  # ann@example.com is not a declared agent: not offered tasks
    assert "not declared" in one_line_error(undeclared, 2, "undeclared next")
    started = ok(run_cli("--agent", "ann", "task", "start", "DESIGN", cwd=ann), "ann starts DESIGN")
    branch = re.search(r"git switch (\S+?)`", started.out).group(1)
    git(ann, "switch", "-q", branch)
    write_commit(ann, "api/cart-api.yaml", SPEC, "cart API contract")
    ok(run_cli("contract", "add", "cart-api", "--spec", "api/cart-api.yaml", "--provided-by", "DESIGN", cwd=ann),
       "contract add (as ann, recorded by task start)")
    ok(run_cli("contract", "approve", "cart-api", cwd=ann), "approve")
    done = ok(run_cli("task", "done", "DESIGN", "--push", cwd=ann), "ann done --push")
    assert git(remote.bare, "rev-parse", f"refs/heads/{branch}") == git(ann, "rev-parse", branch)
    shown = ok(run_cli("--json", "task", "show", "DESIGN", cwd=lead), "show").json
    assert shown["agent"] == "ann" and shown["status"] == "ready_to_merge", done.out

    # -- the lead lands DESIGN; main moves on the remote while bob's local main stays behind
    ok(run_cli("merge", "run", "--feature", "cart", "--push", cwd=lead), "first merge")
    landed_main = git(remote.bare, "rev-parse", "main")
    assert git(bob, "rev-parse", "main") != landed_main

    # -- bob never fetched: init joins the shared branch, and his task starts from the remote's base
    ok(run_cli("--agent", "bob", "init", cwd=bob), "bob init joins")
    assert git(bob, "rev-parse", "gitcoord") == git(remote.bare, "rev-parse", "gitcoord")
    bob_start = ok(run_cli("--agent", "bob", "--json", "task", "start", "API", cwd=bob), "bob starts API").json
    assert git(bob, "rev-parse", bob_start["branch"]) == landed_main  # not his stale local main
    git(bob, "switch", "-q", bob_start["branch"])
    write_commit(bob, "src/api/cart.py", "TOTAL = 0\n", "cart service")

    # -- cat tries to get past bob's ownership with a lock: a request, not a key
    cat = email_only_clone(remote, "cat")
    ok(run_cli("--agent", "cat", "task", "start", "UI", cwd=cat), "cat starts UI")
    asked = run_cli("lock", "acquire", "./src/api/cart.py", "--reason", "need a hook", cwd=cat)
    line = one_line_error(asked, 1, "lock on bob's path")
    assert "owned by task API of bob" in line and "gives you nothing until they grant it" in line
    assert not [lk for lk in run_cli("--json", "lock", "list", cwd=cat).json["locks"] if lk.get("holders")]
    inbox = ok(run_cli("--json", "inbox", cwd=bob), "bob's inbox").json
    requests = [m for m in inbox["messages"] if m.get("type") == "lock.requested"]
    assert requests and requests[0]["data"]["requester"] == "cat"
    deny = run_hint(requests[0]["data"]["deny"], bob)
    ok(deny, "bob denies, running the command his inbox printed")
    git(cat, "switch", "-q", ok(run_cli("--json", "task", "show", "UI", cwd=cat), "UI").json["branch"])
    write_commit(cat, "src/ui/page.js", "page\n", "cart page")
    ok(run_cli("task", "done", "UI", "--push", cwd=cat), "cat done")

    # -- bob finishes; his done pushes his branch
    ok(run_cli("task", "done", "API", "--push", cwd=bob), "bob done")

    # -- dan works offline: his claim of DOCS loses the race to cat, and sync says so
    dan = email_only_clone(remote, "dan")
    git(dan, "config", "gitcoord.agent", "dan")
    ok(run_cli("task", "list", cwd=dan), "dan joins")
    ok(run_cli("--offline", "task", "start", "DOCS", cwd=dan), "dan claims offline")
    ok(run_cli("--offline", "msg", "status", "DOCS", "--progress", "10", cwd=dan), "dan posts offline")
    ok(run_cli("task", "start", "DOCS", cwd=cat), "cat claims DOCS online")
    synced = run_cli("--json", "sync", cwd=dan)
    assert synced.code == 1, synced.err
    assert [op["op"] for op in synced.json["lost"]] == ["task.in_progress"]
    assert "now in_progress by cat" in synced.json["lost"][0]["reason"]

    # -- an integrator's fresh clone (main checked out, never fetched) lands the rest
    ivy = email_only_clone(remote, "ivy")
    git(ivy, "config", "gitcoord.agent", "lead")
    ok(run_cli("merge", "plan", "--feature", "cart", cwd=ivy), "plan")
    landed = ok(run_cli("--json", "merge", "run", "--feature", "cart", "--push", cwd=ivy), "merge run").json
    assert sorted(landed["merged"]) == ["API", "UI"]
    tree = git(remote.bare, "ls-tree", "-r", "--name-only", "main").splitlines()
    assert {"api/cart-api.yaml", "src/api/cart.py", "src/ui/page.js"} <= set(tree)

    # nothing unlanded is marked merged: every merged task's branch tip is in the remote's main
    for task in run_cli("--json", "task", "list", cwd=ivy).json:
        if task["status"] == "merged":
            tip = git(remote.bare, "rev-parse", f"refs/heads/{task['branch']}")
            assert subprocess.run(["git", "merge-base", "--is-ancestor", tip, "main"], cwd=remote.bare).returncode == 0
    statuses = {t["id"]: t["status"] for t in run_cli("--json", "task", "list", cwd=ivy).json}
    assert statuses == {"DESIGN": "merged", "API": "merged", "UI": "merged", "DOCS": "in_progress"}
