"""Planner worked examples: every expected number below is computed by hand."""

from __future__ import annotations

import pytest

from gitcoord.errors import UsageError
from gitcoord.graph import (
    Agent,
    Graph,
    Node,
    ancestors,
    critical_path,
    dangling,
    descendants,
    find_cycle,
    next_task,
    plan,
    ready_set,
    remaining_path,
    schedule,
    topological_order,
    waves,
)


def n(task_id: str, estimate: float | None = 1.0, *deps: str, **fields) -> Node:
    """Node with deps written 'A' (hard) or 'A:info'."""
    parsed = tuple((d.split(":")[0], d.split(":")[1] if ":" in d else "hard") for d in deps)
    return Node(task_id, estimate, depends_on=parsed, **fields)


def rows(result) -> list[tuple[str, str, float, float]]:
    entries = result.entries if hasattr(result, "entries") else result["schedule"]
    return sorted((e["task"], e["agent"], e["start_hours"], e["finish_hours"]) for e in entries)


# --------------------------------------------------------------------------- worked schedules


def test_chain_runs_sequentially_whatever_the_agent_count():
    nodes = [n("A", 2), n("B", 3, "A"), n("C", 1, "B")]
    result = schedule(nodes, 2)
    assert rows(result) == [("A", "agent-1", 0, 2), ("B", "agent-1", 2, 5), ("C", "agent-1", 5, 6)]
    assert (result.makespan_hours, result.sequential_hours, result.speedup) == (6, 6, 1)
    assert result.agents == ["agent-1"] and result.efficiency == 1
    assert critical_path(nodes) == (["A", "B", "C"], 6)


def test_diamond_two_agents_prefers_the_longer_branch():
    nodes = [n("A", 1), n("B", 2, "A"), n("C", 3, "A"), n("D", 1, "B", "C")]
    result = schedule(nodes, 2)
    # C (remaining 4 h) goes before B (3 h) and takes the agent A freed.
    assert rows(result) == [
        ("A", "agent-1", 0, 1),
        ("B", "agent-2", 1, 3),
        ("C", "agent-1", 1, 4),
        ("D", "agent-1", 4, 5),
    ]
    assert result.makespan_hours == 5
    assert schedule(nodes, 1).makespan_hours == 7
    assert critical_path(nodes) == (["A", "C", "D"], 5)
    assert remaining_path(nodes) == {"A": 5, "B": 3, "C": 4, "D": 1}


def test_fan_out_with_two_agents():
    nodes = [n("R", 1), n("X1", 3, "R"), n("X2", 2, "R"), n("X3", 2, "R"), n("X4", 1, "R")]
    result = schedule(nodes, 2)
    assert rows(result) == [
        ("R", "agent-1", 0, 1),
        ("X1", "agent-1", 1, 4),
        ("X2", "agent-2", 1, 3),
        ("X3", "agent-2", 3, 5),
        ("X4", "agent-1", 4, 5),
    ]
    assert result.makespan_hours == 5 and result.sequential_hours == 9
    assert result.speedup == pytest.approx(1.8) and result.efficiency == pytest.approx(0.9)


def test_unlimited_agents_reach_the_critical_path():
    nodes = [n("R", 1), n("X1", 3, "R"), n("X2", 2, "R"), n("X3", 2, "R"), n("X4", 1, "R")]
    result = schedule(nodes)
    assert result.makespan_hours == 4 and len(result.agents) == 4
    assert result.agents_available is None


def test_role_restricted_agents():
    nodes = [
        n("B1", 2, role="backend"),
        n("B2", 2, role="backend"),
        n("F1", 1, "B1", role="frontend"),
        n("F2", 3, role="frontend"),
    ]
    agents = [Agent("alice", ("backend",)), Agent("bob", ("frontend",))]
    result = schedule(nodes, agents)
    assert rows(result) == [
        ("B1", "alice", 0, 2),
        ("B2", "alice", 2, 4),
        ("F1", "bob", 3, 4),
        ("F2", "bob", 0, 3),
    ]
    assert result.makespan_hours == 4


def test_specialist_is_preferred_so_the_generalist_stays_free():
    nodes = [n("B", 2, role="backend"), n("F", 2, role="frontend")]
    result = schedule(nodes, [Agent("gen"), Agent("spec", ("backend",))])
    assert rows(result) == [("B", "spec", 0, 2), ("F", "gen", 0, 2)]


def test_task_no_agent_can_take_is_named():
    with pytest.raises(UsageError, match="'D'.*'docs'"):
        schedule([n("D", 1, role="docs")], [Agent("a", ("backend",))])


