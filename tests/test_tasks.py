"""Tasks through the CLI on real repositories: lifecycle, readiness by kind, import,
plan/next/doctor and branch naming."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from conftest import git, run_cli

PLAN = """\
feature: cart
tasks:
  - {id: DESIGN, title: Design cart API, role: architect, estimate: 2h, owns: [contracts/], provides: [cart-api]}
  - {id: API, title: Cart API, role: backend, estimate: 6h, depends_on: [{task: DESIGN, kind: contract}],
     owns: ["src/api/**"], consumes: [cart-api]}
  - {id: UI, title: Cart UI, role: frontend, estimate: 5h, depends_on: [{task: DESIGN, kind: contract}],
     owns: ["src/ui/**"], consumes: [cart-api]}
  - {id: TESTS, title: Tests, role: qa, estimate: 3h, depends_on: [{task: DESIGN, kind: info}], owns: ["tests/**"]}
  - {id: INT, title: Integration, role: backend, estimate: 2h, depends_on: [API, UI, TESTS], owns: [src/app.py]}
"""


@pytest.fixture
def planned(repo: Path) -> Path:
    assert run_cli("init", cwd=repo).code == 0
    (repo.parent / "plan.yaml").write_text(PLAN)
    result = run_cli("task", "import", str(repo.parent / "plan.yaml"), cwd=repo)
    assert result.code == 0, result.err
    return repo


def status(repo: Path) -> dict[str, str]:
    return {t["id"]: t["status"] for t in run_cli("--json", "task", "list", cwd=repo).json}


def test_lifecycle_and_readiness_by_kind(planned):
    repo = planned
    assert status(repo) == {"API": "planned", "DESIGN": "ready", "INT": "planned", "TESTS": "planned", "UI": "planned"}
    assert run_cli("--agent", "ann", "task", "start", "DESIGN", cwd=repo).code == 0
    # info dependency: TESTS may start once DESIGN has started
    assert status(repo)["TESTS"] == "ready"
    # contract dependency: not before DESIGN's contract is there (no registry record: DESIGN done)
    result = run_cli("--agent", "bob", "task", "start", "API", cwd=repo)
    assert result.code == 2 and "waiting for DESIGN (contract" in result.err
    assert run_cli("--agent", "ann", "task", "done", "DESIGN", "--allow-empty", cwd=repo).code == 0
    assert status(repo)["API"] == "ready" and status(repo)["UI"] == "ready"
    # hard dependency: INT waits for merges
    for tid, who in (("API", "bob"), ("UI", "cid"), ("TESTS", "dan")):
        assert run_cli("--agent", who, "task", "start", tid, cwd=repo).code == 0
        assert run_cli("--agent", who, "task", "done", tid, "--allow-empty", cwd=repo).code == 0
    assert status(repo)["INT"] == "planned"
    run_cli("config", "set", "policies.hard_requires", "done", cwd=repo)
    assert run_cli("task", "list", "--ready", "--json", cwd=repo).json[0]["id"] == "INT"


def test_illegal_transitions_name_the_allowed_ones(planned):
    repo = planned
    result = run_cli("task", "done", "DESIGN", cwd=repo)
    assert result.code == 2
    assert "cannot go from ready to ready_to_merge (allowed from ready: in_progress, cancelled)" in result.err
    run_cli("--agent", "ann", "task", "start", "DESIGN", cwd=repo)
    assert run_cli("--agent", "ann", "task", "block", "DESIGN", cwd=repo).code == 2  # needs --reason
    assert run_cli("--agent", "ann", "task", "block", "DESIGN", "--reason", "waiting on spec review", cwd=repo).code == 0
    shown = run_cli("--json", "task", "show", "DESIGN", cwd=repo).json
    assert shown["status"] == "blocked" and shown["blocked_reason"] == "waiting on spec review"
    other = run_cli("--agent", "eve", "task", "unblock", "DESIGN", cwd=repo)
    assert other.code == 1 and "held by ann" in other.err
    assert run_cli("--agent", "ann", "task", "unblock", "DESIGN", cwd=repo).code == 0
    assert run_cli("--agent", "ann", "task", "cancel", "DESIGN", cwd=repo).code == 0
    final = run_cli("--agent", "ann", "task", "start", "DESIGN", cwd=repo)
    assert final.code == 2 and "allowed from cancelled: none (final)" in final.err
    history = [h["status"] for h in run_cli("--json", "task", "show", "DESIGN", cwd=repo).json["history"]]
    assert history == ["ready", "in_progress", "blocked", "in_progress", "cancelled"]


def test_start_creates_branch_from_base_without_touching_worktree(planned):
    repo = planned
    head = (repo / ".git" / "HEAD").read_text()
    result = run_cli("--json", "--agent", "ann", "task", "start", "DESIGN", cwd=repo)
    assert result.code == 0
    branch = result.json["branch"]
    assert branch == "feature/cart/agent/architect/design"
    assert git(repo, "rev-parse", branch) == git(repo, "rev-parse", "main")
    assert (repo / ".git" / "HEAD").read_text() == head
    listed = run_cli("--json", "branch", "list", cwd=repo).json["branches"]
    assert listed == [{"branch": branch, "task": "DESIGN", "status": "in_progress", "agent": "ann", "exists": True,
                       "commit": git(repo, "rev-parse", branch)}]
    assert run_cli("branch", "check", branch, cwd=repo).code == 0
    assert run_cli("branch", "check", "feature/cart/agent/backend/nosuch", cwd=repo).code == 1
    assert run_cli("branch", "check", "random-name", cwd=repo).code == 1


def test_branch_create_uses_template_and_from(planned):
    repo = planned
    (repo / "f.txt").write_text("x")
    git(repo, "add", "f.txt")
    git(repo, "commit", "-qm", "second")
    run_cli("config", "set", "branch_template", "work/{role}/{task}", cwd=repo)
    result = run_cli("--json", "branch", "create", "API", "--from", "HEAD~1", cwd=repo)
    assert result.code == 0, result.err
    assert result.json["branch"] == "work/backend/api"
    assert git(repo, "rev-parse", "work/backend/api") == git(repo, "rev-parse", "HEAD~1")
    assert run_cli("branch", "create", "API", "--from", "no-such-rev", cwd=repo).code == 2
    assert run_cli("--json", "branch", "create", "API", cwd=repo).json["created"] is False  # exists already
    assert run_cli("branch", "create", "NOPE", cwd=repo).code == 2
    bad = run_cli("config", "set", "branch_template", "x/{nonsense}", cwd=repo)
    assert bad.code == 0  # the schema accepts the string; using it is what fails
    assert "unknown placeholder" in run_cli("branch", "create", "UI", cwd=repo).err
    for template in ("x/{task", "x/{task.__class__}", "x/{task!r}", "x/{0}/{task}"):  # str.format fields
        run_cli("config", "set", "branch_template", template, cwd=repo)
        used = run_cli("branch", "create", "UI", cwd=repo)
        assert used.code == 2 and "branch_template" in used.err and "internal error" not in used.err, used.err


@pytest.mark.parametrize("plan, message", [
    ("tasks:\n  - {id: A, title: a, depends_on: [B]}\n  - {id: B, title: b, depends_on: [A]}\n",
     "dependency cycle A -> B -> A"),
    ("tasks:\n  - {id: A, title: a, depends_on: [GHOST]}\n", "depends on unknown task 'GHOST'"),
    ("tasks:\n  - {id: A, title: a}\n  - {id: A, title: again}\n", "task A is defined twice"),
    ("tasks:\n  - {id: A, title: a, depends_on: ['B:sometimes']}\n  - {id: B, title: b}\n", "kind 'sometimes' unknown"),
    ("tasks:\n  - {id: A, title: a, estimate: forever}\n", "not a duration"),
    ("tasks:\n  - {id: A, title: a, colour: red}\n", "unknown key(s) colour"),
    ("tasks:\n  - {id: A, title: a, priority: .inf}\n", "priority inf must be an integer"),
    ("tasks: [\n", "malformed YAML"),
    ("feature: f\n", "`tasks:` must be a non-empty list"),
])
def test_import_is_all_or_nothing(repo, plan, message):
    run_cli("init", cwd=repo)
    run_cli("task", "add", "EXISTING", "--title", "keeps", cwd=repo)
    tip = git(repo, "rev-parse", "gitcoord")
    path = repo.parent / "bad-plan.yaml"
    path.write_text("tasks:\n  - {id: OK1, title: fine}\n" + plan.replace("tasks:\n", "") if plan.startswith("tasks:\n")
                    else plan)
    result = run_cli("task", "import", str(path), cwd=repo)
    assert result.code == 2, result.err
    assert message in result.err
    assert git(repo, "rev-parse", "gitcoord") == tip


def test_import_existing_needs_update(planned):
    repo = planned
    plan = repo.parent / "plan.yaml"
    again = run_cli("task", "import", str(plan), cwd=repo)
    assert again.code == 1 and "already exists" in again.err
    run_cli("--agent", "ann", "task", "start", "DESIGN", cwd=repo)
    plan.write_text(PLAN.replace("Design cart API", "Design the cart API"))
    result = run_cli("--json", "task", "import", "--update", str(plan), cwd=repo)
    assert result.code == 0 and sorted(result.json["updated"]) == ["API", "DESIGN", "INT", "TESTS", "UI"]
    design = run_cli("--json", "task", "show", "DESIGN", cwd=repo).json
    assert design["title"] == "Design the cart API" and design["status"] == "in_progress"
    assert design["agent"] == "ann"  # the plan names no agent: the claim must survive the redefinition
    stolen = run_cli("--agent", "bob", "task", "done", "DESIGN", cwd=repo)
    assert stolen.code == 1 and "held by ann" in stolen.err


def test_edit_rejects_cycles(planned):
    result = run_cli("task", "edit", "DESIGN", "--depends-on", "INT", cwd=planned)
    assert result.code == 2 and "dependency cycle" in result.err


def test_plan_formats(planned):
    repo = planned
    data = run_cli("--json", "plan", "--agents", "2", cwd=repo).json
    assert data["makespan_hours"] == 10 and data["sequential_hours"] == 18
    assert data["critical_path"] == ["DESIGN", "API", "INT"]
    assert data["speedup"] == pytest.approx(1.8) and data["efficiency"] == pytest.approx(0.9)
    assert data["waves"] == [["DESIGN", "TESTS"], ["API", "UI"], ["INT"]]
    assert {e["task"] for e in data["schedule"]} == {"DESIGN", "API", "UI", "TESTS", "INT"}
    assert "flowchart" in run_cli("plan", "--format", "mermaid", cwd=repo).out
    assert run_cli("plan", "--format", "dot", cwd=repo).out.startswith("digraph")
    svg = run_cli("plan", "--format", "gantt-svg", cwd=repo).out
    ET.fromstring(svg)
    text = run_cli("plan", cwd=repo).out
    assert "critical path" in text
    # declared agents with roles restrict who takes what
    run_cli("config", "set", "agents", "[{name: ann, roles: [architect, backend]}, {name: bob, roles: [frontend, qa]}]",
            cwd=repo)
    declared = run_cli("--json", "plan", cwd=repo).json
    by_task = {e["task"]: e["agent"] for e in declared["schedule"]}
    assert by_task["UI"] == "bob" and by_task["API"] == "ann" and by_task["TESTS"] == "bob"
    out = repo.parent / "plan.svg"
    assert run_cli("plan", "--format", "gantt-svg", "-o", str(out), cwd=repo).code == 0
    ET.parse(out)


def test_next_prefers_priority_then_critical_path(repo):
    run_cli("init", cwd=repo)
    run_cli("task", "add", "SHORT", "--title", "s", "--estimate", "1h", cwd=repo)
    run_cli("task", "add", "LONG", "--title", "l", "--estimate", "1h", cwd=repo)
    run_cli("task", "add", "AFTER", "--title", "a", "--estimate", "5h", "--depends-on", "LONG", cwd=repo)
    assert run_cli("--json", "--agent", "x", "next", cwd=repo).json["task"] == "LONG"
    run_cli("task", "edit", "SHORT", "--priority", "5", cwd=repo)
    assert run_cli("--json", "--agent", "x", "next", cwd=repo).json["task"] == "SHORT"
    run_cli("task", "edit", "SHORT", "--agent", "someone-else", cwd=repo)
    assert run_cli("--json", "--agent", "x", "next", cwd=repo).json["task"] == "LONG"
    assert run_cli("--json", "--agent", "someone-else", "next", cwd=repo).json["task"] == "SHORT"


def test_doctor_findings(repo):
    run_cli("init", cwd=repo)
    run_cli("task", "add", "A", "--title", "a", "--estimate", "1h", "--owns", "src/*.py", "--agent", "a1", "--feature", "f",
            cwd=repo)
    run_cli("task", "add", "B", "--title", "b", "--estimate", "1h", "--owns", "src/util*", "--feature", "f", cwd=repo)
    run_cli("task", "add", "C", "--title", "c", "--owns", "/docs/", "--depends-on", "A:contract", cwd=repo)
    run_cli("task", "add", "D", "--title", "d", "--estimate", "2h", "--owns", "src/main.py", "--depends-on", "A",
            cwd=repo)
    result = run_cli("--json", "doctor", cwd=repo)
    assert result.code == 1
    findings = result.json["findings"]
    rules = [(f["rule"], tuple(f.get("tasks", ()))) for f in findings]
    assert ("shared-file-hell", ("A", "B")) in rules
    hell = next(f for f in findings if f["rule"] == "shared-file-hell")
    assert "src/*.py" in hell["message"] and "src/util*" in hell["message"]
    # A and D overlap on src/main.py but D depends on A: ordered, so no finding
    assert not any(f["rule"] == "shared-file-hell" and "D" in f["tasks"] for f in findings)
    assert ("contract-without-contract", ("C", "A")) in rules
    assert ("no-estimate", ("C",)) in rules
    run_cli("task", "edit", "B", "--owns", "lib/**", cwd=repo)
    run_cli("task", "edit", "C", "--estimate", "1h", "--depends-on", "A", cwd=repo)
    clean = run_cli("--json", "doctor", cwd=repo)
    assert clean.code == 0, clean.out
    run_cli("config", "set", "policies.max_agents_per_feature", "1", cwd=repo)
    run_cli("task", "edit", "B", "--agent", "b1", cwd=repo)
    over = run_cli("--json", "doctor", cwd=repo).json["findings"]
    assert any(f["rule"] == "over-parallelization" for f in over)


def test_a_bad_from_records_nothing(planned):
    repo = planned
    tip = git(repo, "rev-parse", "gitcoord")
    assert run_cli("--agent", "ann", "task", "start", "DESIGN", "--from", "no-such-rev", cwd=repo).code == 2
    assert run_cli("branch", "create", "API", "--from", "no-such-rev", cwd=repo).code == 2
    assert git(repo, "rev-parse", "gitcoord") == tip
    assert run_cli("--json", "task", "show", "DESIGN", cwd=repo).json["status"] == "ready"
