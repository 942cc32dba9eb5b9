"""After a breaking approval, a consumer task started against the old version does not land
silently: `merge plan/run` leave it out (contract-changed) until its holder acknowledges."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import commit_cart_spec, git, run_cli
from test_merge_cli import commit_on

from gitcoord import gitutil
from gitcoord.contracts import registry
from gitcoord.store import Store

BREAK_TOTAL = ("required: [items, total]", "required: [items]")


def as_(agent: str, repo: Path, *args: str):
    return run_cli("--agent", agent, *args, cwd=repo)


def finish(repo: Path, agent: str, task: str, files: dict[str, str]) -> None:
    start = as_(agent, repo, "--json", "task", "start", task, "--force")
    assert start.code == 0, start.err
    commit_on(repo, start.json["branch"], files, f"work on {task}")
    assert as_(agent, repo, "task", "done", task).code == 0


@pytest.fixture
def project(repo: Path) -> Path:
    """cart 1.2.0 approved; carol's WEB consumes it and is ready to merge; dave's OTHER does not consume it."""
    commit_cart_spec(repo)
    git(repo, "switch", "-q", "-c", "workbench")  # the user's checkout is not the merge target
    assert as_("alice", repo, "contract", "add", "cart", "--spec", "api/cart.yaml").code == 0
    assert as_("alice", repo, "contract", "approve", "cart").code == 0
    assert as_("alice", repo, "task", "add", "WEB", "--title", "cart page", "--owns", "/web/", "--consumes",
               "cart").code == 0
    assert as_("alice", repo, "task", "add", "OTHER", "--title", "docs", "--owns", "/docs/").code == 0
    finish(repo, "carol", "WEB", {"web/cart.js": "fetch('/carts').then(r => r.total)\n"})
    finish(repo, "dave", "OTHER", {"docs/readme.md": "docs\n"})
    return repo


def break_contract(repo: Path) -> None:
    spec = repo / "api" / "cart.yaml"
    spec.write_text(spec.read_text().replace(*BREAK_TOTAL, 1))
    assert as_("alice", repo, "contract", "approve", "cart", "--version", "2.0.0").code == 0


def stale(repo: Path) -> dict:
    return registry.unacknowledged_consumers(Store(gitutil.open_repo(repo), agent="x").snapshot())


def test_compatible_approval_leaves_consumers_alone(project: Path) -> None:
    spec = project / "api" / "cart.yaml"
    spec.write_text(spec.read_text().replace("description: Service is up", "description: The service is up"))
    assert as_("alice", project, "contract", "approve", "cart").code == 0
    assert stale(project) == {}
    plan = as_("alice", project, "--json", "merge", "plan").json
    assert sorted(i["task"] for i in plan["order"]) == ["OTHER", "WEB"]


def test_breaking_approval_holds_the_consumer_until_its_holder_acknowledges(project: Path) -> None:
    break_contract(project)
    assert stale(project) == {"WEB": [{"contract": "cart", "version": "2.0.0", "started_against": "1.2.0"}]}
    plan = as_("alice", project, "--json", "merge", "plan").json
    assert [i["task"] for i in plan["order"]] == ["OTHER"]
    (left_out,) = plan["excluded"]
    assert left_out["task"] == "WEB" and left_out["reason"] == "contract-changed"
    assert "gitcoord contract ack cart --task WEB" in left_out["detail"]

    # Only the holder acknowledges; someone else is refused and nothing changes.
    refused = as_("dave", project, "contract", "ack", "cart", "--task", "WEB")
    assert refused.code == 1 and "held by carol" in refused.err
    assert as_("dave", project, "contract", "ack", "cart").code == 2  # dave has no waiting task

    run = as_("alice", project, "--json", "merge", "run")
    assert run.code == 1 and run.json["merged"] == ["OTHER"]  # exit 1: something was left out
    assert [(s["task"], s["reason"]) for s in run.json["skipped"]] == [("WEB", "contract-changed")]
    assert git(project, "show", "main:docs/readme.md") == "docs"
    assert git(project, "ls-tree", "main", "web/", check=False) == ""

    # The hint, run as printed by the holder, clears it.
    ack = as_("carol", project, "--json", "contract", "ack", "cart", "--task", "WEB")
    assert ack.code == 0, ack.err
    assert ack.json == {"contract": "cart", "version": "2.0.0", "tasks": ["WEB"], "via": "ack"}
    assert stale(project) == {}
    events = as_("alice", project, "--json", "log", "--type", "contract.acknowledged").json["events"]
    assert [(e["task"], e["data"]["version"]) for e in events] == [("WEB", "2.0.0")]
    run = as_("alice", project, "--json", "merge", "run")
    assert run.code == 0 and run.json["merged"] == ["WEB"]


def test_a_second_breaking_version_needs_a_new_acknowledgement(project: Path) -> None:
    break_contract(project)
    assert as_("carol", project, "contract", "ack", "cart").code == 0  # default: carol's waiting tasks
    assert stale(project) == {}
    spec = project / "api" / "cart.yaml"
    spec.write_text(spec.read_text().replace("  /health:", "  /healthz:", 1))  # GET /health removed
    assert as_("alice", project, "contract", "approve", "cart", "--allow-breaking").code == 0
    assert stale(project) == {"WEB": [{"contract": "cart", "version": "3.0.0", "started_against": "1.2.0"}]}


def test_a_task_started_after_the_breaking_version_is_not_held(project: Path) -> None:
    break_contract(project)
    assert as_("alice", project, "task", "add", "WEB2", "--title", "new page", "--owns", "/web2/", "--consumes",
               "cart").code == 0
    finish(project, "carol", "WEB2", {"web2/page.js": "x\n"})
    assert set(stale(project)) == {"WEB"}


def test_a_passing_contract_test_against_the_new_version_acknowledges(project: Path) -> None:
    import yaml

    from gitcoord.contracts.mock import MockServer

    break_contract(project)
    spec = yaml.safe_load((project / "api" / "cart.yaml").read_text())  # the approved 2.0.0
    with MockServer(spec) as mock:
        # Another agent's passing run vouches for nobody; the holder's does.
        other = as_("dave", project, "--json", "contract", "test", "cart", "--approved", "--base-url", mock.url)
        assert other.code == 0 and other.json["acknowledged"] == [] and set(stale(project)) == {"WEB"}
        res = as_("carol", project, "--json", "contract", "test", "cart", "--approved", "--base-url", mock.url)
    assert res.code == 0, res.out
    assert res.json["acknowledged"] == [{"contract": "cart", "version": "2.0.0", "tasks": ["WEB"], "via": "test"}]
    assert stale(project) == {}
    plan = as_("alice", project, "--json", "merge", "plan").json
    assert sorted(i["task"] for i in plan["order"]) == ["OTHER", "WEB"]