def test_fixed_agent_must_be_declared_and_is_respected():
    nodes = [n("A", 1, agent="bob"), n("B", 1, agent="bob"), n("C", 1)]
    with pytest.raises(UsageError, match="'bob'"):
        schedule(nodes, [Agent("alice")])
    result = schedule(nodes, [Agent("alice"), Agent("bob")])
    assert {t: a for t, a, _s, _f in rows(result)} == {"A": "bob", "B": "bob", "C": "alice"}
    assert result.makespan_hours == 2
    # unlimited: bob is one person, so his two tasks still run one after the other
    assert schedule(nodes).makespan_hours == 2
    with pytest.raises(UsageError, match="2 different agents"):
        schedule([n("A", agent="x"), n("B", agent="y")], 1)


def test_fixed_agent_outside_its_roles_is_scheduled_with_a_warning():
    result = schedule([n("A", 1, role="qa", agent="bob")], [Agent("bob", ("backend",))])
    assert rows(result) == [("A", "bob", 0, 1)]
    assert "bob" in result.warnings[0] and "qa" in result.warnings[0]


def test_info_dependent_starts_with_its_dependency():
    nodes = [n("A", 4), n("B", 2, "A:info")]
    assert rows(schedule(nodes, 2)) == [("A", "agent-1", 0, 4), ("B", "agent-2", 0, 2)]
    assert schedule(nodes, 1).makespan_hours == 6
    assert critical_path(nodes) == (["A"], 4)
    assert waves(nodes) == [["A", "B"]]


def test_info_dependent_released_at_an_instant_beats_a_lower_priority_task():
    # At t=0 only A and D are ready. Starting A releases C at that same instant; C
    # outranks D, so C must get the second agent at t=0 and D waits.
    nodes = [n("A", 2, priority=5), n("C", 2, "A:info", priority=5), n("D", 2)]
    assert rows(schedule(nodes, 2)) == [
        ("A", "agent-1", 0, 2),
        ("C", "agent-2", 0, 2),
        ("D", "agent-1", 2, 4),
    ]


def test_info_chain_after_a_hard_dependency():
    nodes = [n("A", 2), n("B", 1, "A"), n("C", 1, "B:info")]
    assert rows(schedule(nodes, 2)) == [("A", "agent-1", 0, 2), ("B", "agent-1", 2, 3), ("C", "agent-2", 2, 3)]
    assert critical_path(nodes) == (["A", "B"], 3) or critical_path(nodes) == (["A", "B", "C"], 3)


def test_ties_are_broken_by_id_not_input_order():
    nodes = [n("c", 1), n("b", 1), n("a", 1)]
    assert [e["task"] for e in schedule(nodes, 1).entries] == ["a", "b", "c"]
    assert ready_set(nodes) == ["a", "b", "c"]


def test_priority_beats_remaining_path():
    nodes = [n("long", 5), n("urgent", 1, priority=3)]
    assert [e["task"] for e in schedule(nodes, 1).entries] == ["urgent", "long"]


def test_done_tasks_are_not_scheduled_and_in_flight_go_first():
    nodes = [
        n("A", 3, status="merged"),
        n("X", 1, status="cancelled"),
        n("B", 1, "A", "X"),
        n("C", 2, status="in_progress"),
    ]
    result = schedule(nodes, 1)
    assert rows(result) == [("B", "agent-1", 2, 3), ("C", "agent-1", 0, 2)]
    assert result.sequential_hours == 3
    assert waves(nodes) == [["B", "C"]]


def test_zero_estimates_release_dependents_at_the_same_instant():
    nodes = [n("A", 0), n("B", 2, "A"), n("C", 0, "B")]
    assert rows(schedule(nodes, 1)) == [("A", "agent-1", 0, 0), ("B", "agent-1", 0, 2), ("C", "agent-1", 2, 2)]


def test_empty_plan():
    result = plan([])
    assert result["makespan_hours"] == 0 and result["schedule"] == [] and result["agents"] == 0
    assert result["speedup"] == 1 and result["critical_path"] == [] and result["waves"] == []


# --------------------------------------------------------------------------- structure


def test_find_cycle_returns_it_in_order():
    nodes = [n("A", 1, "C"), n("B", 1, "A"), n("C", 1, "B"), n("D", 1, "A")]
    cycle = find_cycle(nodes)
    assert cycle[0] == cycle[-1] and sorted(cycle[:-1]) == ["A", "B", "C"]
    by_id = {x.id: x for x in nodes}
    for before, after in zip(cycle, cycle[1:]):
        assert before in dict(by_id[after].depends_on)
    assert find_cycle([n("A", 1, "A")]) == ["A", "A"]
    assert find_cycle([n("A"), n("B", 1, "A:info")]) is None


def test_cycle_is_named_by_order_and_plan():
    nodes = [n("A", 1, "B:info"), n("B", 1, "A")]
    for call in (topological_order, plan, schedule, waves):
        with pytest.raises(UsageError, match="cycle: (A -> B -> A|B -> A -> B)"):
            call(nodes)


def test_dangling_dependencies_are_listed_and_warned():
    nodes = [n("A", 1, "GHOST"), n("B", 1, "A", "NOPE:info")]
    assert dangling(nodes) == [("A", "GHOST"), ("B", "NOPE")]
    result = plan(nodes)
    assert result["makespan_hours"] == 2
    assert any("GHOST" in w for w in result["warnings"]) and any("NOPE" in w for w in result["warnings"])
    assert result["ready"] == []


def test_topological_order_is_stable_and_accepts_a_key():
    nodes = [n("z"), n("y"), n("x", 1, "z"), n("w", 1, "y")]
    assert topological_order(nodes) == ["z", "y", "x", "w"]
    assert topological_order(nodes, key=lambda node: node.id) == ["y", "w", "z", "x"]


def test_waves_put_info_dependents_in_the_same_wave():
    nodes = [n("A"), n("B", 1, "A"), n("C", 1, "A:info"), n("D", 1, "C:contract"), n("E", 1, "B:info")]
    assert waves(nodes) == [["A", "C"], ["B", "D", "E"]]


def test_descendants_and_ancestors():
    nodes = [n("A"), n("B", 1, "A"), n("C", 1, "B:info"), n("D")]
    assert descendants(nodes, "A") == {"B", "C"}
    assert ancestors(nodes, ["C"]) == {"A", "B"}
    assert descendants(nodes, "D") == set()
    with pytest.raises(UsageError, match="'Q'"):
        ancestors(nodes, "Q")


def test_bad_input_is_refused():
    with pytest.raises(UsageError, match="'A' appears twice"):
        Graph([n("A"), n("A")])
    with pytest.raises(UsageError, match="kind 'soft'"):
        Graph([n("A"), n("B", 1, "A:soft")])
    with pytest.raises(UsageError, match="negative"):
        Graph([n("A", -1)])
    with pytest.raises(UsageError, match="at least 1"):
        schedule([n("A")], 0)


def test_missing_estimate_counts_one_hour_and_is_reported():
    result = plan([n("A", None), n("B", 2, "A")])
    assert result["makespan_hours"] == 3 and result["unestimated"] == ["A"]
    assert any("no estimate" in w and "A" in w for w in result["warnings"])


def test_plan_has_the_cli_keys():
    result = plan([n("A", 2), n("B", 1, "A"), n("C", 1)], 2)
    for key in (
        "makespan_hours", "sequential_hours", "speedup", "efficiency", "agents",
        "critical_path", "critical_path_hours", "waves", "schedule", "ready", "warnings",
    ):
        assert key in result
    assert result["critical_path"] == ["A", "B"] and result["critical_path_hours"] == 3
    assert result["ready"] == ["A", "C"] and result["agents"] == 2
    assert set(result["schedule"][0]) == {"task", "agent", "start_hours", "finish_hours"}


# --------------------------------------------------------------------------- readiness


def test_readiness_by_kind():
    nodes = [
        Node("H", status="ready_to_merge"),
        Node("M", status="merged"),
        Node("S", status="in_progress"),
        Node("P", status="planned"),
        Node("hard_on_rtm", depends_on=(("H", "hard"),)),
        Node("hard_on_merged", depends_on=(("M", "hard"),)),
        Node("contract_on_rtm", depends_on=(("H", "contract"),)),
        Node("contract_on_started", depends_on=(("S", "contract"),)),
        Node("info_on_started", depends_on=(("S", "info"),)),
        Node("info_on_planned", depends_on=(("P", "info"),)),
        Node("busy", status="in_progress"),
    ]
    assert set(ready_set(nodes)) == {"P", "hard_on_merged", "contract_on_rtm", "info_on_started"}
    assert "hard_on_rtm" in ready_set(nodes, hard_requires="done")
    approved = ready_set(nodes, contract_ready=lambda dep: dep == "S")
    assert "contract_on_started" in approved and "contract_on_rtm" not in approved
    with pytest.raises(UsageError, match="hard_requires"):
        ready_set(nodes, hard_requires="soon")


def test_cancelled_dependency_does_not_block():
    assert ready_set([Node("A", status="cancelled"), Node("B", depends_on=(("A", "hard"),))]) == ["B"]


def test_next_task_work_stealing():
    nodes = [
        Node("small", 1.0, role="backend"),
        Node("long", 1.0, role="backend"),
        Node("after_long", 5.0, role="backend", depends_on=(("long", "hard"),)),
        Node("ui", 1.0, role="frontend", priority=1),
        Node("mine", 1.0, agent="bob"),
        Node("open", 0.5),
    ]
    assert next_task(nodes) == "ui"  # priority first
    alice = Agent("alice", ("backend",))
    assert next_task(nodes, alice) == "long"  # then the longest remaining path (6 h)
    assert next_task(nodes, Agent("bob", ("qa",))) == "mine"  # assigned to bob wins over priority 0 open
    assert next_task(nodes, None, role="frontend") == "ui"
    assert next_task(nodes, None, role="qa") == "open"  # role-less tasks are open to any role
    assert next_task([Node("x", status="merged")]) is None
